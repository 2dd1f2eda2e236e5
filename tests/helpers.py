"""Small deterministic scenes built from first principles, for unit tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def textured_room(h: int = 180, w: int = 320, seed: int = 0) -> np.ndarray:
    """A float32 BGR wall with texture at several scales (values ~40-210)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for scale, amp in ((2, 25.0), (6, 35.0), (20, 40.0)):
        noise = rng.uniform(-1, 1, (h // scale + 2, w // scale + 2, 3)).astype(np.float32)
        img += amp * cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img + np.array([110, 125, 140], np.float32), 30, 220)


def noisy(img: np.ndarray, rng: np.random.Generator, sigma: float = 2.5) -> np.ndarray:
    return np.clip(np.rint(img + rng.normal(0, sigma, img.shape)), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (BGR uint8) as a JPEG camera at ``quality`` delivers it: encoded, decoded."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def write_flat_video(path: Path, n: int = 10, fps: float = 10.0, size: tuple[int, int] = (64, 48)) -> Path:
    """Frame k is flat grey level 20*k (FFV1 is lossless: the levels come back exactly)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), fps, size)
    assert w.isOpened()
    for k in range(n):
        w.write(np.full((size[1], size[0], 3), 20 * k, np.uint8))
    w.release()
    return path
