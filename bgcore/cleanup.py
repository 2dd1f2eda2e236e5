"""Mask cleanup: close cracks, fill holes inside the person, never fill real gaps.

A hole (background region not touching the frame border) is filled when it is small, or
when most of it looked like foreground-ish evidence that was explained away (a shirt that
matched the wall closely or was taken for a shadow): a gap between arm and body shows the
plate exactly and stays open.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

_CROSS3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def close_cracks(mask: U8) -> U8:
    """Morphological closing with a 3x3 disc: joins one-pixel cracks, keeps thin fingers."""
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _CROSS3)


def fill_holes(mask: U8, *, max_area: int, suspicious: Bool | None = None) -> U8:
    """Fill enclosed background regions of ``mask`` (0/255) that have at most ``max_area``
    pixels, or (any size) where more than half of their pixels are ``suspicious``."""
    inv = (mask == 0).view(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n <= 1:
        return mask
    area = stats[:, cv2.CC_STAT_AREA]
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    hh, ww = mask.shape
    enclosed = (x > 0) & (y > 0) & (x + w < ww) & (y + h < hh)
    fill = enclosed & (area <= max_area)
    if suspicious is not None:
        hits = np.bincount(labels.ravel(), weights=suspicious.ravel(), minlength=n)
        fill |= enclosed & (hits > 0.5 * area)
    fill[0] = False  # label 0 is the foreground itself
    out = mask.copy()
    out[fill[labels]] = 255
    return out
