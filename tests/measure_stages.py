"""What each stage of the default mode costs inside the frame, at one picture size.

    .venv/bin/python tests/measure_stages.py                      # 1280x720, every stage
    .venv/bin/python tests/measure_stages.py --size 1920x1080 --stages light,composite

A stage timed alone runs with its data in the cache; inside the pipeline the frame's own
traffic has evicted it, and the same pass takes 1.5-6x as long (docs/performance.md). So
this measures each stage by taking it away: two replacers on the benchmark's scene
(:func:`bgcore.workload.make_scene`, colour background), one of them with the stage made a
no-op, process the same frames interleaved (which one goes first alternates per frame);
the stage's share is 1 - the median over frames of the ablated time over the plain one.
``none`` takes nothing away: its share is the method's noise (about 1%). A stage taken away
also changes what the later stages see (no light explained: a larger mask for cleanup and
the edges), so the shares do not add up to 1 exactly. One thread (OpenCV's too).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from bgcore.pipeline import BackgroundReplacer
from bgcore.workload import COLOR, make_scene


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def _replace(owner: object, name: str, value: object) -> None:
    """``owner.name = value``; AttributeError if it has no such attribute (a renamed stage
    would otherwise be "taken away" without effect)."""
    getattr(owner, name)
    setattr(owner, name, value)


def _without_step(r: BackgroundReplacer) -> None:
    engine = r._state
    assert engine is not None
    mask = engine.mask
    _replace(engine, "step", lambda frame, settings: mask)


def _without_composite(r: BackgroundReplacer) -> None:
    out = r._out
    _replace(r, "_compositor", lambda *args, **kwargs: out)


STAGES: dict[str, Callable[[BackgroundReplacer], None]] = {
    "none": lambda r: None,
    "step": _without_step,  # the whole mask engine
    "light": lambda r: _replace(r._state, "_explain_light", _noop),  # light tests, contact, anchor
    "cleanup": lambda r: _replace(r._state, "cleanup", _noop),
    "band": lambda r: _replace(r._state, "band", _noop),
    "edges": lambda r: _replace(r._state, "edges", _noop),
    "composite": _without_composite,  # the blend with the background
}


def measure(size: tuple[int, int], stages: list[str], rounds: int = 5) -> list[tuple[str, float, float]]:
    """(stage, median ms per frame of the plain replacer, the stage's share) per stage."""
    cv2.setNumThreads(1)
    width, height = size
    plate, frames = make_scene(width, height)

    def replacer() -> BackgroundReplacer:
        r = BackgroundReplacer(background=COLOR)
        r.set_plate(plate)
        for frame in frames[:4]:  # (the engine and its buffers exist from here on)
            r.process(frame)
        return r

    rows = []
    for stage in stages:
        plain, ablated = replacer(), replacer()
        STAGES[stage](ablated)
        times: list[float] = []
        ratios: list[float] = []
        for i in range(rounds * len(frames)):
            frame = frames[i % len(frames)]
            order = (plain, ablated) if i % 2 else (ablated, plain)
            spent = {}
            for r in order:
                start = time.perf_counter()
                r.process(frame)
                spent[id(r)] = time.perf_counter() - start
            times.append(spent[id(plain)])
            ratios.append(spent[id(ablated)] / spent[id(plain)])
        rows.append((stage, statistics.median(times) * 1e3, 1.0 - statistics.median(ratios)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720", help="WxH (default 1280x720)")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, of {', '.join(STAGES)}")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    stages = [s for s in args.stages.split(",") if s]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        ap.error(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    print(f"{width}x{height}, one thread: each stage's share of a frame (1 - median ablated/plain)")
    for stage, ms, share in measure((width, height), stages):
        print(f"  {stage:10s} {share * 100:5.1f}%   (plain: {ms:.2f} ms per frame)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
