"""The pooled score: where the camera's noise hides what a person changes in one pixel.

In a dim room a webcam's sensor noise is large (sigma 8-20 grey levels in the darks at high
gain): a dark shirt in front of a dark cabinet differs from it by about one sigma per pixel,
which no per-pixel test can tell from noise, while the whole shirt differs by that much.
The mean difference over a window of POOL_SIZE x POOL_SIZE pixels has its noise divided by
about POOL_SIZE (less where the camera's noise is correlated: compression, demosaicing,
denoising), so there it tells the shirt from the cabinet at the score's own bars.

Per pixel and channel: the sum, over the window's pixels that the per-pixel score did not
already find changed, of the frame's difference to the expected background, squared and
divided by its variance (the sum of the plate's sigma^2 over those pixels, times the
camera's correlation factor ``rho``); the channels' mean is a score in the units of the
per-pixel one: it raises the per-pixel score (the larger of the two), whose masks the
scorer then makes again, at the same bars. Leaving out what the
per-pixel score found keeps a sharp person's outline from spreading into the pixels around
it: only low contrast pools.

Where it runs (``where``, fixed per plate): pixels whose noise is at least POOL_SIGMA (below
that the per-pixel test already sees a shirt a few levels off the wall, and a pooled test
would only add the light model's small errors), calm (the plate's mean varies over the
window by at most POOL_CALM sigma: a shift of the camera or the light field's slope would
read as a change at an edge), and not dynamic (a screen's or leaves' change is not noise
that pooling averages away). With less than POOL_MIN_SHARE of the picture there, it is off
and costs nothing.

``rho`` is measured once on the plate: the first plate frame's difference to the mean,
summed over windows, against the same sums of its squares, over calm pixels: 1 for
independent noise, more where the camera spreads noise over neighbours (a JPEG camera's
blocks), which a pooled test that assumed independence would read as change everywhere.
Above POOL_RHO_MAX it is off: noise spread that widely is motion the plate did not see
all of (swaying leaves) or heavy compression, which a window's mean does not average away.

Threading and lifetime: one instance per mask engine (one plate, one working size), used by
the engine's thread; every buffer is allocated here.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ..plate import Downscaler, Plate

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

# The window: 5x5 divides independent noise by 5.
POOL_SIZE = 5
# The noise (the channels' mean sigma, grey levels) from which pixels are pooled.
POOL_SIGMA = 5.0
# Calm: the plate's mean spans at most this many sigmas over the window, per channel.
POOL_CALM = 6.0
# What the expected background may be off by over a window beyond the noise (a light
# field a step behind a drifting light, a camera's slow gain), in grey levels per pixel.
POOL_BIAS = 2.0
# Pooled only where at least this share of the window is not already changed.
POOL_MIN_FREE = 0.2
# Off below this share of the picture.
POOL_MIN_SHARE = 0.005
# rho is measured on at least this many calm pixels, else taken as RHO_UNMEASURED.
RHO_MIN_PIXELS = 100
RHO_UNMEASURED = 2.0
# Off where the plate's noise is spread over neighbours by more than this factor: that is
# motion (leaves whose sway the plate's frames did not all show: tree.avi, rho 6.6, read
# a branch that swayed further as change) or heavy compression, not a sensor's grain.
POOL_RHO_MAX = 3.0
_RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_WINDOW = np.ones((POOL_SIZE, POOL_SIZE), np.uint8)
_VARIANCE_MIN = (1e-6, 1e-6, 1e-6, 0.0)  # (per channel: a bare number is the first channel's)
_MEAN3 = np.full((1, 3), 1.0 / 3.0, np.float32)


def _sum_box(src: npt.NDArray[np.generic], dst: F32, depth: int = -1) -> F32:
    """The sums of ``src`` over each pixel's window (float32 ``dst``; ``depth`` CV_32F for
    an 8-bit ``src``)."""
    return cv2.boxFilter(
        src, depth, (POOL_SIZE, POOL_SIZE), dst=dst, normalize=False, borderType=cv2.BORDER_REFLECT
    )


class PooledScore:
    """See the module. ``on`` says whether it runs at all for this plate."""

    def __init__(self, plate: Plate, size: tuple[int, int], mean: F32, sigma: F32) -> None:
        w, h = size
        # the sensor's noise: the least over the window, as the plate's sigma is also
        # larger along edges its frames trembled over (a shake is no noise to pool)
        sensor = cv2.erode(sigma, _WINDOW)
        span = cv2.subtract(cv2.dilate(mean, _WINDOW), cv2.erode(mean, _WINDOW))
        calm = np.all(span <= POOL_CALM * sensor, axis=2) & (plate.dynamic_at(size) == 0)
        noisy = sensor.mean(axis=2) >= POOL_SIGMA
        self.where: U8 = np.where(noisy & calm, np.uint8(255), np.uint8(0))
        self.on = cv2.countNonZero(self.where) >= POOL_MIN_SHARE * w * h
        self.rho = self._correlation(plate, size, mean, calm) if self.on else 1.0
        self.on = self.on and self.rho <= POOL_RHO_MAX
        if not self.on:
            return
        self._variance: F32 = (sigma * sigma * np.float32(self.rho)).astype(np.float32)
        self._changed: U8 = np.empty((h, w), np.uint8)  # left out of the windows
        self._zeros: F32 = np.zeros((h, w), np.float32)
        self._bias: F32 = np.empty((h, w), np.float32)
        self._bias3: F32 = np.empty((h, w, 3), np.float32)
        self._difference: F32 = np.empty((h, w, 3), np.float32)
        self._sum: F32 = np.empty((h, w, 3), np.float32)
        self._free_variance: F32 = np.empty((h, w, 3), np.float32)
        self._sum_variance: F32 = np.empty((h, w, 3), np.float32)
        self._free_count: F32 = np.empty((h, w), np.float32)
        self._pooled: F32 = np.empty((h, w), np.float32)
        self._free_mask: U8 = np.empty((h, w), np.uint8)
        self._valid: U8 = np.empty((h, w), np.uint8)
        self._over: U8 = np.empty((h, w), np.uint8)

    @staticmethod
    def _correlation(plate: Plate, size: tuple[int, int], mean: F32, calm: npt.NDArray[np.bool_]) -> float:
        """The camera's noise correlation over the window (see the module), at least 1."""
        first = Downscaler(size)(plate.reference).astype(np.float32)
        residual = first - mean
        sums = _sum_box(residual, np.empty_like(residual))
        squares = _sum_box(residual * residual, np.empty_like(residual))
        inner = cv2.erode(calm.astype(np.uint8), _WINDOW) > 0  # whole windows of calm pixels
        if int(inner.sum()) < RHO_MIN_PIXELS:
            return RHO_UNMEASURED
        rho = float(np.sum(sums[inner] ** 2) / max(float(np.sum(squares[inner])), 1e-6))
        return max(rho, 1.0)

    def __call__(self, frame: U8, expected: F32, *, score: F32, weak: U8, strong: U8) -> None:
        """Raises the per-pixel ``score`` to the pooled one where that is larger and it runs,
        leaving out of the windows what the per-pixel ``weak`` and ``strong`` masks (0/255)
        found; the caller makes the masks again from the score. All arrays are working-size."""
        if not self.on:
            return
        # (left out: what changed, and the pixels beside it, whose neighbours mix the two)
        changed = cv2.dilate(strong, _RECT3, dst=self._changed)
        cv2.bitwise_or(changed, weak, dst=changed)
        free = cv2.bitwise_not(changed, dst=self._free_mask)
        np.subtract(frame, expected, out=self._difference, dtype=np.float32)
        cv2.subtract(self._difference, self._difference, dst=self._difference, mask=changed)
        self._free_variance.fill(0.0)
        cv2.copyTo(self._variance, free, self._free_variance)
        _sum_box(self._difference, self._sum)
        _sum_box(self._free_variance, self._sum_variance)
        _sum_box(free, self._free_count, cv2.CV_32F)  # (255 per free pixel)
        # the model's own error, which pooling does not average away: + (POOL_BIAS x n)^2
        cv2.multiply(self._free_count, self._free_count, dst=self._bias, scale=(POOL_BIAS / 255.0) ** 2)
        cv2.merge((self._bias, self._bias, self._bias), dst=self._bias3)
        cv2.add(self._sum_variance, self._bias3, dst=self._sum_variance)
        # per channel sum^2 / variance, then the channels' mean (the per-pixel score's units)
        cv2.multiply(self._sum, self._sum, dst=self._sum)
        cv2.max(self._sum_variance, _VARIANCE_MIN, dst=self._sum_variance)
        cv2.divide(self._sum, self._sum_variance, dst=self._sum)
        cv2.transform(self._sum, _MEAN3, dst=self._pooled[..., None])
        # where it runs: the plate's pooled pixels with enough of the window free
        least = 255.0 * POOL_MIN_FREE * POOL_SIZE * POOL_SIZE
        valid = cv2.compare(self._free_count, least, cv2.CMP_GE, dst=self._valid)
        cv2.bitwise_and(valid, self.where, dst=valid)
        invalid = cv2.bitwise_not(valid, dst=self._over)
        cv2.copyTo(self._zeros, invalid, self._pooled)
        cv2.max(score, self._pooled, dst=score)
