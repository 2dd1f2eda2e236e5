"""The band of light beside the person: a cast shadow's strip that the texture test failed.

A shadow beside the person keeps the wall's colour up to the person's outline, but its
pixels within a texture window's reach of the person (4 + 3 pixels) fail the texture test
whenever the person's own pixels beside them kept the light's colour too (a shirt of the
wall's hue, darker): the window then holds a step of the ratio that is the person's, not the
light's. Hysteresis joins that band to the person, and the mask wears a dark fringe along
the shadow. :class:`LightBand` gives the band to the light beside it, a pixel per step, where
the pixel's luma ratio continues the light's (within BAND_SIGMAS of its noise, of the mean
ratio of the light around it): a shadow is smooth up to the person, and the person's outline
is a step of the ratio.

Only light that is the room's seeds it (see BAND_SEED_SHARE and BAND_SEED_MIN): the inside of
a shirt of the wall's colour, explained as light but enclosed by the person, or the speckles
of a JPEG camera, would otherwise spread into the person. Only the pixels that kept the
light's colour and failed the texture test may go (never what the light tests passed: the
contact rule has judged those).

It runs last, after the state for the next frame is kept: the last mask and the confident
background stay the mask before the band went (the band is changed pixels, and what the
engine adapts to or measures the light on stays away from the person).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .regions import DISC3, RECT3, Box, Labels, grow_through, inside, widened

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

# Up to this many steps of a pixel each: a texture window's half width and more (the band
# is up to 4 + 3 pixels wide).
BAND_STEPS = 6
# A band pixel's ratio is within BAND_SIGMAS x its noise (max(r, RATIO_FLOOR) x luma sigma /
# luma) + BAND_FLOOR of the mean ratio of the light among its 8 neighbours.
BAND_SIGMAS = 3.5
BAND_FLOOR = 0.012
# Light seeds the band when it is the room's: 8-connected light that touches the
# background outside the person (connected to the region's edge, not a hole in the mask),
# with at least BAND_SEED_SHARE of its outline there rather than on the person, and at least
# BAND_SEED_MIN of the picture.
BAND_SEED_SHARE = 0.5
BAND_SEED_MIN = 0.002


class LightBand:
    """The band of light beside the person (see the module), at one working size.

    Threading and lifetime: one instance per MaskEngine, used by its thread; buffers
    allocated once."""

    def __init__(self, h: int, w: int) -> None:
        self.components = Labels(h, w)
        self.seed_min = max(1, round(BAND_SEED_MIN * h * w))
        self._closed: U8 = np.empty((h, w), np.uint8)
        self._outside: U8 = np.empty((h, w), np.uint8)  # background outside the person
        self._near: U8 = np.empty((h, w), np.uint8)
        self._light: U8 = np.empty((h, w), np.uint8)  # the seeds, then the band given to them
        self._band: U8 = np.empty((h, w), np.uint8)  # what may still go
        self._front: U8 = np.empty((h, w), np.uint8)
        self._tolerance: F32 = np.empty((h, w), np.float32)
        self._weight: F32 = np.empty((h, w), np.float32)
        self._count: F32 = np.empty((h, w), np.float32)
        self._sum: F32 = np.empty((h, w), np.float32)
        self.given: U8 = np.zeros((h, w), np.uint8)  # the last call's band (0/255, within its roi)

    def __call__(
        self, mask: U8, lit: U8, coloured: U8, ratio: F32, ratio_floor: F32, sigma_luma: F32,
        luma: F32, roi: Box,
    ) -> int:
        """``mask`` without its band beside the room's light, within ``roi`` (all frame-sized:
        the mask after cleanup, and the light tests' planes: ``lit``, ``coloured``, the luma
        ``ratio``, max(r, RATIO_FLOOR), the luma noise and the expected background's luma,
        the last three read only where coloured); ``given`` holds the band. Returns the
        number of pixels given."""
        self.given[roi].fill(0)
        mask_full = mask
        mask, lit = mask[roi], lit[roi]
        band = cv2.bitwise_and(mask, coloured[roi], dst=self._band[roi])
        cv2.subtract(band, lit, dst=band)  # (lit and the mask overlap where light rejoined)
        if not cv2.countNonZero(band):
            return 0
        light = self._seeds(mask, lit, roi)
        if light is None:
            return 0
        # the band the light can reach in BAND_STEPS steps, and the box around it (and its
        # light) where the steps run: a few rows of pixels along the person, not the region
        reached = self._near[roi]
        np.copyto(reached, light)
        grow_through(reached, cv2.bitwise_or(band, light, dst=self._front[roi]), BAND_STEPS)
        cv2.bitwise_and(reached, band, dst=reached)
        rect = cv2.boundingRect(reached)
        if rect[2] == 0:
            return 0
        box = inside(roi, widened(rect, 1, reached.shape))
        mask, light, band, given = mask_full[box], self._light[box], self._band[box], self.given[box]
        r = ratio[box]
        # the ratio's noise: max(r, RATIO_FLOOR) x luma sigma / luma
        tolerance = cv2.multiply(ratio_floor[box], sigma_luma[box], dst=self._tolerance[box])
        cv2.divide(tolerance, luma[box], dst=tolerance, scale=BAND_SIGMAS)
        cv2.add(tolerance, BAND_FLOOR, dst=tolerance)
        weight, count, total = self._weight[box], self._count[box], self._sum[box]
        front, fits = self._front[box], self._near[box]
        for _ in range(BAND_STEPS):
            cv2.dilate(light, RECT3, dst=front)
            cv2.bitwise_and(front, band, dst=front)
            if not cv2.countNonZero(front):
                break
            # the mean ratio of the light among each pixel's 8 neighbours
            # (weights 0/255: the scale cancels; nothing beyond the box counts)
            np.copyto(weight, light, casting="unsafe")
            cv2.boxFilter(weight, -1, (3, 3), dst=count, normalize=False, borderType=cv2.BORDER_CONSTANT)
            cv2.multiply(weight, r, dst=weight)
            cv2.boxFilter(weight, -1, (3, 3), dst=total, normalize=False, borderType=cv2.BORDER_CONSTANT)
            cv2.max(count, 1.0, dst=count)
            cv2.divide(total, count, dst=total)
            cv2.absdiff(total, r, dst=total)
            cv2.compare(total, tolerance, cv2.CMP_LT, dst=fits)
            cv2.bitwise_and(front, fits, dst=front)
            if not cv2.countNonZero(front):
                break
            cv2.bitwise_or(light, front, dst=light)
            cv2.bitwise_or(given, front, dst=given)
            cv2.subtract(band, front, dst=band)
        cv2.subtract(mask, given, dst=mask)
        return cv2.countNonZero(given)

    def _seeds(self, mask: U8, lit: U8, roi: Box) -> U8 | None:
        """The room's light within ``roi`` (views): light outside the mask, 8-connected,
        touching the background outside the person with at least BAND_SEED_SHARE of its
        outline and at least seed_min pixels; None when there is none."""
        light = cv2.subtract(lit, mask, dst=self._light[roi])
        if cv2.countNonZero(light) < self.seed_min:
            return None
        # the background outside the person: what is neither the mask (cracks closed, as
        # cleanup does) nor light, 4-connected to the region's edge (not a hole)
        outside = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, DISC3, dst=self._closed[roi])
        cv2.bitwise_or(outside, lit, dst=outside)
        cv2.bitwise_not(outside, dst=outside)
        cc = self.components
        if cc.find(outside, 4) <= 1:
            return None
        labels = cc.labels
        edge = np.zeros(cc.n, bool)
        for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
            edge[side] = True
        edge[0] = False
        near = cv2.dilate(cc.paint(edge, self._outside[roi]), RECT3, dst=self._near[roi])
        if cc.find(light, 8) <= 1:
            return None
        on_room = cc.count(near)
        on_person = cc.count(cv2.dilate(mask, RECT3, dst=self._closed[roi]))
        seeds = (on_room > 0) & (on_room >= BAND_SEED_SHARE * (on_room + on_person))
        seeds &= cc.count() >= self.seed_min
        seeds[0] = False
        if not seeds.any():
            return None
        return cc.paint(seeds, light)
