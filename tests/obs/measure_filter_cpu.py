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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

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


PHASES = ("idle", "media", "filter", "source")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = M.per_phase(rows, "obs_cpu", PHASES)
    return {
        "obs_cpu": cpu,
        "render_threads_cpu": M.per_phase(rows, "obs_render_threads_cpu", PHASES),
        "other_threads_cpu": M.per_phase(rows, "obs_other_threads_cpu", PHASES),
        "filter_minus_media": round(cpu["filter"] - cpu["media"], 1),
        "source_minus_idle": round(cpu["source"] - cpu["idle"], 1),
        "filter_over_source": round(cpu["filter"] / cpu["source"], 2),
        "render_fps": M.per_phase(rows, "obs_render_fps", PHASES),
        "frame_render_ms": M.per_phase(rows, "obs_frame_render_ms", PHASES),
        "skipped": {p: sum(r["obs_render_skipped"] for r in rows if r["phase"] == p) for p in PHASES},
        "engine_fps": M.per_phase(rows, "engine_fps", ("filter", "source")),
        "engine_ms_per_frame": M.per_phase(rows, "engine_ms_per_frame", ("filter", "source")),
    }


def table(rows: list[dict[str, Any]], s: dict[str, Any], info: dict[str, Any]) -> str:
    c = s["obs_cpu"]
    return "\n".join([
        *M.phase_lines(rows, info),
        "",
        "mean OBS CPU: " + ", ".join(f"{p} {v:.1f}%" for p, v in c.items()),
        f"filter - media = {s['filter_minus_media']:.1f} points (what the filter adds to the Media Source); "
        f"source - idle = {s['source_minus_idle']:.1f} points (the source, decoding included); "
        f"filter / source = {s['filter_over_source']:.2f}",
        M.thread_split(rows, PHASES),
        "OBS frame render time (ms, mean): "
        + ", ".join(f"{p} {v:.2f}" for p, v in s["frame_render_ms"].items()),
        "skipped render frames: " + ", ".join(f"{p} {v}" for p, v in s["skipped"].items()),
        "engine (status line): "
        + ", ".join(
            f"{p} {s['engine_fps'][p]:.0f} fps, {s['engine_ms_per_frame'][p]:.1f} ms per frame"
            for p in ("filter", "source")
        ),
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    M.add_arguments(ap, "(media, filter, source) triples")
    ap.add_argument(
        "--size", default=f"{M.WIDTH}x{M.HEIGHT}", help="canvas and clips WxH (busy machine: 640x360)"
    )
    args = ap.parse_args(argv)
    M.WIDTH, M.HEIGHT = (int(v) for v in args.size.lower().split("x"))  # (measure_cpu reads them)

    def phases(
        obs: Obs, clips: dict[str, Path], log: Callable[..., None]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        values: dict[str, Any] = {
            "recapture_delay": 0,
            "background_type": "image",
            "background_path": str(clips["background"]),
        }

        def source_status() -> str:
            return M.status(obs, M.REPLACER)

        log("idle ...")
        rows = [M.measure(obs, "idle", args.seconds, args.warmup)]
        source_ready = False
        for rnd in range(args.rounds):
            log(f"round {rnd + 1}: media ...")
            M.start_media(obs, clips["person"])
            rows.append(M.measure(obs, "media", args.seconds, args.warmup))
            M.stop_media(obs)
            log(f"round {rnd + 1}: filter ...")
            values = start_filter(obs, clips, values)
            rows.append(M.measure(obs, "filter", args.seconds, args.warmup, lambda: filter_status(obs)))
            M.stop_media(obs)
            log(f"round {rnd + 1}: source ...")
            if not source_ready:
                M.setup_replacer(obs, clips, "image")
                source_ready = True
            else:
                M.show_replacer(obs, True)
            rows.append(M.measure(obs, "source", args.seconds, args.warmup, source_status))
            M.show_replacer(obs, False)
        log("idle ...")
        rows.append(M.measure(obs, "idle", args.seconds, args.warmup))
        return rows, {"filter_settings": values}

    return M.run(args, "bgreplace-filter-cpu-", phases, summary, table)


if __name__ == "__main__":
    raise SystemExit(main())
