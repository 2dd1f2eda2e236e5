"""Peak memory and time of building a background plate, per frame count and frame size.

    .venv/bin/python tests/measure_plate.py                  # 30, 120, 600 frames at 640x360 and 1280x720
    .venv/bin/python tests/measure_plate.py --frames 30 600 --sizes 640x360

Each case runs in a fresh Python process (so one case's allocations cannot hide in another's
peak) that feeds a :class:`bgcore.PlateBuilder` like a capture does: frame by frame, then
``finish()``. The frames cycle through a small pool of noisy pictures of a textured room made
before the measurement starts, so the numbers are the builder's own. Reported: the peak of
what numpy and Python allocated during the build (tracemalloc), the rise of the process's
peak resident memory over its level before the build (ru_maxrss: also counts OpenCV's own
buffers), the plate's size in memory, and the wall time of the adds and of ``finish()``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POOL = 12


def _resident_kb() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def measure(n_frames: int, width: int, height: int, *, work_width: int = 480) -> dict[str, Any]:
    """Build one plate in this process and return its numbers (see the module docstring)."""
    import resource
    import time
    import tracemalloc

    import numpy as np

    sys.path.insert(0, str(HERE))
    from helpers import noisy, textured_room

    from bgcore import PlateBuilder

    rng = np.random.default_rng(7)
    room = textured_room(height, width)
    pool = [noisy(room, rng) for _ in range(POOL)]
    # warm up the code paths (first-call allocations, compiled kernels) outside the measurement
    warm = PlateBuilder(3, work_width=work_width)
    for f in pool[:3]:
        warm.add(f)
    warm.finish()
    del warm
    before_kb = _resident_kb()
    tracemalloc.start()
    t0 = time.perf_counter()
    builder = PlateBuilder(n_frames, work_width=work_width)
    for i in range(n_frames):
        builder.add(pool[i % POOL])
    t1 = time.perf_counter()
    plate = builder.finish()
    t2 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plate_bytes = sum(
        a.nbytes for a in (plate.frame_sum, plate.reference, plate.sigma, plate.small_sum) if a is not None
    )
    return {
        "frames": n_frames,
        "size": f"{width}x{height}",
        "traced_peak_mb": peak / 1e6,
        "rss_rise_mb": max(0, peak_rss_kb - before_kb) / 1e3,
        "plate_mb": plate_bytes / 1e6,
        "add_ms_per_frame": (t1 - t0) * 1000 / n_frames,
        "finish_ms": (t2 - t1) * 1000,
    }


def measure_in_subprocess(n_frames: int, width: int, height: int) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter (this file run with ``--one``)."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--one", str(n_frames), f"{width}x{height}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[30, 120, 600])
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--one", nargs=2, metavar=("FRAMES", "WxH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        w, h = (int(v) for v in args.one[1].split("x"))
        print(json.dumps(measure(int(args.one[0]), w, h)))
        return 0
    print(
        "| frames | size | peak allocated (MB) | peak RSS rise (MB) | plate (MB) | add (ms/frame) "
        "| finish (ms) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        for n in args.frames:
            r = measure_in_subprocess(n, w, h)
            print(
                f"| {r['frames']} | {r['size']} | {r['traced_peak_mb']:.1f} | {r['rss_rise_mb']:.1f} | "
                f"{r['plate_mb']:.1f} | {r['add_ms_per_frame']:.2f} | {r['finish_ms']:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
