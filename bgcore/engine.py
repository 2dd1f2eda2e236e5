"""The default mode's per-frame mask engine: the stages of :mod:`bgcore.mask`, fused, on
preallocated buffers.

Why a second implementation: numpy's reductions over the colour axis and broadcasting
temporaries cost milliseconds per frame; OpenCV's per-element kernels cost microseconds.
This class performs the same physics as the reference functions in :mod:`bgcore.mask`
(tests hold the two to the same results) with OpenCV calls writing into buffers that are
allocated once per working size, so the hot path allocates (almost) nothing.

Where the work goes (the budget is a few floors of a BGRA copy per frame, see ``bench``):
the score is taken on the whole frame in 16-bit fixed point against the plate's cached
3x3 range; the per-pixel arithmetic of the score and the light tests runs as compiled
kernels (:mod:`bgcore.kernels`: the same float32 operations in the same order as the OpenCV
passes kept here for machines without numba, so the same bits); everything after the first
hysteresis (the light tests, the contact rule, cleanup) runs inside the mask's bounding box,
the costly texture tests only around areas light might explain; the slow parts (gains,
light field, adaptation) run on a sparse grid or every few frames. Each of these was
checked against the quality tables (``python -m bgcore quality``) and left them where they
were.

Threading and lifetime: one instance per plate and working size, used by one thread.
"""

from __future__ import annotations

from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from . import kernels
from .mask import GAIN_MIN_LEVEL, LUMA_BGR, TEXTURE_FLOOR
from .plate import Plate
from .settings import Settings

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_Array = TypeVar("_Array", bound=npt.NDArray[np.generic])

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
# The field is re-measured every FIELD_EVERY frames and moves at most FIELD_STEP_MAX a time:
# light drifts over seconds (a sudden change is the global gain's or, locally, the per-pixel
# light test's), and a one-frame outlier (a shirt of the wall's hue entering) must not run
# the field away. Every 4 frames at 3% a step follows 20% a second; every 2 frames measured
# the same quality tables at twice the cost.
FIELD_STEP_MAX = 0.03
FIELD_EVERY = 4
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
GAIN_MIN, GAIN_MAX = 0.2, 5.0
GAIN_BINS = 960  # 0.5% of gain a bin
# The full-size gains are rebuilt when the coarse gains move by more than this (0.1%: a
# quarter level at white).
GAIN_REBUILD = 0.001
# Clipping: a camera's output saturates at a ceiling (255, or lower after its tone curve or
# in limited-range video). A plate channel within CLIP_MARGIN of the brightest level that at
# least CLIP_MIN_FRACTION of the picture reaches (a plateau: a window, a lamp) is clipped.
CLIP_MARGIN = 3.0
CLIP_MIN_FRACTION = 0.002
CLIP_MIN_LEVEL = 180.0
CLIP_QUIET = 0.6
# Below the ceiling, a clipped channel may read somewhat lower when the camera's processing
# after the sensor (white balance, tone curve) changes: this many levels are tolerated.
CLIP_TOLERANCE = 12.0
# Every camera pipeline errs near edges in proportion to their contrast (compression ringing
# and chroma subsampling, sharpening halos, demosaicing, a sub-pixel tremor): the score's
# noise includes EDGE_ERROR x the frame's local contrast (5x5 max - min, per channel).
EDGE_ERROR = 0.1  # (> 0: the score computes the variance in units of 3 EDGE_ERROR^2)
NOISE_RANGE = 4.0
_EDGE_VAR = 3.0 * EDGE_ERROR * EDGE_ERROR
# A region explained away as a change of light must border the unchanged background: light
# falls on the room around the person. When less than this fraction of its outline touches
# clear background (the rest touching the person), it is part of the person (a shirt of the
# wall's colour) and rejoins the mask.
LIGHT_CONTACT_MIN = 0.6
# The region of interest (the hysteresis mask's bounding box) is widened by this many pixels:
# the texture tests' filters reach 4 + 3 pixels, the contact test and closing 1 more.
ROI_MARGIN = 8
# The score's distances are taken in fixed point: levels x FIXED_POINT in uint16, where
# OpenCV's saturating subtraction gives max(0, a - b) in one cheap pass (1/8 level is far
# below any camera's noise).
FIXED_POINT = 8
# The background adapts to slow changes every ADAPT_EVERY frames (at the rate that makes
# the same time constant): the plate's 3x3 range is re-derived after each update. (Every 8
# frames cost about 0.25x the floor less at 720p, and 3% more flicker: not taken.)
ADAPT_EVERY = 4

_LUMA = LUMA_BGR.reshape(1, 3)
_SUM3 = np.full((1, 3), 1.0 / 3.0, np.float32)
_RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_RECT5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_RECT7 = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))  # = three 3x3 dilations
_ONES3 = np.ones((1, 3), np.float32)
_DISC3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_KEPT, _TOO_SMALL = 1, 2  # hysteresis fill values (the masks are 0/255)


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


def _widened(x: int, y: int, bw: int, bh: int, margin: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the box (x, y, bw, bh) widened by ``margin``, within ``shape``."""
    h, w = shape[:2]
    rows = slice(max(0, y - margin), min(h, y + bh + margin))
    return rows, slice(max(0, x - margin), min(w, x + bw + margin))


def _inside(outer: tuple[slice, slice], inner: tuple[slice, slice]) -> tuple[slice, slice]:
    """``inner`` (rows, columns relative to the region ``outer``) in the frame's coordinates."""
    top, left = outer[0].start or 0, outer[1].start or 0
    rows = slice(top + inner[0].start, top + inner[0].stop)
    return rows, slice(left + inner[1].start, left + inner[1].stop)


class _Labels:
    """Connected components into reused buffers. Up to 256 labels (the usual case) are
    copied to 8 bits, where OpenCV's histogram and look-up table are fastest; more are
    counted on a float copy (exact for integers) and painted through an index copy. Nothing
    image-sized is allocated per call. :meth:`find` takes an image of at most the buffers'
    size (a region of interest): the label views then have that image's shape."""

    def __init__(self, h: int, w: int) -> None:
        self._labels_buf = np.empty((h, w), np.int32)
        self._u8_buf: U8 = np.empty((h, w), np.uint8)
        self._u8_scratch: U8 = np.empty((h, w), np.uint8)
        self._float_buf: F32 = np.empty((h, w), np.float32)
        self._index_buf = np.empty((h, w), np.intp)
        self.labels = self._labels_buf
        self.as_u8: U8 = self._u8_buf
        self.as_float: F32 = self._float_buf
        self.lut: U8 = np.zeros(256, np.uint8)
        self.n = 0

    def find(self, binary: U8, connectivity: int) -> int:
        rh, rw = binary.shape
        self.labels = self._labels_buf[:rh, :rw]
        n, _ = cv2.connectedComponents(
            binary, labels=self.labels, connectivity=connectivity, ltype=cv2.CV_32S
        )
        self.n = int(n)
        if 1 < self.n <= 256:
            self.as_u8 = self._u8_buf[:rh, :rw]
            np.copyto(self.as_u8, self.labels, casting="unsafe")
        elif self.n > 256:
            self.as_float = self._float_buf[:rh, :rw]
            np.copyto(self.as_float, self.labels)
        return self.n

    def count(self, where: U8 | None = None) -> npt.NDArray[np.float32]:
        """Pixels per label (within the 0/255 mask ``where`` if given): a vector of n. The
        count of label 0 (the background) is not kept within ``where``."""
        if self.n <= 256:
            if where is None:
                return cv2.calcHist([self.as_u8], [0], None, [256], [0, 256]).ravel()[: self.n]
            # label 0 where ``where`` is not set: a histogram without a mask is twice as fast
            scratch = self._u8_scratch[: where.shape[0], : where.shape[1]]
            picked = cv2.bitwise_and(self.as_u8, where, dst=scratch)
            return cv2.calcHist([picked], [0], None, [256], [0, 256]).ravel()[: self.n]
        return cv2.calcHist([self.as_float], [0], where, [self.n], [0, self.n]).ravel()

    def paint(self, chosen: npt.NDArray[np.bool_], out: U8) -> U8:
        """255 where the pixel's label is chosen, else 0."""
        if self.n <= 256:
            self.lut.fill(0)
            self.lut[: self.n][chosen] = 255
            return cv2.LUT(self.as_u8, self.lut, dst=out)
        index = self._index_buf[: out.shape[0], : out.shape[1]]
        np.copyto(index, self.labels)
        lut = np.where(chosen, np.uint8(255), np.uint8(0))
        np.take(lut, index, out=out, mode="clip")
        return out


class MaskEngine:
    """Stateful default-mode masking at the working size of one plate."""

    def __init__(self, plate: Plate, size: tuple[int, int]) -> None:
        w, h = size
        self.size = size
        self.plate = plate
        self.mean: F32 = plate.mean_at(size)  # adapted over time (slow light changes)
        sigma = plate.sigma_at(size)
        self.var3_edge_units: F32 = (3.0 * sigma * sigma / _EDGE_VAR).astype(np.float32)
        self.sigma: F32 = sigma
        self.sigma_luma: F32 = np.maximum(cv2.transform(sigma, _LUMA), 0.5).astype(np.float32)
        self.sigma_luma3: F32 = (3.0 * self.sigma_luma).astype(np.float32)
        self.area = w * h
        gw, gh = FIELD_GRID
        self.field_grid = (gw, gh)
        self.field_coarse: F32 = np.ones((gh, gw, 3), np.float32)
        self._field_values: list[float] = [1.0] * (gh * gw * 3)  # the same, as floats
        self.frame_index = 0

        def f3() -> F32:
            return np.empty((h, w, 3), np.float32)

        def f1() -> F32:
            return np.empty((h, w), np.float32)

        def u1() -> U8:
            return np.empty((h, w), np.uint8)

        self.f, self.expected, self.t3a, self.t3b, self.gain3 = (f3() for _ in range(5))
        self.y_f, self.y_e, self.r, self.t1a, self.t1b, self.t1c, self.score = (f1() for _ in range(7))
        self.consistent, self.shadow, self.weak, self.strong, self.mask, self.calm, self.u1a, self.u1b = (
            u1() for _ in range(8)
        )
        self.u3a: U8 = np.empty((h, w, 3), np.uint8)
        self.u3b: U8 = np.empty((h, w, 3), np.uint8)
        self.components = _Labels(h, w)
        self.fence: U8 = np.zeros((h + 2, w + 2), np.uint8)
        lum = cv2.transform(self.mean, _SUM3)
        plate_luma = cv2.transform(self.mean, _LUMA)
        self.plate_detail: F32 = (plate_luma - cv2.blur(plate_luma, (9, 9))).astype(np.float32)
        self.plate_detail_energy: F32 = cv2.blur(self.plate_detail * self.plate_detail, (7, 7))
        self.detail_unverifiable: U8 = cv2.compare(
            self.plate_detail_energy, (TEXTURE_VERIFY * self.sigma_luma) ** 2, cv2.CMP_LE
        )
        # nothing to verify anywhere (a flat plate): the texture-kept test always passes
        self.any_verifiable = cv2.countNonZero(self.detail_unverifiable) < self.area
        valid: U8 = cv2.compare(lum, GAIN_MIN_LEVEL, cv2.CMP_GT)
        # Clipped plate channels (a window, a lamp) only bound the true brightness from below:
        # under more exposure they stay at 255, under less they may read anything up to 255.
        # The score then has no upper bound there (the expected maximum saturates at the top of
        # the fixed-point range), and such pixels measure no gains.
        clipped, ceiling = clipped_channels(self.mean, sigma)
        self.ceiling = (float(ceiling[0]), float(ceiling[1]), float(ceiling[2]), 0.0)
        self.any_clipped = bool(clipped.any())
        clip_drop = np.where(clipped, np.float32(CLIP_TOLERANCE), np.float32(0)).astype(np.float32)
        unclipped = np.where(clipped.any(axis=2), np.uint8(0), np.uint8(255)).astype(np.uint8)
        cv2.bitwise_and(valid, unclipped, dst=valid)
        self.prev: U8 = np.zeros((h, w), np.uint8)
        self.has_prev = False
        self.confident: U8 = np.full((h, w), 255, np.uint8)
        # the score in fixed point (see FIXED_POINT): the plate's 3x3 range (re-derived when
        # the mean adapts), the frame, and the noise's spread in whole levels
        self.lo_plate: F32 = np.empty((h, w, 3), np.float32)
        self.hi_plate: F32 = np.empty((h, w, 3), np.float32)
        self.mid16 = np.empty((h, w, 3), np.uint16)  # lo + hi: twice the range's centre
        self.width16 = np.empty((h, w, 3), np.uint16)  # hi - lo
        self.f16 = np.empty((h, w, 3), np.uint16)
        self.score_row: F32 = np.empty(3 * w, np.float32)  # the score kernel's scratch
        self.gain3.fill(1.0)
        # the coarse gains self.gain3 was built from, as Python floats (None: all 1)
        self.built_coarse: list[float] | None = None
        # what derives from the gains and the adapted mean is rebuilt when either changes
        self.range_stale: bool = True  # mid16, width16
        self.expected_stale: bool = True  # expected
        self.small: U8 = np.zeros((h, w, 3), np.uint8)  # the frame of the current step
        self.ceiling_fx = tuple(FIXED_POINT * c for c in self.ceiling)
        self.clip_drop16 = np.rint(FIXED_POINT * clip_drop).astype(np.uint16)
        self.clip_slack16 = np.where(clipped, np.uint16(65535), np.uint16(0)).astype(np.uint16)
        self.noise_range_u8: U8 = np.clip(np.rint(NOISE_RANGE * sigma), 0, 255).astype(np.uint8)
        # the sparse grid of the slowly varying parts (gains, light field)
        st = max(1, round(float(np.sqrt(self.area / GAIN_SAMPLES))))
        self.grid_size = (-(-w // st), -(-h // st))
        gs = (self.grid_size[1], self.grid_size[0])
        self.g_valid: U8 = self._grid(valid, np.empty(gs, np.uint8))
        self.g_f: F32 = np.empty((*gs, 3), np.float32)
        self.g_u8: U8 = np.empty((*gs, 3), np.uint8)
        self.g_frame: F32 = np.empty((*gs, 3), np.float32)  # the frame at the grid
        self.g_m: F32 = np.empty((*gs, 3), np.float32)
        self.g_mean: F32 = np.empty((*gs, 3), np.float32)  # the mean at the grid (>= 1)
        self.g_sel: U8 = np.empty(gs, np.uint8)
        self.g_conf: U8 = np.empty(gs, np.uint8)
        self.g_w: F32 = np.empty(gs, np.float32)
        self.g_num: F32 = np.empty((gh, gw, 4), np.float32)
        self.g_num4: F32 = np.empty((*gs, 4), np.float32)
        self.g_cum: F32 = np.empty(GAIN_BINS, np.float32)
        self.last_gains: list[float] | None = None
        self._refresh_range()

    # -- stages --------------------------------------------------------------------------
    def _grid(self, image: npt.NDArray[np.generic], out: _Array) -> _Array:
        """``image`` sampled on the sparse grid (every k-th pixel: a nearest-neighbour resize,
        far cheaper than numpy's strided copy) into ``out``."""
        cv2.resize(image, self.grid_size, dst=out, interpolation=cv2.INTER_NEAREST)
        return out

    def _expected(self, roi: tuple[slice, slice] | None = None) -> None:
        """self.f = the frame as float within ``roi`` (rows, columns) if given, and
        self.expected = the plate under the current gains (clipped like the sensor),
        recomputed only when the gains or the adapted mean changed."""
        ys, xs = roi if roi is not None else (slice(None), slice(None))
        np.copyto(self.f[ys, xs], self.small[ys, xs], casting="unsafe")
        self._expected_only()

    def _expected_only(self) -> None:
        """self.expected, rebuilt if stale (see :meth:`_expected`)."""
        if self.expected_stale:
            cv2.multiply(self.mean, self.gain3, dst=self.expected)
            cv2.min(self.expected, self.ceiling, dst=self.expected)
            self.expected_stale = False

    def _refresh_range(self) -> None:
        """What derives from the adapted mean: its 3x3 min and max (the score's expected
        range before the light field: the field is smooth, so the range of plate x field is
        the plate's range x field) and its samples on the sparse grid."""
        cv2.erode(self.mean, _RECT3, dst=self.lo_plate)
        cv2.dilate(self.mean, _RECT3, dst=self.hi_plate)
        self.range_stale = self.expected_stale = True
        self._grid(self.mean, self.g_mean)
        cv2.max(self.g_mean, (1.0, 1.0, 1.0, 0.0), dst=self.g_mean)

    def _gains(self) -> tuple[float, float, float]:
        """Global per-channel gain (exposure x white balance) of the frame against the plate.

        A robust estimate on a sparse grid of pixels believed to be background: the median
        ratio (from a histogram of GAIN_BINS bins), then the mean of the ratios within 10%
        of it. A mean over all pixels would be pulled by the person (a dark shirt filling a
        third of the picture reads as the exposure dropping), and a wrong global gain turns
        the whole wall into foreground.
        """
        sel = self.g_sel
        if self.has_prev:
            self._grid(self.confident, sel)
            cv2.bitwise_and(sel, self.g_valid, dst=sel)
        else:
            np.copyto(sel, self.g_valid)
        if cv2.countNonZero(sel) < 0.05 * sel.size:
            np.copyto(sel, self.g_valid)
        k = cv2.countNonZero(sel)
        if k < 30:
            return 1.0, 1.0, 1.0
        ratio = cv2.divide(self.g_frame, self.g_mean, dst=self.g_f)  # ratios frame / plate
        cv2.max(ratio, (GAIN_MIN,) * 3 + (0.0,), dst=ratio)
        cv2.min(ratio, (GAIN_MAX,) * 3 + (0.0,), dst=ratio)
        near = self.g_conf
        # Gains move little from frame to frame: when most picked ratios lie within 10% of
        # the last gains, those centre the mean as well as the median would (the median is
        # only needed after a jump, or at the start).
        centre = self.last_gains
        if centre is None or self._near(ratio, centre, sel, near) < 0.5 * k:
            centre = []
            width = (GAIN_MAX - GAIN_MIN) / GAIN_BINS
            for c in range(3):
                hist = cv2.calcHist([ratio], [c], sel, [GAIN_BINS], [GAIN_MIN, GAIN_MAX + 1e-4])
                cum = np.cumsum(hist.ravel(), out=self.g_cum)
                i = int(np.searchsorted(cum, 0.5 * k))
                centre.append(GAIN_MIN + (i + 0.5) * width)
            self._near(ratio, centre, sel, near)
        med = list(centre)
        if cv2.countNonZero(near) >= 30:
            mean = cv2.mean(ratio, mask=near)
            med = [mean[0], mean[1], mean[2]]
        g = [min(GAIN_MAX, max(GAIN_MIN, float(med[c]))) for c in range(3)]
        self.last_gains = g
        return g[0], g[1], g[2]

    @staticmethod
    def _near(ratio: F32, centre: list[float], sel: U8, out: U8) -> int:
        """out = the picked (``sel``) samples whose ratios all lie within 10% of ``centre``;
        returns their count."""
        cv2.inRange(ratio, tuple(0.9 * m for m in centre), tuple(1.1 * m for m in centre), dst=out)
        cv2.bitwise_and(out, sel, dst=out)
        return cv2.countNonZero(out)

    def _consistency(
        self,
        z_limit: float,
        roi: tuple[slice, slice] | None = None,
        light: tuple[float, float] | None = None,
    ) -> None:
        """self.r = luma ratio frame/expected; self.consistent = 255 where the frame is the
        expected background under other light (colour kept, ratio locally smooth). Within
        ``roi`` (rows, columns) only, when given: the buffers elsewhere are left as they are.

        With ``light`` = (lowest, highest ratio) it sets self.shadow instead: the pixels light
        explains (the ratio in range, a luma change above 3 sigma, consistent). Light falls
        on areas, never on lone pixels, so each test runs only around the areas the cheaper
        ones leave (what survives a 3x3 erosion, widened by the filters' reach): the colour
        test around areas of luma candidates, the texture tests (the costly part) around
        areas that also kept their colour. Lone candidates (noise) stay unexplained, and
        elsewhere self.consistent is left at 255 (only the light field's sparse samples
        read it there).
        """
        ys, xs = roi if roi is not None else (slice(None), slice(None))
        shadow, u1a = self.shadow[ys, xs], self.u1a[ys, xs]
        if light is not None:
            self._expected_only()  # (the kernels read the 8-bit frame: self.f is not needed)
            fused = kernels.light_candidates(
                self.small, self.expected, self.sigma_luma3, LUMA_BGR, light[0], light[1],
                y_f=self.y_f, y_e=self.y_e, r=self.r, candidates=self.shadow, box=(ys, xs),
            )
        else:
            fused = False
        if not fused:
            self._expected(roi)
            y_f, y_e, r = self.y_f[ys, xs], self.y_e[ys, xs], self.r[ys, xs]
            cv2.transform(self.f[ys, xs], _LUMA, dst=y_f[..., None])
            cv2.transform(self.expected[ys, xs], _LUMA, dst=y_e[..., None])
            cv2.max(y_e, 1.0, dst=y_e)
            cv2.divide(y_f, y_e, dst=r)
            if light is None:
                self._colour_test(ys, xs, z_limit)
                self._texture_tests(ys, xs)
                return
            cv2.inRange(r, light[0], light[1], dst=shadow)
            cv2.absdiff(y_e, y_f, dst=self.t1a[ys, xs])
            cv2.compare(self.t1a[ys, xs], self.sigma_luma3[ys, xs], cv2.CMP_GT, dst=u1a)
            cv2.bitwise_and(shadow, u1a, dst=shadow)
        for colour in (True, False):
            around = self._around_areas(shadow, u1a)
            if around is None:
                return
            ys, xs = _inside((ys, xs), around)
            shadow, u1a = self.shadow[ys, xs], self.u1a[ys, xs]
            if colour:
                self._colour_test(ys, xs, z_limit)
            else:
                self._texture_tests(ys, xs)
            cv2.bitwise_and(shadow, self.consistent[ys, xs], dst=shadow)

    @staticmethod
    def _around_areas(candidates: U8, scratch: U8) -> tuple[slice, slice] | None:
        """The box (rows, columns of ``candidates``) around what survives a 3x3 erosion,
        widened by ROI_MARGIN + 1; candidates outside it are cleared. None (and all cleared)
        when nothing survives."""
        cv2.erode(candidates, _RECT3, dst=scratch)
        x, y, bw, bh = cv2.boundingRect(scratch)
        if bw == 0:
            candidates.fill(0)
            return None
        rows, cols = _widened(x, y, bw, bh, ROI_MARGIN + 1, candidates.shape)
        candidates[: rows.start].fill(0)
        candidates[rows.stop :].fill(0)
        candidates[:, : cols.start].fill(0)
        candidates[:, cols.stop :].fill(0)
        return rows, cols

    def _colour_test(self, ys: slice, xs: slice, z_limit: float) -> None:
        """self.consistent (rows ``ys``, columns ``xs``) = 255 where the frame is r times the
        expected background within the noise: the colour kept. Leaves max(r, 0.25) in t1c."""
        if kernels.colour_kept(
            self.small, self.expected, self.r, self.sigma, z_limit,
            consistent=self.consistent, r_floor=self.t1c, box=(ys, xs),
        ):
            return
        np.copyto(self.f[ys, xs], self.small[ys, xs], casting="unsafe")
        e, f, r = self.expected[ys, xs], self.f[ys, xs], self.r[ys, xs]
        t3a, t3b, t1a = self.t3a[ys, xs], self.t3b[ys, xs], self.t1a[ys, xs]
        r3 = cv2.cvtColor(r, cv2.COLOR_GRAY2BGR, dst=t3a)  # (a faster merge)
        cv2.multiply(e, r3, dst=t3b)  # r * expected
        cv2.subtract(f, t3b, dst=t3b)  # residual
        # tolerance: noise scaled by r (at least 0.25), 3% for a tone curve that is not
        # exactly linear, 0.5
        rc = cv2.max(r, 0.25, dst=self.t1c[ys, xs])
        cv2.cvtColor(rc, cv2.COLOR_GRAY2BGR, dst=r3)
        cv2.multiply(r3, self.sigma[ys, xs], dst=r3)
        cv2.addWeighted(r3, 1.0, e, 0.03, 0.5, dst=r3)
        cv2.divide(t3b, r3, dst=t3b)
        cv2.multiply(t3b, t3b, dst=t3b)
        cv2.transform(t3b, _SUM3, dst=t1a[..., None])
        cv2.compare(t1a, z_limit, cv2.CMP_LT, dst=self.consistent[ys, xs])

    def _texture_tests(self, ys: slice, xs: slice) -> None:
        """self.consistent (rows ``ys``, columns ``xs``) &= the fine texture behaves as under
        light; t1c must hold max(r, 0.25) there (see :meth:`_colour_test`)."""
        y_f, y_e, r = self.y_f[ys, xs], self.y_e[ys, xs], self.r[ys, xs]
        t1a, t1b, t1c = self.t1a[ys, xs], self.t1b[ys, xs], self.t1c[ys, xs]
        consistent, u1a, calm = self.consistent[ys, xs], self.u1a[ys, xs], self.calm[ys, xs]
        # texture: the high-frequency energy of r (r minus its 9x9 mean, squared, over 7x7)
        # against what noise alone would give. Light varies slowly (a soft shadow's edge is
        # a ramp of r, not texture); a flat cloth in front of a textured wall makes r carry
        # the wall's fine texture.
        cv2.blur(r, (9, 9), dst=t1a)
        box = (ys, xs)
        if kernels.squared_residual(self.r, self.t1a, out=self.t1b, box=box):
            cv2.blur(t1b, (7, 7), dst=t1b)  # energy
            detail = self.any_verifiable
            if detail:
                cv2.blur(y_f, (9, 9), dst=t1a)
            # (the noise level below; then the frame's fine detail x the plate's into t1b)
            done = kernels.texture_energy(
                self.t1b, self.t1c, self.sigma_luma, self.y_e, TEXTURE_FLOOR, detail=detail,
                y_f=self.y_f, mean9=self.t1a, plate_detail=self.plate_detail, consistent=self.consistent,
                box=box,
            )
            if done and detail:
                cv2.blur(t1b, (7, 7), dst=t1b)  # covariance with the plate's detail
                cv2.blur(t1a, (7, 7), dst=t1a)
                done = kernels.texture_kept(
                    self.t1b, self.t1a, self.plate_detail_energy,
                    self.detail_unverifiable, TEXTURE_NCC_MIN**2, consistent=self.consistent, box=box,
                )
            if done:
                return
            # a kernel could not compile here (they are off now): the same in OpenCV passes,
            # from the start (the energy test ANDed into consistent twice is the same test)
            cv2.blur(r, (9, 9), dst=t1a)
        cv2.subtract(r, t1a, dst=t1b)
        cv2.multiply(t1b, t1b, dst=t1b)
        cv2.blur(t1b, (7, 7), dst=t1b)  # energy
        # noise level of r: (2 x max(r, 0.25) x luma sigma / luma + TEXTURE_FLOOR)^2
        cv2.multiply(t1c, self.sigma_luma[ys, xs], dst=t1c)
        cv2.divide(t1c, y_e, dst=t1c, scale=2.0)
        cv2.add(t1c, TEXTURE_FLOOR, dst=t1c)
        cv2.multiply(t1c, t1c, dst=t1c)
        cv2.compare(t1b, t1c, cv2.CMP_LT, dst=u1a)
        cv2.bitwise_and(consistent, u1a, dst=consistent)
        if not self.any_verifiable:
            return
        # texture kept: where the plate has texture well above the noise, light changes only
        # scale it, so the frame's fine detail must correlate with the plate's (a cloth of the
        # wall's colour in front of a faintly textured wall does not, and its ratio to the
        # wall is too faint for the energy test above).
        cv2.blur(y_f, (9, 9), dst=t1a)
        cv2.subtract(y_f, t1a, dst=t1a)  # the frame's fine detail
        cv2.multiply(t1a, self.plate_detail[ys, xs], dst=t1b)
        cv2.blur(t1b, (7, 7), dst=t1b)  # covariance with the plate's detail
        cv2.multiply(t1a, t1a, dst=t1a)
        cv2.blur(t1a, (7, 7), dst=t1a)
        cv2.multiply(t1a, self.plate_detail_energy[ys, xs], dst=t1a, scale=TEXTURE_NCC_MIN**2)
        cv2.multiply(t1b, t1b, dst=t1c)
        cv2.compare(t1c, t1a, cv2.CMP_GT, dst=u1a)  # |correlation| > NCC_MIN
        cv2.compare(t1b, 0.0, cv2.CMP_GT, dst=calm)  # and positive
        cv2.bitwise_and(u1a, calm, dst=u1a)
        cv2.bitwise_or(u1a, self.detail_unverifiable[ys, xs], dst=u1a)
        cv2.bitwise_and(consistent, u1a, dst=consistent)

    def _update_field(self) -> None:
        """Re-estimate the coarse gain field from consistent, confident, lit pixels.

        Normalised convolution of the per-pixel ratio frame/expected (expected = plate x
        global gains x previous field) on the FIELD_GRID, measured on the sparse grid; where
        nothing nearby could be measured (the person covers it) a wider pass, then no
        change, fill in.
        """
        weight = self._grid(self.consistent, self.g_sel)
        cv2.bitwise_and(weight, self.g_valid, dst=weight)
        if self.has_prev:
            cv2.bitwise_and(weight, self._grid(self.confident, self.g_conf), dst=weight)
        expected = self._grid(self.gain3, self.g_m)
        cv2.multiply(expected, self.g_mean, dst=expected)
        cv2.min(expected, self.ceiling, dst=expected)  # the sensor clips
        cv2.max(expected, (1.0, 1.0, 1.0, 0.0), dst=expected)  # per channel
        ratio = cv2.divide(self.g_frame, expected, dst=self.g_f)  # ratio to the current expectation
        wf = np.multiply(weight, np.float32(1.0 / 255.0), out=self.g_w, casting="unsafe")
        cv2.multiply(ratio, cv2.merge([wf, wf, wf], dst=self.g_m), dst=ratio)
        gw, gh = self.field_grid
        # numerator (3 channels) and denominator in one 4-channel image: one pass a filter
        both = cv2.merge([ratio, wf], dst=self.g_num4)
        cv2.resize(both, (gw, gh), dst=self.g_num, interpolation=cv2.INTER_AREA)
        near4 = cv2.GaussianBlur(self.g_num, (0, 0), 1.0)
        far4 = cv2.GaussianBlur(self.g_num, (0, 0), 4.0)
        near_num, near_den = near4[..., :3], near4[..., 3]
        far_num, far_den = far4[..., :3], far4[..., 3]
        near = near_num / np.maximum(near_den, 1e-6)[..., None]
        far = far_num / np.maximum(far_den, 1e-6)[..., None]
        a = (near_den / (near_den + 0.05))[..., None]
        b = (far_den / (far_den + 0.02))[..., None]
        change = a * near + (1 - a) * (b * far + (1 - b))
        np.clip(change, 1.0 - FIELD_STEP_MAX, 1.0 + FIELD_STEP_MAX, out=change)
        self.field_coarse = np.clip(self.field_coarse * change, 0.2, 5.0).astype(np.float32)
        self._field_values = [float(v) for v in self.field_coarse.ravel()]

    # -- the frame --------------------------------------------------------------------------
    def step(self, small: U8, s: Settings) -> U8:
        """Mask (0/255, a buffer owned by the engine) of one working-size BGR frame."""
        w, h = self.size
        self.small = small
        if s.adapt:
            self._grid(small, self.g_u8)
            np.copyto(self.g_frame, self.g_u8, casting="unsafe")
            g = self._gains()
            # bilinear interpolation is linear: the global gains scale the coarse field.
            # The full-size gains (and the score's range) are rebuilt only when they move by
            # GAIN_REBUILD: the estimate's own noise would otherwise rebuild them every frame.
            # (The test on the twelve coarse values in Python floats: numpy's per-call cost
            # on arrays this small is most of a rebuild's.)
            built = self.built_coarse
            if built is None:
                moved = True
            else:
                field = self._field_values
                moved = any(
                    abs(field[i + c] * g[c] / built[i + c] - 1.0) > GAIN_REBUILD
                    for i in range(0, len(field), 3)
                    for c in range(3)
                )
            if moved:
                coarse = self.field_coarse * np.array(g, np.float32)
                cv2.resize(coarse, (w, h), dst=self.gain3, interpolation=cv2.INTER_LINEAR)
                self.built_coarse = [float(v) for v in coarse.ravel()]
                self.range_stale = self.expected_stale = True
        elif self.built_coarse is not None:
            self.gain3.fill(1.0)
            self.built_coarse = None
            self.range_stale = self.expected_stale = True

        # score: difference to the expected background's 3x3 range, in noise units
        if s.threshold is None:
            fx = float(FIXED_POINT)
            f16, mid, width = self.f16, self.mid16, self.width16
            if self.range_stale:
                lo, hi = mid, width
                cv2.multiply(self.lo_plate, self.gain3, dst=lo, scale=fx, dtype=cv2.CV_16U)
                cv2.min(lo, self.ceiling_fx, dst=lo)  # the sensor clips
                cv2.multiply(self.hi_plate, self.gain3, dst=hi, scale=fx, dtype=cv2.CV_16U)
                cv2.min(hi, self.ceiling_fx, dst=hi)
                if self.any_clipped:
                    cv2.subtract(lo, self.clip_drop16, dst=lo)
                    cv2.add(hi, self.clip_slack16, dst=hi)
                # no frame exceeds 255 levels: capping hi there changes no distance, and
                # keeps lo + hi within 16 bits
                cv2.min(hi, (FIXED_POINT * 255.0,) * 3 + (0.0,), dst=hi)
                cv2.subtract(hi, lo, dst=width)  # (lo <= hi)
                cv2.add(lo, lo, dst=mid)
                cv2.add(mid, width, dst=mid)  # lo + hi
                self.range_stale = False
            k = 1.0 / s.sensitivity
            high, low = (AUTO_SIGMA_HIGH * k) ** 2, (AUTO_SIGMA_LOW * k) ** 2
            # variance = sigma^2 + (EDGE_ERROR x the frame's local contrast)^2, x3, here in
            # units of 3 EDGE_ERROR^2; the 5x5 range is exact on the 8-bit frame, less what
            # noise alone spreads 25 samples over (about 4 sigma)
            cv2.dilate(small, _RECT5, dst=self.u3a)
            cv2.erode(small, _RECT5, dst=self.u3b)
            # (the distance in units of 1 / (2 FIXED_POINT) level, squared: a power of two
            # apart from FIXED_POINT units, so the same rounding)
            scale = 1.0 / (4.0 * fx * fx * _EDGE_VAR)
            prev = self.prev if s.temporal and self.has_prev else None
            masks_done = kernels.score(
                small, mid, width, self.u3a, self.u3b, self.noise_range_u8, self.var3_edge_units,
                f_scale=2 * fx, scale=scale, low=low, high=high, prev=prev,
                score=self.score, weak=self.weak, strong=self.strong, row=self.score_row,
            )
            if not masks_done:  # the same in OpenCV passes
                # twice the distance outside the range, 2 max(0, f - hi, lo - f), in two
                # saturating passes: |2f - (lo + hi)| - (hi - lo)
                np.copyto(f16, small, casting="unsafe")  # (numpy: OpenCV's mixed-type paths are slow)
                np.multiply(f16, 2 * FIXED_POINT, out=f16, casting="unsafe")
                cv2.absdiff(f16, mid, dst=f16)
                cv2.subtract(f16, width, dst=f16)
                # squares by accumulateSquare into a filled buffer: a third of the cost of a
                # mixed-type multiply
                self.t3a.fill(0.0)
                cv2.accumulateSquare(f16, self.t3a)  # (2 FIXED_POINT x distance)^2
                cv2.subtract(self.u3a, self.u3b, dst=self.u3a)
                cv2.subtract(self.u3a, self.noise_range_u8, dst=self.u3a)
                np.copyto(self.t3b, self.var3_edge_units)
                cv2.accumulateSquare(self.u3a, self.t3b)
                cv2.divide(self.t3a, self.t3b, dst=self.t3a, scale=scale)
                cv2.transform(self.t3a, _ONES3, dst=self.score[..., None])
        else:
            self._expected()
            cv2.absdiff(self.f, self.expected, dst=self.t3a)
            cv2.transform(self.t3a, np.eye(3, dtype=np.float32)[:1], dst=self.t1a[..., None])
            np.copyto(self.score, self.t1a)
            for c in (1, 2):
                cv2.transform(self.t3a, np.eye(3, dtype=np.float32)[c : c + 1], dst=self.t1a[..., None])
                cv2.max(self.score, self.t1a, dst=self.score)
            high, low = float(s.threshold), 0.6 * s.threshold
            masks_done = False

        # Hysteresis (+ temporal: last frame's foreground needs only the low bar) on the
        # whole frame. What light explains below only removes pixels from this mask, so
        # everything after it works inside its bounding box (with a margin for the filters):
        # the region of interest. Outside it nothing differs from the expected background
        # beyond the noise: there the frame counts as consistent (for the light field).
        if not masks_done:
            cv2.compare(self.score, low, cv2.CMP_GT, dst=self.weak)
            cv2.compare(self.score, high, cv2.CMP_GT, dst=self.strong)
            if s.temporal and self.has_prev:
                cv2.bitwise_and(self.prev, self.weak, dst=self.u1a)
                cv2.bitwise_or(self.strong, self.u1a, dst=self.strong)
        min_area = max(1, round(s.min_blob * self.area)) if s.cleanup else 1
        self._hysteresis(self.weak, self.strong, min_area, self.mask)
        self.consistent.fill(255)
        x, y, bw, bh = cv2.boundingRect(self.mask)
        if bw > 0:
            ys, xs = _widened(x, y, bw, bh, ROI_MARGIN, (h, w))
            self._foreground(s, ys, xs, low, min_area)

        # state for the next frame
        np.copyto(self.prev, self.mask)
        self.has_prev = True
        cv2.dilate(self.mask, _RECT7, dst=self.u1a)
        cv2.bitwise_not(self.u1a, dst=self.confident)  # (the mask is 0/255)
        if s.adapt and s.adapt_rate > 0 and self.frame_index % ADAPT_EVERY == 0:
            cv2.compare(self.score, low, cv2.CMP_LT, dst=self.calm)
            cv2.bitwise_and(self.calm, self.confident, dst=self.calm)
            np.copyto(self.f, small, casting="unsafe")
            cv2.divide(self.f, self.gain3, dst=self.t3a)
            rate = 1.0 - (1.0 - s.adapt_rate) ** ADAPT_EVERY
            cv2.accumulateWeighted(self.t3a, self.mean, rate, mask=self.calm)
            self._refresh_range()
        if s.adapt and self.frame_index % FIELD_EVERY == 0:
            # The light field for the next frame, measured away from this frame's person: a
            # face or shirt of the wall's hue passes the consistency test, and measured
            # before the mask exists it would drag the field (and the wall) with it.
            self._update_field()
        self.frame_index += 1
        return self.mask

    def _hysteresis(self, weak: U8, strong: U8, min_area: int, out: U8) -> None:
        """out = 255 on the components of ``weak`` (8-connected) that hold a ``strong`` pixel
        (``strong`` within ``weak``) and at least ``min_area`` pixels.

        By flood fill from one pixel of each strong component (its outline's first point):
        a fill visits only the components that are kept and counts their pixels, where
        labelling would sweep the whole frame, histogram it and paint it back."""
        np.copyto(out, weak)
        h, w = weak.shape
        # floodFill's border mask, preallocated (without one the binding allocates a new one
        # per call); filled pixels get marked in it, which no later fill here crosses anyway
        fence = self.fence[: h + 2, : w + 2]
        fence.fill(0)
        small = []
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
                small.append((x, y))
        if small:  # refill those (a fresh fence: the first one now blocks them)
            fence.fill(0)
            for x, y in small:
                cv2.floodFill(out, fence, (x, y), _TOO_SMALL, flags=8)
        cv2.compare(out, _KEPT, cv2.CMP_EQ, dst=out)

    def _foreground(self, s: Settings, ys: slice, xs: slice, low: float, min_area: int) -> None:
        """Light, contact and cleanup inside the region of interest (rows ``ys``, columns
        ``xs``), where self.mask holds the hysteresis mask; self.mask is 0 outside it."""
        mask = self.mask[ys, xs]
        # Light explains a pixel when the frame is the expected background under another
        # light level: consistent (colour and fine texture kept) and darker by up to 75% (a
        # cast shadow; with `shadows`) or brighter by up to 4x (a lamp, a sun patch, or light
        # the gain field has not caught up with; with `adapt`). The change must exceed the
        # noise (3 sigma of luma), else the score is low anyway. Explaining brighter light
        # per pixel also keeps a stale field from locking a lit wall into the mask: the
        # field is measured only outside the mask, so an unexplained wall would never heal.
        has_shadow = s.shadows or (s.adapt and s.threshold is None)
        self.shadow.fill(0)
        if has_shadow:
            lo_r = LIGHT_RATIO_MIN if s.shadows else 1.0
            hi_r = LIGHT_RATIO_MAX if s.adapt and s.threshold is None else 1.0
            self._consistency(AUTO_SIGMA_LOW**2, (ys, xs), light=(lo_r, hi_r))
        elif s.adapt:
            self._consistency(AUTO_SIGMA_LOW**2, (ys, xs))
        if has_shadow:
            shadow, u1a, score = self.shadow[ys, xs], self.u1a[ys, xs], self.score[ys, xs]
            cv2.subtract(score, score, dst=score, mask=shadow)  # 0 there
            cv2.bitwise_and(shadow, mask, dst=u1a)
            if cv2.countNonZero(u1a):  # light explains part of the mask: hysteresis again
                high_bar = self.strong[ys, xs]
                weak = self.weak[ys, xs]
                cv2.bitwise_and(weak, cv2.bitwise_not(shadow, dst=u1a), dst=weak)
                cv2.bitwise_and(high_bar, u1a, dst=high_bar)
                self._hysteresis(weak, high_bar, min_area, mask)
            self._light_contact(ys, xs)
        if s.cleanup:
            cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _DISC3, dst=mask)
            self._fill_holes(ys, xs, low, has_shadow)

    def _light_contact(self, ys: slice, xs: slice) -> None:
        """Give back to the person the explained-as-light regions that do not border clear
        background (see LIGHT_CONTACT_MIN), within the region of interest."""
        cc = self.components
        shadow, mask, u1a = self.shadow[ys, xs], self.mask[ys, xs], self.u1a[ys, xs]
        if not cv2.countNonZero(shadow) or cc.find(shadow, 8) <= 1:
            return
        cv2.bitwise_or(mask, shadow, dst=u1a)
        cv2.compare(u1a, 0, cv2.CMP_EQ, dst=u1a)  # clear background
        cv2.dilate(u1a, _RECT3, dst=u1a)
        cv2.bitwise_and(u1a, shadow, dst=u1a)
        touch_clear = cc.count(u1a)
        cv2.dilate(mask, _RECT3, dst=u1a)
        cv2.bitwise_and(u1a, shadow, dst=u1a)
        touch_fg = cc.count(u1a)
        rejoin = (touch_fg > 0) & (touch_clear < LIGHT_CONTACT_MIN * (touch_clear + touch_fg))
        rejoin[0] = False
        if rejoin.any():
            cc.paint(rejoin, u1a)
            cv2.bitwise_or(mask, u1a, dst=mask)

    def _fill_holes(self, ys: slice, xs: slice, low: float, has_shadow: bool) -> None:
        """Fill enclosed background regions that are small, or mostly suspicious (evidence of
        foreground explained away as a shadow or faint difference: a shirt like the wall).
        Within the region of interest: the mask is 0 outside it, so a background region that
        touches its edge joins the frame's outer background.

        The holes are the inner outlines of the mask's 8-connected components (each encloses
        one 4-connected background region): found in a few microseconds, and each is then
        measured within its own bounding box, never labelling the whole background.
        """
        # within the mask's own box: the outlines cost a pass over their image
        bx, by, bw, bh = cv2.boundingRect(self.mask[ys, xs])
        if bw == 0:
            return
        ys, xs = _inside((ys, xs), (slice(by, by + bh), slice(bx, bx + bw)))
        mask = self.mask[ys, xs]
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hierarchy is None:
            return
        small = round(SMALL_HOLE_FRACTION * self.area)
        calm_ready = False
        tiny = []  # small whatever they hold: filled in one call
        for outline, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
            if parent < 0:
                continue  # an outer outline
            x, y, bw, bh = cv2.boundingRect(outline)
            if bw * bh <= small:
                tiny.append(outline)
                continue
            if not calm_ready:  # suspicious pixels: a raised score, or explained by light
                calm = cv2.compare(self.score[ys, xs], 0.25 * low, cv2.CMP_GT, dst=self.calm[ys, xs])
                if has_shadow:
                    cv2.bitwise_or(calm, self.shadow[ys, xs], dst=calm)
                calm_ready = True
            box = (slice(y, y + bh), slice(x, x + bw))
            hole = self.u1a[ys, xs][box]
            hole.fill(0)
            cv2.drawContours(hole, [outline], 0, 255, -1, offset=(-x, -y))
            background = cv2.compare(mask[box], 0, cv2.CMP_EQ, dst=self.u1b[ys, xs][box])
            cv2.bitwise_and(hole, background, dst=hole)  # the hole (not islands inside it)
            area = cv2.countNonZero(hole)
            suspicious = cv2.countNonZero(cv2.bitwise_and(hole, self.calm[ys, xs][box], dst=background))
            if area <= small or suspicious > 0.5 * area:
                cv2.bitwise_or(mask[box], hole, dst=mask[box])
        if tiny:
            cv2.drawContours(mask, tiny, -1, 255, -1)
