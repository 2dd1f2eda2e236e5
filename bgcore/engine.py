"""The default mode's per-frame mask engine: the stages of :mod:`bgcore.mask`, fused, on
preallocated buffers.

Why a second implementation: numpy's reductions over the colour axis and broadcasting
temporaries cost milliseconds per frame; OpenCV's per-element kernels cost microseconds.
This class performs the same physics as the reference functions in :mod:`bgcore.mask`
(tests hold the two to the same results) with OpenCV calls writing into buffers that are
allocated once per working size, so the hot path allocates (almost) nothing.

Threading and lifetime: one instance per plate and working size, used by one thread.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .mask import GAIN_MIN_LEVEL, LUMA_BGR, TEXTURE_FLOOR
from .plate import Plate
from .settings import Settings

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

# Auto threshold in noise sigmas (on the channel-averaged squared score): a pixel becomes
# foreground above HIGH and stays/extends at above LOW. For pure noise, the average of three
# squared unit normals exceeds 4.0^2 with probability ~1e-10 and 2.5^2 with ~1e-4.
AUTO_SIGMA_HIGH = 4.0
AUTO_SIGMA_LOW = 2.5
# Holes smaller than this fraction of the frame are filled whatever they look like.
SMALL_HOLE_FRACTION = 0.0015
# The light field: per-channel gains on a FIELD_GRID (columns, rows) grid, interpolated
# bilinearly: a smooth gradient of light across the room (daylight shifting, a lamp to one
# side). Finer grids measured worse on every case: fed from a few frames, a fine field soaks
# up the person's own colours near their outline. Local patches of light and shadow are
# explained per pixel instead (LIGHT_RATIO_MIN/MAX, consistency and contact tests).
FIELD_GRID = (2, 2)
# The texture-correlation test of light changes applies where the plate's fine detail has
# TEXTURE_VERIFY x the noise (std); there the frame's detail must correlate with it at least
# TEXTURE_NCC_MIN (a shadow at ratio 0.5 over detail of 1.5 noise std correlates at ~0.6).
TEXTURE_VERIFY = 1.5
TEXTURE_NCC_MIN = 0.3
# Luma ratios frame/expected that a change of light may explain (shadow .. lamp).
LIGHT_RATIO_MIN = 0.25
LIGHT_RATIO_MAX = 1.4
# Global gains are measured on every GAIN_STEP-th pixel in both directions.
GAIN_STEP = 3
# Clipping: a camera's output saturates at a ceiling (255, or lower after its tone curve or
# in limited-range video). A plate channel within CLIP_MARGIN of the brightest level that at
# least CLIP_MIN_FRACTION of the picture reaches (a plateau: a window, a lamp) is clipped.
CLIP_MARGIN = 3.0
CLIP_MIN_FRACTION = 0.002
CLIP_MIN_LEVEL = 180.0
CLIP_QUIET = 0.6
CLIP_SLACK = 1.0e4
# Below the ceiling, a clipped channel may read somewhat lower when the camera's processing
# after the sensor (white balance, tone curve) changes: this many levels are tolerated.
CLIP_TOLERANCE = 12.0
# Every camera pipeline errs near edges in proportion to their contrast (compression ringing
# and chroma subsampling, sharpening halos, demosaicing, a sub-pixel tremor): the score's
# noise includes EDGE_ERROR x the frame's local contrast (5x5 max - min, per channel).
EDGE_ERROR = 0.1
NOISE_RANGE = 4.0
# A region explained away as a change of light must border the unchanged background: light
# falls on the room around the person. When less than this fraction of its outline touches
# clear background (the rest touching the person), it is part of the person (a shirt of the
# wall's colour) and rejoins the mask.
LIGHT_CONTACT_MIN = 0.6

_LUMA = LUMA_BGR.reshape(1, 3)
_SUM3 = np.full((1, 3), 1.0 / 3.0, np.float32)
_RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_RECT5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_DISC3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def clipped_channels(mean: F32, sigma: F32) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
    """Which plate channels are clipped, and per channel the level the sensor clips at.

    A clipped pixel is bright and silent: clipping removes its temporal noise, while an
    unclipped bright pixel has the most shot noise of all. Silent means a noise sigma under
    CLIP_QUIET x the median sigma of mid-grey pixels. The level (255 where nothing clips;
    lower after a camera's tone curve or in limited-range video) is the clipped pixels'
    median plus CLIP_MARGIN.
    """
    flat, noise = mean.reshape(-1, 3), sigma.reshape(-1, 3)
    clipped = np.zeros(mean.shape, bool)
    ceiling = np.full(3, 255.0, np.float32)
    need = max(1, int(CLIP_MIN_FRACTION * flat.shape[0]))
    for c in range(3):
        mid = (flat[:, c] > 60.0) & (flat[:, c] < CLIP_MIN_LEVEL)
        if int(mid.sum()) < need:
            continue
        quiet = CLIP_QUIET * float(np.median(noise[mid, c]))
        hit = (mean[..., c] >= CLIP_MIN_LEVEL) & (sigma[..., c] < quiet)
        if int(hit.sum()) < need:
            continue
        clipped[..., c] = hit
        ceiling[c] = min(255.0, float(np.median(mean[..., c][hit])) + CLIP_MARGIN)
    return clipped, ceiling


class MaskEngine:
    """Stateful default-mode masking at the working size of one plate."""

    def __init__(self, plate: Plate, size: tuple[int, int]) -> None:
        w, h = size
        self.size = size
        self.plate = plate
        self.mean: F32 = plate.mean_at(size)  # adapted over time (slow light changes)
        sigma = plate.sigma_at(size)
        self.inv_var3: F32 = (1.0 / (3.0 * sigma * sigma)).astype(np.float32)
        self.var3: F32 = (3.0 * sigma * sigma).astype(np.float32)
        self.noise_range: F32 = (NOISE_RANGE * sigma).astype(np.float32)
        self.sigma: F32 = sigma
        self.sigma_luma: F32 = np.maximum(cv2.transform(sigma, _LUMA), 0.5).astype(np.float32)
        self.area = w * h
        gw, gh = FIELD_GRID
        self.grid = (gw, gh)
        self.field_coarse: F32 = np.ones((gh, gw, 3), np.float32)
        self.frame_index = 0

        def f3() -> F32:
            return np.empty((h, w, 3), np.float32)

        def f1() -> F32:
            return np.empty((h, w), np.float32)

        def u1() -> U8:
            return np.empty((h, w), np.uint8)

        self.f, self.expected, self.t3a, self.t3b, self.t3c, self.gain3 = (f3() for _ in range(6))
        self.y_f, self.y_e, self.r, self.t1a, self.t1b, self.t1c, self.score = (f1() for _ in range(7))
        self.consistent, self.shadow, self.weak, self.strong, self.mask, self.calm, self.u1a = (
            u1() for _ in range(7)
        )
        lum = cv2.transform(self.mean, _SUM3)
        plate_luma = cv2.transform(self.mean, _LUMA)
        self.plate_detail: F32 = (plate_luma - cv2.blur(plate_luma, (9, 9))).astype(np.float32)
        self.plate_detail_energy: F32 = cv2.blur(self.plate_detail * self.plate_detail, (7, 7))
        self.detail_unverifiable: U8 = cv2.compare(
            self.plate_detail_energy, (TEXTURE_VERIFY * self.sigma_luma) ** 2, cv2.CMP_LE
        )
        self.valid: U8 = cv2.compare(lum, GAIN_MIN_LEVEL, cv2.CMP_GT)
        # Clipped plate channels (a window, a lamp) only bound the true brightness from below:
        # under more exposure they stay at 255, under less they may read anything up to 255.
        # The score then has no upper bound there (CLIP_SLACK added to the expected maximum),
        # and such pixels measure no gains.
        clipped, ceiling = clipped_channels(self.mean, sigma)
        self.ceiling = (float(ceiling[0]), float(ceiling[1]), float(ceiling[2]), 0.0)
        self.clip_slack: F32 = np.where(clipped, np.float32(CLIP_SLACK), np.float32(0.0)).astype(np.float32)
        self.clip_drop: F32 = np.where(clipped, np.float32(CLIP_TOLERANCE), np.float32(0)).astype(np.float32)
        unclipped = np.where(clipped.any(axis=2), np.uint8(0), np.uint8(255)).astype(np.uint8)
        cv2.bitwise_and(self.valid, unclipped, dst=self.valid)
        self.prev: U8 = np.zeros((h, w), np.uint8)
        self.has_prev = False
        self.confident: U8 = np.full((h, w), 255, np.uint8)

    # -- stages --------------------------------------------------------------------------
    def _gains(self) -> tuple[float, float, float]:
        """Global per-channel gain (exposure x white balance) of the frame against the plate.

        A robust estimate on a sparse grid of pixels believed to be background: the median
        ratio, then the mean of the ratios within 10% of it. A mean over all pixels would be
        pulled by the person (a dark shirt filling a third of the picture reads as the
        exposure dropping), and a wrong global gain turns the whole wall into foreground.
        """
        st = GAIN_STEP
        sel = self.confident if self.has_prev else self.valid
        sub = cv2.bitwise_and(sel[::st, ::st], self.valid[::st, ::st])
        if cv2.countNonZero(sub) < 0.05 * sub.size:
            sub = self.valid[::st, ::st]
        pick = sub > 0
        if int(pick.sum()) < 30:
            return 1.0, 1.0, 1.0
        fv = self.f[::st, ::st][pick]
        mv = np.maximum(self.mean[::st, ::st][pick], 1.0)
        ratios = fv / mv
        med = np.median(ratios, axis=0)
        near = (np.abs(ratios / med - 1.0) < 0.1).all(axis=1)
        if int(near.sum()) >= 30:
            med = ratios[near].mean(axis=0)
        g = [min(5.0, max(0.2, float(med[c]))) for c in range(3)]
        return g[0], g[1], g[2]

    def _consistency(self, z_limit: float) -> None:
        """self.r = luma ratio frame/expected; self.consistent = 255 where the frame is the
        expected background under other light (colour kept, ratio locally smooth)."""
        e, f = self.expected, self.f
        cv2.transform(f, _LUMA, dst=self.y_f[..., None])
        cv2.transform(e, _LUMA, dst=self.y_e[..., None])
        np.maximum(self.y_e, 1.0, out=self.y_e)
        cv2.divide(self.y_f, self.y_e, dst=self.r)
        r3 = cv2.merge([self.r, self.r, self.r], dst=self.t3a)
        cv2.multiply(e, r3, dst=self.t3b)  # r * expected
        cv2.subtract(f, self.t3b, dst=self.t3b)  # residual
        # tolerance: noise scaled by r, 3% for a tone curve that is not exactly linear, 0.5
        cv2.max(r3, (0.25, 0.25, 0.25, 0.0), dst=r3)  # (a bare float would clamp channel 0 only)
        cv2.multiply(r3, self.sigma, dst=r3)
        cv2.scaleAdd(e, 0.03, r3, dst=r3)
        cv2.add(r3, (0.5, 0.5, 0.5, 0.0), dst=r3)
        cv2.divide(self.t3b, r3, dst=self.t3b)
        cv2.multiply(self.t3b, self.t3b, dst=self.t3b)
        cv2.transform(self.t3b, _SUM3, dst=self.t1a[..., None])
        cv2.compare(self.t1a, z_limit, cv2.CMP_LT, dst=self.consistent)
        # texture: the high-frequency energy of r (r minus its 9x9 mean, squared, over 7x7)
        # against what noise alone would give. Light varies slowly (a soft shadow's edge is
        # a ramp of r, not texture); a flat cloth in front of a textured wall makes r carry
        # the wall's fine texture.
        cv2.blur(self.r, (9, 9), dst=self.t1a)
        cv2.subtract(self.r, self.t1a, dst=self.t1b)
        cv2.multiply(self.t1b, self.t1b, dst=self.t1b)
        cv2.blur(self.t1b, (7, 7), dst=self.t1b)  # energy
        cv2.max(self.r, 0.25, dst=self.t1c)
        cv2.multiply(self.t1c, self.sigma_luma, dst=self.t1c)
        cv2.divide(self.t1c, self.y_e, dst=self.t1c)
        cv2.addWeighted(self.t1c, 2.0, self.t1c, 0.0, TEXTURE_FLOOR, dst=self.t1c)
        cv2.multiply(self.t1c, self.t1c, dst=self.t1c)
        cv2.compare(self.t1b, self.t1c, cv2.CMP_LT, dst=self.u1a)
        cv2.bitwise_and(self.consistent, self.u1a, dst=self.consistent)
        # texture kept: where the plate has texture well above the noise, light changes only
        # scale it, so the frame's fine detail must correlate with the plate's (a cloth of the
        # wall's colour in front of a faintly textured wall does not, and its ratio to the
        # wall is too faint for the energy test above).
        cv2.blur(self.y_f, (9, 9), dst=self.t1a)
        cv2.subtract(self.y_f, self.t1a, dst=self.t1a)  # the frame's fine detail
        cv2.multiply(self.t1a, self.plate_detail, dst=self.t1b)
        cv2.blur(self.t1b, (7, 7), dst=self.t1b)  # covariance with the plate's detail
        cv2.multiply(self.t1a, self.t1a, dst=self.t1a)
        cv2.blur(self.t1a, (7, 7), dst=self.t1a)
        cv2.multiply(self.t1a, self.plate_detail_energy, dst=self.t1a, scale=TEXTURE_NCC_MIN**2)
        cv2.multiply(self.t1b, self.t1b, dst=self.t1c)
        cv2.compare(self.t1c, self.t1a, cv2.CMP_GT, dst=self.u1a)  # |correlation| > NCC_MIN
        cv2.compare(self.t1b, 0.0, cv2.CMP_GT, dst=self.calm)  # and positive
        cv2.bitwise_and(self.u1a, self.calm, dst=self.u1a)
        cv2.bitwise_or(self.u1a, self.detail_unverifiable, dst=self.u1a)
        cv2.bitwise_and(self.consistent, self.u1a, dst=self.consistent)

    def _update_field(self) -> None:
        """Re-estimate the coarse gain field from consistent, confident, lit pixels.

        Normalised convolution of the per-pixel ratio frame/expected (expected = plate x
        global gains x previous field) on the FIELD_GRID; where nothing nearby
        could be measured (the person covers it) a wider pass, then no change, fill in.
        """
        weight = cv2.bitwise_and(self.consistent, self.valid, dst=self.u1a)
        if self.has_prev:
            cv2.bitwise_and(weight, self.confident, dst=weight)
        cv2.max(self.expected, (1.0, 1.0, 1.0, 0.0), dst=self.t3a)  # per channel
        cv2.divide(self.f, self.t3a, dst=self.t3a)  # ratio to the current expectation
        wf = np.multiply(weight, np.float32(1.0 / 255.0), out=self.t1a, casting="unsafe")
        w3 = cv2.merge([wf, wf, wf], dst=self.t3b)
        cv2.multiply(self.t3a, w3, dst=self.t3a)
        gw, gh = self.grid
        num = cv2.resize(self.t3a, (gw, gh), interpolation=cv2.INTER_AREA)
        den = cv2.resize(wf, (gw, gh), interpolation=cv2.INTER_AREA)
        near_num = cv2.GaussianBlur(num, (0, 0), 1.0)
        near_den = cv2.GaussianBlur(den, (0, 0), 1.0)
        far_num = cv2.GaussianBlur(num, (0, 0), 4.0)
        far_den = cv2.GaussianBlur(den, (0, 0), 4.0)
        near = near_num / np.maximum(near_den, 1e-6)[..., None]
        far = far_num / np.maximum(far_den, 1e-6)[..., None]
        a = (near_den / (near_den + 0.05))[..., None]
        b = (far_den / (far_den + 0.02))[..., None]
        change = a * near + (1 - a) * (b * far + (1 - b))
        self.field_coarse = np.clip(self.field_coarse * change, 0.2, 5.0).astype(np.float32)

    # -- the frame --------------------------------------------------------------------------
    def step(self, small: U8, s: Settings) -> U8:
        """Mask (0/255, a buffer owned by the engine) of one working-size BGR frame."""
        np.copyto(self.f, small, casting="unsafe")
        w, h = self.size
        if s.adapt:
            g = self._gains()
            cv2.resize(self.field_coarse, (w, h), dst=self.gain3, interpolation=cv2.INTER_LINEAR)
            cv2.multiply(self.gain3, (g[0], g[1], g[2], 0.0), dst=self.gain3)
            cv2.multiply(self.mean, self.gain3, dst=self.expected)
            cv2.min(self.expected, self.ceiling, dst=self.expected)  # the sensor clips
            self._consistency(AUTO_SIGMA_LOW**2)
        else:
            np.copyto(self.expected, self.mean)
            if s.shadows:
                self._consistency(AUTO_SIGMA_LOW**2)

        # score: difference to the expected background's 3x3 range, in noise units
        if s.threshold is None:
            cv2.erode(self.expected, _RECT3, dst=self.t3a)
            cv2.subtract(self.t3a, self.clip_drop, dst=self.t3a)
            cv2.subtract(self.t3a, self.f, dst=self.t3a)
            cv2.max(self.t3a, 0.0, dst=self.t3a)
            cv2.dilate(self.expected, _RECT3, dst=self.t3b)
            cv2.add(self.t3b, self.clip_slack, dst=self.t3b)
            cv2.subtract(self.f, self.t3b, dst=self.t3b)
            cv2.max(self.t3b, 0.0, dst=self.t3b)
            cv2.add(self.t3a, self.t3b, dst=self.t3a)
            cv2.multiply(self.t3a, self.t3a, dst=self.t3a)
            if EDGE_ERROR > 0:
                # variance = sigma^2 + (EDGE_ERROR x the frame's local contrast)^2, x3
                cv2.dilate(self.f, _RECT5, dst=self.t3b)
                cv2.erode(self.f, _RECT5, dst=self.t3c)
                cv2.subtract(self.t3b, self.t3c, dst=self.t3b)
                # minus what noise alone spreads 25 samples over (about 4 sigma)
                cv2.subtract(self.t3b, self.noise_range, dst=self.t3b)
                cv2.max(self.t3b, (0.0, 0.0, 0.0, 0.0), dst=self.t3b)
                cv2.multiply(self.t3b, self.t3b, dst=self.t3b, scale=3.0 * EDGE_ERROR * EDGE_ERROR)
                cv2.add(self.t3b, self.var3, dst=self.t3b)
                cv2.divide(self.t3a, self.t3b, dst=self.t3a)
            else:
                cv2.multiply(self.t3a, self.inv_var3, dst=self.t3a)
            cv2.transform(self.t3a, np.ones((1, 3), np.float32), dst=self.score[..., None])
            k = 1.0 / s.sensitivity
            high, low = (AUTO_SIGMA_HIGH * k) ** 2, (AUTO_SIGMA_LOW * k) ** 2
        else:
            cv2.absdiff(self.f, self.expected, dst=self.t3a)
            cv2.transform(self.t3a, np.eye(3, dtype=np.float32)[:1], dst=self.t1a[..., None])
            np.copyto(self.score, self.t1a)
            for c in (1, 2):
                cv2.transform(self.t3a, np.eye(3, dtype=np.float32)[c : c + 1], dst=self.t1a[..., None])
                cv2.max(self.score, self.t1a, dst=self.score)
            high, low = float(s.threshold), 0.6 * s.threshold

        # Light explains a pixel when the frame is the expected background under another
        # light level: consistent (colour and fine texture kept) and darker by up to 75% (a
        # cast shadow; with `shadows`) or brighter by up to 4x (a lamp, a sun patch, or light
        # the gain field has not caught up with; with `adapt`). The change must exceed the
        # noise (3 sigma of luma), else the score is low anyway. Explaining brighter light
        # per pixel also keeps a stale field from locking a lit wall into the mask: the
        # field is measured only outside the mask, so an unexplained wall would never heal.
        has_shadow = s.shadows or (s.adapt and s.threshold is None)
        if has_shadow:
            lo_r = LIGHT_RATIO_MIN if s.shadows else 1.0
            hi_r = LIGHT_RATIO_MAX if s.adapt and s.threshold is None else 1.0
            cv2.inRange(self.r, lo_r, hi_r, dst=self.shadow)
            cv2.bitwise_and(self.shadow, self.consistent, dst=self.shadow)
            cv2.absdiff(self.y_e, self.y_f, dst=self.t1a)
            cv2.multiply(self.sigma_luma, 3.0, dst=self.t1b)
            cv2.compare(self.t1a, self.t1b, cv2.CMP_GT, dst=self.u1a)
            cv2.bitwise_and(self.shadow, self.u1a, dst=self.shadow)
            self.score[self.shadow > 0] = 0.0

        # hysteresis (+ temporal: last frame's foreground needs only the low bar)
        cv2.compare(self.score, low, cv2.CMP_GT, dst=self.weak)
        cv2.compare(self.score, high, cv2.CMP_GT, dst=self.strong)
        if s.temporal and self.has_prev:
            cv2.bitwise_and(self.prev, self.weak, dst=self.u1a)
            cv2.bitwise_or(self.strong, self.u1a, dst=self.strong)
        min_area = max(1, round(s.min_blob * self.area)) if s.cleanup else 1
        n, labels = cv2.connectedComponents(self.weak, connectivity=8, ltype=cv2.CV_32S)
        flat = labels.ravel()
        seeded = np.bincount(flat[self.strong.ravel() > 0], minlength=n) > 0
        keep = seeded & (np.bincount(flat, minlength=n) >= min_area)
        keep[0] = False
        lut = np.where(keep, np.uint8(255), np.uint8(0))
        np.take(lut, labels, out=self.mask)

        if has_shadow and LIGHT_CONTACT_MIN > 0:
            self._light_contact()
        if s.cleanup:
            cv2.morphologyEx(self.mask, cv2.MORPH_CLOSE, _DISC3, dst=self.mask)
            self._fill_holes(low, has_shadow)

        # state for the next frame
        np.copyto(self.prev, self.mask)
        self.has_prev = True
        cv2.dilate(self.mask, _RECT3, dst=self.u1a, iterations=3)
        cv2.compare(self.u1a, 0, cv2.CMP_EQ, dst=self.confident)
        if s.adapt and s.adapt_rate > 0:
            cv2.compare(self.score, low, cv2.CMP_LT, dst=self.calm)
            cv2.bitwise_and(self.calm, self.confident, dst=self.calm)
            cv2.divide(self.f, self.gain3, dst=self.t3a)
            cv2.accumulateWeighted(self.t3a, self.mean, s.adapt_rate, mask=self.calm)
        if s.adapt:
            # The light field for the next frame, measured away from this frame's person: a
            # face or shirt of the wall's hue passes the consistency test, and measured
            # before the mask exists it would drag the field (and the wall) with it.
            self._update_field()
        self.frame_index += 1
        return self.mask

    def _light_contact(self) -> None:
        """Give back to the person the explained-as-light regions that do not border clear
        background (see LIGHT_CONTACT_MIN)."""
        n, labels = cv2.connectedComponents(self.shadow, connectivity=8, ltype=cv2.CV_32S)
        if n <= 1:
            return
        flat = labels.ravel()
        cv2.bitwise_or(self.mask, self.shadow, dst=self.u1a)
        cv2.compare(self.u1a, 0, cv2.CMP_EQ, dst=self.u1a)  # clear background
        cv2.dilate(self.u1a, _RECT3, dst=self.u1a)
        cv2.bitwise_and(self.u1a, self.shadow, dst=self.u1a)
        touch_clear = np.bincount(flat[self.u1a.ravel() > 0], minlength=n)
        cv2.dilate(self.mask, _RECT3, dst=self.u1a)
        cv2.bitwise_and(self.u1a, self.shadow, dst=self.u1a)
        touch_fg = np.bincount(flat[self.u1a.ravel() > 0], minlength=n)
        rejoin = (touch_fg > 0) & (touch_clear < LIGHT_CONTACT_MIN * (touch_clear + touch_fg))
        rejoin[0] = False
        if rejoin.any():
            lut = np.where(rejoin, np.uint8(255), np.uint8(0))
            np.take(lut, labels, out=self.u1a)
            cv2.bitwise_or(self.mask, self.u1a, dst=self.mask)

    def _fill_holes(self, low: float, has_shadow: bool) -> None:
        """Fill enclosed background regions that are small, or mostly suspicious (evidence of
        foreground explained away as a shadow or faint difference: a shirt like the wall)."""
        inv = cv2.compare(self.mask, 0, cv2.CMP_EQ, dst=self.u1a)
        n, labels = cv2.connectedComponents(inv, connectivity=4, ltype=cv2.CV_32S)
        if n <= 2:
            return
        flat = labels.ravel()
        area = np.bincount(flat, minlength=n)
        border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        enclosed = np.ones(n, bool)
        enclosed[border] = False
        enclosed[0] = False
        if not enclosed.any():
            return
        fill = enclosed & (area <= round(SMALL_HOLE_FRACTION * self.area))
        cv2.compare(self.score, 0.25 * low, cv2.CMP_GT, dst=self.calm)
        if has_shadow:
            cv2.bitwise_or(self.calm, self.shadow, dst=self.calm)
        hits = np.bincount(flat[self.calm.ravel() > 0], minlength=n)
        fill |= enclosed & (hits > 0.5 * area)
        if fill.any():
            lut = np.where(fill, np.uint8(255), np.uint8(0))
            np.take(lut, labels, out=self.u1a)
            cv2.bitwise_or(self.mask, self.u1a, dst=self.mask)
