"""What every frame source is: the :class:`FrameSource` protocol, the options a source is
opened with, the registry of kinds, and the frame helpers the built-in sources share.

The threading and lifetime contract is in :mod:`bgcore.capture`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from ..errors import SourceError
from ..frames import BGR, to_bgr
from ..kinds import kind_key

DEFAULT_FPS = 30.0
"""The rate of a source that does not say one (or says one out of 0.1 to 1000)."""


@runtime_checkable
class FrameSource(Protocol):
    """A stream of HxWx3 uint8 BGR frames (see the module docstring for the contract)."""

    name: str
    fps: float
    live: bool

    def read(self) -> BGR | None:
        """The next frame; None at the end of a file; SourceError if a live source is lost."""
        ...

    def close(self) -> None:
        """Release the device or file; idempotent."""
        ...


@dataclasses.dataclass(frozen=True)
class SourceOptions:
    """What :func:`open_source` passes to a source factory."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    loop: bool = False


NO_OPTIONS = SourceOptions()
"""The options of a source opened with none given (frozen: one shared instance)."""

SourceFactory = Callable[[str, SourceOptions], FrameSource]
"""``factory(argument, options)``: argument is the spec after ``kind:`` (or the whole spec
for the built-in dispatch to camera, url, sequence, image and video)."""

SOURCE_KINDS: dict[str, SourceFactory] = {}
"""Registered kinds (lower case). Use :func:`register_source` to add one."""


def register_source(kind: str, factory: SourceFactory) -> None:
    """Make ``kind:ARG`` specs open ``factory(ARG, options)``; replaces an existing kind.

    A kind is a word of two letters or more (one letter would shadow Windows drive paths).
    """
    SOURCE_KINDS[kind_key(kind, "source")] = factory


def as_bgr(frame: Any) -> BGR:
    """A decoded frame (grey, BGRA, 16-bit) as HxWx3 uint8 BGR; BGR uint8 passes untouched."""
    a = np.asarray(frame)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3:
        return a
    return to_bgr(a)


def target_size(w: int, h: int, opts: SourceOptions) -> tuple[int, int] | None:
    """The size to resize (w, h) frames to, or None to keep them."""
    tw, th = opts.width, opts.height
    if tw and th:
        size = (tw, th)
    elif tw:
        size = (tw, max(1, round(h * tw / w)))
    elif th:
        size = (max(1, round(w * th / h)), th)
    else:
        return None
    return None if size == (w, h) else size


def resized(frame: BGR, size: tuple[int, int] | None) -> BGR:
    if size is None:
        return frame
    interp = cv2.INTER_AREA if size[0] < frame.shape[1] and size[1] < frame.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(frame, size, interpolation=interp)


def frame_rate(value: Any, default: float = DEFAULT_FPS) -> float:
    try:
        fps = float(value or 0.0)
    except (TypeError, ValueError):
        return default
    return fps if math.isfinite(fps) and 0.1 <= fps <= 1000 else default


def check_options(opts: SourceOptions) -> None:
    for what, v in (("width", opts.width), ("height", opts.height)):
        if v is not None and not 8 <= v <= 16384:
            raise SourceError(f"requested {what} {v} is out of range; use 8 to 16384 (or leave it unset)")
    if opts.fps is not None and not (math.isfinite(opts.fps) and 0.1 <= opts.fps <= 1000):
        raise SourceError(f"requested fps {opts.fps:g} is out of range; use 0.1 to 1000 (or leave it unset)")
