"""The ``classic`` mode's mask: the tutorial's plate difference, step for step.

The default mode's mask is :mod:`bgcore.engine`.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR

U8 = npt.NDArray[np.uint8]

# The tutorial's second threshold, on the grey difference.
GRAY_THRESHOLD = 10


def classic_mask(frame: BGR, reference: BGR, threshold: int) -> U8:
    """The tutorial's mask, step for step: two saturating subtractions added, per-channel
    threshold, grayscale, a second threshold of GRAY_THRESHOLD, anything left > 0 becomes
    255."""
    diff1 = cv2.subtract(frame, reference)
    diff2 = cv2.subtract(reference, frame)
    diff = diff1 + diff2
    diff[abs(diff) < threshold] = 0
    gray = cv2.cvtColor(diff.astype(np.uint8), cv2.COLOR_BGR2GRAY)
    gray[np.abs(gray) < GRAY_THRESHOLD] = 0
    fgmask = gray.astype(np.uint8)
    fgmask[fgmask > 0] = 255
    return fgmask
