"""Alpha from a mask, and the final BGRA composite.

``feather_alpha`` turns the binary working-resolution mask into a soft alpha whose soft
band lies mostly inside the person: pixels outside the mask get (almost) no weight, so no
halo of the old room shows around the person on the new background.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR

U8 = npt.NDArray[np.uint8]
BGRA = npt.NDArray[np.uint8]

# The soft edge maps blurred-mask values [ALPHA_LO, ALPHA_HI] to alpha [0, 1]: alpha is 0
# from ~0.25 sigma inside the outer edge outwards, and reaches 1 about one sigma inside.
ALPHA_LO = 0.4
ALPHA_HI = 0.9


def feather_alpha(mask: U8, feather: float) -> U8:
    """Soft alpha (uint8) from a 0/255 mask; ``feather`` = Gaussian sigma in pixels (0: hard)."""
    if feather <= 0:
        return mask.copy()
    blurred = cv2.GaussianBlur(mask, (0, 0), feather)
    scale = 1.0 / (ALPHA_HI - ALPHA_LO)
    # addWeighted saturates to 0-255 (convertScaleAbs would fold negatives back up).
    alpha: U8 = cv2.addWeighted(blurred, scale, blurred, 0.0, -255.0 * ALPHA_LO * scale)
    # Thin parts (a finger narrower than the blur) must not vanish: where the mask is set,
    # alpha is at least half.
    return np.maximum(alpha, mask >> 1)


def upscale(plane: U8, size: tuple[int, int]) -> U8:
    """Resize a single-channel plane to ``size`` = (w, h) with bilinear interpolation."""
    if (plane.shape[1], plane.shape[0]) == size:
        return plane
    return cv2.resize(plane, size, interpolation=cv2.INTER_LINEAR)


class Compositor:
    """``frame`` over ``background`` with ``alpha``, into a reused BGRA buffer.

    Blending costs a multiply per pixel and channel, but alpha is fractional only in a thin
    band around the person: the background is copied, the opaque foreground copied over it
    (OpenCV copyTo with a mask), and only TILE x TILE tiles that hold fractional alpha are
    blended, in integer arithmetic (exact for alpha 0 and 255). Buffers are kept per size.
    Threading: one thread. Lifetime: as long as the replacer.
    """

    TILE = 8

    def __init__(self) -> None:
        self._size: tuple[int, int] | None = None
        self._bg_src: BGR | None = None

    def _ensure(self, h: int, w: int) -> None:
        if self._size == (w, h):
            return
        self._size = (w, h)
        self._bg_src = None
        self.bg4 = np.empty((h, w, 4), np.uint8)
        self.fg4 = np.empty((h, w, 4), np.uint8)
        self.opaque = np.empty((h, w), np.uint8)
        self.clear = np.empty((h, w), np.uint8)
        t = self.TILE
        self.tiled = h % t == 0 and w % t == 0
        self.grid = (w // t, h // t)
        self.grid_opaque = np.empty((h // t, w // t), np.uint8)
        self.grid_clear = np.empty((h // t, w // t), np.uint8)

    def __call__(self, frame: BGR, alpha: U8, background: BGR | None, *, out: BGRA) -> BGRA:
        h, w = frame.shape[:2]
        self._ensure(h, w)
        if background is None:
            cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
            cv2.mixChannels([alpha], [out], [0, 3])
            return out
        if background is not self._bg_src:
            # Backgrounds hand out the same cached array until their picture changes.
            cv2.cvtColor(background, cv2.COLOR_BGR2BGRA, dst=self.bg4)
            self._bg_src = background if not background.flags.writeable else None
        np.copyto(out, self.bg4)
        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=self.fg4)
        cv2.compare(alpha, 255, cv2.CMP_EQ, dst=self.opaque)
        cv2.copyTo(self.fg4, self.opaque, out)
        if not self.tiled:
            return _blend_slow(frame, alpha, background, self.opaque, out)
        # A tile is pure when the area-average of "alpha is 255" (or 0) is exactly 255: one
        # pixel off in 64 gives 251, so rounding cannot hide a fractional pixel.
        cv2.compare(alpha, 0, cv2.CMP_EQ, dst=self.clear)
        cv2.resize(self.opaque, self.grid, dst=self.grid_opaque, interpolation=cv2.INTER_AREA)
        cv2.resize(self.clear, self.grid, dst=self.grid_clear, interpolation=cv2.INTER_AREA)
        ty, tx = np.nonzero((self.grid_opaque != 255) & (self.grid_clear != 255))
        if ty.size == 0:
            return out
        t = self.TILE
        fv = frame.reshape(h // t, t, w // t, t, 3)[ty, :, tx]
        bv = background.reshape(h // t, t, w // t, t, 3)[ty, :, tx]
        av = alpha.reshape(h // t, t, w // t, t)[ty, :, tx][..., None].astype(np.uint16)
        mixed = (fv * av + bv * (255 - av) + 127) // 255
        out.reshape(h // t, t, w // t, t, 4)[ty, :, tx, :, :3] = mixed
        return out


def _blend_slow(frame: BGR, alpha: U8, background: BGR, opaque: U8, out: BGRA) -> BGRA:
    """Blend every pixel (frame sizes not divisible by the tile), same integer formula."""
    a = alpha[..., None].astype(np.uint16)
    mixed = (frame * a + background * (255 - a) + 127) // 255
    out[..., :3] = mixed
    out[..., 3] = 255
    return out


def composite(frame: BGR, alpha: U8, background: BGR | None, *, out: BGRA | None = None) -> BGRA:
    """``frame`` over ``background`` with ``alpha`` (all full size) into ``out`` (HxWx4).

    background None means transparent: the frame's colours with ``alpha`` as the alpha channel,
    for OBS to layer anything behind the person. Otherwise alpha out is 255. One-off use;
    the engine keeps a :class:`Compositor` to reuse buffers.
    """
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    return Compositor()(frame, alpha, background, out=out)


def classic_composite(frame: BGR, fgmask: U8, background: BGR | None, *, out: BGRA | None = None) -> BGRA:
    """The tutorial's composite: bitwise_not for the background mask, two bitwise_and, add."""
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    if background is None:
        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
        out[..., 3] = fgmask
        return out
    fgmask_inv = cv2.bitwise_not(fgmask)
    fgimg = cv2.bitwise_and(frame, frame, mask=fgmask)
    bgimg = cv2.bitwise_and(background, background, mask=fgmask_inv)
    dst = cv2.add(bgimg, fgimg)
    cv2.cvtColor(dst, cv2.COLOR_BGR2BGRA, dst=out)
    return out


def passthrough(frame: BGR, *, out: BGRA | None = None) -> BGRA:
    """The frame as opaque BGRA (no plate yet, or a plate of another size)."""
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
    return out


def mask_view(mask: U8, *, out: BGRA | None = None) -> BGRA:
    """The mask as an opaque grey BGRA picture (for tuning)."""
    h, w = mask.shape
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    cv2.cvtColor(mask, cv2.COLOR_GRAY2BGRA, dst=out)
    return out
