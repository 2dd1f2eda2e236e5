"""MaskEngine: the default mode's mask of one frame, stage by stage (see :mod:`bgcore.engine`)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ..plate import Plate
from ..settings import Settings
from .band import LightBand
from .edges import EdgeUnmix
from .expected import ADAPT_EVERY, ExpectedBackground
from .hysteresis import Hysteresis
from .light import FILTER_REACH, LIGHT_RATIO_MAX, LIGHT_RATIO_MIN, RINGING_REACH, LightTests
from .light_levels import FIELD_EVERY, LightLevels
from .pooled import PooledScore
from .regions import Anchor, Box, Cleanup, LightContact, widened
from .score import Scorer, auto_bars, manual_bars
from .shake import ShakeMeter

U8 = npt.NDArray[np.uint8]

# Confident background: farther than this from the last mask (a 7x7 square's reach).
CONFIDENT_DISTANCE = 3
_CONFIDENT_RECT = cv2.getStructuringElement(
    cv2.MORPH_RECT, (2 * CONFIDENT_DISTANCE + 1, 2 * CONFIDENT_DISTANCE + 1)
)


def ringing_reach(plate: Plate, size: tuple[int, int]) -> int:
    """How far a JPEG camera's ringing reaches at the working ``size``, in working pixels
    (see RINGING_ERROR): 0 when the plate's frames showed no JPEG quality."""
    if plate.jpeg_quality is None:
        return 0
    factor = plate.size[0] / size[0]  # (the working size is the frame halved: 1, 2, 4 ...)
    return max(1, round(RINGING_REACH / factor))


class MaskEngine:
    """Stateful default-mode masking at the working size of one plate.

    Threading and lifetime: one instance per plate and working size (w, h), used by one
    thread. :meth:`step` returns a buffer the engine owns and overwrites on the next call.
    """

    def __init__(self, plate: Plate, size: tuple[int, int]) -> None:
        w, h = size
        self.size = size
        self.plate = plate
        self.area = w * h
        self.background = ExpectedBackground(plate.mean_at(size), plate.sigma_at(size))
        self.light_levels = LightLevels(size, self.background.mean, self.background.unclipped)
        self.shake = ShakeMeter(
            self.light_levels, self.background.mean, self.background.sigma, self.background.unclipped
        )
        self.scorer = Scorer(self.background.sigma)
        self.pooled = PooledScore(plate, size, self.background.mean, self.background.sigma)
        self.hysteresis = Hysteresis(h, w)
        self.light = LightTests(self.background.mean, self.background.sigma, ringing_reach(plate, size))
        self.contact = LightContact(h, w)
        self.anchor = Anchor(h, w)
        self.cleanup = Cleanup(h, w)
        self.band = LightBand(h, w)
        self.edges = EdgeUnmix(h, w)
        self.mask: U8 = np.zeros((h, w), np.uint8)
        self.last_mask: U8 = np.zeros((h, w), np.uint8)
        self.last_light: U8 = np.zeros((h, w), np.uint8)  # its light that stayed light
        self.confident: U8 = np.full((h, w), 255, np.uint8)  # background far from the last mask
        self._lit_person: U8 = np.empty((h, w), np.uint8)  # the mask's pixels light explains
        self._unlit: U8 = np.empty((h, w), np.uint8)
        self.frame_index = 0  # frames stepped so far
        self.periodic = False
        """Whether the last step was one of the frames that carry the periodic work: every
        ADAPT_EVERY-th, whatever the settings (the plate's adaptation; the light field's
        every FIELD_EVERY-th falls on the same frames). The pipeline puts its own periodic
        check on these frames too, so that most frames carry none (see
        :mod:`bgcore.plate_health`)."""

    def step(self, frame: U8, s: Settings) -> U8:
        """Mask (0/255, a buffer owned by the engine) of one working-size BGR frame."""
        # 1. light levels: exposure, white balance and the light field scale the plate into
        # the expected background
        self.light_levels.sample_frame(frame, self.confident)  # (the shake's samples too)
        if s.adapt:
            coarse = self.light_levels.measure_sampled()
            if coarse is not None:
                self.background.set_gains(coarse)
        elif self.light_levels.reset():
            self.background.set_gains(None)
        # the camera's shift against the plate: how much of the plate's 3x3 range it explains
        background = self.background
        background.set_reach(self.shake.measure_sampled(background.gains, background.gains_version))
        # 2. the score against the expected background, and its weak and strong masks
        last = self.last_mask if s.temporal and self.frame_index > 0 else None
        if s.threshold is None:
            low, high = auto_bars(s.sensitivity)
            mid, width = self.background.score_range()
            self.scorer.auto(frame, mid, width, low=low, high=high, prev=last)
            if self.pooled.on:  # (noise hides a low contrast in one pixel: the window's mean)
                sc = self.scorer
                self.pooled(frame, self.background.expected(), score=sc.score, weak=sc.weak, strong=sc.strong)
                sc.masks(low, high, last)
        else:
            low, high = manual_bars(s.threshold)
            self.scorer.level(frame, self.background.expected(), low=low, high=high, prev=last)
        # 3. hysteresis on the whole frame
        min_area = max(1, round(s.min_blob * self.area)) if s.cleanup else 1
        self.hysteresis(self.scorer.weak, self.scorer.strong, min_area, self.mask)
        # 4. and 5. light, then cleanup, inside the mask's box widened by the filters' reach:
        # what light explains only removes pixels from the mask
        self.light.reset()
        rect = cv2.boundingRect(self.mask)
        roi = widened(rect, FILTER_REACH, self.mask.shape) if rect[2] > 0 else None
        if roi is not None:
            self._explain_light(frame, s, roi, min_area, last)
            if s.cleanup:
                self.cleanup(self.mask, roi, score=self.scorer.score, low=low, lit=self.light.lit)
        # the state for the next frame, from the mask before its band goes (see .band)
        self._remember(frame, s, low)
        # 6. the band of light beside the person
        light = self.light
        if roi is not None and light.explained:
            self.band(
                self.mask, light.lit, light.coloured, light.ratio, light.ratio_floor,
                light.sigma_luma, light.expected_luma, roi,
            )
        if roi is not None and s.cleanup:  # (after _remember, like the band: see edges.py)
            self.edges(self.mask, frame, self.background.expected(), roi, lit=light.lit)
        return self.mask

    def _explain_light(self, frame: U8, s: Settings, roi: Box, min_area: int, last: U8 | None) -> None:
        """Within ``roi``: the light tests (``light.lit``), hysteresis again without what
        light explains, and the contact rule (which holds its decisions from ``last``, the
        last frame's mask, and the last frame's light that stayed light, when there is one)."""
        auto = s.threshold is None
        # Darker by up to LIGHT_RATIO_MIN (a cast shadow; with `shadows`) or brighter by up to
        # LIGHT_RATIO_MAX (a lamp, a sun patch, or light the field has not caught up with;
        # with `adapt`). Explaining brighter light per pixel also keeps a stale field from
        # locking a lit wall into the mask: the field is measured only outside the mask, so
        # an unexplained wall would never heal.
        if not (s.shadows or (s.adapt and auto)):
            if s.adapt:  # the light field still needs to know what light explains
                self.light.consistency(frame, self.background, roi)
            return
        ratios = (LIGHT_RATIO_MIN if s.shadows else 1.0, LIGHT_RATIO_MAX if s.adapt and auto else 1.0)
        # (the coarse texture test only where light is worth acting on: see `few`)
        lit = self.light.explain(frame, self.background, roi, ratios, coarse_min=min_area)[roi]
        score, mask = self.scorer.score[roi], self.mask[roi]
        # a few pixels: less than the smallest part the mask keeps (not worth labelling: no
        # edge of light, no second hysteresis, no contact rule; only where the mask lies on
        # the plate's edges of light, the penumbra and the anchor rule, see below)
        few = cv2.countNonZero(lit) < min_area
        if not few:
            self.light.extend(roi)  # the edge of light
        cv2.subtract(score, score, dst=score, mask=lit)  # explained: the score is 0 there
        weak, strong = self.scorer.weak[roi], self.scorer.strong[roi]
        light = self.light
        if not few and cv2.countNonZero(cv2.bitwise_and(lit, mask, dst=self._lit_person[roi])):
            unlit = cv2.bitwise_not(lit, dst=self._unlit[roi])  # light explains part of the mask
            cv2.bitwise_and(weak, unlit, dst=weak)
            cv2.bitwise_and(strong, unlit, dst=strong)
            self.hysteresis(weak, strong, min_area, mask)
            # the contact rule gives back only what light took from the mask: a lit pixel
            # that was background anyway never becomes the person
            self.contact(
                self.mask, light.lit, roi, light.coloured, light.smooth, light.verified, light.ramp,
                light.open_edge, within=self._lit_person, last=last, changed=self.scorer.weak,
                held=self.last_light if last is not None else None, ratio=light.ratio,
                frame=frame, expected=self.background.expected(), settle=light.settle,
            )
            penumbra = self.contact.penumbra
        elif not few or self._on_plate_edges(mask, roi) >= min_area:
            # the contact rule did not run, but light explains enough, or the mask lies on the
            # plate's edges of light (the outline of a sun patch that moved by a few pixels,
            # whether or not light explains anything else): its penumbra alone, unlabelled
            penumbra = self.contact.measure_penumbra(
                self.mask, light.lit, roi, light.coloured, light.smooth, light.ramp
            )
        else:
            return  # (few, and off the plate's edges of light: nothing for the rules below)
        self.anchor(self.mask, light.coloured, light.ratio, roi, min_area, penumbra)
        # light's open edge, in its penumbra, is light's
        open_edge = cv2.bitwise_and(penumbra[roi], light.open_edge[roi], dst=self._unlit[roi])
        cv2.subtract(mask, open_edge, dst=mask)

    def _on_plate_edges(self, mask: U8, roi: Box) -> int:
        """How many pixels of ``mask`` (within ``roi``) lie on the plate's edges of light."""
        on = cv2.bitwise_and(self.light.plate_edges[roi], mask, dst=self._unlit[roi])
        return cv2.countNonZero(on)

    def _remember(self, frame: U8, s: Settings, low: float) -> None:
        """The previous mask, the confident background, and, every few frames, the slow
        adaptation of the plate and the light field."""
        self.periodic = self.frame_index % ADAPT_EVERY == 0
        np.copyto(self.last_mask, self.mask)
        cv2.subtract(self.light.lit, self.mask, dst=self.last_light)  # (lit is 0 outside its roi)
        cv2.dilate(self.mask, _CONFIDENT_RECT, dst=self.confident)
        cv2.bitwise_not(self.confident, dst=self.confident)  # (the mask is 0/255)
        if s.adapt and s.adapt_rate > 0 and self.frame_index % ADAPT_EVERY == 0:
            rate = 1.0 - (1.0 - s.adapt_rate) ** ADAPT_EVERY  # the same time constant
            self.background.adapt(frame, self.scorer.score, low, self.confident, rate)
            self.light_levels.resample_mean(self.background.mean)
            self.shake.resample_mean(self.background.mean)
        if s.adapt and self.frame_index % FIELD_EVERY == 0:
            # The light field for the next frame, measured away from this frame's person: a
            # face or shirt of the wall's hue passes the consistency test, and measured
            # before the mask exists it would drag the field (and the wall) with it.
            self.light_levels.update_field(
                self.light.consistent, self.confident, self.background.gains, self.background.ceiling
            )
        self.frame_index += 1
