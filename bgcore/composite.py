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


def composite(frame: BGR, alpha: U8, background: BGR | None, *, out: BGRA | None = None) -> BGRA:
    """``frame`` over ``background`` with ``alpha`` (all full size) into ``out`` (HxWx4).

    background None means transparent: the frame's colours with ``alpha`` as the alpha channel,
    for OBS to layer anything behind the person. Otherwise alpha out is 255.
    """
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    if background is None:
        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
        out[..., 3] = alpha
        return out
    a = alpha.astype(np.float32) * np.float32(1.0 / 255.0)
    blended = cv2.blendLinear(frame, background, a, 1.0 - a)
    cv2.cvtColor(blended, cv2.COLOR_BGR2BGRA, dst=out)
    return out


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
