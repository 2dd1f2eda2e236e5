"""Hysteresis: the weak regions that hold a strong pixel and are large enough.

A pixel becomes foreground above the high bar and stays or extends above the low bar, so
faint thin parts attached to the body survive while isolated noise does not.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]

_KEPT, _TOO_SMALL = 1, 2  # flood-fill values (the masks are 0/255)


class Hysteresis:
    """Hysteresis on images of at most (h, w) pixels (views of a region of interest too)."""

    def __init__(self, h: int, w: int) -> None:
        # floodFill's border mask, preallocated (without one the binding allocates a new one
        # per call); filled pixels get marked in it, which no later fill here crosses anyway
        self._fence: U8 = np.zeros((h + 2, w + 2), np.uint8)

    def __call__(self, weak: U8, strong: U8, min_area: int, out: U8) -> U8:
        """out = 255 on the components of ``weak`` (8-connected) that hold a ``strong`` pixel
        (``strong`` within ``weak``) and at least ``min_area`` pixels, else 0.

        By flood fill from one pixel of each strong component (its outline's first point):
        a fill visits only the components that are kept and counts their pixels, where
        labelling would sweep the whole frame, histogram it and paint it back."""
        np.copyto(out, weak)
        h, w = weak.shape
        fence = self._fence[: h + 2, : w + 2]
        fence.fill(0)
        too_small = []
        # the outlines within the strong pixels' box (outlines cost a pass over their image)
        bx, by, bw, bh = cv2.boundingRect(strong)
        box = strong[by : by + bh, bx : bx + bw]
        outlines, _ = cv2.findContours(box, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for outline in outlines:
            x, y = bx + int(outline[0, 0, 0]), by + int(outline[0, 0, 1])
            if out[y, x] != 255:  # its weak component is filled already
                continue
            area = cv2.floodFill(out, fence, (x, y), _KEPT, flags=8)[0]
            if area < min_area:
                too_small.append((x, y))
        if too_small:  # refill those (a fresh fence: the first one now blocks them)
            fence.fill(0)
            for x, y in too_small:
                cv2.floodFill(out, fence, (x, y), _TOO_SMALL, flags=8)
        return cv2.compare(out, _KEPT, cv2.CMP_EQ, dst=out)
