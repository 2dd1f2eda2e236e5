"""CPU of OBS with a Background Replacer against the same clip in a plain Media Source.

A measurement script, not a test (pytest does not collect it: no ``test_`` prefix, and it
asserts nothing about timing). In ONE headless OBS 29 process, canvas and output 1280x720 at
30 fps:

1. a deterministic 1280x720 30 fps clip of a person moving in a room (``bgcore.synth``),
   MJPEG in .avi (every frame a JPEG: cheap to decode, no inter-frame state; ``--codec ffv1``:
   lossless FFV1 in .mkv), and a clip of the empty room (the plate);
2. phases, interleaved so that machine noise hits all of them alike:
   ``idle`` (empty scene), ``media`` (a plain Media Source, ``ffmpeg_source``, looping the clip),
   ``replacer`` (a Background Replacer with the same clip as its camera, plate captured from the
   empty-room clip, default quality settings, an image background);
   order: idle, then (media, replacer) x rounds, then idle again;
3. per phase, after a warm-up: OBS's process CPU time (utime + stime of the whole process, all
   threads, from /proc/<pid>/stat) over ``--seconds``, as % of one core; the whole machine's
   busy time in the same window (all CPUs, % of one core: a noise check); Xvfb's CPU; OBS's
   own GetStats (render fps, frame render time, skipped frames); for the replacer, its status
   line (fps, ms per frame).

Run from the repository root::

    .venv/bin/python tests/obs/measure_cpu.py [--seconds 20] [--rounds 2] [--json]

Between phases the Media Source is removed (a hidden Media Source may go on decoding) and the
Background Replacer is hidden (a hidden replacer closes its camera and its worker sleeps).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import harness
from harness import SCENE, Obs
from util import create, press, settings, status, wait_for, wait_log, wait_status

WIDTH, HEIGHT, FPS = 1280, 720, 30
MEDIA = "Plain Media"
REPLACER = "Background Replacer"
TICK = os.sysconf("SC_CLK_TCK")
RATE = re.compile(r"(\d+(?:\.\d+)?) fps, (\d+(?:\.\d+)?) ms per frame")


# -- clips ---------------------------------------------------------------------------------------
CODECS = {"mjpeg": ("MJPG", ".avi"), "ffv1": ("FFV1", ".mkv")}


def write_clip(path: Path, frames: list[Any], codec: str) -> Path:
    fourcc, suffix = CODECS[codec]
    path = path.with_suffix(suffix)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (WIDTH, HEIGHT))
    if not out.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} to {path}")
    for f in frames:
        out.write(f)
    out.release()
    return path


def make_clips(d: Path, n_frames: int, codec: str) -> dict[str, Path]:
    """person.avi (the person present and moving in every frame), empty.avi (the plate) and a
    background picture, all 1280x720; deterministic (seed 0). ``ffv1``: .mkv instead."""
    from bgcore import synth

    scene = synth.demo_scene(width=WIDTH, height=HEIGHT, n_frames=n_frames, seed=0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    beach = np.dstack([xx * 255 // WIDTH, yy * 255 // HEIGHT, np.full_like(xx, 200)]).astype(np.uint8)
    cv2.imwrite(str(d / "beach.png"), beach)
    return {
        "person": write_clip(d / "person", scene.frames, codec),
        "empty": write_clip(d / "empty", scene.plate, codec),
        "background": d / "beach.png",
    }


# -- CPU -----------------------------------------------------------------------------------------
def proc_ticks(pid: int) -> int:
    """utime + stime of a whole process (all its threads), in clock ticks."""
    return proc_ticks_of(Path(f"/proc/{pid}/stat"))  # fields 14 and 15 of proc(5)


RENDER_THREADS = ("llvmpipe-", "libobs: graphic")
"""Thread names (comm, 15 characters) of OBS's rendering: Mesa's llvmpipe workers and libobs's
graphics thread, which draws the scene and converts sources' frames (YUV to RGB) on the "GPU"."""


def render_ticks(pid: int) -> dict[int, int]:
    """utime + stime per rendering thread of ``pid`` (tid -> ticks)."""
    out: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip().startswith(RENDER_THREADS):
                out[int(task.name)] = proc_ticks_of(task / "stat")
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended
    return out


def proc_ticks_of(stat: Path) -> int:
    text = stat.read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def machine_ticks() -> int:
    """Busy ticks of all CPUs (user, nice, system, irq, softirq, steal)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return user + nice + system + irq + softirq + steal


class Window:
    def __init__(self, obs: Obs) -> None:
        assert obs.proc is not None and obs.xvfb is not None
        self.obs = obs
        self.pids = {"obs": obs.proc.pid, "xvfb": obs.xvfb.proc.pid}

    def __enter__(self) -> Window:
        self.stats0 = self.obs.client.get_stats()
        self.t0 = time.monotonic()
        self.ticks0 = {k: proc_ticks(p) for k, p in self.pids.items()}
        self.render0 = render_ticks(self.pids["obs"])
        self.machine0 = machine_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        self.machine1 = machine_ticks()
        self.ticks1 = {k: proc_ticks(p) for k, p in self.pids.items()}
        self.render1 = render_ticks(self.pids["obs"])
        self.t1 = time.monotonic()
        self.stats1 = self.obs.client.get_stats()

    def result(self) -> dict[str, Any]:
        wall = self.t1 - self.t0
        pct = {k: 100.0 * (self.ticks1[k] - self.ticks0[k]) / TICK / wall for k in self.pids}
        render = sum(t - self.render0[tid] for tid, t in self.render1.items() if tid in self.render0)
        render_pct = 100.0 * render / TICK / wall
        machine = 100.0 * (self.machine1 - self.machine0) / TICK / wall
        s0, s1 = self.stats0, self.stats1
        frames = s1.render_total_frames - s0.render_total_frames
        return {
            "seconds": round(wall, 2),
            "obs_cpu": round(pct["obs"], 1),
            "obs_render_threads_cpu": round(render_pct, 1),
            "obs_other_threads_cpu": round(pct["obs"] - render_pct, 1),
            "xvfb_cpu": round(pct["xvfb"], 1),
            "machine_cpu": round(machine, 1),
            "obs_render_fps": round(frames / wall, 1),
            "obs_render_skipped": s1.render_skipped_frames - s0.render_skipped_frames,
            "obs_frame_render_ms": round(s1.average_frame_render_time, 2),
            "obs_own_cpu_usage": round(s1.cpu_usage, 1),
        }


# -- phases --------------------------------------------------------------------------------------
def scene_item(obs: Obs, name: str) -> int:
    return int(obs.client.get_scene_item_id(SCENE, name).scene_item_id)


def fit_canvas(obs: Obs, name: str) -> None:
    """Stretch the item over the canvas (it is 1280x720 already: a no-op safeguard)."""
    obs.client.set_scene_item_transform(
        SCENE,
        scene_item(obs, name),
        {"boundsType": "OBS_BOUNDS_SCALE_INNER", "boundsWidth": WIDTH, "boundsHeight": HEIGHT,
         "positionX": 0, "positionY": 0, "alignment": 5, "boundsAlignment": 0},
    )


def start_media(obs: Obs, clip: Path) -> None:
    values = {"is_local_file": True, "local_file": str(clip), "looping": True}
    obs.client.create_input(SCENE, MEDIA, "ffmpeg_source", values, True)
    fit_canvas(obs, MEDIA)

    def playing() -> bool:
        state = obs.client.get_media_input_status(MEDIA).media_state
        return state == "OBS_MEDIA_STATE_PLAYING"

    wait_for("the Media Source to play", playing, 20)


def stop_media(obs: Obs) -> None:
    obs.client.remove_input(MEDIA)
    wait_for("the Media Source to go", lambda: MEDIA not in inputs(obs), 10)


def inputs(obs: Obs) -> list[str]:
    return [i["inputName"] for i in obs.client.get_input_list().inputs]


def setup_replacer(obs: Obs, clips: dict[str, Path], background: str) -> dict[str, Any]:
    """Create the replacer with the empty-room clip as camera, capture the plate, switch the
    camera to the person clip; default quality settings; returns the settings used."""
    values: dict[str, Any] = {"recapture_delay": 0, "camera": str(clips["empty"])}
    if background == "image":
        values |= {"background_type": "image", "background_path": str(clips["background"])}
    elif background == "color":
        values |= {"background_type": "color", "background_color": 0xFF00B140}
    else:
        values |= {"background_type": background}
    create(obs, REPLACER, values)
    fit_canvas(obs, REPLACER)
    wait_status(obs, REPLACER, "no background captured", timeout=60)
    press(obs, REPLACER)
    wait_log(obs, f"{REPLACER}: saved the background plate", timeout=60)
    wait_status(obs, REPLACER, "Running:", timeout=30)
    obs.client.set_input_settings(REPLACER, {"camera": str(clips["person"])}, True)
    wait_log(obs, f"{REPLACER}: opened {clips['person']}", timeout=30)
    wait_status(obs, REPLACER, "Running", timeout=30)
    return {k: v for k, v in settings(obs, REPLACER).items() if k != "status"}


def show_replacer(obs: Obs, visible: bool) -> None:
    obs.client.set_scene_item_enabled(SCENE, scene_item(obs, REPLACER), visible)
    if visible:
        wait_status(obs, REPLACER, "Running", timeout=30)
    else:
        wait_status(obs, REPLACER, "Hidden", timeout=30)


def measure(
    obs: Obs, phase: str, seconds: float, warmup: float, engine_status: Callable[[], str] | None = None
) -> dict[str, Any]:
    """One phase's row: after ``warmup`` s, the :class:`Window` over ``seconds``; with
    ``engine_status``, the status line it reads and the engine's fps and ms per frame in it."""
    time.sleep(warmup)
    with Window(obs) as w:
        time.sleep(seconds)
    out = {"phase": phase, **w.result()}
    if engine_status is not None:
        text = engine_status()
        m = RATE.search(text)
        out["status"] = text
        out["engine_fps"] = float(m.group(1)) if m else None
        out["engine_ms_per_frame"] = float(m.group(2)) if m else None
    return out


# -- report (shared with measure_filter_cpu.py) ----------------------------------------------------
def phase_mean(rows: list[dict[str, Any]], phase: str, key: str) -> float:
    """The mean of ``key`` over the rows of ``phase`` (NaN when none has it)."""
    vals = [r[key] for r in rows if r["phase"] == phase and r.get(key) is not None]
    return round(statistics.fmean(vals), 2) if vals else float("nan")


def per_phase(rows: list[dict[str, Any]], key: str, phases: tuple[str, ...]) -> dict[str, float]:
    return {p: phase_mean(rows, p, key) for p in phases}


def phase_lines(rows: list[dict[str, Any]], info: dict[str, Any]) -> list[str]:
    """The table's head (the run) and one line per measured phase."""
    width = max(len(r["phase"]) for r in rows)
    lines = [
        f"OBS {info['obs_version']}, canvas {info['canvas']}, {info['cpus']} CPUs, load before "
        f"{info['load_before']}, after {info.get('load_after')}; {info['seconds']:g} s per phase after "
        f"{info['warmup']:g} s warm-up; CPU in % of one core",
        f"{'phase':<{width}} {'OBS CPU':>8} {'render':>6} {'other':>6} {'Xvfb':>5} {'machine':>7} "
        f"{'render fps':>10} {'skipped':>7} {'render ms':>9}  status",
    ]
    for r in rows:
        lines.append(
            f"{r['phase']:<{width}} {r['obs_cpu']:>8.1f} {r['obs_render_threads_cpu']:>6.1f} "
            f"{r['obs_other_threads_cpu']:>6.1f} {r['xvfb_cpu']:>5.1f} {r['machine_cpu']:>7.1f} "
            f"{r['obs_render_fps']:>10.1f} {r['obs_render_skipped']:>7} {r['obs_frame_render_ms']:>9.2f}  "
            f"{r.get('status', '')}"
        )
    return lines


def thread_split(rows: list[dict[str, Any]], phases: tuple[str, ...]) -> str:
    """Where OBS's CPU went, per phase: its render threads / all its other threads."""
    render = per_phase(rows, "obs_render_threads_cpu", phases)
    other = per_phase(rows, "obs_other_threads_cpu", phases)
    return "OBS CPU split (mean): render threads (llvmpipe + libobs graphics) / all other threads: " + (
        ", ".join(f"{p} {render[p]:.1f} / {other[p]:.1f}" for p in phases)
    )


def add_arguments(ap: argparse.ArgumentParser, rounds: str) -> None:
    """The options both measurements take (``rounds``: what one round measures)."""
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before each measurement")
    ap.add_argument("--rounds", type=int, default=2, help=f"{rounds} per run")
    ap.add_argument("--frames", type=int, default=90, help="clip length in frames (30 fps)")
    ap.add_argument(
        "--codec", default="mjpeg", choices=tuple(CODECS),
        help="mjpeg: .avi, decoded to YUV (OBS converts it on the GPU); ffv1: lossless .mkv, BGR",
    )
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--keep", action="store_true", help="keep the temporary OBS home and clips")


Phases = Callable[[Obs, dict[str, Path], Callable[..., None]], tuple[list[dict[str, Any]], dict[str, Any]]]
"""(obs, clips, log) -> (rows, extra info): the phases of one measurement."""


def run(
    args: argparse.Namespace,
    prefix: str,
    phases: Phases,
    summary: Callable[[list[dict[str, Any]]], dict[str, Any]],
    table: Callable[[list[dict[str, Any]], dict[str, Any], dict[str, Any]], str],
) -> int:
    """Render the clips, start one headless OBS at WIDTHxHEIGHT and FPS in a temporary home
    (``prefix``), run ``phases``, quit OBS (a Python traceback in its log fails the run) and
    print the table (or JSON). Exit code 2 when OBS cannot run here."""
    logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
    problem = harness.missing_prerequisites()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix=prefix))
    clips_dir = home / "clips"
    clips_dir.mkdir()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    log(f"rendering the {WIDTH}x{HEIGHT} clips ({args.frames} frames) ...")
    clips = make_clips(clips_dir, args.frames, args.codec)
    harness.CANVAS = (WIDTH, HEIGHT)  # read when Obs writes its profile (basic.ini)
    obs = Obs(home)
    load_before = os.getloadavg()
    try:
        obs.start()
        video = obs.client.get_video_settings()
        canvas = (video.base_width, video.base_height, video.output_width, video.output_height)
        if canvas != (WIDTH, HEIGHT, WIDTH, HEIGHT) or video.fps_numerator / video.fps_denominator != FPS:
            raise RuntimeError(f"OBS video settings are not {WIDTH}x{HEIGHT} {FPS} fps: {video.__dict__}")
        info: dict[str, Any] = {
            "obs_version": obs.client.get_version().obs_version,
            "canvas": f"{WIDTH}x{HEIGHT} (output {WIDTH}x{HEIGHT}) at {FPS} fps",
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "load_before": " ".join(f"{x:.2f}" for x in load_before),
            "seconds": args.seconds,
            "warmup": args.warmup,
            "clip": f"{args.frames} frames, {CODECS[args.codec][0]} {clips['person'].suffix}, "
            f"{WIDTH}x{HEIGHT} {FPS} fps, looping",
        }
        log("OBS up")
        rows, extra = phases(obs, clips, log)
        info |= extra
        info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        if "Traceback" in obs.all_logs():
            raise RuntimeError("a Python traceback in the OBS log:\n" + obs.log_tail(40))
        info["obs_exit_code"] = obs.quit()
    finally:
        obs.kill()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    summ = summary(rows)
    if args.json:
        print(json.dumps({"info": info, "phases": rows, "summary": summ}, indent=2))
    else:
        print(table(rows, summ, info))
    return 0


# -- this measurement ----------------------------------------------------------------------------
PHASES = ("idle", "media", "replacer")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    idle, media, repl = (phase_mean(rows, p, "obs_cpu") for p in PHASES)
    ratios = [
        b["obs_cpu"] / a["obs_cpu"]
        for a, b in zip(
            [r for r in rows if r["phase"] == "media"], [r for r in rows if r["phase"] == "replacer"],
            strict=True,
        )
    ]
    return {
        "idle_cpu": idle,
        "media_cpu": media,
        "replacer_cpu": repl,
        "ratio_replacer_over_media": round(repl / media, 2),
        "ratio_per_round": [round(r, 2) for r in ratios],
        "ratio_above_idle": round((repl - idle) / (media - idle), 2),
        "render_threads_cpu": per_phase(rows, "obs_render_threads_cpu", PHASES),
        "other_threads_cpu": per_phase(rows, "obs_other_threads_cpu", PHASES),
        "replacer_fps": phase_mean(rows, "replacer", "engine_fps"),
        "replacer_ms_per_frame": phase_mean(rows, "replacer", "engine_ms_per_frame"),
        "media_render_fps": phase_mean(rows, "media", "obs_render_fps"),
        "replacer_render_fps": phase_mean(rows, "replacer", "obs_render_fps"),
    }


def table(rows: list[dict[str, Any]], summ: dict[str, Any], info: dict[str, Any]) -> str:
    s = summ
    return "\n".join([
        *phase_lines(rows, info),
        "",
        f"mean OBS CPU: idle {s['idle_cpu']:.1f}%, media {s['media_cpu']:.1f}%, "
        f"replacer {s['replacer_cpu']:.1f}%",
        f"replacer / media: {s['ratio_replacer_over_media']:.2f} (per round: "
        f"{', '.join(f'{x:.2f}' for x in s['ratio_per_round'])}); "
        f"above idle: (replacer - idle) / (media - idle) = {s['ratio_above_idle']:.2f}",
        thread_split(rows, PHASES),
        f"replacer status: {s['replacer_fps']:.0f} fps, {s['replacer_ms_per_frame']:.1f} ms per frame",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap, "(media, replacer) pairs")
    ap.add_argument("--background", default="image", choices=("image", "color", "blur", "transparent"))
    args = ap.parse_args(argv)

    def phases(
        obs: Obs, clips: dict[str, Path], log: Callable[..., None]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        def replacer_status() -> str:
            return status(obs, REPLACER)

        log("phase idle ...")
        rows = [measure(obs, "idle", args.seconds, args.warmup)]
        replacer_settings: dict[str, Any] | None = None
        for rnd in range(args.rounds):
            log(f"round {rnd + 1}: media ...")
            start_media(obs, clips["person"])
            rows.append(measure(obs, "media", args.seconds, args.warmup))
            stop_media(obs)
            log(f"round {rnd + 1}: replacer ...")
            if replacer_settings is None:
                replacer_settings = setup_replacer(obs, clips, args.background)
            else:
                show_replacer(obs, True)
            rows.append(measure(obs, "replacer", args.seconds, args.warmup, replacer_status))
            show_replacer(obs, False)
        log("phase idle ...")
        rows.append(measure(obs, "idle", args.seconds, args.warmup))
        return rows, {"background": args.background, "replacer_settings": replacer_settings}

    return run(args, "bgreplace-cpu-", phases, summary, table)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
