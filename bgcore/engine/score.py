"""The score: how far each pixel is from the expected background, and its two masks.

Auto threshold (the default): the distance of the frame outside the expected background's
range (the plate widened towards its 3x3 extremes as far as the camera's shake, measured on
each frame, explains: see :mod:`.shake`), squared, in units
of the pixel's noise, summed over the channels. The noise is the plate's measured sigma plus
EDGE_ERROR x the frame's local contrast: every camera pipeline errs near edges in
proportion to their contrast (compression ringing and chroma subsampling, sharpening halos,
demosaicing, a sub-pixel tremor). Manual threshold: the largest per-channel difference in
grey levels.

Either way the masks are ``weak`` (above the low bar) and ``strong`` (above the high bar,
or weak and foreground in the previous frame: temporal hysteresis).
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from .. import kernels
from .expected import FIXED_POINT

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]

# Auto threshold in noise sigmas (on the channel-averaged squared score): a pixel becomes
# foreground above HIGH and stays/extends at above LOW. For pure noise, the average of three
# squared unit normals exceeds 4.0^2 with probability ~1e-10 and 2.5^2 with ~1e-4.
AUTO_SIGMA_HIGH = 4.0
AUTO_SIGMA_LOW = 2.5
# With a manual threshold, the low bar is this fraction of it.
MANUAL_LOW = 0.6
# The noise near edges: EDGE_ERROR x the frame's 5x5 range (max - min) per channel, less
# what noise alone spreads 25 samples over (about NOISE_RANGE sigma).
EDGE_ERROR = 0.1  # (> 0: the score computes the variance in units of 3 EDGE_ERROR^2)
NOISE_RANGE = 4.0
EDGE_VAR = 3.0 * EDGE_ERROR * EDGE_ERROR

_RECT5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_ONES3 = np.ones((1, 3), np.float32)
_CHANNEL = [np.eye(3, dtype=np.float32)[c : c + 1] for c in range(3)]


def auto_bars(sensitivity: float) -> tuple[float, float]:
    """(low, high) bars of the auto score at ``sensitivity`` (1 = AUTO_SIGMA_LOW and HIGH)."""
    k = 1.0 / sensitivity
    return (AUTO_SIGMA_LOW * k) ** 2, (AUTO_SIGMA_HIGH * k) ** 2


def manual_bars(threshold: float) -> tuple[float, float]:
    """(low, high) bars of the level score for a manual ``threshold`` (grey levels)."""
    return MANUAL_LOW * threshold, float(threshold)


class Scorer:
    """The score and its masks at one working size; ``sigma`` is the plate's noise (HxWx3).

    ``score`` (HxW float32), ``weak`` and ``strong`` (0/255) are written by each call and
    read by the later stages (which zero the score and clear the masks where light explains
    the difference).
    """

    def __init__(self, sigma: F32) -> None:
        h, w = sigma.shape[:2]
        self.score: F32 = np.empty((h, w), np.float32)
        self.weak: U8 = np.empty((h, w), np.uint8)
        self.strong: U8 = np.empty((h, w), np.uint8)
        # sigma^2 in the units the distance is divided in (see EDGE_VAR), x3 (the channels' mean)
        self._noise_var: F32 = (3.0 * sigma * sigma / EDGE_VAR).astype(np.float32)
        self._noise_range: U8 = np.clip(np.rint(NOISE_RANGE * sigma), 0, 255).astype(np.uint8)
        self._local_max: U8 = np.empty((h, w, 3), np.uint8)  # the frame's 5x5 maximum
        self._local_min: U8 = np.empty((h, w, 3), np.uint8)
        self._row: F32 = np.empty(3 * w, np.float32)  # the kernel's scratch

    # The OpenCV path's buffers and the level score's, allocated on first use (the compiled
    # path never needs them).
    @cached_property
    def _distance16(self) -> U16:  # 2 FIXED_POINT x the distance
        return np.empty((*self.score.shape, 3), np.uint16)

    @cached_property
    def _distance_sq(self) -> F32:
        return np.empty((*self.score.shape, 3), np.float32)

    @cached_property
    def _variance(self) -> F32:
        return np.empty((*self.score.shape, 3), np.float32)

    @cached_property
    def _edge_contrast(self) -> U8:
        return np.empty((*self.score.shape, 3), np.uint8)

    @cached_property
    def _frame_f(self) -> F32:  # the frame in float32
        return np.empty((*self.score.shape, 3), np.float32)

    @cached_property
    def _difference(self) -> F32:
        return np.empty((*self.score.shape, 3), np.float32)

    @cached_property
    def _channel(self) -> F32:
        return np.empty(self.score.shape, np.float32)

    @cached_property
    def _kept(self) -> U8:  # weak and in the last mask
        return np.empty(self.score.shape, np.uint8)

    def auto(self, frame: U8, mid: U16, width: U16, *, low: float, high: float, prev: U8 | None) -> None:
        """The noise score of ``frame`` (HxWx3 uint8) against the expected range given as
        ``mid`` = lo + hi and ``width`` = hi - lo in fixed point (see
        :meth:`.ExpectedBackground.score_range`); ``prev`` the previous mask (temporal
        hysteresis) or None."""
        fx = float(FIXED_POINT)
        # variance = sigma^2 + (EDGE_ERROR x the frame's local contrast)^2, x3, here in
        # units of 3 EDGE_ERROR^2; the 5x5 range is exact on the 8-bit frame
        cv2.dilate(frame, _RECT5, dst=self._local_max)
        cv2.erode(frame, _RECT5, dst=self._local_min)
        # (the distance in units of 1 / (2 FIXED_POINT) level, squared: a power of two
        # apart from FIXED_POINT units, so the same rounding)
        scale = 1.0 / (4.0 * fx * fx * EDGE_VAR)
        if kernels.score(
            frame, mid, width, self._local_max, self._local_min, self._noise_range, self._noise_var,
            f_scale=2 * fx, scale=scale, low=low, high=high, prev=prev,
            score=self.score, weak=self.weak, strong=self.strong, row=self._row,
        ):
            return
        # the same in OpenCV passes: twice the distance outside the range,
        # 2 max(0, f - hi, lo - f), in two saturating passes: |2f - (lo + hi)| - (hi - lo)
        distance = self._distance16
        np.copyto(distance, frame, casting="unsafe")  # (numpy: OpenCV's mixed-type paths are slow)
        np.multiply(distance, 2 * FIXED_POINT, out=distance, casting="unsafe")
        cv2.absdiff(distance, mid, dst=distance)
        cv2.subtract(distance, width, dst=distance)
        # squares by accumulateSquare into a filled buffer: a third of the cost of a
        # mixed-type multiply
        self._distance_sq.fill(0.0)
        cv2.accumulateSquare(distance, self._distance_sq)  # (2 FIXED_POINT x distance)^2
        contrast = cv2.subtract(self._local_max, self._local_min, dst=self._edge_contrast)
        cv2.subtract(contrast, self._noise_range, dst=contrast)
        np.copyto(self._variance, self._noise_var)
        cv2.accumulateSquare(contrast, self._variance)
        cv2.divide(self._distance_sq, self._variance, dst=self._distance_sq, scale=scale)
        cv2.transform(self._distance_sq, _ONES3, dst=self.score[..., None])
        self.masks(low, high, prev)

    def level(self, frame: U8, expected: F32, *, low: float, high: float, prev: U8 | None) -> None:
        """The level score (manual threshold): the largest per-channel difference between
        ``frame`` and ``expected``, in grey levels."""
        np.copyto(self._frame_f, frame, casting="unsafe")
        cv2.absdiff(self._frame_f, expected, dst=self._difference)
        cv2.transform(self._difference, _CHANNEL[0], dst=self._channel[..., None])
        np.copyto(self.score, self._channel)
        for c in (1, 2):
            cv2.transform(self._difference, _CHANNEL[c], dst=self._channel[..., None])
            cv2.max(self.score, self._channel, dst=self.score)
        self.masks(low, high, prev)

    def masks(self, low: float, high: float, prev: U8 | None) -> None:
        """``weak`` and ``strong`` from ``score`` (again after another stage raised it: see
        :mod:`.pooled`)."""
        cv2.compare(self.score, low, cv2.CMP_GT, dst=self.weak)
        cv2.compare(self.score, high, cv2.CMP_GT, dst=self.strong)
        if prev is not None:
            cv2.bitwise_and(prev, self.weak, dst=self._kept)
            cv2.bitwise_or(self.strong, self._kept, dst=self.strong)
