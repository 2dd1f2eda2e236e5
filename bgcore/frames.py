"""Frames where they enter the engine: the checks (never per pixel in the hot loop), reading a
picture file, converting any decoded picture to BGR, and which file extensions are pictures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from .errors import FrameShapeError, FrameTypeError

BGR = npt.NDArray[np.uint8]
"""An HxWx3 uint8 BGR image (OpenCV's order)."""
LUMA_BGR = np.array([0.114, 0.587, 0.299], np.float32)
"""The luma weights (BT.601) of a BGR pixel's channels."""

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
     ".pnm", ".sr", ".ras", ".jp2", ".exr", ".hdr", ".pic", ".avif"}
)
"""File extensions read as still pictures (by the frame sources and the backgrounds)."""
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mkv", ".avi", ".mov", ".webm", ".gif", ".wmv", ".flv", ".mpg", ".mpeg", ".ts",
     ".m2ts", ".mts", ".ogv", ".3gp", ".mjpeg", ".mjpg"}
)
"""File extensions a background opens as a video without trying it as a picture first."""


def check_bgr(frame: Any, *, size: tuple[int, int] | None = None, what: str = "frame") -> BGR:
    """Return ``frame`` if it is an HxWx3 uint8 array (of ``size`` = (width, height) if given).

    Raises FrameTypeError / FrameShapeError with a message that says what was received and
    what was expected.
    """
    if not isinstance(frame, np.ndarray):
        raise FrameTypeError(
            f"{what} must be a numpy array (HxWx3 uint8 BGR), got {type(frame).__name__}"
        )
    if frame.dtype != np.uint8:
        raise FrameTypeError(
            f"{what} must have dtype uint8 (8-bit BGR), got {frame.dtype}; "
            "convert with frame.astype(numpy.uint8) after scaling to 0-255"
        )
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise FrameShapeError(
            f"{what} must be HxWx3 (BGR), got shape {tuple(frame.shape)}; "
            "convert grey or BGRA input with cv2.cvtColor first"
        )
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        raise FrameShapeError(f"{what} is too small ({frame.shape[1]}x{frame.shape[0]}); need 8x8 or more")
    if size is not None and (frame.shape[1], frame.shape[0]) != size:
        raise FrameShapeError(
            f"{what} is {frame.shape[1]}x{frame.shape[0]} but the background plate is "
            f"{size[0]}x{size[1]}; recapture the background at this camera size"
        )
    return frame


def read_image_file(path: str | os.PathLike[str]) -> npt.NDArray[Any] | None:
    """The picture in the file at ``path`` as OpenCV decodes it (any depth and channels), or
    None when the file is not a picture. OSError (FileNotFoundError, IsADirectoryError, ...)
    when it cannot be read. Reads the bytes itself: cv2.imread cannot open non-ASCII paths on
    Windows."""
    data = Path(path).read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    return None if image is None or image.size == 0 else image


def to_bgr(image: Any) -> BGR:
    """Any image cv2 decodes (grey, grey+alpha, BGR, BGRA; 8 or 16 bit; float 0..1) as HxWx3
    uint8 BGR. Alpha is composited over black, so transparent parts of a logo become black."""
    a = np.asarray(image)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.clip(np.nan_to_num(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    if a.ndim != 3 or a.shape[2] not in (2, 3, 4):
        raise ValueError(f"not an image: shape {a.shape}")
    if a.shape[2] == 3:
        return np.ascontiguousarray(a)
    if a.shape[2] == 2:  # grey + alpha
        colour, alpha = cv2.cvtColor(np.ascontiguousarray(a[:, :, 0]), cv2.COLOR_GRAY2BGR), a[:, :, 1]
    else:
        colour, alpha = a[:, :, :3], a[:, :, 3]
    if bool((alpha == 255).all()):
        return np.ascontiguousarray(colour)
    weight = alpha.astype(np.uint16)[:, :, None]
    return ((colour.astype(np.uint16) * weight + 127) // 255).astype(np.uint8)
