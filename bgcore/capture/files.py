"""The sources that are files or memory: in-memory frames, a still image, and anything
``cv2.VideoCapture`` opens by name (a video file, an image sequence, a network stream)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..errors import SourceError
from ..frames import BGR, check_bgr, read_image_file
from .source import DEFAULT_FPS, NO_OPTIONS, SourceOptions, as_bgr, frame_rate, resized, target_size


class SequenceSource:
    """In-memory frames, for tests and demos: returns ``frames`` in order, then None (or
    starts again with ``loop``). ``live=True`` makes it look like a camera (it then never
    ends: it loops). Frames are checked once here and returned as given (not copied)."""

    def __init__(
        self,
        frames: Sequence[BGR],
        fps: float = DEFAULT_FPS,
        *,
        loop: bool = False,
        live: bool = False,
        name: str = "sequence",
    ) -> None:
        if len(frames) == 0:
            raise SourceError("a frame sequence needs at least one frame")
        self.frames = [check_bgr(f, what=f"frame {i} of {name}") for i, f in enumerate(frames)]
        self.fps = float(fps)
        self.loop = loop or live
        self.live = live
        self.name = name
        self.index = 0
        self.closed = False

    def read(self) -> BGR | None:
        if self.closed:
            raise SourceError(f"{self.name} is closed")
        if self.index >= len(self.frames):
            if not self.loop:
                return None
            self.index = 0
        frame = self.frames[self.index]
        self.index += 1
        return frame

    def close(self) -> None:
        self.closed = True


class StillImageSource:
    """A still image: ``read()`` returns the same read-only picture every call (``live`` is
    False; a consumer that wants one frame, like the CLI, reads once)."""

    live = False

    def __init__(self, path: str | os.PathLike[str], opts: SourceOptions = NO_OPTIONS) -> None:
        self.name = str(path)
        try:
            decoded = read_image_file(path)
        except FileNotFoundError:
            raise SourceError(f"image '{path}' not found; check the path") from None
        except OSError as exc:
            raise SourceError(f"cannot read image '{path}': {exc.strerror or exc}") from None
        if decoded is None:
            raise SourceError(f"cannot decode image '{path}'; use a PNG, JPEG, WebP or BMP file")
        image = as_bgr(decoded)
        image = np.ascontiguousarray(resized(image, target_size(image.shape[1], image.shape[0], opts)))
        image.flags.writeable = False
        self.image: BGR = image
        self.fps = frame_rate(opts.fps)
        self.closed = False

    def read(self) -> BGR | None:
        if self.closed:
            raise SourceError(f"image '{self.name}' is closed")
        return self.image

    def close(self) -> None:
        self.closed = True


class VideoSource:
    """Anything cv2.VideoCapture opens by name: a video file, an image-sequence pattern or a
    network stream (``live=True``). A file returns None at its end (or starts again with
    ``loop``); a live stream raises SourceError when it stops."""

    def __init__(self, target: str, opts: SourceOptions = NO_OPTIONS, *, live: bool = False,
                 what: str = "video") -> None:
        self.name = target
        self.live = live
        self.loop = opts.loop and not live
        self.what = what
        self._opts = opts
        self.frames_read = 0
        self._cap: Any = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            self._cap.release()
            if live:
                raise SourceError(
                    f"cannot open stream '{target}'; check the address and that the stream is running"
                )
            raise SourceError(f"cannot decode {what} '{target}'; it is not a format OpenCV can read "
                              "(try an MP4 with H.264)")
        self.fps = frame_rate(opts.fps or self._cap.get(cv2.CAP_PROP_FPS))
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 and not live else None
        self._first: BGR | None = self._next_frame()
        if self._first is None:
            self._cap.release()
            self._cap = None
            if live:
                raise SourceError(f"stream '{target}' opened but sends no picture; check the stream")
            raise SourceError(f"cannot decode {what} '{target}': it has no readable frame")
        h, w = self._first.shape[:2]
        self._size = target_size(w, h, opts)
        self._ended = False

    def _next_frame(self) -> BGR | None:
        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        return as_bgr(frame)

    def _rewind(self) -> bool:
        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return True
        self._cap.release()
        self._cap = cv2.VideoCapture(self.name)
        return bool(self._cap.isOpened())

    def read(self) -> BGR | None:
        if self._cap is None:
            if self._ended:
                return None
            raise SourceError(f"{self.what} '{self.name}' is closed")
        if self._first is not None:
            frame: BGR | None = self._first
            self._first = None
        else:
            frame = self._next_frame()
            if frame is None and self.live:
                raise SourceError(f"stream '{self.name}' stopped sending frames; reconnecting may help")
            if frame is None and self.loop and self.frames_read > 0:
                if not self._rewind():
                    raise SourceError(f"cannot restart {self.what} '{self.name}' for looping")
                frame = self._next_frame()
                if frame is None:  # the seek was accepted but lands nowhere (seen on 1-frame mp4)
                    self._cap.release()
                    self._cap = cv2.VideoCapture(self.name)
                    frame = self._next_frame() if self._cap.isOpened() else None
            if frame is None:
                self._ended = True
                self.close()
                return None
        assert frame is not None
        self.frames_read += 1
        return resized(frame, self._size)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
