"""The expected background: the plate as the camera should show it now.

The plate's mean adapts slowly on confident background; the gains (exposure, white balance
and the light field, see :mod:`.light_levels`) scale it; a clipped sensor bounds it. What
derives from those is cached and rebuilt only when they change: the expected frame and,
for the score, its range in fixed point (the plate widened towards its 3x3 extremes by
the fraction the camera's measured shake explains, :attr:`ExpectedBackground.reach`, per
pixel never below the floor its tremor during the plate's capture sets: see
:func:`.shake.tremor_floor`).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .regions import RECT3
from .shake import SHAKE_FLOOR, tremor_floor

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]

# Clipping: a camera's output saturates at a ceiling (255, or lower after its tone curve or
# in limited-range video). A plate channel within CLIP_MARGIN of the brightest level that at
# least CLIP_MIN_FRACTION of the picture reaches (a plateau: a window, a lamp) is clipped.
# Silent means a noise sigma under CLIP_QUIET x the median sigma of mid-grey pixels (between
# CLIP_MID_LEVEL and CLIP_MIN_LEVEL).
CLIP_MARGIN = 3.0
CLIP_MIN_FRACTION = 0.002
CLIP_MIN_LEVEL = 180.0
CLIP_MID_LEVEL = 60.0
CLIP_QUIET = 0.6
# Below the ceiling, a clipped channel may read somewhat lower when the camera's processing
# after the sensor (white balance, tone curve) changes: this many levels are tolerated.
CLIP_TOLERANCE = 12.0
# The score's distances are taken in fixed point: levels x FIXED_POINT in uint16, where
# OpenCV's saturating subtraction gives max(0, a - b) in one cheap pass (1/8 level is far
# below any camera's noise).
FIXED_POINT = 8
# The background adapts to slow changes every ADAPT_EVERY frames (at the rate that makes
# the same time constant): the plate's 3x3 range is re-derived after each update. (Every 8
# frames cost about 0.25x the floor less at 720p, and 3% more flicker: not taken.)
ADAPT_EVERY = 4
_RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


def _brightest_level(mean: F32) -> float:
    """The level the plate's brightest CLIP_MIN_FRACTION of pixels reach (in their
    brightest channel)."""
    brightest = mean.reshape(-1, 3).max(axis=1)
    need = max(1, int(CLIP_MIN_FRACTION * brightest.size))
    return float(np.partition(brightest, brightest.size - need)[brightest.size - need])


def clipped_channels(mean: F32, sigma: F32) -> tuple[npt.NDArray[np.bool_], F32]:
    """Which plate channels are clipped, and per channel the level the sensor clips at.

    A clipped pixel is bright and silent: clipping removes its temporal noise, while an
    unclipped bright pixel has the most shot noise of all. The level (255 where nothing
    clips; lower after a camera's tone curve or in limited-range video) is the clipped
    pixels' median plus CLIP_MARGIN, the highest of the channels' for all three: a camera's
    output clips every channel at one white point, and a channel whose silent bright pixels
    lie lower is not clipped there but flattened by compression (a light-blue window's red
    through a JPEG camera reads silent at 220 and still rises when the exposure does).
    So a channel whose silent bright pixels lie more than CLIP_TOLERANCE under the level
    that the plate's brightest pixels reach (at least CLIP_MIN_FRACTION of the picture, in
    any channel) is not clipped at all: the camera's output went higher. A flat, bright
    surface seen by a quiet sensor through a JPEG camera (a beige door at 180) is silent
    too, and clipping it at its own level would hold it there while the exposure rises.
    """
    flat, noise = mean.reshape(-1, 3), sigma.reshape(-1, 3)
    clipped = np.zeros(mean.shape, bool)
    ceiling = np.full(3, 255.0, np.float32)
    need = max(1, int(CLIP_MIN_FRACTION * flat.shape[0]))
    top = _brightest_level(mean)
    for c in range(3):
        mid = (flat[:, c] > CLIP_MID_LEVEL) & (flat[:, c] < CLIP_MIN_LEVEL)
        if int(mid.sum()) < need:
            continue
        quiet = CLIP_QUIET * float(np.median(noise[mid, c]))
        hit = (mean[..., c] >= CLIP_MIN_LEVEL) & (sigma[..., c] < quiet)
        if int(hit.sum()) < need:
            continue
        level = min(255.0, float(np.median(mean[..., c][hit])) + CLIP_MARGIN)
        if level < top - CLIP_TOLERANCE:
            continue  # (the picture is brighter elsewhere: flattened, not clipped)
        clipped[..., c] = hit
        ceiling[c] = level
    found = clipped.reshape(-1, 3).any(axis=0)
    if found.any():
        ceiling[:] = ceiling[found].max()  # one white point
    return clipped, ceiling


def at_the_white_point(mean: F32, clipped: npt.NDArray[np.bool_], ceiling: F32) -> npt.NDArray[np.bool_]:
    """``clipped`` (see :func:`clipped_channels`) and, where a white point was found, the
    channels that read it (within 2 CLIP_MARGIN) in pixels with a clipped channel or white
    in every channel, silent or not: compression may leave a white window noisier than the
    silence bar, and when the exposure falls it still reads the white point (a window's
    blue, its red and green clipped). Where no white point was found (at lower JPEG
    qualities no channel of a burnt-out window is silent), the pixels white in every
    channel within 2 CLIP_MARGIN of the level the plate's brightest reach. For the score's
    bounds only: the light tests and the gains keep to the silent areas."""
    if not clipped.any():
        top = _brightest_level(mean)
        if top < CLIP_MIN_LEVEL:
            return clipped
        white = (mean >= top - 2.0 * CLIP_MARGIN).all(axis=2, keepdims=True)
        return np.broadcast_to(white, mean.shape).copy()
    at_white = mean >= ceiling[0] - 2.0 * CLIP_MARGIN
    return clipped | (at_white & (clipped.any(axis=2, keepdims=True) | at_white.all(axis=2, keepdims=True)))


class ExpectedBackground:
    """The adapted plate mean at the working size and what derives from it and the gains.

    Attributes read by the other stages: ``mean`` (adapted), ``sigma`` (the plate's noise),
    ``gains`` (per pixel and channel, plate -> frame), ``ceiling`` (per channel, as an
    OpenCV scalar), ``unclipped`` (0/255: no channel clipped).
    """

    def __init__(self, mean: F32, sigma: F32) -> None:
        h, w = mean.shape[:2]
        self.mean = mean
        self.sigma = sigma
        # Clipped plate channels (a window, a lamp) only bound the true brightness from below:
        # under more exposure they stay at 255, under less they may read anything up to 255.
        # The score then has no upper bound there (the expected maximum saturates at the top of
        # the fixed-point range), and such pixels measure no gains.
        clipped, ceiling = clipped_channels(mean, sigma)
        self.ceiling = (float(ceiling[0]), float(ceiling[1]), float(ceiling[2]), 0.0)
        self.unclipped: U8 = np.where(clipped.any(axis=2), np.uint8(0), np.uint8(255)).astype(np.uint8)
        # Where the edge of light may extend (see .light): not onto clipped areas (a clipped
        # wall's colour and brightness are unknown; a dark arm before a clipped window reads
        # as a deep shadow of it). Lone clipped pixels (a plate of few frames finds some by
        # chance) are opened away.
        clipped_areas = cv2.morphologyEx(cv2.bitwise_not(self.unclipped), cv2.MORPH_OPEN, _RECT3)
        self.light_measurable: U8 = cv2.bitwise_not(clipped_areas)
        self.any_clipped_area = bool(cv2.countNonZero(clipped_areas))
        clipped = at_the_white_point(mean, clipped, ceiling)  # (the score's bounds, below)
        self._any_clipped = bool(clipped.any())
        clip_drop = np.where(clipped, np.float32(CLIP_TOLERANCE), np.float32(0)).astype(np.float32)
        self._ceiling_fixed = tuple(FIXED_POINT * c for c in self.ceiling)
        self._clip_drop_fixed: U16 = np.rint(FIXED_POINT * clip_drop).astype(np.uint16)
        self._clip_slack_fixed: U16 = np.where(clipped, np.uint16(65535), np.uint16(0)).astype(np.uint16)
        self.gains: F32 = np.ones((h, w, 3), np.float32)
        self.gains_version = 0  # +1 whenever set_gains writes the gains
        self._min3: F32 = np.empty((h, w, 3), np.float32)  # the mean's 3x3 minimum
        self._max3: F32 = np.empty((h, w, 3), np.float32)
        self._floor: F32 = tremor_floor(mean, sigma)  # the least reach per pixel (see .shake)
        self._reach_map: F32 = np.empty((h, w, 3), np.float32)  # max(floor, reach)
        self._step: F32 = np.empty((h, w, 3), np.float32)  # scratch
        self._plate_min: F32 = np.empty((h, w, 3), np.float32)  # the range's low end (see reach)
        self._plate_max: F32 = np.empty((h, w, 3), np.float32)
        self._expected: F32 = np.empty((h, w, 3), np.float32)
        self._range_mid: U16 = np.empty((h, w, 3), np.uint16)  # lo + hi: twice the range's centre
        self._range_width: U16 = np.empty((h, w, 3), np.uint16)  # hi - lo
        self._calm: U8 = np.empty((h, w), np.uint8)  # where the background adapts
        self._unlit: F32 = np.empty((h, w, 3), np.float32)  # the frame in float32, / the gains
        self._range_stale = self._expected_stale = True
        self.reach = 1.0  # the fraction of the 3x3 range the camera's shake explains
        self._refresh_range()

    def set_gains(self, coarse: F32 | None) -> None:
        """The gains from a coarse grid (interpolated bilinearly), or all 1 for None
        (:attr:`gains_version` counts the changes)."""
        self.gains_version += 1
        if coarse is None:
            self.gains.fill(1.0)
        else:
            h, w = self.gains.shape[:2]
            cv2.resize(coarse, (w, h), dst=self.gains, interpolation=cv2.INTER_LINEAR)
        self._range_stale = self._expected_stale = True

    def expected(self) -> F32:
        """The plate x the gains, clipped like the sensor (cached until either changes)."""
        if self._expected_stale:
            cv2.multiply(self.mean, self.gains, dst=self._expected)
            cv2.min(self._expected, self.ceiling, dst=self._expected)
            self._expected_stale = False
        return self._expected

    def score_range(self) -> tuple[U16, U16]:
        """(lo + hi, hi - lo) in fixed point (levels x FIXED_POINT), lo and hi the expected
        background's 3x3 minimum and maximum per channel: the plate's range x the gains (the
        gains are smooth, so the range of plate x gains is the plate's range x gains), lo
        lowered by CLIP_TOLERANCE and hi unbounded where the plate clips. Cached."""
        if self._range_stale:
            lo, hi = self._range_mid, self._range_width
            fx = float(FIXED_POINT)
            cv2.multiply(self._plate_min, self.gains, dst=lo, scale=fx, dtype=cv2.CV_16U)
            cv2.min(lo, self._ceiling_fixed, dst=lo)  # the sensor clips
            cv2.multiply(self._plate_max, self.gains, dst=hi, scale=fx, dtype=cv2.CV_16U)
            cv2.min(hi, self._ceiling_fixed, dst=hi)
            if self._any_clipped:
                cv2.subtract(lo, self._clip_drop_fixed, dst=lo)
                cv2.add(hi, self._clip_slack_fixed, dst=hi)
            # no frame exceeds 255 levels: capping hi there changes no distance, and keeps
            # lo + hi within 16 bits
            cv2.min(hi, (FIXED_POINT * 255.0,) * 3 + (0.0,), dst=hi)
            width, mid = hi, lo  # (computed in place: hi - lo, then lo + lo + (hi - lo))
            cv2.subtract(hi, lo, dst=width)  # (lo <= hi)
            cv2.add(lo, lo, dst=mid)
            cv2.add(mid, width, dst=mid)
            self._range_stale = False
        return self._range_mid, self._range_width

    def adapt(self, frame: U8, score: F32, low: float, confident: U8, rate: float) -> None:
        """Move the mean towards ``frame`` (HxWx3 uint8) with the gains undone, at ``rate``,
        where the pixel is calm (``score`` under ``low``) and ``confident``."""
        calm = cv2.compare(score, low, cv2.CMP_LT, dst=self._calm)
        cv2.bitwise_and(calm, confident, dst=calm)
        np.copyto(self._unlit, frame, casting="unsafe")
        cv2.divide(self._unlit, self.gains, dst=self._unlit)
        cv2.accumulateWeighted(self._unlit, self.mean, rate, mask=calm)
        self._refresh_range()

    def _refresh_range(self) -> None:
        cv2.erode(self.mean, RECT3, dst=self._min3)
        cv2.dilate(self.mean, RECT3, dst=self._max3)
        self._reach_range()

    def set_reach(self, reach: float) -> None:
        """The fraction (0-1) of the plate's 3x3 range a shift of the camera explains now
        (see :mod:`.shake`; each pixel uses at least its own floor there); the range is
        re-derived when it changed."""
        if reach != self.reach:
            self.reach = reach
            self._reach_range()

    def _reach_range(self) -> None:
        # a shift of s <= 1 pixel moves a value at most s of the way to a neighbour's:
        # the range is the mean widened towards its 3x3 extremes by that fraction, per
        # pixel never less than its floor
        s = self.reach
        if s < 1.0:
            reach = self._floor if s <= SHAKE_FLOOR else np.maximum(self._floor, s, out=self._reach_map)
            for extreme, end in ((self._min3, self._plate_min), (self._max3, self._plate_max)):
                step = cv2.subtract(extreme, self.mean, dst=self._step)
                cv2.multiply(step, reach, dst=step)
                cv2.add(self.mean, step, dst=end)
        else:
            np.copyto(self._plate_min, self._min3)
            np.copyto(self._plate_max, self._max3)
        self._range_stale = self._expected_stale = True
