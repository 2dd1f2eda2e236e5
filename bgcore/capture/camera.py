"""A camera by index, through ``cv2.VideoCapture``."""

from __future__ import annotations

import time
from typing import Any

import cv2

from ..errors import SourceError
from ..frames import BGR
from .source import NO_OPTIONS, SourceOptions, as_bgr, frame_rate


class CameraSource:
    """A camera by index (``cv2.VideoCapture(index)``); ``live=True``. Width, height and fps
    are requests to the driver; frames come at the size the camera delivers. Reading raises
    SourceError once the camera stops giving frames (unplugged, taken by another program)."""

    live = True
    OPEN_TRIES = 10
    """Reads tried at open time before giving up (cameras can take a moment to start)."""

    def __init__(
        self, index: int, opts: SourceOptions = NO_OPTIONS, *, backend: int | None = None
    ) -> None:
        self.index = index
        self.name = f"camera {index}"
        self._cap: Any = cv2.VideoCapture(index) if backend is None else cv2.VideoCapture(index, backend)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(
                f"cannot open camera {index}: no such device; check it is plugged in and not used "
                "by another program"
            )
        if opts.width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, opts.width)
        if opts.height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, opts.height)
        if opts.fps:
            self._cap.set(cv2.CAP_PROP_FPS, opts.fps)
        self.fps = frame_rate(self._cap.get(cv2.CAP_PROP_FPS), frame_rate(opts.fps))
        self._first: BGR | None = None
        for _ in range(self.OPEN_TRIES):
            ok, frame = self._cap.read()
            if ok and frame is not None:
                self._first = as_bgr(frame)
                break
            time.sleep(0.05)
        if self._first is None:
            self._cap.release()
            self._cap = None
            raise SourceError(
                f"camera {index} opened but gives no picture; close other programs using it "
                "(OBS's own camera source too) and check its privacy switch"
            )

    def read(self) -> BGR | None:
        if self._cap is None:
            raise SourceError(f"camera {self.index} is closed")
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceError(f"camera {self.index} stopped giving frames; is it still plugged in?")
        return as_bgr(frame)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
