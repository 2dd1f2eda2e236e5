"""A video file as the background, looping forever, paced to the caller's clock."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import cv2

from ..errors import BackgroundError
from ..frames import BGR, to_bgr
from .base import FittedPictures, check_fit


class VideoBackground:
    """A video file that loops forever, paced to the caller's clock.

    The first ``render`` sets ``t0``; afterwards the frame shown is number
    ``floor((t - t0) * fps) mod frame_count``. A frame is decoded only when that number
    advances; frames skipped over (``t`` jumped) are passed with ``grab()`` (demuxed but not
    converted); going back (the loop, or ``t`` moving backwards) rewinds to the start. Each
    decoded frame is fitted into a buffer reused per output size. ``frames_decoded`` counts
    read and grab calls (for tests and benchmarks). If the file stops decoding, the last frame
    stays and ``error`` says why.
    """

    transparent = False
    static = False  # (one buffer per size, refilled with each new picture)

    def __init__(self, path: str | os.PathLike[str], *, fit: str = "cover") -> None:
        check_fit(fit)
        self.path = str(path)
        self.name = self.path
        self.fit = fit
        self.error: str | None = None
        p = Path(path)
        if not p.exists():
            raise BackgroundError(f"background video '{path}' not found; check the path")
        if p.is_dir():
            raise BackgroundError(f"background '{path}' is a folder; give an image or video file")
        self._cap: Any = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            self._cap.release()
            raise BackgroundError(
                f"cannot open background video '{path}'; it is not a video OpenCV can decode "
                "(try an MP4 with H.264)"
            )
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0.1 <= fps <= 1000 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 else None
        """Frames in the file; None until known (some containers do not say)."""
        self._frame: BGR | None = None
        self._decode_buf: Any = None
        self.frames_decoded = 0
        if not self._read():
            self._cap.release()
            raise BackgroundError(f"cannot decode background video '{path}': it has no readable frame")
        self._pos = 0  # index of the frame in self._frame
        self._next = 1  # index the decoder reads next
        self._t0: float | None = None
        self._pictures = FittedPictures(fit)

    def _read(self) -> bool:
        self.frames_decoded += 1
        ok, frame = self._cap.read(self._decode_buf)
        if not ok or frame is None:
            return False
        self._decode_buf = frame
        self._frame = frame if frame.ndim == 3 and frame.shape[2] == 3 else to_bgr(frame)
        return True

    def _grab(self) -> bool:
        self.frames_decoded += 1
        return bool(self._cap.grab())

    def _rewind(self) -> bool:
        if not self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            self._cap.release()
            self._cap = cv2.VideoCapture(self.path)
            if not self._cap.isOpened():
                return False
        self._next = 0
        return True

    def frame_index(self, t: float) -> int:
        """The frame number shown at ``t`` (the first render fixes ``t0``)."""
        if self._t0 is None:
            self._t0 = t
        index = max(0, math.floor((t - self._t0) * self.fps + 1e-6))
        return index % self.frame_count if self.frame_count else index

    def _seek(self, index: int) -> None:
        """Decode frame ``index`` into self._frame (reading at most what is needed)."""
        for _ in range(2):  # a second pass after learning the real frame count
            if index < self._next and not self._rewind():
                self.error = f"background video '{self.path}' cannot be reopened; showing its last frame"
                self.close()
                return
            while self._next < index:
                if not self._grab():
                    break
                self._next += 1
            if self._next == index and self._read():
                self._pos = index
                self._next = index + 1
                return
            # the file ended before `index`: now we know its length
            if self._next == 0:
                self.error = f"background video '{self.path}' stopped decoding; showing its last frame"
                self.close()
                return
            self.frame_count = self._next
            index %= self._next
            if index == self._pos:
                return

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        index = self.frame_index(t)
        if index != self._pos and self._cap is not None:
            self._seek(index)
        return self._pictures.render(self._frame, self._pos, width, height)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
