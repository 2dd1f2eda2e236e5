"""``python -m bgcore bench``: the engine's speed and memory, measured against a floor.

The floor is what any compositor must do per frame: convert one BGR frame to BGRA and copy
it once (``cv2.cvtColor`` into a buffer, then ``np.copyto`` into the output). Every other
case is reported as a ratio to it, measured in the same run, on the same frames, interleaved
(each frame goes through every case before the next frame, in an order shuffled per frame, so
no case always runs after the same one), so a noisy machine slows all cases alike and the
ratios stay meaningful.

Cases: ``floor``; ``tutorial`` (the plate method as tutorials write it in numpy: int16
differences, ``np.abs``, boolean masks and new arrays every frame); ``classic`` (the engine's
``mode=classic``); ``default`` (the default mode on a colour background, the target case);
and ``default:KIND`` for each background kind (image, blur, transparent, video).

Memory (separate pass, one thread, tracemalloc on, not timed): ``peak_mb`` is the traced
peak while the case is built and runs (plate building included); ``held_mb`` what it holds
in steady state (plate, buffers); ``alloc_kb_per_frame``
is the median over steady-state frames of the traced peak within one frame above the memory
held before it (any temporary array, freed or not, shows here); ``retained_kb`` is the traced
memory growth over those frames (a leak shows here). tracemalloc sees numpy and OpenCV
output arrays and Python objects, not OpenCV's internal scratch buffers.

Optional parts: ``latency`` (a file camera read by bgcore.capture.LatestFrameReader at the
file's fps, processed by the engine) and ``quality`` (F1 and edge F1 at the working
resolution vs full resolution on bgcore.synth scenes) run when those modules are present.

Threading: run from one thread; it changes OpenCV's global thread count and restores it.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json as jsonlib
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np
import numpy.typing as npt

from .argtypes import positive_int
from .frames import BGR
from .pipeline import BackgroundReplacer
from .settings import CLASSIC_THRESHOLD

BGRA = npt.NDArray[np.uint8]

DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((640, 360), (1280, 720), (1920, 1080))
DEFAULT_THREADS: tuple[int, ...] = (1, 0)
"""OpenCV thread counts to measure; 0 = OpenCV's default."""
DEFAULT_FRAMES = 60
DEFAULT_BACKGROUNDS: tuple[str, ...] = ("color", "image", "blur", "transparent", "video")
BACKGROUND_KINDS: tuple[str, ...] = DEFAULT_BACKGROUNDS
TARGET_RATIO = 6.0
"""Default mode, one thread, 1280x720 and 1920x1080: at most this many floors."""
AIM_RATIO = 4.0
TARGET_SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (1920, 1080))
FPS = 30.0
WARMUP = 8
ORDER_SEED = 4
DISTINCT_FRAMES = 24
PLATE_FRAMES = 10
MEMORY_FRAMES = 20
NOISE_SIGMA = 2.5
COLOR = "color:#00b140"
_OPENCV_DEFAULT_THREADS = cv2.getNumThreads()
_FOURCC_MJPG = cv2.VideoWriter.fourcc(*"MJPG")


# -- frames ------------------------------------------------------------------------------------
def make_scene(width: int, height: int, *, n_frames: int = DISTINCT_FRAMES, seed: int = 0) -> tuple[
    list[BGR], list[BGR]
]:
    """(plate frames, frames): a textured room with sensor noise, and a person (an ellipse body
    with a head and a striped shirt) walking across it. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    room = np.zeros((height, width, 3), np.float32)
    for cell, amp in ((4, 20.0), (16, 35.0), (64, 40.0)):
        gw, gh = max(2, width // cell + 2), max(2, height // cell + 2)
        grid = rng.uniform(-1.0, 1.0, (gh, gw, 3)).astype(np.float32)
        room += amp * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    room = np.clip(room + np.array([110, 125, 140], np.float32), 30, 220)
    noise = np.empty((height, width, 3), np.int16)
    base = np.rint(room).astype(np.int16)

    def noisy(img: npt.NDArray[np.int16]) -> BGR:
        cv2.randn(noise, 0, NOISE_SIGMA)
        return np.clip(img + noise, 0, 255).astype(np.uint8)

    plate = [noisy(base) for _ in range(PLATE_FRAMES)]
    rows = (60 + 40 * (np.arange(height) // max(2, height // 40) % 2)).astype(np.int16)
    stripes = np.broadcast_to(rows[:, None], (height, width))
    shirt = np.stack([stripes + 20, stripes + 50, stripes + 110], axis=2)
    frames = []
    for i in range(n_frames):
        person = np.zeros((height, width), np.uint8)
        phase = i / max(1, n_frames - 1)
        cx = int(width * (0.3 + 0.4 * phase))
        cv2.ellipse(person, (cx, int(height * 0.72)), (width // 9, int(height * 0.32)), 0, 0, 360, 255, -1)
        cv2.circle(person, (cx, int(height * 0.3)), max(4, height // 10), 255, -1)
        arm = (cx + width // 9, int(height * 0.55))
        cv2.ellipse(person, arm, (width // 12, height // 40), -20, 0, 360, 255, -1)
        img = base.copy()
        sel = person > 0
        img[sel] = shirt[sel]
        frames.append(noisy(img))
    return plate, frames


def _write_video(path: Path, width: int, height: int, n: int = 30) -> None:
    """A short MJPG clip of moving colour bands (a cheap stand-in for a user's video)."""
    writer = cv2.VideoWriter(str(path), _FOURCC_MJPG, FPS, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write a test video to {path}")
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    for i in range(n):
        b = 128 + 100 * np.sin((x + 8 * i) / 40.0) + 0 * y
        g = 128 + 100 * np.sin((y + 5 * i) / 30.0) + 0 * x
        r = 128 + 100 * np.sin((x + y + 12 * i) / 60.0)
        writer.write(np.clip(np.dstack([b, g, r]), 0, 255).astype(np.uint8))
    writer.release()


def _background_spec(kind: str, tmp: Path) -> str:
    if kind == "color":
        return COLOR
    if kind == "image":
        data = Path(__file__).with_name("data") / "background.jpg"
        if not data.exists():
            img = np.zeros((720, 1280, 3), np.uint8)
            cv2.randu(img, 0, 255)
            data = tmp / "background.png"
            cv2.imwrite(str(data), cv2.GaussianBlur(img, (0, 0), 8))
        return f"image:{data}"
    if kind == "blur":
        return "blur"
    if kind == "transparent":
        return "transparent"
    if kind == "video":
        path = tmp / "background.avi"
        if not path.exists():
            _write_video(path, 640, 360)
        return f"video:{path}"
    raise ValueError(f"unknown background kind {kind!r}; use one of {', '.join(BACKGROUND_KINDS)}")


# -- the cases ---------------------------------------------------------------------------------
Step = Callable[[BGR, float], object]


class Floor:
    """BGR -> BGRA into a buffer, then one copy into the output: the least any compositor does."""

    def __init__(self, width: int, height: int) -> None:
        self.tmp = np.empty((height, width, 4), np.uint8)
        self.out = np.empty((height, width, 4), np.uint8)

    def __call__(self, frame: BGR, t: float) -> BGRA:
        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=self.tmp)
        np.copyto(self.out, self.tmp)
        return self.out

    def close(self) -> None:
        pass


class Tutorial:
    """The plate method as the tutorials write it, in numpy: new arrays every frame, int16
    differences and np.abs, boolean-mask assignments, and a final BGRA stack."""

    def __init__(self, reference: BGR, background: BGR) -> None:
        self.reference = reference
        self.background = background

    def __call__(self, frame: BGR, t: float) -> BGRA:
        diff = np.abs(frame.astype(np.int16) - self.reference.astype(np.int16))
        diff[diff < CLASSIC_THRESHOLD] = 0
        gray = diff.mean(axis=2)
        fgmask = np.zeros(gray.shape, np.uint8)
        fgmask[gray > 10] = 255
        fgmask_inv = 255 - fgmask
        fgimg = frame * (fgmask[..., None] // 255)
        bgimg = self.background * (fgmask_inv[..., None] // 255)
        dst = fgimg + bgimg
        alpha = np.full((*dst.shape[:2], 1), 255, np.uint8)
        return np.concatenate([dst, alpha], axis=2)

    def close(self) -> None:
        pass


class Engine:
    """A BackgroundReplacer with a plate; ``t`` is passed through (video backgrounds)."""

    def __init__(self, plate: list[BGR], background: str, **settings: Any) -> None:
        self.r = BackgroundReplacer(background, **settings)
        self.r.set_plate(plate)

    def __call__(self, frame: BGR, t: float) -> BGRA:
        return self.r.process(frame, t=t)

    def close(self) -> None:
        self.r.close()


def case_names(backgrounds: Sequence[str]) -> list[str]:
    names = ["floor", "tutorial", "classic", "default"]
    names += [f"default:{k}" for k in backgrounds if k != "color"]
    return names


def _build(name: str, plate: list[BGR], size: tuple[int, int], tmp: Path) -> Any:
    w, h = size
    if name == "floor":
        return Floor(w, h)
    if name == "tutorial":
        bg = np.empty((h, w, 3), np.uint8)
        bg[:] = (64, 177, 0)
        return Tutorial(plate[0], bg)
    if name == "classic":
        return Engine(plate, COLOR, mode="classic")
    if name == "default":
        return Engine(plate, COLOR)
    kind = name.split(":", 1)[1]
    return Engine(plate, _background_spec(kind, tmp))


@contextlib.contextmanager
def _opencv_threads(n: int) -> Iterator[int]:
    """OpenCV's global thread count set to ``n`` (0 = its default) for the block."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(n if n > 0 else _OPENCV_DEFAULT_THREADS)
    try:
        yield cv2.getNumThreads()
    finally:
        cv2.setNumThreads(before)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _time_cases(
    cases: dict[str, Any], frames: list[BGR], n: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds per call of every case, interleaved on the same frames: each frame goes
    through every case, in an order shuffled per frame (seeded, so runs repeat). A fixed or
    rotating order would give every case the same predecessor every time, and the case after
    the cache-flushing ones (tutorial, classic) would always be timed colder than the rest."""
    names = list(cases)
    times: dict[str, list[float]] = {k: [] for k in names}
    clock = time.perf_counter
    order = np.random.default_rng(ORDER_SEED)
    for i in range(warmup + n):
        frame = frames[i % len(frames)]
        t = i / FPS
        for k in order.permutation(len(names)):
            name = names[int(k)]
            fn = cases[name]
            start = clock()
            fn(frame, t)
            dt = clock() - start
            if i >= warmup:
                times[name].append(dt)
    return times


def _summary(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)), "n": int(a.size)}


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def measure_allocations(step: Callable[[], object], frames: int = MEMORY_FRAMES) -> dict[str, float]:
    """Steady-state allocation of ``step()`` under tracemalloc (which must be tracing).

    Returns ``alloc_kb_per_frame`` (median traced peak within a call above the memory held
    before it: temporaries count even if freed) and ``retained_kb`` (growth over all calls).
    """
    peaks = []
    start = tracemalloc.get_traced_memory()[0]
    for _ in range(frames):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        step()
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
    end = tracemalloc.get_traced_memory()[0]
    return {
        "alloc_kb_per_frame": float(np.median(peaks)) / 1024.0,
        "alloc_kb_max": float(max(peaks)) / 1024.0,
        "retained_kb": (end - start) / 1024.0,
    }


def _memory(names: list[str], plate: list[BGR], frames: list[BGR], size: tuple[int, int], tmp: Path) -> dict[
    str, dict[str, float]
]:
    out: dict[str, dict[str, float]] = {}
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        for name in names:
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            case = _build(name, plate, size, tmp)
            for i in range(WARMUP):
                case(frames[i % len(frames)], i / FPS)
            peak = tracemalloc.get_traced_memory()[1] - base
            held = tracemalloc.get_traced_memory()[0] - base
            counter = iter(range(WARMUP, 10**9))

            def step(case: Any = case, counter: Iterator[int] = counter) -> None:
                i = next(counter)
                case(frames[i % len(frames)], i / FPS)

            stats = measure_allocations(step)
            stats["peak_mb"] = max(peak, tracemalloc.get_traced_memory()[1] - base) / 2**20
            stats["held_mb"] = held / 2**20
            case.close()
            del case
            out[name] = stats
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return out


# -- optional parts ------------------------------------------------------------------------------
def _latency(tmp: Path, size: tuple[int, int] = (1280, 720), seconds: float = 4.0) -> dict[str, Any] | None:
    """Capture-to-output latency on a file camera: bgcore.capture.LatestFrameReader paced at the
    file's fps (one-slot mailbox: frames are dropped, never queued), each newest frame run
    through the default mode; latency = output time - capture time (time.monotonic)."""
    try:
        from .capture import LatestFrameReader
    except ImportError:
        return None
    w, h = size
    plate, frames = make_scene(w, h, n_frames=DISTINCT_FRAMES, seed=7)
    path = tmp / f"camera-{w}x{h}.avi"
    writer = cv2.VideoWriter(str(path), _FOURCC_MJPG, FPS, (w, h))
    for f in frames * 4:
        writer.write(f)
    writer.release()
    r = BackgroundReplacer(COLOR)
    r.set_plate(plate)
    lat: list[float] = []
    seqs: list[int] = []
    try:
        with LatestFrameReader(str(path), loop=True) as reader:
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                item = reader.latest(timeout=1.0)
                if item is None:
                    break
                frame, captured, seq = item
                r.process(frame)
                lat.append(time.monotonic() - captured)
                seqs.append(seq)
            read, dropped, fps = reader.frames_read, reader.frames_dropped, reader.fps
    except Exception as exc:  # an optional measurement must not sink the benchmark
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        r.close()
    if not lat:
        return {"error": "the file camera delivered no frame"}
    a = np.asarray(lat) * 1000.0
    return {
        "size": f"{w}x{h}",
        "source_fps": fps,
        "frames_read": read,
        "frames_out": len(lat),
        "frames_dropped": dropped,
        "median_ms": float(np.median(a)),
        "p95_ms": float(np.percentile(a, 95)),
        "max_ms": float(a.max()),
    }


QUALITY_CASES: tuple[str, ...] = ("clean", "noise_high", "shadow", "similar_clothing")
QUALITY_WORK_WIDTHS: tuple[int, ...] = (480, 640, 0)
"""At 1280x720: 480 (the default) works at 320x180, 640 at 640x360, 0 at full resolution."""
QUALITY_SIZE = (1280, 720)


def _quality(
    work_widths: Sequence[int] = QUALITY_WORK_WIDTHS, size: tuple[int, int] = QUALITY_SIZE
) -> dict[str, Any] | None:
    """F1 and edge F1 of the default mode at each working width (0 = full resolution) on
    bgcore.synth scenes, pooled per case; the cost of the reduced working resolution."""
    try:
        from . import evaluate, synth
    except ImportError:
        return None
    try:
        cases = [c for c in QUALITY_CASES if c in synth.CASES] or list(synth.CASES[:3])
        rows: list[dict[str, Any]] = []
        for case in cases:
            scene = synth.make_scene(case, width=size[0], height=size[1], n_frames=20, seed=1)
            for ww in work_widths:
                m = evaluate.evaluate_scene(scene, mode="default", work_width=ww)
                rows.append({"case": case, "work_width": ww, "f1": m.f1, "edge_f1": m.edge_f1,
                             "ms_per_frame": m.ms_per_frame})
        return {"size": f"{size[0]}x{size[1]}", "rows": rows}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- the run -------------------------------------------------------------------------------------
def run_bench(
    *,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    threads: Sequence[int] = DEFAULT_THREADS,
    frames: int = DEFAULT_FRAMES,
    backgrounds: Sequence[str] = DEFAULT_BACKGROUNDS,
    json: bool = False,
    memory: bool = True,
    latency: bool = True,
    quality: bool = True,
    file: TextIO | None = None,
) -> dict[str, Any]:
    """Run the benchmark; returns a JSON-ready dict (see the module docstring and README.md).

    Keys: ``machine``, ``config``, ``timings`` (one record per size x threads x case:
    median_ms, p95_ms, ratio = median / floor median), ``memory`` (per size x case),
    ``targets`` (default mode, one thread: ratio vs TARGET_RATIO), ``latency``, ``quality``
    (None when the module they need is absent). With ``file``, the report is written there:
    JSON if ``json`` else a table.
    """
    for kind in backgrounds:
        if kind not in BACKGROUND_KINDS:
            raise ValueError(f"unknown background {kind!r}; use {', '.join(BACKGROUND_KINDS)}")
    if frames < 1:
        raise ValueError("frames must be 1 or more")
    names = case_names(backgrounds)
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_name(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "opencv_default_threads": _OPENCV_DEFAULT_THREADS,
        },
        "config": {
            "sizes": [list(s) for s in sizes],
            "threads": list(threads),
            "frames": frames,
            "backgrounds": list(backgrounds),
            "cases": names,
            "floor": "cv2.cvtColor BGR->BGRA into a buffer + np.copyto into the output",
        },
        "timings": [],
        "memory": [],
        "targets": [],
        "rss_mb": None,
        "latency": None,
        "quality": None,
    }
    with tempfile.TemporaryDirectory(prefix="bgbench-") as tmpdir:
        tmp = Path(tmpdir)
        for size in sizes:
            w, h = size
            plate, clip = make_scene(w, h)
            if memory:
                with _opencv_threads(1):
                    mem = _memory(names, plate, clip, size, tmp)
                for name in names:
                    result["memory"].append({"size": f"{w}x{h}", "case": name, **mem[name]})
            for nthreads in threads:
                with _opencv_threads(nthreads) as actual:
                    cases = {name: _build(name, plate, size, tmp) for name in names}
                    try:
                        with _no_gc():
                            times = _time_cases(cases, clip, frames, WARMUP)
                    finally:
                        for c in cases.values():
                            c.close()
                floor = float(np.median(times["floor"]))
                for name in names:
                    rec: dict[str, Any] = {
                        "size": f"{w}x{h}", "threads": nthreads, "opencv_threads": actual, "case": name
                    }
                    rec.update(_summary(times[name]))
                    rec["ratio"] = float(np.median(times[name])) / floor
                    result["timings"].append(rec)
                    if name == "default" and nthreads == 1 and (w, h) in TARGET_SIZES:
                        result["targets"].append(
                            {"size": f"{w}x{h}", "ratio": rec["ratio"], "limit": TARGET_RATIO,
                             "aim": AIM_RATIO, "met": rec["ratio"] <= TARGET_RATIO}
                        )
            del plate, clip
            gc.collect()
        result["rss_mb"] = _rss_mb()
        if latency:
            result["latency"] = _latency(tmp)
    if quality:
        result["quality"] = _quality()
    if file is not None:
        if json:
            jsonlib.dump(result, file, indent=1)
            file.write("\n")
        else:
            file.write(format_table(result))
    return result


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


# -- command line --------------------------------------------------------------------------------
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
    for flag, dest, what in (
        ("--no-memory", "memory", "the tracemalloc pass"),
        ("--no-latency", "latency", "the file-camera latency"),
        ("--no-quality", "quality", "F1 vs working resolution"),
    ):
        parser.add_argument(flag, dest=dest, action="store_false", help=f"skip {what}")


def run(args: argparse.Namespace) -> int:
    """Run from parsed arguments (see :func:`add_arguments`); prints the report; returns 0."""
    run_bench(
        sizes=[tuple(s) for s in args.sizes],
        threads=args.threads,
        frames=args.frames,
        backgrounds=args.backgrounds,
        json=args.json,
        memory=args.memory,
        latency=args.latency,
        quality=args.quality,
        file=sys.stdout,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bgcore.bench [options]`` (the same as ``python -m bgcore bench``)."""
    parser = argparse.ArgumentParser(prog="bgcore bench", description="Speed and memory against the floor.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
