"""The backgrounds whose picture changes only when something is set anew: none
(transparent), a colour, an image file, the blurred plate. All are ``static`` (see
:mod:`bgcore.backgrounds`): a new picture always comes in a new buffer.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import BackgroundError
from ..frames import BGR, read_image_file, to_bgr
from .base import SizeCache, check_fit, check_size, fit_into

MID_GREY = 128
"""The blur background's picture while there is no plate."""


class TransparentBackground:
    """No background: render returns None and the engine outputs alpha instead."""

    transparent = True
    static = True
    name = "transparent"

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR | None:
        return None

    def close(self) -> None:
        pass


class ColorBackground:
    """A solid colour; ``bgr`` is (blue, green, red)."""

    transparent = False
    static = True

    def __init__(self, bgr: tuple[int, int, int]) -> None:
        self.bgr = bgr
        self.name = "color:#{2:02x}{1:02x}{0:02x}".format(*bgr)
        self._cache = SizeCache()

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        buf = self._cache.get(width, height)
        if buf is None:
            check_size(width, height)
            buf = self._cache.put(width, height, np.empty((height, width, 3), np.uint8))
            buf[:] = self.bgr
        return buf

    def close(self) -> None:
        self._cache.clear()


class ImageBackground:
    """A still picture, fitted once per output size (``fit``: cover, contain or stretch)."""

    transparent = False
    static = True

    def __init__(self, image: BGR, *, fit: str = "cover", name: str = "image") -> None:
        check_fit(fit)
        self.image = to_bgr(image)
        self.fit = fit
        self.name = name
        self._cache = SizeCache()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, fit: str = "cover") -> ImageBackground:
        """Read an image file; BackgroundError if it is missing or not a picture."""
        return cls(_read_image(Path(path)), fit=fit, name=str(path))

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        buf = self._cache.get(width, height)
        if buf is None:
            check_size(width, height)
            buf = fit_into(self.image, np.empty((height, width, 3), np.uint8), self.fit)
            self._cache.put(width, height, buf)
        return buf

    def close(self) -> None:
        self._cache.clear()


def _read_image(path: Path) -> BGR:
    try:
        image = read_image_file(path)
    except FileNotFoundError:
        raise BackgroundError(f"background image '{path}' not found; check the path") from None
    except IsADirectoryError:
        raise BackgroundError(f"background '{path}' is a folder; give an image or video file") from None
    except OSError as exc:
        raise BackgroundError(f"cannot read background image '{path}': {exc.strerror or exc}") from None
    if image is None:
        raise BackgroundError(
            f"cannot decode background image '{path}'; use a PNG, JPEG, WebP or BMP file"
        )
    try:
        return to_bgr(image)
    except ValueError:
        raise BackgroundError(f"background image '{path}' has an unsupported pixel format") from None


class BlurBackground:
    """The plate (the empty room) strongly blurred: a soft room behind the person with no halo,
    since the plate never contains the person. ``strength`` is the Gaussian sigma in pixels
    for a 1280-wide picture, scaled with the width. Computed once per plate object and size;
    mid grey while there is no plate."""

    transparent = False
    static = True
    DEFAULT_STRENGTH = 30.0

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not (math.isfinite(strength) and 0 < strength <= 500):
            raise BackgroundError(f"blur strength must be between 1 and 500, got {strength:g}; e.g. blur:30")
        self.strength = float(strength)
        self.name = f"blur:{strength:g}"
        self._plate: BGR | None = None
        self._cache = SizeCache()
        self._grey = SizeCache()

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        if plate is None:
            buf = self._grey.get(width, height)
            if buf is None:
                check_size(width, height)
                buf = self._grey.put(width, height, np.full((height, width, 3), MID_GREY, np.uint8))
            return buf
        if plate is not self._plate:
            self._plate = plate
            self._cache.clear()
        buf = self._cache.get(width, height)
        if buf is None:
            check_size(width, height)
            buf = self._cache.put(width, height, self.blurred(plate, width, height))
        return buf

    def blurred(self, plate: BGR, width: int, height: int) -> BGR:
        """The blurred plate at ``width`` x ``height`` (a new array)."""
        sigma = self.strength * width / 1280.0
        # Blur a small copy (sigma ~4 px there) and scale it up: the same picture as blurring
        # the full size, in a fraction of the time, since nothing fine survives the blur.
        f = min(1.0, 4.0 / sigma) if sigma > 0 else 1.0
        sw, sh = max(8, round(width * f)), max(8, round(height * f))
        small = cv2.resize(plate, (sw, sh), interpolation=cv2.INTER_AREA)
        s = sigma * sw / width
        small = cv2.GaussianBlur(small, (0, 0), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_REFLECT)
        if (sw, sh) == (width, height):
            return np.ascontiguousarray(small)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)

    def close(self) -> None:
        self._plate = None
        self._cache.clear()
        self._grey.clear()

