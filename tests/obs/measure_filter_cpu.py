"""CPU of OBS with the Background Replacer filter on a Media Source, against the same clip in a
plain Media Source and in the Background Replacer source.

A measurement script, not a test (no ``test_`` prefix; it asserts nothing about timing). One
headless OBS 29 process, canvas and output 1280x720 (``--size``) at 30 fps, the clips and the method of
``measure_cpu.py`` (process CPU from /proc, a machine-wide noise check, OBS's GetStats):

- ``idle``: an empty scene;
- ``media``: a plain Media Source looping the person clip;
- ``filter``: the same Media Source with the Background Replacer filter (plate captured from
  the empty-room clip through the filter, default quality settings, an image background);
- ``source``: the Background Replacer source with the same clip as its camera (same settings).

Order: idle, then (media, filter, source) x rounds, then idle. Between phases the Media
Source is removed (the filter with it; it is added again with its plate id, so its plate is
restored, not recaptured) and the source is hidden (its camera closes).

Run from the repository root::

    .venv/bin/python tests/obs/measure_filter_cpu.py [--seconds 20] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import harness
import measure_cpu as M
from harness import Obs
from util import wait_for, wait_log

FILTER = "Background Replacer filter"
KIND = "bgreplace_filter"


def filter_status(obs: Obs) -> str:
    return str(obs.client.get_source_filter(M.MEDIA, FILTER).filter_settings.get("status", ""))


def wait_filter_status(obs: Obs, needle: str, timeout: float = 30.0) -> str:
    def check() -> str | None:
        text = filter_status(obs)
        return text if needle in text else None

    return str(wait_for(f"the filter's status {needle!r}", check, timeout))


def start_filter(obs: Obs, clips: dict[str, Path], values: dict[str, Any]) -> dict[str, Any]:
    """The Media Source with the filter. First call (no plate_id in ``values``): the empty-room
    clip, a recapture through the hotkey on the Media Source, then the person clip; later
    calls: the person clip and the saved plate. Returns the filter's settings."""
    first = "plate_id" not in values
    M.start_media(obs, clips["empty"] if first else clips["person"])
    obs.client.create_source_filter(M.MEDIA, FILTER, KIND, values)
    if first:
        wait_filter_status(obs, "no background captured")
        wait_for("the hotkey", lambda: "bgreplace.recapture" in obs.client.get_hotkey_list().hotkeys, 20)
        obs.client.trigger_hotkey_by_name("bgreplace.recapture", M.MEDIA)
        wait_log(obs, f"{FILTER}: saved the background plate", timeout=60)
        obs.client.set_input_settings(M.MEDIA, {"local_file": str(clips["person"])}, True)
    else:
        wait_log(obs, f"{FILTER}: restored the background plate", timeout=30)
    wait_filter_status(obs, "Running")
    settings = dict(obs.client.get_source_filter(M.MEDIA, FILTER).filter_settings)
    return {k: v for k, v in settings.items() if k != "status"}


def measure(obs: Obs, phase: str, seconds: float, warmup: float) -> dict[str, Any]:
    time.sleep(warmup)
    with M.Window(obs) as w:
        time.sleep(seconds)
    out = {"phase": phase, **w.result()}
    text = filter_status(obs) if phase == "filter" else M.status(obs, M.REPLACER) if phase == "source" else ""
    if text:
        m = M.RATE.search(text)
        out["status"] = text
        out["engine_fps"] = float(m.group(1)) if m else None
        out["engine_ms_per_frame"] = float(m.group(2)) if m else None
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(phase: str, key: str) -> float:
        vals = [r[key] for r in rows if r["phase"] == phase and r.get(key) is not None]
        return round(statistics.fmean(vals), 2) if vals else float("nan")

    phases = ("idle", "media", "filter", "source")
    cpu = {p: mean(p, "obs_cpu") for p in phases}
    return {
        "obs_cpu": cpu,
        "render_threads_cpu": {p: mean(p, "obs_render_threads_cpu") for p in phases},
        "other_threads_cpu": {p: mean(p, "obs_other_threads_cpu") for p in phases},
        "filter_minus_media": round(cpu["filter"] - cpu["media"], 1),
        "source_minus_idle": round(cpu["source"] - cpu["idle"], 1),
        "filter_over_source": round(cpu["filter"] / cpu["source"], 2),
        "render_fps": {p: mean(p, "obs_render_fps") for p in phases},
        "frame_render_ms": {p: mean(p, "obs_frame_render_ms") for p in phases},
        "skipped": {p: sum(r["obs_render_skipped"] for r in rows if r["phase"] == p) for p in phases},
        "engine_fps": {p: mean(p, "engine_fps") for p in ("filter", "source")},
        "engine_ms_per_frame": {p: mean(p, "engine_ms_per_frame") for p in ("filter", "source")},
    }


def table(rows: list[dict[str, Any]], s: dict[str, Any], info: dict[str, Any]) -> str:
    lines = [
        f"OBS {info['obs_version']}, canvas {info['canvas']}, {info['cpus']} CPUs, load before "
        f"{info['load_before']}, after {info.get('load_after')}; {info['seconds']:g} s per phase after "
        f"{info['warmup']:g} s warm-up; CPU in % of one core",
        f"{'phase':<7} {'OBS CPU':>8} {'render':>6} {'other':>6} {'Xvfb':>5} {'machine':>7} "
        f"{'render fps':>10} {'skipped':>7} {'render ms':>9}  status",
    ]
    for r in rows:
        lines.append(
            f"{r['phase']:<7} {r['obs_cpu']:>8.1f} {r['obs_render_threads_cpu']:>6.1f} "
            f"{r['obs_other_threads_cpu']:>6.1f} {r['xvfb_cpu']:>5.1f} {r['machine_cpu']:>7.1f} "
            f"{r['obs_render_fps']:>10.1f} {r['obs_render_skipped']:>7} {r['obs_frame_render_ms']:>9.2f}  "
            f"{r.get('status', '')}"
        )
    c = s["obs_cpu"]
    lines += [
        "",
        "mean OBS CPU: " + ", ".join(f"{p} {v:.1f}%" for p, v in c.items()),
        f"filter - media = {s['filter_minus_media']:.1f} points (what the filter adds to the Media Source); "
        f"source - idle = {s['source_minus_idle']:.1f} points (the source, decoding included); "
        f"filter / source = {s['filter_over_source']:.2f}",
        "render threads / other threads (mean): "
        + ", ".join(f"{p} {s['render_threads_cpu'][p]:.1f} / {s['other_threads_cpu'][p]:.1f}" for p in c),
        "OBS frame render time (ms, mean): "
        + ", ".join(f"{p} {v:.2f}" for p, v in s["frame_render_ms"].items()),
        "skipped render frames: " + ", ".join(f"{p} {v}" for p, v in s["skipped"].items()),
        "engine (status line): "
        + ", ".join(
            f"{p} {s['engine_fps'][p]:.0f} fps, {s['engine_ms_per_frame'][p]:.1f} ms per frame"
            for p in ("filter", "source")
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before each measurement")
    ap.add_argument("--rounds", type=int, default=2, help="(media, filter, source) triples")
    ap.add_argument("--frames", type=int, default=90, help="clip length in frames (30 fps)")
    ap.add_argument("--codec", default="mjpeg", choices=tuple(M.CODECS))
    ap.add_argument(
        "--size", default=f"{M.WIDTH}x{M.HEIGHT}", help="canvas and clips WxH (busy machine: 640x360)"
    )
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--keep", action="store_true", help="keep the temporary OBS home and clips")
    args = ap.parse_args(argv)
    M.WIDTH, M.HEIGHT = (int(v) for v in args.size.lower().split("x"))  # (measure_cpu reads them)
    logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
    for tool in ("obs", "Xvfb"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 2
    home = Path(tempfile.mkdtemp(prefix="bgreplace-filter-cpu-"))
    clips_dir = home / "clips"
    clips_dir.mkdir()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    log(f"rendering the {M.WIDTH}x{M.HEIGHT} clips ({args.frames} frames) ...")
    clips = M.make_clips(clips_dir, args.frames, args.codec)
    values: dict[str, Any] = {
        "recapture_delay": 0,
        "background_type": "image",
        "background_path": str(clips["background"]),
    }
    harness.CANVAS = (M.WIDTH, M.HEIGHT)
    obs = Obs(home)
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    try:
        obs.start()
        info: dict[str, Any] = {
            "obs_version": obs.client.get_version().obs_version,
            "canvas": f"{M.WIDTH}x{M.HEIGHT} at {M.FPS} fps",
            "cpus": os.cpu_count(),
            "cpu_model": M.cpu_model(),
            "load_before": " ".join(f"{x:.2f}" for x in load_before),
            "seconds": args.seconds,
            "warmup": args.warmup,
            "clip": f"{args.frames} frames, {M.CODECS[args.codec][0]}, {M.WIDTH}x{M.HEIGHT} {M.FPS} fps",
        }
        log("OBS up; idle ...")
        rows.append(measure(obs, "idle", args.seconds, args.warmup))
        source_ready = False
        for rnd in range(args.rounds):
            log(f"round {rnd + 1}: media ...")
            M.start_media(obs, clips["person"])
            rows.append(measure(obs, "media", args.seconds, args.warmup))
            M.stop_media(obs)
            log(f"round {rnd + 1}: filter ...")
            values = start_filter(obs, clips, values)
            rows.append(measure(obs, "filter", args.seconds, args.warmup))
            M.stop_media(obs)
            log(f"round {rnd + 1}: source ...")
            if not source_ready:
                M.setup_replacer(obs, clips, "image")
                source_ready = True
            else:
                M.show_replacer(obs, True)
            rows.append(measure(obs, "source", args.seconds, args.warmup))
            M.show_replacer(obs, False)
        log("idle ...")
        rows.append(measure(obs, "idle", args.seconds, args.warmup))
        info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        info["filter_settings"] = values
        if "Traceback" in obs.all_logs():
            raise RuntimeError("a Python traceback in the OBS log:\n" + obs.log_tail(40))
        info["obs_exit_code"] = obs.quit()
    finally:
        obs.kill()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    s = summary(rows)
    if args.json:
        print(json.dumps({"info": info, "phases": rows, "summary": s}, indent=2))
    else:
        print(table(rows, s, info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
