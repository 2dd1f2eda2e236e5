"""What every background is: the :class:`Background` protocol, the registry of kinds, and the
helpers every kind shares (fitting a picture into an output size, a few buffers per size).

The threading and lifetime contract is in :mod:`bgcore.backgrounds`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from ..errors import BackgroundError
from ..frames import BGR
from ..kinds import kind_key

FITS = ("cover", "contain", "stretch")


@runtime_checkable
class Background(Protocol):
    """What the engine composites behind the person (see the module docstring for the
    threading and lifetime contract)."""

    @property
    def transparent(self) -> bool:
        """True when :meth:`render` returns None (the output's alpha shows the person)."""
        ...

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR | None:
        """The HxWx3 uint8 BGR picture of exactly ``width`` x ``height`` for time ``t`` (seconds,
        the caller's monotonic clock); ``plate`` is the captured empty scene or None. Returns
        None only when ``transparent``. The buffer is owned by the background."""
        ...

    def close(self) -> None:
        """Release decoders / grabbers; idempotent."""
        ...


BackgroundFactory = Callable[[str | None, str], Background]
"""``factory(argument, fit)``: argument is the text after ``kind:`` (None for a bare kind)."""

BACKGROUND_KINDS: dict[str, BackgroundFactory] = {}
"""Registered kinds by prefix (lower case). Use :func:`register_background` to add one."""


def register_background(kind: str, factory: BackgroundFactory) -> None:
    """Make ``kind`` and ``kind:ARG`` specs open ``factory(ARG or None, fit)``.

    A kind is a word of two letters or more (one letter would shadow Windows drive paths).
    Registering an existing kind replaces it.
    """
    BACKGROUND_KINDS[kind_key(kind, "background")] = factory


def _interp(src_w: int, src_h: int, dst_w: int, dst_h: int) -> int:
    return cv2.INTER_AREA if dst_w < src_w and dst_h < src_h else cv2.INTER_LINEAR


def fit_into(src: BGR, out: BGR, fit: str = "cover") -> BGR:
    """Resize ``src`` into the preallocated ``out`` (HxWx3 uint8) and return ``out``.

    ``cover`` crops the centre of ``src`` to the aspect of ``out`` then scales it (fills, no
    bars); ``contain`` scales the whole of ``src`` to fit and leaves black bars; ``stretch``
    scales ``src`` to ``out`` ignoring the aspect. No allocation besides OpenCV's scratch.
    """
    h, w = out.shape[:2]
    sh, sw = src.shape[:2]
    if fit == "stretch" or (sw * h == sh * w):
        if (sw, sh) == (w, h):
            np.copyto(out, src)
        else:
            cv2.resize(src, (w, h), dst=out, interpolation=_interp(sw, sh, w, h))
        return out
    if fit == "cover":
        if sw * h > sh * w:  # source wider than the output: crop its sides
            cw = max(1, min(sw, round(sh * w / h)))
            x0 = (sw - cw) // 2
            crop = src[:, x0 : x0 + cw]
        else:
            ch = max(1, min(sh, round(sw * h / w)))
            y0 = (sh - ch) // 2
            crop = src[y0 : y0 + ch]
        cv2.resize(crop, (w, h), dst=out, interpolation=_interp(crop.shape[1], crop.shape[0], w, h))
        return out
    if fit == "contain":
        if sw * h > sh * w:
            nw, nh = w, max(1, min(h, round(sh * w / sw)))
        else:
            nw, nh = max(1, min(w, round(sw * h / sh))), h
        x0, y0 = (w - nw) // 2, (h - nh) // 2
        out[:y0] = 0
        out[y0 + nh :] = 0
        out[y0 : y0 + nh, :x0] = 0
        out[y0 : y0 + nh, x0 + nw :] = 0
        view = out[y0 : y0 + nh, x0 : x0 + nw]
        res = cv2.resize(src, (nw, nh), dst=view, interpolation=_interp(sw, sh, nw, nh))
        if not np.shares_memory(res, out):  # an OpenCV build that would not write into a view
            np.copyto(view, res)
        return out
    raise BackgroundError(f"unknown fit {fit!r}; use {', '.join(FITS)}")


class SizeCache:
    """A few output buffers keyed by (width, height), oldest evicted first. Used by the one
    thread that renders (no lock)."""

    def __init__(self, keep: int = 3) -> None:
        self.keep = keep
        self.buffers: dict[tuple[int, int], BGR] = {}

    def get(self, width: int, height: int) -> BGR | None:
        return self.buffers.get((width, height))

    def put(self, width: int, height: int, buf: BGR) -> BGR:
        if len(self.buffers) >= self.keep and (width, height) not in self.buffers:
            del self.buffers[next(iter(self.buffers))]
        self.buffers[(width, height)] = buf
        return buf

    def clear(self) -> None:
        self.buffers.clear()


class FittedPictures:
    """One output buffer per size (a :class:`SizeCache`) showing a picture that changes (a video
    frame, a screen grab), fitted again only when its ``version`` changed since that buffer
    last showed it. Used by the one thread that renders (no lock); a buffer is black until the
    first picture."""

    def __init__(self, fit: str) -> None:
        self.fit = fit
        self._cache = SizeCache()
        self._shown: dict[tuple[int, int], int] = {}  # the version each buffer shows

    def render(self, picture: BGR | None, version: int, width: int, height: int) -> BGR:
        """The buffer for ``width`` x ``height`` showing ``picture`` (None: keep what it shows)."""
        key = (width, height)
        buf = self._cache.get(width, height)
        if buf is None:
            check_size(width, height)
            buf = self._cache.put(width, height, np.zeros((height, width, 3), np.uint8))
            self._shown.pop(key, None)
        if picture is not None and self._shown.get(key) != version:
            fit_into(picture, buf, self.fit)
            self._shown[key] = version
        return buf


def check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise BackgroundError(f"background size must be positive, got {width}x{height}")


def check_fit(fit: str) -> None:
    if fit not in FITS:
        raise BackgroundError(f"unknown fit {fit!r}; use {', '.join(FITS)}")

