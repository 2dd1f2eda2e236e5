"""The benchmark: the engine's speed and memory, measured against a floor (the command line
is :mod:`bgcore.bench_cli`, the scene :mod:`bgcore.workload`).

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

Comparing two checkouts: ``against`` (``--against FOLDER``) adds the default mode of another
checkout's ``bgcore`` (imported beside this one), timed in the same interleaved rounds; the
median over frames of this one's time over the other's is the measure of a change (two runs
of the benchmark on a shared machine differ by more than a change of a few percent).

Optional parts: ``latency`` (a file camera read by bgcore.capture.LatestFrameReader at the
file's fps, processed by the engine) and ``quality`` (F1 and edge F1 at the working
resolution vs full resolution on bgcore.synth scenes) run when those modules are present.

Threading: run from one thread; it changes OpenCV's global thread count and restores it.

One module of about 440 lines: the cases and the four measurements (interleaved timing,
memory, latency, quality against the working size) share one run's setup; each is a
function of its own.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR
from .mask import GRAY_THRESHOLD
from .pipeline import BackgroundReplacer
from .settings import CLASSIC_THRESHOLD
from .workload import (
    BACKGROUND_KINDS,
    COLOR,
    DISTINCT_FRAMES,
    FOURCC_MJPG,
    FPS,
    background_spec,
    make_scene,
    measure_allocations,
)

BGRA = npt.NDArray[np.uint8]

DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((640, 360), (1280, 720), (1920, 1080))
DEFAULT_THREADS: tuple[int, ...] = (1, 0)
"""OpenCV thread counts to measure; 0 = OpenCV's default."""
DEFAULT_FRAMES = 60
DEFAULT_BACKGROUNDS: tuple[str, ...] = BACKGROUND_KINDS
TARGET_RATIO = 6.0
"""Default mode, one thread, 1280x720 and 1920x1080: at most this many floors."""
AIM_RATIO = 4.0
TARGET_SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (1920, 1080))
WARMUP = 8
ORDER_SEED = 4
_OPENCV_DEFAULT_THREADS = cv2.getNumThreads()


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
        fgmask[gray > GRAY_THRESHOLD] = 255
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


AGAINST = "default@against"
"""The case name of the default mode of another checkout (see :func:`load_replacer`)."""


def load_replacer(checkout: Path) -> type:
    """The ``BackgroundReplacer`` class of another checkout's ``bgcore`` (a folder holding
    ``bgcore/__init__.py``), imported beside this one as the package ``bgcore_against`` (its
    own modules and kernels): an old and a new engine timed on the same frames in one run,
    where the machine's noise between two runs hides a change of a few percent. ValueError
    (one line: what is wrong, what to pass) when the folder holds no bgcore, or when another
    checkout was loaded in this process already (one per process)."""
    init = checkout / "bgcore" / "__init__.py"
    if not init.is_file():
        raise ValueError(
            f"no bgcore package in {checkout}: pass a checkout's top folder (the one holding bgcore/)"
        )
    name = "bgcore_against"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(str(loaded.__file__)).resolve() != init.resolve():
        raise ValueError(
            f"another checkout ({Path(str(loaded.__file__)).parents[1]}) is already loaded in this "
            "process: compare one checkout per run"
        )
    if loaded is None:
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception:
            del sys.modules[name]
            raise
    pipeline = importlib.import_module(f"{name}.pipeline")
    return pipeline.BackgroundReplacer  # type: ignore[no-any-return]


class OtherEngine(Engine):
    """:class:`Engine` with another checkout's BackgroundReplacer class."""

    def __init__(self, replacer: type, plate: list[BGR], background: str) -> None:
        self.r = replacer(background)
        self.r.set_plate(plate)


def case_names(backgrounds: Sequence[str]) -> list[str]:
    names = ["floor", "tutorial", "classic", "default"]
    names += [f"default:{k}" for k in backgrounds if k != "color"]
    return names


def _build(
    name: str, plate: list[BGR], size: tuple[int, int], tmp: Path, against: type | None = None
) -> Any:
    w, h = size
    if name == AGAINST:
        assert against is not None
        return OtherEngine(against, plate, COLOR)
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
    return Engine(plate, background_spec(kind, tmp))


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
    writer = cv2.VideoWriter(str(path), FOURCC_MJPG, FPS, (w, h))
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
    memory: bool = True,
    latency: bool = True,
    quality: bool = True,
    against: Path | None = None,
) -> dict[str, Any]:
    """Run the benchmark; returns a JSON-ready dict (see the module docstring and README.md).
    With ``against`` (another checkout's top folder), that checkout's default mode is timed
    too, interleaved with this one's on the same frames, and ``compared`` holds per size and
    thread setting the median over frames of this one's time over the other's (below 1:
    this checkout is faster).

    Keys: ``machine``, ``config``, ``timings`` (one record per size x threads x case:
    median_ms, p95_ms, ratio = median / floor median), ``memory`` (per size x case),
    ``targets`` (default mode, one thread: ratio vs TARGET_RATIO), ``latency``, ``quality``
    (None when the module they need is absent). :func:`bgcore.bench_cli.format_table` makes
    a table of it for people.
    """
    for kind in backgrounds:
        if kind not in BACKGROUND_KINDS:
            raise ValueError(f"unknown background {kind!r}; use {', '.join(BACKGROUND_KINDS)}")
    if frames < 1:
        raise ValueError("frames must be 1 or more")
    names = case_names(backgrounds)
    own = list(names)  # (the memory pass measures this checkout's cases only)
    other = None
    if against is not None:
        other = load_replacer(against)
        names.append(AGAINST)
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
        "compared": [],
    }
    if against is not None:
        result["config"]["against"] = str(against)
    with tempfile.TemporaryDirectory(prefix="bgbench-") as tmpdir:
        tmp = Path(tmpdir)
        for size in sizes:
            w, h = size
            plate, clip = make_scene(w, h)
            if memory:
                with _opencv_threads(1):
                    mem = _memory(own, plate, clip, size, tmp)
                for name in own:
                    result["memory"].append({"size": f"{w}x{h}", "case": name, **mem[name]})
            for nthreads in threads:
                with _opencv_threads(nthreads) as actual:
                    cases = {name: _build(name, plate, size, tmp, other) for name in names}
                    try:
                        with _no_gc():
                            times = _time_cases(cases, clip, frames, WARMUP)
                    finally:
                        for c in cases.values():
                            c.close()
                floor = float(np.median(times["floor"]))
                if other is not None:  # (the same frames, in the same order: paired)
                    paired = np.asarray(times["default"]) / np.asarray(times[AGAINST])
                    result["compared"].append(
                        {"size": f"{w}x{h}", "threads": nthreads, "ratio": float(np.median(paired))}
                    )
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


