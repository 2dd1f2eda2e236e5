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
# The slowly varying parts (global gains, the light field) are measured on a sparse grid of
# about GAIN_SAMPLES pixels (every k-th pixel in both directions): a few thousand samples pin
# three gains and a 2x2 field far below the noise, at a fraction of a dense pass's cost.
GAIN_SAMPLES = 3000
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
_RECT7 = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))  # = three 3x3 dilations
_ONES3 = np.ones((1, 3), np.float32)
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


class _Labels:
    """Connected components into reused buffers. Up to 256 labels (the usual case) are
    copied to 8 bits, where OpenCV's histogram and look-up table are fastest; more are
    counted on a float copy (exact for integers) and painted through an index copy. Nothing
    image-sized is allocated per call."""

    def __init__(self, h: int, w: int) -> None:
        self.labels = np.empty((h, w), np.int32)
        self.as_u8: U8 = np.empty((h, w), np.uint8)
        self.as_float: F32 = np.empty((h, w), np.float32)
        self.as_index = np.empty((h, w), np.intp)
        self.lut: U8 = np.zeros(256, np.uint8)
        self.n = 0

    def find(self, binary: U8, connectivity: int) -> int:
        n, _ = cv2.connectedComponents(
            binary, labels=self.labels, connectivity=connectivity, ltype=cv2.CV_32S
        )
        self.n = int(n)
        if 1 < self.n <= 256:
            np.copyto(self.as_u8, self.labels, casting="unsafe")
        elif self.n > 256:
            np.copyto(self.as_float, self.labels)
        return self.n

    def count(self, where: U8 | None = None) -> npt.NDArray[np.float32]:
        """Pixels per label (within the 0/255 mask ``where`` if given): a vector of n."""
        if self.n <= 256:
            return cv2.calcHist([self.as_u8], [0], where, [256], [0, 256]).ravel()[: self.n]
        return cv2.calcHist([self.as_float], [0], where, [self.n], [0, self.n]).ravel()

    def paint(self, chosen: npt.NDArray[np.bool_], out: U8) -> U8:
        """255 where the pixel's label is chosen, else 0."""
        if self.n <= 256:
            self.lut.fill(0)
            self.lut[: self.n][chosen] = 255
            return cv2.LUT(self.as_u8, self.lut, dst=out)
        np.copyto(self.as_index, self.labels)
        lut = np.where(chosen, np.uint8(255), np.uint8(0))
        np.take(lut, self.as_index, out=out, mode="clip")
        return out


class MaskEngine:
    """Stateful default-mode masking at the working size of one plate."""

    def __init__(self, plate: Plate, size: tuple[int, int]) -> None:
        w, h = size
        self.size = size
        self.plate = plate
        self.mean: F32 = plate.mean_at(size)  # adapted over time (slow light changes)
        sigma = plate.sigma_at(size)
        self.var3: F32 = (3.0 * sigma * sigma).astype(np.float32)
        self.noise_range: F32 = (NOISE_RANGE * sigma).astype(np.float32)
        self.sigma: F32 = sigma
        self.sigma_luma: F32 = np.maximum(cv2.transform(sigma, _LUMA), 0.5).astype(np.float32)
        self.sigma_luma3: F32 = (3.0 * self.sigma_luma).astype(np.float32)
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

        self.f, self.expected, self.t3a, self.t3b, self.gain3 = (f3() for _ in range(5))
        self.y_f, self.y_e, self.r, self.t1a, self.t1b, self.t1c, self.score = (f1() for _ in range(7))
        self.consistent, self.shadow, self.weak, self.strong, self.mask, self.calm, self.u1a = (
            u1() for _ in range(7)
        )
        self.u3a: U8 = np.empty((h, w, 3), np.uint8)
        self.u3b: U8 = np.empty((h, w, 3), np.uint8)
        self.components = _Labels(h, w)
        lum = cv2.transform(self.mean, _SUM3)
        plate_luma = cv2.transform(self.mean, _LUMA)
        self.plate_detail: F32 = (plate_luma - cv2.blur(plate_luma, (9, 9))).astype(np.float32)
        self.plate_detail_energy: F32 = cv2.blur(self.plate_detail * self.plate_detail, (7, 7))
        self.detail_unverifiable: U8 = cv2.compare(
            self.plate_detail_energy, (TEXTURE_VERIFY * self.sigma_luma) ** 2, cv2.CMP_LE
        )
        # nothing to verify anywhere (a flat plate): the texture-kept test always passes
        self.any_verifiable = cv2.countNonZero(self.detail_unverifiable) < self.area
        self.valid: U8 = cv2.compare(lum, GAIN_MIN_LEVEL, cv2.CMP_GT)
        # Clipped plate channels (a window, a lamp) only bound the true brightness from below:
        # under more exposure they stay at 255, under less they may read anything up to 255.
        # The score then has no upper bound there (CLIP_SLACK added to the expected maximum),
        # and such pixels measure no gains.
        clipped, ceiling = clipped_channels(self.mean, sigma)
        self.ceiling = (float(ceiling[0]), float(ceiling[1]), float(ceiling[2]), 0.0)
        self.any_clipped = bool(clipped.any())
        self.clip_slack: F32 = np.where(clipped, np.float32(CLIP_SLACK), np.float32(0.0)).astype(np.float32)
        self.clip_drop: F32 = np.where(clipped, np.float32(CLIP_TOLERANCE), np.float32(0)).astype(np.float32)
        unclipped = np.where(clipped.any(axis=2), np.uint8(0), np.uint8(255)).astype(np.uint8)
        cv2.bitwise_and(self.valid, unclipped, dst=self.valid)
        self.prev: U8 = np.zeros((h, w), np.uint8)
        self.has_prev = False
        self.confident: U8 = np.full((h, w), 255, np.uint8)
        # the sparse grid of the slowly varying parts (gains, light field)
        st = self.gain_step = max(1, round(float(np.sqrt(self.area / GAIN_SAMPLES))))
        self.g_valid: U8 = np.ascontiguousarray(self.valid[::st, ::st])
        gs = self.g_valid.shape
        self.g_f: F32 = np.empty((*gs, 3), np.float32)
        self.g_m: F32 = np.empty((*gs, 3), np.float32)
        self.g_sel: U8 = np.empty(gs, np.uint8)
        self.g_w: F32 = np.empty(gs, np.float32)
        self.g_skip = np.empty(gs[0] * gs[1], np.bool_)
        self.g_all = np.empty(gs[0] * gs[1], np.bool_)
        self.g_cols: F32 = np.empty((3, gs[0] * gs[1]), np.float32)
        self.g_dev: F32 = np.empty((3, gs[0] * gs[1]), np.float32)
        self.g_near = np.empty((3, gs[0] * gs[1]), np.bool_)

    # -- stages --------------------------------------------------------------------------
    def _gains(self) -> tuple[float, float, float]:
        """Global per-channel gain (exposure x white balance) of the frame against the plate.

        A robust estimate on a sparse grid of pixels believed to be background: the median
        ratio, then the mean of the ratios within 10% of it. A mean over all pixels would be
        pulled by the person (a dark shirt filling a third of the picture reads as the
        exposure dropping), and a wrong global gain turns the whole wall into foreground.
        """
        st = self.gain_step
        sel = self.g_sel
        if self.has_prev:
            np.copyto(sel, self.confident[::st, ::st])
            cv2.bitwise_and(sel, self.g_valid, dst=sel)
        else:
            np.copyto(sel, self.g_valid)
        if cv2.countNonZero(sel) < 0.05 * sel.size:
            np.copyto(sel, self.g_valid)
        k = cv2.countNonZero(sel)
        if k < 30:
            return 1.0, 1.0, 1.0
        np.copyto(self.g_f, self.f[::st, ::st])
        np.copyto(self.g_m, self.mean[::st, ::st])
        cv2.max(self.g_m, (1.0, 1.0, 1.0, 0.0), dst=self.g_m)
        cv2.divide(self.g_f, self.g_m, dst=self.g_f)  # ratios frame / plate
        # The median of the k picked ratios without gathering them: the others are set to
        # +inf in a copy, so the picked ones are the k smallest and an in-place partition
        # finds their middle order statistics (np.median's two middle values for even k).
        skip = np.equal(sel.ravel(), 0, out=self.g_skip)
        cols, dev = self.g_cols, self.g_dev
        np.copyto(cols, self.g_f.reshape(-1, 3).T)
        np.copyto(dev, cols)
        np.copyto(dev, np.float32(np.inf), where=skip)
        lo, hi = (k - 1) // 2, k // 2
        dev.partition((lo, hi), axis=1)
        med = 0.5 * (dev[:, lo] + dev[:, hi])
        for c in range(3):  # (scalar operands: numpy buffers broadcast ones)
            np.divide(cols[c], float(med[c]), out=dev[c])
        np.subtract(dev, 1.0, out=dev)
        np.abs(dev, out=dev)
        np.less(dev, 0.1, out=self.g_near)
        near = np.all(self.g_near, axis=0, out=self.g_all)
        np.logical_not(skip, out=skip)  # now: picked
        np.logical_and(near, skip, out=near)
        n_near = int(np.count_nonzero(near))
        if n_near >= 30:
            med = np.array([np.sum(cols[c], where=near) for c in range(3)]) / n_near
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
        # tolerance: noise scaled by r (at least 0.25), 3% for a tone curve that is not
        # exactly linear, 0.5
        rc = cv2.max(self.r, 0.25, dst=self.t1c)
        cv2.merge([rc, rc, rc], dst=r3)
        cv2.multiply(r3, self.sigma, dst=r3)
        cv2.addWeighted(r3, 1.0, e, 0.03, 0.5, dst=r3)
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
        # noise level of r: (2 x max(r, 0.25) x luma sigma / luma + TEXTURE_FLOOR)^2
        cv2.multiply(rc, self.sigma_luma, dst=self.t1c)
        cv2.divide(self.t1c, self.y_e, dst=self.t1c, scale=2.0)
        cv2.add(self.t1c, TEXTURE_FLOOR, dst=self.t1c)
        cv2.multiply(self.t1c, self.t1c, dst=self.t1c)
        cv2.compare(self.t1b, self.t1c, cv2.CMP_LT, dst=self.u1a)
        cv2.bitwise_and(self.consistent, self.u1a, dst=self.consistent)
        if not self.any_verifiable:
            return
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
        global gains x previous field) on the FIELD_GRID, measured on the sparse grid; where
        nothing nearby could be measured (the person covers it) a wider pass, then no
        change, fill in.
        """
        st = self.gain_step
        weight = self.g_sel
        np.copyto(weight, self.consistent[::st, ::st])
        cv2.bitwise_and(weight, self.g_valid, dst=weight)
        if self.has_prev:
            cv2.bitwise_and(weight, self.confident[::st, ::st], dst=weight)
        np.copyto(self.g_m, self.expected[::st, ::st])
        cv2.max(self.g_m, (1.0, 1.0, 1.0, 0.0), dst=self.g_m)  # per channel
        np.copyto(self.g_f, self.f[::st, ::st])
        cv2.divide(self.g_f, self.g_m, dst=self.g_f)  # ratio to the current expectation
        wf = np.multiply(weight, np.float32(1.0 / 255.0), out=self.g_w, casting="unsafe")
        cv2.multiply(self.g_f, cv2.merge([wf, wf, wf], dst=self.g_m), dst=self.g_f)
        gw, gh = self.grid
        num = cv2.resize(self.g_f, (gw, gh), interpolation=cv2.INTER_AREA)
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
            # bilinear interpolation is linear: the global gains scale the coarse field
            coarse = self.field_coarse * np.array(g, np.float32)
            cv2.resize(coarse, (w, h), dst=self.gain3, interpolation=cv2.INTER_LINEAR)
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
            if self.any_clipped:
                cv2.subtract(self.t3a, self.clip_drop, dst=self.t3a)
            cv2.subtract(self.t3a, self.f, dst=self.t3a)  # below the range: lo - f > 0
            cv2.dilate(self.expected, _RECT3, dst=self.t3b)
            if self.any_clipped:
                cv2.add(self.t3b, self.clip_slack, dst=self.t3b)
            cv2.subtract(self.f, self.t3b, dst=self.t3b)  # above it: f - hi > 0
            cv2.max(self.t3a, self.t3b, dst=self.t3a)  # (lo <= hi: at most one is positive)
            cv2.max(self.t3a, (0.0, 0.0, 0.0, 0.0), dst=self.t3a)
            cv2.multiply(self.t3a, self.t3a, dst=self.t3a)
            # variance = sigma^2 + (EDGE_ERROR x the frame's local contrast)^2, x3; the
            # 5x5 range is exact on the 8-bit frame
            cv2.dilate(small, _RECT5, dst=self.u3a)
            cv2.erode(small, _RECT5, dst=self.u3b)
            cv2.subtract(self.u3a, self.u3b, dst=self.u3a)
            # minus what noise alone spreads 25 samples over (about 4 sigma)
            cv2.subtract(self.u3a, self.noise_range, dst=self.t3b, dtype=cv2.CV_32F)
            cv2.max(self.t3b, (0.0, 0.0, 0.0, 0.0), dst=self.t3b)
            cv2.multiply(self.t3b, self.t3b, dst=self.t3b)
            cv2.scaleAdd(self.t3b, 3.0 * EDGE_ERROR * EDGE_ERROR, self.var3, dst=self.t3b)
            cv2.divide(self.t3a, self.t3b, dst=self.t3a)
            cv2.transform(self.t3a, _ONES3, dst=self.score[..., None])
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
            cv2.compare(self.t1a, self.sigma_luma3, cv2.CMP_GT, dst=self.u1a)
            cv2.bitwise_and(self.shadow, self.u1a, dst=self.shadow)
            cv2.subtract(self.score, self.score, dst=self.score, mask=self.shadow)  # 0 there

        # hysteresis (+ temporal: last frame's foreground needs only the low bar)
        cv2.compare(self.score, low, cv2.CMP_GT, dst=self.weak)
        cv2.compare(self.score, high, cv2.CMP_GT, dst=self.strong)
        if s.temporal and self.has_prev:
            cv2.bitwise_and(self.prev, self.weak, dst=self.u1a)
            cv2.bitwise_or(self.strong, self.u1a, dst=self.strong)
        min_area = max(1, round(s.min_blob * self.area)) if s.cleanup else 1
        cc = self.components
        if cc.find(self.weak, 8) > 1:
            keep = (cc.count(self.strong) > 0) & (cc.count() >= min_area)
            keep[0] = False
            cc.paint(keep, self.mask)
        else:
            self.mask.fill(0)

        if has_shadow:
            self._light_contact()
        if s.cleanup:
            cv2.morphologyEx(self.mask, cv2.MORPH_CLOSE, _DISC3, dst=self.mask)
            self._fill_holes(low, has_shadow)

        # state for the next frame
        np.copyto(self.prev, self.mask)
        self.has_prev = True
        cv2.dilate(self.mask, _RECT7, dst=self.u1a)
        cv2.bitwise_not(self.u1a, dst=self.confident)  # (the mask is 0/255)
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
        cc = self.components
        if cc.find(self.shadow, 8) <= 1:
            return
        cv2.bitwise_or(self.mask, self.shadow, dst=self.u1a)
        cv2.compare(self.u1a, 0, cv2.CMP_EQ, dst=self.u1a)  # clear background
        cv2.dilate(self.u1a, _RECT3, dst=self.u1a)
        cv2.bitwise_and(self.u1a, self.shadow, dst=self.u1a)
        touch_clear = cc.count(self.u1a)
        cv2.dilate(self.mask, _RECT3, dst=self.u1a)
        cv2.bitwise_and(self.u1a, self.shadow, dst=self.u1a)
        touch_fg = cc.count(self.u1a)
        rejoin = (touch_fg > 0) & (touch_clear < LIGHT_CONTACT_MIN * (touch_clear + touch_fg))
        rejoin[0] = False
        if rejoin.any():
            cc.paint(rejoin, self.u1a)
            cv2.bitwise_or(self.mask, self.u1a, dst=self.mask)

    def _fill_holes(self, low: float, has_shadow: bool) -> None:
        """Fill enclosed background regions that are small, or mostly suspicious (evidence of
        foreground explained away as a shadow or faint difference: a shirt like the wall)."""
        inv = cv2.compare(self.mask, 0, cv2.CMP_EQ, dst=self.u1a)
        cc = self.components
        n = cc.find(inv, 4)
        if n <= 2:
            return
        labels = cc.labels
        enclosed = np.ones(n, bool)
        for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
            enclosed[edge] = False
        enclosed[0] = False
        if not enclosed.any():
            return
        area = cc.count()
        fill = enclosed & (area <= round(SMALL_HOLE_FRACTION * self.area))
        cv2.compare(self.score, 0.25 * low, cv2.CMP_GT, dst=self.calm)
        if has_shadow:
            cv2.bitwise_or(self.calm, self.shadow, dst=self.calm)
        hits = cc.count(self.calm)
        fill |= enclosed & (hits > 0.5 * area)
        if fill.any():
            cc.paint(fill, self.u1a)
            cv2.bitwise_or(self.mask, self.u1a, dst=self.mask)
