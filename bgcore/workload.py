"""The benchmark's workload, shared with the memory tests: a room with a person walking
across it, the backgrounds it is composited on, and the measure of what a step allocates.

Deterministic for a seed; no timing here.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR

DISTINCT_FRAMES = 24
PLATE_FRAMES = 10
MEMORY_FRAMES = 20
NOISE_SIGMA = 2.5
FPS = 30.0
COLOR = "color:#00b140"
BACKGROUND_KINDS: tuple[str, ...] = ("color", "image", "blur", "transparent", "video")
FOURCC_MJPG = cv2.VideoWriter.fourcc(*"MJPG")


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


def _write_video(path: Path, width: int, height: int, n: int = 30) -> None:
    """A short MJPG clip of moving colour bands (a cheap stand-in for a user's video)."""
    writer = cv2.VideoWriter(str(path), FOURCC_MJPG, FPS, (width, height))
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


def background_spec(kind: str, tmp: Path) -> str:
    """The background spec of a kind (``tmp``: a folder for the files it needs)."""
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
