"""The light tests: which changed pixels a change of light explains (a cast shadow, a lamp).

Light explains a pixel when the frame is the expected background under another light level:
the luma ratio frame/expected lies in a range (darker by up to 75% for a shadow, brighter by
up to 40% for a lamp) and moved by more than LIGHT_SIGMAS of luma noise (a *candidate*), the
colour is kept (every channel is the ratio x the expected value, within the noise and
tolerances for the camera's tone curve), and the fine texture is kept: the ratio has no fine
detail of its own (a soft shadow's edge is a ramp), and where the plate has detail well above
the noise, the frame's detail correlates with it (a cloth of the wall's colour replaces it).

Light falls on areas, never on lone pixels, so each test runs only around the areas the
cheaper ones leave (what survives a 3x3 erosion, widened by the filters' reach): the colour
test around areas of candidates, the texture tests (the costly part) around areas that also
kept their colour. Lone candidates (noise) stay unexplained.

What the texture tests leave of the candidates that kept their colour is recorded for the
contact rule (:class:`.regions.LightContact`): ``coloured`` (those candidates) and ``smooth``
(where the ratio has no detail at the finest scale, its 3x3 residual within the same bar).
A soft shadow's penumbra (a ramp of the ratio over several pixels, beside the person) fails
the 9x9 texture test, but it is smooth at 3x3 and runs smoothly into the clear background.

Each test is one function with one switch: the compiled kernel (:mod:`bgcore.kernels`) where
it runs, else the same float32 operations in the same order as OpenCV passes: the same masks
(OpenCV's luma transform rounds its sum its own way, so the ratio may differ by a few ulp).
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from .. import kernels
from .expected import ExpectedBackground
from .regions import RECT3, Box, inside, widened
from .score import AUTO_SIGMA_LOW

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

LUMA_BGR = np.array([0.114, 0.587, 0.299], np.float32)
# Luma ratios frame/expected that a change of light may explain (shadow .. lamp).
LIGHT_RATIO_MIN = 0.25
LIGHT_RATIO_MAX = 1.4
# A candidate's luma moved by more than this many sigmas of luma noise (else its score is
# low anyway); luma noise is at least SIGMA_LUMA_MIN.
LIGHT_SIGMAS = 3.0
SIGMA_LUMA_MIN = 0.5
# The colour test: the mean over channels of ((f - r e) / tolerance)^2 below COLOUR_Z_LIMIT,
# tolerance = max(r, RATIO_FLOOR) sigma (the noise scales with the light) + TONE_TOLERANCE e
# (the camera's tone curve is not exactly linear) + LEVEL_TOLERANCE.
COLOUR_Z_LIMIT = AUTO_SIGMA_LOW**2
RATIO_FLOOR = 0.25
TONE_TOLERANCE = 0.03
LEVEL_TOLERANCE = 0.5
# The ratio's fine detail (the ratio minus its 9x9 mean, energy over 7x7) stays below
# (TEXTURE_NOISE x max(r, RATIO_FLOOR) x luma sigma / luma + TEXTURE_FLOOR)^2: what noise
# makes, plus the relative texture that a change of light never makes.
TEXTURE_NOISE = 2.0
TEXTURE_FLOOR = 0.012
# The texture-correlation test applies where the plate's fine detail has TEXTURE_VERIFY x
# the noise (std); there the frame's detail must correlate with it at least TEXTURE_NCC_MIN
# (a shadow at ratio 0.5 over detail of 1.5 noise std correlates at ~0.6).
TEXTURE_VERIFY = 1.5
TEXTURE_NCC_MIN = 0.3
DETAIL_MEAN = (9, 9)  # fine detail = the image minus its mean over this window
DETAIL_ENERGY = (7, 7)  # its energy and covariance: means over this window
# The finest scale: the ratio minus its 3x3 mean, energy over 3x3, against the same bar as the
# fine detail's (what a penumbra's ramp passes and a cloth's edge does not).
FINEST_DETAIL = (3, 3)
# The filters reach 4 + 3 pixels (and the contact test and closing 1 more): regions of
# interest are widened by this much.
FILTER_REACH = 8

_LUMA = LUMA_BGR.reshape(1, 3)
_MEAN3 = np.full((1, 3), 1.0 / 3.0, np.float32)


class LightTests:
    """The light tests at one working size, for one plate (``mean``, ``sigma`` HxWx3).

    Cleared by :meth:`reset` each frame, written by the tests, read by the later stages:
    ``lit`` (0/255: explained by light) and ``consistent`` (0/255: colour and texture as
    under light; 255 where not tested, which is what the light field reads there); by
    :meth:`explain` also ``coloured`` (0/255: candidates that kept their colour) and
    ``smooth`` (0/255: the ratio without detail at the finest scale, where the texture tests
    ran), both 0 elsewhere.
    """

    def __init__(self, mean: F32, sigma: F32) -> None:
        h, w = mean.shape[:2]
        self.lit: U8 = np.zeros((h, w), np.uint8)
        self.consistent: U8 = np.full((h, w), 255, np.uint8)
        self.coloured: U8 = np.zeros((h, w), np.uint8)
        self.smooth: U8 = np.zeros((h, w), np.uint8)
        self._written: Box | None = None  # where coloured and smooth may be non-zero
        self.frame_luma: F32 = np.empty((h, w), np.float32)
        self.expected_luma: F32 = np.empty((h, w), np.float32)  # at least 1
        self.ratio: F32 = np.empty((h, w), np.float32)  # frame_luma / expected_luma
        self.ratio_floor: F32 = np.empty((h, w), np.float32)  # max(ratio, RATIO_FLOOR)
        self.sigma = sigma
        self.sigma_luma: F32 = np.maximum(cv2.transform(sigma, _LUMA), SIGMA_LUMA_MIN).astype(np.float32)
        self._light_bar: F32 = (LIGHT_SIGMAS * self.sigma_luma).astype(np.float32)
        plate_luma = cv2.transform(mean, _LUMA)
        self.plate_detail: F32 = (plate_luma - cv2.blur(plate_luma, DETAIL_MEAN)).astype(np.float32)
        self.plate_detail_energy: F32 = cv2.blur(self.plate_detail * self.plate_detail, DETAIL_ENERGY)
        self.unverifiable: U8 = cv2.compare(
            self.plate_detail_energy, (TEXTURE_VERIFY * self.sigma_luma) ** 2, cv2.CMP_LE
        )
        # nothing to verify anywhere (a flat plate): the correlation test always passes
        self.any_verifiable = cv2.countNonZero(self.unverifiable) < h * w
        self._eroded: U8 = np.empty((h, w), np.uint8)  # candidates that survive a 3x3 erosion
        self._ratio_mean: F32 = np.empty((h, w), np.float32)
        self._ratio_energy: F32 = np.empty((h, w), np.float32)
        self._luma_mean: F32 = np.empty((h, w), np.float32)
        self._covariance: F32 = np.empty((h, w), np.float32)  # frame detail x plate detail
        self._detail_energy: F32 = np.empty((h, w), np.float32)  # the frame's
        self._finest_mean: F32 = np.empty((h, w), np.float32)  # the ratio's 3x3 mean
        self._finest_energy: F32 = np.empty((h, w), np.float32)
        self._finest_bar: F32 = np.empty((h, w), np.float32)

    # The OpenCV path's buffers, allocated on first use (the compiled path never needs them).
    def _f32(self, channels: int = 1) -> F32:
        shape = self.ratio.shape if channels == 1 else (*self.ratio.shape, channels)
        return np.empty(shape, np.float32)

    @cached_property
    def _frame_f(self) -> F32:  # the frame in float32
        return self._f32(3)

    @cached_property
    def _luma_change(self) -> F32:
        return self._f32()

    @cached_property
    def _changed(self) -> U8:
        return np.empty(self.ratio.shape, np.uint8)

    @cached_property
    def _ratio3(self) -> F32:
        return self._f32(3)

    @cached_property
    def _residual(self) -> F32:
        return self._f32(3)

    @cached_property
    def _tolerance(self) -> F32:
        return self._f32(3)

    @cached_property
    def _z_mean(self) -> F32:
        return self._f32()

    @cached_property
    def _energy_bar(self) -> F32:
        return self._f32()

    @cached_property
    def _frame_detail(self) -> F32:
        return self._f32()

    @cached_property
    def _correlation_bar(self) -> F32:
        return self._f32()

    @cached_property
    def _covariance_sq(self) -> F32:
        return self._f32()

    @cached_property
    def _positive(self) -> U8:
        return np.empty(self.ratio.shape, np.uint8)

    @cached_property
    def _passed(self) -> U8:
        return np.empty(self.ratio.shape, np.uint8)

    def reset(self) -> None:
        """A new frame: nothing explained, everything consistent until tested."""
        self.lit.fill(0)
        self.consistent.fill(255)
        self._clear_maps()

    def _clear_maps(self) -> None:
        """coloured and smooth = 0 (explain wrote them only within ``_written``)."""
        if self._written is not None:
            self.coloured[self._written].fill(0)
            self.smooth[self._written].fill(0)
            self._written = None

    def explain(
        self, frame: U8, background: ExpectedBackground, roi: Box, ratios: tuple[float, float]
    ) -> U8:
        """``lit`` = 255 where light explains the pixel within ``roi``, its luma ratio within
        ``ratios`` (lowest, highest), else 0; ``consistent`` is written around the areas the
        tests ran on. ``frame`` is the frame (HxWx3 uint8)."""
        expected = background.expected()
        self._clear_maps()
        self._candidates(frame, expected, roi, ratios)
        for test in (self._colour, self._texture):
            around = self._around_areas(self.lit[roi], self._eroded[roi])
            if around is None:
                break
            roi = inside(roi, around)
            test(frame, expected, roi)
            cv2.bitwise_and(self.lit[roi], self.consistent[roi], dst=self.lit[roi])
            if test == self._colour:
                np.copyto(self.coloured[roi], self.lit[roi])
                self._written = roi
            else:
                self._finest(roi)
        return self.lit

    def consistency(self, frame: U8, background: ExpectedBackground, roi: Box) -> U8:
        """``consistent`` = 255 within ``roi`` where the frame is the expected background under
        another light (colour and texture kept), else 0 (for the light field)."""
        expected = background.expected()
        self._luma_ratio(frame, expected, roi)
        self._colour(frame, expected, roi)
        self._texture(frame, expected, roi)
        return self.consistent

    def _luma_ratio(self, frame: U8, expected: F32, roi: Box) -> None:
        np.copyto(self._frame_f[roi], frame[roi], casting="unsafe")
        y_f, y_e = self.frame_luma[roi], self.expected_luma[roi]
        cv2.transform(self._frame_f[roi], _LUMA, dst=y_f[..., None])
        cv2.transform(expected[roi], _LUMA, dst=y_e[..., None])
        cv2.max(y_e, 1.0, dst=y_e)
        cv2.divide(y_f, y_e, dst=self.ratio[roi])

    def _candidates(
        self, frame: U8, expected: F32, roi: Box, ratios: tuple[float, float]
    ) -> None:
        """lit = the candidates within ``roi``: the luma ratio within ``ratios`` and a luma
        change above LIGHT_SIGMAS; also the lumas and the ratio there."""
        lo, hi = ratios
        if kernels.light_candidates(
            frame, expected, self._light_bar, LUMA_BGR, lo, hi, y_f=self.frame_luma,
            y_e=self.expected_luma, r=self.ratio, candidates=self.lit, box=roi,
        ):
            return
        self._luma_ratio(frame, expected, roi)
        lit = cv2.inRange(self.ratio[roi], lo, hi, dst=self.lit[roi])
        change = cv2.absdiff(self.expected_luma[roi], self.frame_luma[roi], dst=self._luma_change[roi])
        changed = cv2.compare(change, self._light_bar[roi], cv2.CMP_GT, dst=self._changed[roi])
        cv2.bitwise_and(lit, changed, dst=lit)

    @staticmethod
    def _around_areas(candidates: U8, eroded: U8) -> Box | None:
        """The box (rows, columns of ``candidates``) around what survives a 3x3 erosion,
        widened by FILTER_REACH + 1; candidates outside it are cleared. None (and all
        cleared) when nothing survives."""
        cv2.erode(candidates, RECT3, dst=eroded)
        rect = cv2.boundingRect(eroded)
        if rect[2] == 0:
            candidates.fill(0)
            return None
        rows, cols = widened(rect, FILTER_REACH + 1, candidates.shape)
        candidates[: rows.start].fill(0)
        candidates[rows.stop :].fill(0)
        candidates[:, : cols.start].fill(0)
        candidates[:, cols.stop :].fill(0)
        return rows, cols

    def _colour(self, frame: U8, expected: F32, roi: Box) -> None:
        """consistent = 255 within ``roi`` where the frame is r times the expected background
        within the tolerance (the colour kept); ratio_floor = max(r, RATIO_FLOOR) there."""
        if kernels.colour_kept(
            frame, expected, self.ratio, self.sigma, COLOUR_Z_LIMIT,
            RATIO_FLOOR, TONE_TOLERANCE, LEVEL_TOLERANCE,
            consistent=self.consistent, r_floor=self.ratio_floor, box=roi,
        ):
            return
        np.copyto(self._frame_f[roi], frame[roi], casting="unsafe")
        e, f, r = expected[roi], self._frame_f[roi], self.ratio[roi]
        r3 = cv2.cvtColor(r, cv2.COLOR_GRAY2BGR, dst=self._ratio3[roi])  # (a faster merge)
        residual = cv2.multiply(e, r3, dst=self._residual[roi])  # r x expected
        cv2.subtract(f, residual, dst=residual)
        r_floor = cv2.max(r, RATIO_FLOOR, dst=self.ratio_floor[roi])
        tolerance = cv2.cvtColor(r_floor, cv2.COLOR_GRAY2BGR, dst=self._tolerance[roi])
        cv2.multiply(tolerance, self.sigma[roi], dst=tolerance)
        cv2.addWeighted(tolerance, 1.0, e, TONE_TOLERANCE, LEVEL_TOLERANCE, dst=tolerance)
        z = cv2.divide(residual, tolerance, dst=residual)
        cv2.multiply(z, z, dst=z)
        cv2.transform(z, _MEAN3, dst=self._z_mean[roi][..., None])
        cv2.compare(self._z_mean[roi], COLOUR_Z_LIMIT, cv2.CMP_LT, dst=self.consistent[roi])

    def _finest(self, roi: Box) -> None:
        """smooth = 255 within ``roi`` where the ratio's detail at the finest scale (minus its
        3x3 mean, energy over 3x3) is below the fine detail's bar; ratio_floor must hold
        max(r, RATIO_FLOOR) there (see :meth:`_colour`)."""
        r = self.ratio[roi]
        energy = cv2.blur(r, FINEST_DETAIL, dst=self._finest_mean[roi])
        cv2.subtract(r, energy, dst=energy)
        cv2.multiply(energy, energy, dst=energy)
        cv2.blur(energy, FINEST_DETAIL, dst=self._finest_energy[roi])
        bar = cv2.multiply(self.ratio_floor[roi], self.sigma_luma[roi], dst=self._finest_bar[roi])
        cv2.divide(bar, self.expected_luma[roi], dst=bar, scale=TEXTURE_NOISE)
        cv2.add(bar, TEXTURE_FLOOR, dst=bar)
        cv2.multiply(bar, bar, dst=bar)
        cv2.compare(self._finest_energy[roi], bar, cv2.CMP_LT, dst=self.smooth[roi])

    def _texture(self, frame: U8, expected: F32, roi: Box) -> None:
        """consistent &= the fine texture behaves as under light, within ``roi``; ratio_floor
        must hold max(r, RATIO_FLOOR) there (see :meth:`_colour`)."""
        ratio_mean = cv2.blur(self.ratio[roi], DETAIL_MEAN, dst=self._ratio_mean[roi])
        if kernels.squared_residual(self.ratio, self._ratio_mean, out=self._ratio_energy, box=roi):
            energy = self._ratio_energy[roi]
            cv2.blur(energy, DETAIL_ENERGY, dst=energy)
            detail = self.any_verifiable
            if detail:
                cv2.blur(self.frame_luma[roi], DETAIL_MEAN, dst=self._luma_mean[roi])
            done = kernels.texture_energy(
                self._ratio_energy, self.ratio_floor, self.sigma_luma, self.expected_luma,
                TEXTURE_NOISE, TEXTURE_FLOOR, detail=detail, y_f=self.frame_luma,
                luma_mean=self._luma_mean, plate_detail=self.plate_detail, consistent=self.consistent,
                covariance=self._covariance, detail_energy=self._detail_energy, box=roi,
            )
            if done and detail:
                covariance, detail_energy = self._covariance[roi], self._detail_energy[roi]
                cv2.blur(covariance, DETAIL_ENERGY, dst=covariance)
                cv2.blur(detail_energy, DETAIL_ENERGY, dst=detail_energy)
                done = kernels.texture_kept(
                    self._covariance, self._detail_energy, self.plate_detail_energy, self.unverifiable,
                    TEXTURE_NCC_MIN**2, consistent=self.consistent, box=roi,
                )
            if done:
                return
            # a kernel could not compile here (they are off now): the same in OpenCV passes
            # (the energy test ANDed into consistent twice is the same test)
        self._texture_opencv(roi, ratio_mean)

    def _texture_opencv(self, roi: Box, ratio_mean: F32) -> None:
        y_f, y_e, r = self.frame_luma[roi], self.expected_luma[roi], self.ratio[roi]
        consistent, passed = self.consistent[roi], self._passed[roi]
        # the ratio's fine detail against what noise alone would give
        energy = cv2.subtract(r, ratio_mean, dst=self._ratio_energy[roi])
        cv2.multiply(energy, energy, dst=energy)
        cv2.blur(energy, DETAIL_ENERGY, dst=energy)
        bar = cv2.multiply(self.ratio_floor[roi], self.sigma_luma[roi], dst=self._energy_bar[roi])
        cv2.divide(bar, y_e, dst=bar, scale=TEXTURE_NOISE)
        cv2.add(bar, TEXTURE_FLOOR, dst=bar)
        cv2.multiply(bar, bar, dst=bar)
        cv2.compare(energy, bar, cv2.CMP_LT, dst=passed)
        cv2.bitwise_and(consistent, passed, dst=consistent)
        if not self.any_verifiable:
            return
        # texture kept: where the plate has texture well above the noise, light changes only
        # scale it, so the frame's fine detail must correlate with the plate's (a cloth of the
        # wall's colour in front of a faintly textured wall does not, and its ratio to the
        # wall is too faint for the energy test above)
        luma_mean = cv2.blur(y_f, DETAIL_MEAN, dst=self._luma_mean[roi])
        frame_detail = cv2.subtract(y_f, luma_mean, dst=self._frame_detail[roi])
        covariance = cv2.multiply(frame_detail, self.plate_detail[roi], dst=self._covariance[roi])
        cv2.blur(covariance, DETAIL_ENERGY, dst=covariance)
        detail_energy = cv2.multiply(frame_detail, frame_detail, dst=self._detail_energy[roi])
        cv2.blur(detail_energy, DETAIL_ENERGY, dst=detail_energy)
        correlation_bar = cv2.multiply(
            detail_energy, self.plate_detail_energy[roi], dst=self._correlation_bar[roi],
            scale=TEXTURE_NCC_MIN**2,
        )
        covariance_sq = cv2.multiply(covariance, covariance, dst=self._covariance_sq[roi])
        cv2.compare(covariance_sq, correlation_bar, cv2.CMP_GT, dst=passed)  # |correlation| > NCC_MIN
        positive = cv2.compare(covariance, 0.0, cv2.CMP_GT, dst=self._positive[roi])
        cv2.bitwise_and(passed, positive, dst=passed)
        cv2.bitwise_or(passed, self.unverifiable[roi], dst=passed)
        cv2.bitwise_and(consistent, passed, dst=consistent)
