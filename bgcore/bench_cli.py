"""``python -m bgcore bench`` (and ``python -m bgcore.bench_cli``): the benchmark's options
and the table it prints (see :mod:`bgcore.bench` for what is measured)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .argtypes import positive_int
from .bench import (
    DEFAULT_BACKGROUNDS,
    DEFAULT_FRAMES,
    DEFAULT_SIZES,
    DEFAULT_THREADS,
    run_bench,
)
from .workload import BACKGROUND_KINDS


def format_table(result: dict[str, Any]) -> str:
    """The report for people: one block per size, a column group per thread setting."""
    m = result["machine"]
    lines = [
        f"bgcore bench: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, numpy {m['numpy']}, "
        f"OpenCV {m['opencv']}",
        f"ms per frame (median / p95) and x floor (median ratio); floor = {result['config']['floor']}",
    ]
    threads = result["config"]["threads"]
    mem = {(r["size"], r["case"]): r for r in result["memory"]}
    timings = {(r["size"], r["threads"], r["case"]): r for r in result["timings"]}
    for size in [f"{w}x{h}" for w, h in result["config"]["sizes"]]:
        lines.append("")
        head = f"{size:<20}"
        for n in threads:
            label = "1 thread" if n == 1 else ("default threads" if n == 0 else f"{n} threads")
            head += f" | {label:^24}"
        if mem:
            head += " | peak MB  held MB  alloc KB/frame"
        lines.append(head)
        for case in result["config"]["cases"]:
            row = f"{case:<20}"
            for n in threads:
                rec = timings.get((size, n, case))
                row += " | " + (
                    f"{rec['median_ms']:6.2f} /{rec['p95_ms']:6.2f} {rec['ratio']:5.1f}x" if rec else " " * 24
                )
            mm = mem.get((size, case))
            if mm:
                row += f" | {mm['peak_mb']:7.1f}  {mm['held_mb']:7.1f}  {mm['alloc_kb_per_frame']:14.1f}"
            lines.append(row)
    if result["targets"]:
        lines.append("")
        for t in result["targets"]:
            verdict = "met" if t["met"] else "NOT met"
            lines.append(
                f"target {t['size']} default mode, 1 thread: {t['ratio']:.1f}x floor "
                f"(limit {t['limit']:g}x, aim {t['aim']:g}x): {verdict}"
            )
    for c in result.get("compared", []):
        label = "1 thread" if c["threads"] == 1 else f"threads {c['threads']}"
        lines.append(
            f"default mode vs {result['config']['against']} at {c['size']}, {label}: {c['ratio']:.3f}x "
            "(median over the same frames, interleaved; below 1: this checkout is faster)"
        )
    if result.get("rss_mb") is not None:
        lines.append(f"resident memory at the end: {result['rss_mb']:.0f} MB")
    lat = result.get("latency")
    if lat:
        if "error" in lat:
            lines.append(f"latency: not measured ({lat['error']})")
        else:
            lines.append(
                f"capture-to-output latency, file camera {lat['size']} at {lat['source_fps']:g} fps: "
                f"median {lat['median_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, max {lat['max_ms']:.1f} ms; "
                f"{lat['frames_out']} of {lat['frames_read']} frames processed, "
                f"{lat['frames_dropped']} dropped (never queued)"
            )
    q = result.get("quality")
    if q:
        if "error" in q:
            lines.append(f"quality vs working resolution: not measured ({q['error']})")
        else:
            lines.append(f"quality vs working resolution (default mode, synth scenes {q['size']}):")
            lines.append("  case        work_width      F1  edge F1  ms/frame")
            for row in q["rows"]:
                ww = "full" if row["work_width"] == 0 else str(row["work_width"])
                lines.append(
                    f"  {row['case']:<11} {ww:>10}  {row['f1']:6.3f}  {row['edge_f1']:7.3f}  "
                    f"{row['ms_per_frame']:8.2f}"
                )
    return "\n".join(lines) + "\n"


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        try:
            w, h = (int(v) for v in part.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad size {part!r}; use WxH[,WxH...], e.g. 1280x720") from None
        if w < 16 or h < 16:
            raise argparse.ArgumentTypeError(f"size {part!r} is too small; use 16x16 or more")
        sizes.append((w, h))
    return sizes


def _parse_threads(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad thread list {text!r}; e.g. 1,0 (0 = OpenCV's default)"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("thread counts are 0 (OpenCV's default) or more")
    return values


def _parse_backgrounds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in BACKGROUND_KINDS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown background {bad[0]!r}; use {','.join(BACKGROUND_KINDS)}")
    return kinds


def _checkout(text: str) -> Path:
    path = Path(text).expanduser()
    if not (path / "bgcore" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(
            f"no bgcore package in {text!r}: pass a checkout's top folder (the one holding bgcore/)"
        )
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench options, for ``bgreplace bench`` / ``python -m bgcore bench``."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    parser.add_argument(
        "--sizes",
        type=_parse_sizes,
        default=list(DEFAULT_SIZES),
        help="frame sizes, e.g. 640x360,1280x720,1920x1080 (the default)",
    )
    parser.add_argument("--frames", type=positive_int, default=DEFAULT_FRAMES, help="timed frames per case")
    parser.add_argument(
        "--threads",
        type=_parse_threads,
        default=list(DEFAULT_THREADS),
        help="OpenCV thread counts, e.g. 1,0 (the default; 0 = OpenCV's default)",
    )
    parser.add_argument(
        "--backgrounds",
        type=_parse_backgrounds,
        default=list(DEFAULT_BACKGROUNDS),
        help=f"background kinds to time in default mode (default {','.join(DEFAULT_BACKGROUNDS)})",
    )
    parser.add_argument(
        "--against",
        type=_checkout,
        metavar="FOLDER",
        help="also time another checkout's default mode (the folder holding its bgcore/) on the "
        "same frames, and print this one's time over it",
    )
    for flag, dest, what in (
        ("--no-memory", "memory", "the tracemalloc pass"),
        ("--no-latency", "latency", "the file-camera latency"),
        ("--no-quality", "quality", "F1 vs working resolution"),
    ):
        parser.add_argument(flag, dest=dest, action="store_false", help=f"skip {what}")


def run(args: argparse.Namespace) -> int:
    """Run from parsed arguments (see :func:`add_arguments`); prints the report (JSON with
    ``--json``, else a table); returns 0."""
    result = run_bench(
        sizes=[tuple(s) for s in args.sizes],
        threads=args.threads,
        frames=args.frames,
        backgrounds=args.backgrounds,
        memory=args.memory,
        latency=args.latency,
        quality=args.quality,
        against=args.against,
    )
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bgcore.bench_cli [options]`` (the same as ``python -m bgcore bench``)."""
    parser = argparse.ArgumentParser(prog="bgcore bench", description="Speed and memory against the floor.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
