"""Camera shake, measured: how far the frame has shifted against the plate, in pixels.

The score forgives a pixel whose value lies within the plate's 3x3 range (a camera that
shifts by a pixel moves every edge by that much). That range forgives any value between a
pixel's darkest and brightest neighbour: in front of real texture (a bookshelf, a
photograph) much of a person falls inside it. A shift of ``s`` pixels (``s`` <= 1) moves a
value at most ``s`` of the way to a neighbour's, so the range the score uses is the plate's
value widened towards its 3x3 extremes by the fraction :attr:`ShakeMeter.reach`: the shift
measured on this frame, plus its uncertainty, and never below each pixel's floor
(:func:`tremor_floor`: SHAKE_FLOOR, or more where the plate's own frames trembled).

The shift is measured by least squares on a sparse grid of confident background (about
SHAKE_SAMPLES samples): a frame shifted by d reads ``plate - grad(plate) . d``, so d is
the 2-vector that best explains frame - expected through the plate's gradient, each sample
weighted by its inverse noise variance (a screen or leaves, noisy by nature, weigh little).
Samples whose difference no shift of up to SHAKE_MAX pixels explains (a person arriving,
light) are left out. The uncertainty is the estimate's standard error (from the same
weights); a grid with too little gradient to measure on gives a reach of 1 (the full range).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from .light_levels import LightLevels
from .regions import RECT3

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

# The shift that bounds which samples are used (a difference beyond SHAKE_MAX x the local
# gradient plus SHAKE_NOISE sigmas of noise is not a shift).
SHAKE_MAX = 2.0
SHAKE_NOISE = 3.0
# The reach never goes below this fraction of the 3x3 range: what a still camera's frames
# differ by at edges beyond their noise (its scaler's and demosaicing's sub-pixel phase),
# and light on texture, which the light tests see only inside the mask. A part of the room
# that trembled while the plate was taken (leaves, a curtain) gets more: see tremor_floor.
# With the floor per pixel, a quarter let a soft shadow's edge on strong, still texture into
# the mask (tests/test_engine.py's enclosed shadow) and cost tuning seeds' local_light
# 0.002; 0.35 did not, and gained on detailed rooms (docs/quality.md, *The shake floor per
# pixel*).
SHAKE_FLOOR = 0.35
# A pixel's floor: TREMOR_ERRORS x its plate spread beyond the sensor's noise, as a
# fraction of its 3x3 half range (a tremor of t pixels moves a value by about t x the
# half range; a spread sigma means excursions of about 1.4 sigma). The sensor's noise near a
# pixel: TREMOR_NOISE x the least spread within TREMOR_WINDOW (a flat pixel nearby; a
# trembling edge's spread stands out of it). The floor holds for the pixel's 3x3 neighbours
# too (the plate's frames may not have caught the tremor at every pixel of an edge). It
# rises no higher than TREMOR_CAP (the measured shake still raises it to the whole range):
# a plant's edges also count the plate's spread in the score's noise, and higher caps lost
# more of the person before the leaves (tuning seeds 100-102, `leaves`: 0.986 at a half,
# 0.984 at 0.75, 0.982 at 1).
TREMOR_CAP = 0.5
TREMOR_ERRORS = 2.0
TREMOR_NOISE = 1.5
TREMOR_WINDOW = 7
_TREMOR_WINDOW = cv2.getStructuringElement(cv2.MORPH_RECT, (TREMOR_WINDOW, TREMOR_WINDOW))
# The measured shift counts with this many standard errors of the estimate.
SHAKE_ERRORS = 2.0
# The reach moves in steps of 1/SHAKE_STEPS (the range is re-derived only when it moves).
SHAKE_STEPS = 16


def tremor_floor(mean: F32, sigma: F32) -> F32:
    """The reach's floor per pixel and channel (HxWx3, SHAKE_FLOOR to TREMOR_CAP) for a
    plate's ``mean`` and ``sigma``: SHAKE_FLOOR where the plate was still, up to TREMOR_CAP
    where its frames trembled (swaying leaves, a screen). Computed once per plate."""
    noise = cv2.erode(sigma, _TREMOR_WINDOW)
    noise *= TREMOR_NOISE
    excess = sigma * sigma - noise * noise
    np.maximum(excess, 0.0, out=excess)
    np.sqrt(excess, out=excess)
    half = cv2.dilate(mean, RECT3) - cv2.erode(mean, RECT3)
    half *= 0.5
    np.maximum(half, 1e-3, out=half)
    floor = np.clip(TREMOR_ERRORS * excess / half, SHAKE_FLOOR, TREMOR_CAP).astype(np.float32)
    return cv2.dilate(floor, RECT3)


class ShakeMeter:
    """The camera's shift against the plate, per frame, on the light levels' sample grid."""

    def __init__(self, levels: LightLevels, mean: F32, sigma: F32, unclipped: U8) -> None:
        self._levels = levels
        gw, gh = levels.grid_size
        shape3 = (gh, gw, 3)
        self._mean: F32 = np.empty(shape3, np.float32)
        self._gains: F32 = np.empty(shape3, np.float32)
        self._gains_version: int | None = None  # the gains' version sampled into _gains
        self._residual: F32 = np.empty(shape3, np.float32)
        self._usable: U8 = np.empty(shape3, np.uint8)
        self._weight: F32 = np.empty(shape3, np.float32)
        self._absolute: F32 = np.empty(shape3, np.float32)
        self._explained: F32 = np.empty(shape3, np.float32)
        self._wgx: F32 = np.empty(shape3, np.float32)
        self._wgy: F32 = np.empty(shape3, np.float32)
        # the plate's gradient per channel (levels per pixel) at the samples, and the noise
        gx = cv2.Sobel(mean, cv2.CV_32F, 1, 0, ksize=3, scale=1.0 / 8.0)
        gy = cv2.Sobel(mean, cv2.CV_32F, 0, 1, ksize=3, scale=1.0 / 8.0)
        self._gx: F32 = levels.sample(gx, np.empty(shape3, np.float32))
        self._gy: F32 = levels.sample(gy, np.empty(shape3, np.float32))
        noise = levels.sample(sigma, np.empty(shape3, np.float32))
        self._bound: F32 = (SHAKE_MAX * (np.abs(self._gx) + np.abs(self._gy)) + SHAKE_NOISE * noise).astype(
            np.float32
        )
        keep = levels.sample(unclipped, np.empty((gh, gw), np.uint8)) > 0
        inverse = np.where(keep[..., None], 1.0 / np.maximum(noise, 0.5) ** 2, 0.0)
        self._inverse_var: F32 = inverse.astype(np.float32)
        self.shift = (0.0, 0.0)  # the last frame's measured shift (x, y), in pixels
        self.reach = 1.0  # the fraction of the 3x3 range the score uses
        self.resample_mean(mean)

    def resample_mean(self, mean: F32) -> None:
        """Take the adapted plate mean's samples again (after it adapted)."""
        self._levels.sample(mean, self._mean)

    def measure(self, frame: U8, confident: U8, gains: F32) -> float:
        """The reach for ``frame`` (HxWx3 uint8) against the plate x ``gains`` (per pixel),
        measured on the ``confident`` background (0/255): :attr:`reach`, also returned."""
        self._levels.sample_frame(frame, confident)
        return self.measure_sampled(gains)

    def measure_sampled(self, gains: F32, gains_version: int | None = None) -> float:
        """:meth:`measure` of the frame the light levels sampled last (see
        :meth:`.LightLevels.sample_frame`); with ``gains_version`` (a number that changes
        whenever ``gains`` do), the gains are sampled again only when it changed."""
        levels = self._levels
        if gains_version is None or gains_version != self._gains_version:
            levels.sample(gains, self._gains)
            self._gains_version = gains_version
        r = cv2.multiply(self._mean, self._gains, dst=self._residual)
        cv2.subtract(levels.frame_samples, r, dst=r)  # frame - expected
        # usable: confident, and a difference some shift up to SHAKE_MAX explains (numpy's
        # mixed-type products would allocate a cast buffer each frame: masked copies instead)
        cv2.compare(cv2.absdiff(r, 0.0, dst=self._absolute), self._bound, cv2.CMP_LE, dst=self._usable)
        self._explained.fill(0.0)
        cv2.copyTo(self._inverse_var, self._usable, self._explained)
        w = self._weight
        w.fill(0.0)
        cv2.copyTo(self._explained, levels.confident_samples, w)
        wgx = np.multiply(w, self._gx, out=self._wgx)
        wgy = np.multiply(w, self._gy, out=self._wgy)
        # normal equations of r = -(gx dx + gy dy), in float64 sums
        a11 = float(np.vdot(wgx, self._gx))
        a12 = float(np.vdot(wgx, self._gy))
        a22 = float(np.vdot(wgy, self._gy))
        b1 = float(np.vdot(wgx, r))
        b2 = float(np.vdot(wgy, r))
        det = a11 * a22 - a12 * a12
        if det <= 1e-12 * max(1.0, (a11 + a22) ** 2) or (a11 + a22) <= 0.0:
            self.shift, reach = (0.0, 0.0), 1.0
        else:
            dx = -(a22 * b1 - a12 * b2) / det
            dy = -(a11 * b2 - a12 * b1) / det
            # the standard error: from the inverse normal matrix (the weights are 1/var)
            error = math.sqrt((a11 + a22) / det)
            self.shift = (dx, dy)
            reach = math.hypot(dx, dy) + SHAKE_ERRORS * error
        reach = min(1.0, max(SHAKE_FLOOR, reach))
        self.reach = math.ceil(reach * SHAKE_STEPS) / SHAKE_STEPS
        return self.reach
