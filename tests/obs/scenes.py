"""Deterministic test pictures: an empty room and the same room with a person in it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SIZE = (640, 360)


def empty_room(size: tuple[int, int] = SIZE) -> npt.NDArray[np.uint8]:
    w, h = size
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = 90 + 60 * x / w  # blue-ish wall gradient
    img[..., 1] = 110 + 40 * y / h
    img[..., 2] = 140 - 30 * x / w
    # a shelf, a picture frame and a plant: texture the engine must keep as background
    img[int(h * 0.55) : int(h * 0.6), : int(w * 0.4)] = (60, 80, 120)
    img[int(h * 0.15) : int(h * 0.4), int(w * 0.65) : int(w * 0.85)] = (40, 160, 200)
    img[int(h * 0.6) :, int(w * 0.05) : int(w * 0.15)] = (50, 140, 60)
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)  # fixed sensor-like texture
    return np.clip(img, 0, 255).astype(np.uint8)


def with_person(room: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    import cv2

    h, w = room.shape[:2]
    out = room.copy()
    cx = w // 2
    cv2.ellipse(
        out, (cx, int(h * 0.32)), (int(w * 0.06), int(h * 0.12)), 0, 0, 360, (120, 150, 215), -1
    )  # head
    cv2.rectangle(
        out, (cx - int(w * 0.13), int(h * 0.45)), (cx + int(w * 0.13), h), (150, 60, 40), -1
    )  # body
    cv2.ellipse(out, (cx, int(h * 0.47)), (int(w * 0.13), int(h * 0.05)), 0, 180, 360, (150, 60, 40), -1)
    return out
