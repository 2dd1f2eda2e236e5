"""Where processed frames go: a video file or an image sequence (and mask folders).

Outputs are checked when they are opened, before any frame is processed, so a typo in a
path costs the user nothing: :func:`open_writer` raises :class:`OutputError` with a one-line
message when the folder cannot be created or the container cannot be written.

Threading and lifetime: a writer is used by one thread; ``close()`` is idempotent and
finalises the file (a video is only playable after it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from .errors import OutputError

BGRA = npt.NDArray[np.uint8]

# Container -> FourCC that OpenCV's bundled FFmpeg writes everywhere (pip wheels have no H.264
# encoder, so mp4 uses MPEG-4 part 2, which every player reads).
VIDEO_CODECS: dict[str, str] = {
    ".mp4": "mp4v",
    ".m4v": "mp4v",
    ".mov": "mp4v",
    ".avi": "MJPG",
    ".mkv": "XVID",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Formats that keep the alpha channel of a BGRA frame.
ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")


class FrameWriter(Protocol):
    """Receives HxWx4 BGRA frames in order. ``path`` is what the user asked for."""

    path: str

    def write(self, frame: BGRA) -> None: ...

    def close(self) -> None: ...


def is_pattern(spec: str) -> bool:
    """True for a printf-style image-sequence pattern such as ``out/%05d.png``."""
    try:
        return (spec % 0) != spec
    except (TypeError, ValueError):
        return False


def _ensure_folder(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder {str(folder)!r} for {what} ({exc.strerror}); "
            "choose a writable location"
        ) from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"the folder {str(folder)!r} for {what} is not writable; choose another location")


class ImageSequenceWriter:
    """Writes frame k to ``pattern % k`` (k from 0). PNG/TIFF/WebP keep alpha; others get BGR."""

    def __init__(self, pattern: str) -> None:
        self.path = pattern
        suffix = Path(pattern).suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            raise OutputError(
                f"cannot write images of type {suffix or '(none)'!r} in {pattern!r}; "
                f"use one of {', '.join(IMAGE_SUFFIXES)}"
            )
        _ensure_folder(Path(pattern % 0).parent, "the output images")
        self._alpha = suffix in ALPHA_SUFFIXES
        self._index = 0

    def write(self, frame: BGRA) -> None:
        name = self.path % self._index
        image = frame if self._alpha or frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        try:
            ok = cv2.imwrite(name, image)
        except cv2.error:
            ok = False
        if not ok:
            raise OutputError(f"cannot write {name!r}; check the disk is not full and the folder is writable")
        self._index += 1

    def close(self) -> None:
        pass


class VideoWriter:
    """A video file. Opened on the first frame (the size comes from it); alpha is dropped."""

    def __init__(self, path: str, fps: float) -> None:
        self.path = path
        suffix = Path(path).suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise OutputError(
                f"cannot write video of type {suffix or '(none)'!r} ({path!r}); use "
                f"{', '.join(VIDEO_CODECS)} or an image sequence such as out/%05d.png"
            )
        _ensure_folder(Path(path).parent, "the output video")
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write {path!r} ({exc.strerror}); choose a writable location") from None
        self._fourcc = cv2.VideoWriter.fourcc(*VIDEO_CODECS[suffix])
        self._fps = fps if fps and 0 < fps <= 240 else 30.0
        self._writer: cv2.VideoWriter | None = None
        self._bgr: npt.NDArray[np.uint8] | None = None
        self._closed = False

    def write(self, frame: BGRA) -> None:
        h, w = frame.shape[:2]
        if self._writer is None:
            self._writer = cv2.VideoWriter(self.path, self._fourcc, self._fps, (w, h))
            if not self._writer.isOpened():
                raise OutputError(f"cannot open {self.path!r} for writing video; try an .avi or .mp4 name")
            self._bgr = np.empty((h, w, 3), np.uint8)
        assert self._bgr is not None
        if frame.ndim == 2:
            cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR, dst=self._bgr)
        else:
            cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR, dst=self._bgr)
        self._writer.write(self._bgr)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._writer is not None:
                self._writer.release()


def open_writer(spec: str, *, fps: float = 30.0) -> FrameWriter:
    """An image-sequence writer for a ``%d`` pattern or a single image name, else a video writer."""
    if is_pattern(spec):
        return ImageSequenceWriter(spec)
    if Path(spec).suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(
            f"{spec!r} names one image but the output has many frames; "
            f"use a pattern such as {Path(spec).with_suffix('')!s}_%05d{Path(spec).suffix}"
        )
    return VideoWriter(spec, fps)


class MaskFolderWriter:
    """``DIR/00000.png``, ``DIR/00001.png``, ...: one 8-bit mask per input frame."""

    def __init__(self, folder: str) -> None:
        self.path = folder
        _ensure_folder(Path(folder), "the masks")
        self._writer = ImageSequenceWriter(str(Path(folder) / "%05d.png"))

    def write(self, mask: npt.NDArray[np.uint8]) -> None:
        self._writer.write(mask)

    def close(self) -> None:
        self._writer.close()
