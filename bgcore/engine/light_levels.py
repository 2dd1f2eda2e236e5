"""Light levels: the global gains (exposure x white balance) and a smooth light field.

Both vary slowly over the picture, so they are measured on a sparse grid of about
GAIN_SAMPLES pixels (every k-th pixel in both directions: a few thousand samples pin three
gains and a 2x2 field far below the noise, at a fraction of a dense pass's cost), on pixels
believed to be background. Their product is a coarse grid of gains that
:class:`~.expected.ExpectedBackground` interpolates to every pixel.
"""

from __future__ import annotations

from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_Array = TypeVar("_Array", bound=npt.NDArray[np.generic])

GAIN_SAMPLES = 3000
# Pixels darker than this in the plate carry too little light to measure a gain on.
GAIN_MIN_LEVEL = 12.0
GAIN_MIN, GAIN_MAX = 0.2, 5.0
GAIN_BINS = 960  # 0.5% of gain a bin
# The gains are the mean of the ratios within GAIN_NEAR (10%) of their median, measured on
# at least GAIN_MIN_SAMPLES samples (else 1).
GAIN_NEAR = 0.1
GAIN_MIN_SAMPLES = 30
# The picked samples are the confident background unless that leaves less than this share of
# the measurable ones (the person fills the picture): then all measurable ones.
GAIN_MIN_CONFIDENT = 0.05
# The gains are rebuilt at every pixel when the coarse gains move by more than this (0.1%:
# a quarter level at white).
GAIN_REBUILD = 0.001
# The light field: per-channel gains on a FIELD_GRID (columns, rows) grid, interpolated
# bilinearly: a smooth gradient of light across the room (daylight shifting, a lamp to one
# side). Finer grids measured worse on every case: fed from a few frames, a fine field soaks
# up the person's own colours near their outline. Local patches of light and shadow are
# explained per pixel instead (see :mod:`.light`).
FIELD_GRID = (2, 2)
# The field is re-measured every FIELD_EVERY frames and moves at most FIELD_STEP_MAX a time:
# light drifts over seconds (a sudden change is the global gain's or, locally, the per-pixel
# light test's), and a one-frame outlier (a shirt of the wall's hue entering) must not run
# the field away. Every 4 frames at 3% a step follows 20% a second; every 2 frames measured
# the same quality tables at twice the cost.
FIELD_STEP_MAX = 0.03
FIELD_EVERY = 4

_LUMA_SUM = np.full((1, 3), 1.0 / 3.0, np.float32)


class LightLevels:
    """The global gains and the light field of one plate at one working size (w, h)."""

    def __init__(self, size: tuple[int, int], mean: F32, unclipped: U8) -> None:
        w, h = size
        step = max(1, round(float(np.sqrt(w * h / GAIN_SAMPLES))))
        self.grid_size = (-(-w // step), -(-h // step))
        rows_cols = (self.grid_size[1], self.grid_size[0])
        gw, gh = FIELD_GRID
        self.field: F32 = np.ones((gh, gw, 3), np.float32)  # the coarse light field
        self._field_values: list[float] = [1.0] * (gh * gw * 3)  # the same, as floats
        # the coarse gains the expected background was last built from, as floats (None: 1)
        self._built: list[float] | None = None
        self._last_gains: list[float] | None = None
        measurable = cv2.compare(cv2.transform(mean, _LUMA_SUM), GAIN_MIN_LEVEL, cv2.CMP_GT)
        cv2.bitwise_and(measurable, unclipped, dst=measurable)
        # samples of the grid, one role each
        self._measurable: U8 = self.sample(measurable, np.empty(rows_cols, np.uint8))
        self._frame_u8: U8 = np.empty((*rows_cols, 3), np.uint8)
        self._frame: F32 = np.empty((*rows_cols, 3), np.float32)
        self._mean: F32 = np.empty((*rows_cols, 3), np.float32)  # the adapted mean (>= 1)
        self._field_at: F32 = np.ones((*rows_cols, 3), np.float32)  # the field at the samples
        self._mean_lit: F32 = np.empty((*rows_cols, 3), np.float32)  # the mean x the field
        self._confident_samples: U8 = np.empty(rows_cols, np.uint8)  # the frame's (sample_frame)
        self._picked: U8 = np.empty(rows_cols, np.uint8)  # where the gains are measured
        self._near: U8 = np.empty(rows_cols, np.uint8)  # picked, and within GAIN_NEAR of the centre
        self._plate_ratio: F32 = np.empty((*rows_cols, 3), np.float32)  # frame / mean
        self._cumulative: F32 = np.empty(GAIN_BINS, np.float32)  # a histogram, summed
        self._weight: U8 = np.empty(rows_cols, np.uint8)  # where the field is measured
        self._confident: U8 = np.empty(rows_cols, np.uint8)
        self._expected: F32 = np.empty((*rows_cols, 3), np.float32)  # mean x gains, clipped
        self._weight_f: F32 = np.empty(rows_cols, np.float32)
        self._weight3: F32 = np.empty((*rows_cols, 3), np.float32)
        self._ratio: F32 = np.empty((*rows_cols, 3), np.float32)  # frame / expected, weighted
        self._weighted4: F32 = np.empty((*rows_cols, 4), np.float32)  # weighted ratio, weight
        self._cells: F32 = np.empty((gh, gw, 4), np.float32)  # the same, averaged per cell
        self.resample_mean(mean)

    def sample(self, image: npt.NDArray[np.generic], out: _Array) -> _Array:
        """``image`` sampled on the sparse grid (every k-th pixel: a nearest-neighbour resize,
        far cheaper than numpy's strided copy) into ``out``."""
        cv2.resize(image, self.grid_size, dst=out, interpolation=cv2.INTER_NEAREST)
        return out

    def resample_mean(self, mean: F32) -> None:
        """Take the adapted plate mean's samples again (after it adapted)."""
        self.sample(mean, self._mean)
        cv2.max(self._mean, (1.0, 1.0, 1.0, 0.0), dst=self._mean)
        cv2.multiply(self._mean, self._field_at, dst=self._mean_lit)

    def sample_frame(self, frame: U8, confident: U8) -> None:
        """Sample a new ``frame`` (HxWx3 uint8) and the ``confident`` background (0/255) on
        the grid, once a frame: :meth:`measure_sampled` and the :class:`.shake.ShakeMeter` on
        this grid read these samples (:attr:`frame_samples`, :attr:`confident_samples`)."""
        self.sample(frame, self._frame_u8)
        np.copyto(self._frame, self._frame_u8, casting="unsafe")
        self.sample(confident, self._confident_samples)

    @property
    def frame_samples(self) -> F32:
        """The last sampled frame on the grid (float32, gh x gw x 3)."""
        return self._frame

    @property
    def confident_samples(self) -> U8:
        """The last sampled confident background on the grid (0/255, gh x gw)."""
        return self._confident_samples

    def measure(self, frame: U8, confident: U8) -> F32 | None:
        """:meth:`sample_frame`, then :meth:`measure_sampled`."""
        self.sample_frame(frame, confident)
        return self.measure_sampled()

    def measure_sampled(self) -> F32 | None:
        """Measure the last sampled frame's global gains on its confident background (see
        :meth:`sample_frame`); returns the coarse gains (the field x the global gains) when
        they moved by more than GAIN_REBUILD since they were last returned, else None.

        (The test on the twelve coarse values in Python floats: numpy's per-call cost on
        arrays this small is most of a rebuild's.)"""
        g = self._global_gains()
        # bilinear interpolation is linear: the global gains scale the coarse field
        built = self._built
        if built is not None:
            field = self._field_values
            moved = any(
                abs(field[i + c] * g[c] / built[i + c] - 1.0) > GAIN_REBUILD
                for i in range(0, len(field), 3)
                for c in range(3)
            )
            if not moved:
                return None
        coarse = self.field * np.array(g, np.float32)
        self._built = [float(v) for v in coarse.ravel()]
        return coarse

    def reset(self) -> bool:
        """Forget the gains (adaptation is off): whether the expected background must go
        back to gains of 1."""
        was_built = self._built is not None
        self._built = None
        return was_built

    def _global_gains(self) -> list[float]:
        """Global per-channel gain (exposure x white balance) of the frame against the plate.

        A robust estimate on the grid's samples believed to be background: the median ratio
        (from a histogram of GAIN_BINS bins), then the mean of the ratios within GAIN_NEAR of
        it. A mean over all pixels would be pulled by the person (a dark shirt filling a
        third of the picture reads as the exposure dropping), and a wrong global gain turns
        the whole wall into foreground.
        """
        picked = cv2.bitwise_and(self._confident_samples, self._measurable, dst=self._picked)
        if cv2.countNonZero(picked) < GAIN_MIN_CONFIDENT * picked.size:
            np.copyto(picked, self._measurable)
        k = cv2.countNonZero(picked)
        if k < GAIN_MIN_SAMPLES:
            return [1.0, 1.0, 1.0]
        # against the plate under the light field: the field explains local light (a lamp
        # on one side), the global gains only what is left (else both would count it)
        ratio = cv2.divide(self._frame, self._mean_lit, dst=self._plate_ratio)
        cv2.max(ratio, (GAIN_MIN,) * 3 + (0.0,), dst=ratio)
        cv2.min(ratio, (GAIN_MAX,) * 3 + (0.0,), dst=ratio)
        near = self._near
        # Gains move little from frame to frame: when most picked ratios lie near the last
        # gains, those centre the mean as well as the median would (the median is only
        # needed after a jump, or at the start).
        centre = self._last_gains
        if centre is None or self._near_centre(ratio, centre, picked, near) < 0.5 * k:
            centre = []
            width = (GAIN_MAX - GAIN_MIN) / GAIN_BINS
            for c in range(3):
                hist = cv2.calcHist([ratio], [c], picked, [GAIN_BINS], [GAIN_MIN, GAIN_MAX + 1e-4])
                cum = np.cumsum(hist.ravel(), out=self._cumulative)
                i = int(np.searchsorted(cum, 0.5 * k))
                centre.append(GAIN_MIN + (i + 0.5) * width)
            self._near_centre(ratio, centre, picked, near)
        gains = list(centre)
        if cv2.countNonZero(near) >= GAIN_MIN_SAMPLES:
            mean = cv2.mean(ratio, mask=near)
            gains = [mean[0], mean[1], mean[2]]
        g = [min(GAIN_MAX, max(GAIN_MIN, float(gains[c]))) for c in range(3)]
        self._last_gains = g
        return g

    @staticmethod
    def _near_centre(ratio: F32, centre: list[float], picked: U8, out: U8) -> int:
        """out = the ``picked`` samples whose ratios all lie within GAIN_NEAR of ``centre``;
        returns their count."""
        lo = tuple((1.0 - GAIN_NEAR) * m for m in centre)
        hi = tuple((1.0 + GAIN_NEAR) * m for m in centre)
        cv2.inRange(ratio, lo, hi, dst=out)
        cv2.bitwise_and(out, picked, dst=out)
        return cv2.countNonZero(out)

    def update_field(self, consistent: U8, confident: U8, gains: F32, ceiling: tuple[float, ...]) -> None:
        """Re-estimate the light field from samples that are ``consistent`` with a change of
        light, ``confident`` background and measurable, against the current ``gains`` (per
        pixel) and the sensor's ``ceiling``; the frame is the last one :meth:`sample_frame` saw.

        Normalised convolution of the per-pixel ratio frame/expected (expected = plate x
        global gains x previous field) on the FIELD_GRID; where nothing nearby could be
        measured (the person covers it) a wider pass, then no change, fill in.
        """
        weight = self.sample(consistent, self._weight)
        cv2.bitwise_and(weight, self._measurable, dst=weight)
        cv2.bitwise_and(weight, self.sample(confident, self._confident), dst=weight)
        expected = self.sample(gains, self._expected)
        cv2.multiply(expected, self._mean, dst=expected)
        cv2.min(expected, ceiling, dst=expected)  # the sensor clips
        cv2.max(expected, (1.0, 1.0, 1.0, 0.0), dst=expected)  # per channel
        ratio = cv2.divide(self._frame, expected, dst=self._ratio)  # to the current expectation
        wf = np.multiply(weight, np.float32(1.0 / 255.0), out=self._weight_f, casting="unsafe")
        cv2.multiply(ratio, cv2.merge([wf, wf, wf], dst=self._weight3), dst=ratio)
        gw, gh = FIELD_GRID
        # numerator (3 channels) and denominator in one 4-channel image: one pass a filter
        both = cv2.merge([ratio, wf], dst=self._weighted4)
        cv2.resize(both, (gw, gh), dst=self._cells, interpolation=cv2.INTER_AREA)
        near4 = cv2.GaussianBlur(self._cells, (0, 0), 1.0)
        far4 = cv2.GaussianBlur(self._cells, (0, 0), 4.0)
        near_num, near_den = near4[..., :3], near4[..., 3]
        far_num, far_den = far4[..., :3], far4[..., 3]
        near = near_num / np.maximum(near_den, 1e-6)[..., None]
        far = far_num / np.maximum(far_den, 1e-6)[..., None]
        # trust the near estimate where it saw enough samples, the far one elsewhere, and no
        # change where nothing around could be measured
        a = (near_den / (near_den + 0.05))[..., None]
        b = (far_den / (far_den + 0.02))[..., None]
        change = a * near + (1 - a) * (b * far + (1 - b))
        np.clip(change, 1.0 - FIELD_STEP_MAX, 1.0 + FIELD_STEP_MAX, out=change)
        self.field = np.clip(self.field * change, GAIN_MIN, GAIN_MAX).astype(np.float32)
        self._field_values = [float(v) for v in self.field.ravel()]
        cv2.resize(self.field, self.grid_size, dst=self._field_at, interpolation=cv2.INTER_LINEAR)
        cv2.multiply(self._mean, self._field_at, dst=self._mean_lit)
