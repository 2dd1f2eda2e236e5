"""The light tests: which changed pixels a change of light explains (a cast shadow, a lamp).

Light explains a pixel when the frame is the expected background under another light level:
the luma ratio frame/expected lies in a range (darker by up to 75% for a shadow, brighter by
up to 40% for a lamp) and moved by more than LIGHT_SIGMAS of luma noise (a *candidate*), the
colour is kept (every channel is the ratio x the expected value, within the noise and
tolerances for the camera's tone curve), also on average over a window (the pooled colour
test, see POOLED_COLOUR: noise hides a small shift of hue in one pixel, not in a window's
mean), and the fine texture is kept: the ratio has no fine
detail of its own (a soft shadow's edge is a ramp), and where the plate has detail well above
the noise, the frame's detail correlates with it (a cloth of the wall's colour replaces it).
The texture windows weigh only the pixels that kept their colour: the person's pixels beside
a shadow tell nothing of the light on the wall, and counted they would fail the shadow's
edge. Where the wall's own texture was verifiable and correlated, the pixel is ``verified``:
the contact rule (:class:`.regions.LightContact`) never takes such light for the person.
Last, the coarse texture test (see COARSE_VERIFY): texture too faint for the 9x9 windows is
measured between 5x5 and 31x31 means, where noise averages out; where the frame is flat
while the plate has such texture, an opaque cloth of the wall's shade hides the wall, and
where the frame's coarse detail follows the plate's, the wall shows through: that light is
``settled`` (see COARSE_NCC_MIN), which the contact rule never gives to the person.

Light falls on areas, never on lone pixels, so each test runs only around the areas the
cheaper ones leave (what survives a 3x3 erosion, widened by the filters' reach): the colour
test around areas of candidates, the texture tests (the costly part) around areas that also
kept their colour, and only when somewhere a window is mostly of them (see AREA_SHARE): the
person's clothes keep the colour of the lit wall in specks, which would otherwise cost the
texture tests in every frame. Lone candidates (noise) stay unexplained.

What the texture tests leave of the candidates that kept their colour is recorded for the
contact rule (:class:`.regions.LightContact`): ``coloured`` (those candidates) and ``smooth``
(where the ratio has no detail at the finest scale, its 3x3 residual within the same bar).
A soft shadow's penumbra (a ramp of the ratio over several pixels, beside the person) fails
the 9x9 texture test, but it is smooth at 3x3 and runs smoothly into the clear background.
Also recorded: ``ramp`` (smooth, and a gradual change rather than a step: see RAMP_SHARE)
and ``open_edge`` (a ramp of brighter light, or one the wall's texture shows through, off
clipped areas), with which the contact rule follows a sun patch's blurred edge from the
light to the room.

Each test is one function with one switch: the compiled kernel (:mod:`bgcore.kernels`) where
it runs, else the same float32 operations in the same order as OpenCV passes: the same masks
(OpenCV's luma transform rounds its sum its own way, so the ratio may differ by a few ulp).
"""

from __future__ import annotations

from functools import cached_property
from typing import Generic, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from .. import kernels
from ..frames import LUMA_BGR as LUMA_BGR
from .expected import CLIP_TOLERANCE, ExpectedBackground
from .regions import RECT3, Box, inside, widened
from .score import AUTO_SIGMA_LOW

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

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
# The pooled colour test: where the texture tests run, a pixel that kept its colour must
# also keep it on average over its POOLED_COLOUR window, counting only the n pixels there that
# kept theirs: the mean residual (f - r e) within the same bar as one pixel's, its noise
# share divided by sqrt(n) (the tone and level tolerances, systematic, stay). A cloth of
# nearly the wall's hue passes pixel by pixel (the noise hides its small shift of colour),
# not as a window's mean. Tuning seeds 100-102: every light and clothing case, noise_high and
# clean up by 0.0005-0.0013 F1; held out 500-502 every case up (see docs/quality.md).
POOLED_COLOUR = (9, 9)
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
# A ramp: where the ratio is smooth and its energy at the finest scale is below RAMP_SHARE of
# its fine detail's (9x9), the detail is a gradual change of light over several pixels (a
# penumbra, the blurred edge of a sun patch), not a step (a cloth's outline: a step puts
# about a third of its fine detail's energy at the finest scale, a ramp over 3 pixels or more
# under a tenth).
RAMP_SHARE = 0.15
# The edge of light (a sun patch's or a sharp shadow's outline, a shadow beside dark clothes
# that keep its colour): a candidate that kept its colour but failed the texture test is light
# too when at least EDGE_LIT_SHARE of its 9x9 window is light and it fits that light: its
# ratio within the fine detail's bar of the light's weighted mean, the light's own detail
# within it, and (where the plate's texture is verifiable) its detail correlated with the
# plate's in the same weights.
EDGE_LIT_SHARE = 0.35
# Each step extends light by a pixel or two (the window must be that much light), darker
# light only in the first DARK_EDGE_STEPS (and only where the wall's texture can tell): a
# second step for darker light also took the edges of shirts of the wall's colour seen
# through a JPEG camera (similar_jpeg, tuning seeds: 0.958 -> 0.950), while a
# second step for brighter light covers more of a sun patch's or lamp's sharp outline
# (see docs/quality.md). Three steps cost similar_clothing 0.001, and they once joined
# the lit patches between a backlit hand's fingers (tree.avi).
EDGE_STEPS = 2
DARK_EDGE_STEPS = 1
# The coarse texture test: a wall's texture too faint for the fine test (a soft pattern of
# wallpaper, the mottling of paint) is measured between two scales where noise averages out:
# the luma's mean over COARSE_DETAIL minus its mean over COARSE_WINDOW, relative to the latter,
# and its energy over COARSE_WINDOW, all weighted by the light. Where the plate's coarse
# detail has COARSE_VERIFY x the noise of a COARSE_DETAIL mean (std), light keeps it (it only
# scales the wall); an opaque cloth of the wall's shade hides it. Light is refused where the
# frame's coarse detail is flat (within COARSE_FLAT x that noise) and has lost more than
# COARSE_LOST of the plate's energy. The flatness keeps a wall whose own texture still shows
# from being refused where the plate held an edge of light that has moved (a sun patch's).
# Pixels of the frame within CLIP_TOLERANCE of the sensor's ceiling in any channel take no
# part: brighter light that clips a textured surface flattens it (sky between leaves).
COARSE_DETAIL = (5, 5)
COARSE_WINDOW = (31, 31)
COARSE_VERIFY = 3.0
COARSE_FLAT = 4.0
COARSE_LOST = 0.5
# Where the plate's coarse detail is verifiable, light whose coarse detail correlates with it
# at COARSE_NCC_MIN or more (in the same weights) shows the wall's own mottling under another
# light: ``settled``, except within a pixel of what the coarse test did not weigh (the
# person's outline beside it). A soft shadow on a painted wall, whose fine texture is under
# the noise, otherwise has nothing to hold it when it touches the person all along (the
# contact rule gives such light back to the person: a shirt of the wall's shade looks the
# same to the fine tests). A cloth of the wall's shade shows no mottling or its own: beside a
# shadow its correlation is about the square root of the share of its window the shadow
# fills, so only its pixels whose windows are half shadow or more can be settled (a strip
# along the shadow, never the cloth's middle). 0.7 was chosen before measuring
# (on a first version of the rule, tuning seeds 100-102: 0.6 and 0.8 moved the shadow cases
# by 0.0015 at most, and the lower bar cost shirts of the wall's shade a little more). The
# details are taken against each window's plane of light, over the picture only (see
# LightTests.settle).
COARSE_NCC_MIN = 0.7
# How far the settled test's planes depend on the light's weights: its wide window (15), the
# slope of the wide mean (1), and the energies' wide window again (15).
SETTLE_REACH = 2 * (COARSE_WINDOW[0] // 2) + 1
# An edge of light in the plate (a sun patch's or a lamp's blurred outline on the wall, the
# glow around a window): where the plate's luma is a ramp (its finest energy under RAMP_SHARE
# of its 9x9 detail's, plus PLATE_RAMP_NOISE of the luma's noise variance: a plate of 8
# frames keeps an eighth of it), its slope over 9x9 at least PLATE_RAMP_SLOPE of the level a
# pixel (a change of 9% across the window), the pixel itself on the slope (its 3x3 slope at
# least PLATE_RAMP_LOCAL of that: beside a blurred step, a window frame's, the 9x9 slope is
# high and the pixel flat), and its chromaticity kept (the energy of its 9x9 detail, times
# the level squared, within PLATE_RAMP_CHROMA^2 of the luma detail's plus PLATE_CHROMA_NOISE
# of the noise variance: light scales a surface, while beside a leaf or a picture the colour
# changes). Where the light moved off such an edge (the sun moved), the frame there is a
# darker ramp on a wall whose texture cannot tell: an open edge of light, like a brighter one
# (see LightTests._ramps), if it is no darker than the edge's dim side: the frame's ratio at
# least the plate's luma PLATE_EDGE_REACH pixels down the slope (the foot of a ramp up to
# twice as wide) over its own, less PLATE_EDGE_TOLERANCE. A backlit hand before a window's
# glow is darker than that (tree.avi: the least luma of a 17x17 window as the dim side took
# 488 pixels off the hand's outline over 13 frames, this 32).
PLATE_RAMP_SLOPE = 0.01
PLATE_RAMP_LOCAL = 0.3
PLATE_RAMP_CHROMA = 0.12
PLATE_RAMP_NOISE = 0.25
PLATE_CHROMA_NOISE = 0.05
PLATE_EDGE_REACH = 9.0
PLATE_EDGE_TOLERANCE = 0.05
# Where an edge of light moved: the plate's edges of light that form a long band of one
# direction are the outline of a sun patch, a lamp's pool or a window's glow (an occluder's
# edge is a smooth curve): a band at least MOVED_EDGE_WIDTH pixels across (a 3x3 opening
# keeps it), at least MOVED_EDGE_LENGTH of the picture's height long, whose gradients share
# one direction (the 9x9 structure tensor's coherence, MOVED_EDGE_COHERENCE on average). The
# ramp test also finds edges where nothing about light is known: thin, short halos beside
# sharp things (a picture's frame, a leaf) and a net of soft outlines in sunlit foliage
# (tree.avi: coherence 0.43-0.61; the synthetic rooms' sun patches and lamps 0.77-0.97).
# Within MOVED_EDGE_REACH pixels of such an edge, a ramp of the ratio is that edge moved (the
# sun moves a quarter of a degree a minute, a curtain sways), down to the deepest dim side of
# the long edges within reach: where a soft edge moved off, the wall darkens by up to the
# edge's own contrast, over a strip as wide as the move, mostly off the plate's edge itself.
# An open edge (see LightTests._ramps). Wallpaper's soft stripes of one hue look the same in
# one plate: a shirt of the wall's shade before them can lose a little more (docs/quality.md).
MOVED_EDGE_WIDTH = 3
MOVED_EDGE_LENGTH = 0.125
MOVED_EDGE_REACH = 8
MOVED_EDGE_COHERENCE = 0.75
# A JPEG (MJPEG) camera rounds each 8x8 block's coefficients afresh in every frame, and where a
# block holds a strong edge that the plate did not (the person's outline against the wall) the
# rounding rings across the block: the wall beside the person, up to 7 pixels from the
# outline, carries an error the plate's noise (measured on the still room) never showed, and
# a shadow's ratio there fails the fine texture test: the shadow beside the person stayed
# the person (`shadow_jpeg`: 25K of its 42K pixels failing that test lay within 8 pixels of
# the person, against 16K failing without JPEG). So with a JPEG camera (the plate's detected
# quality, see :mod:`bgcore.jpeg_noise`), the ratio's detail may also reach RINGING_ERROR x
# the frame's luma range over the pixel's (2 RINGING_REACH + 1)^2 window relative to the
# expected luma (as the score's EDGE_ERROR, proportional to the contrast). A block is 8 / f
# working pixels when the frame is halved to 1 / f: the reach shrinks with it (at least 1).
# Tuning seeds 100-102: 0.05 against 0.035 and 0.07, the reach 4 against 2 and 7 (7 cost
# `similar_jpeg` 0.004; a window aligned to the blocks gave the same as 4).
RINGING_ERROR = 0.05
RINGING_REACH = 4
# Light falls on areas: the texture tests run only when at least one DETAIL_MEAN window
# holds AREA_SHARE or more of candidates that kept their colour (a shadow's, a lamp's pool,
# a sun patch's: every light case of the quality tables has whole windows of them, and
# requiring a whole window changed no case's F1 by more than 0.0001 on the tuning seeds), or
# one of them lies on the plate's edges of light or within reach of a long one (where a sun
# patch's outline moved by a pixel or two, the change of light is a strip that thin).
# A person's clothes keep the colour of the lit wall only in specks where their pattern
# happens to match it (the benchmark's striped shirt: 0.54-0.73 of a window at most): then
# the costly texture tests, which would refuse those specks anyway, do not run at all.
AREA_SHARE = 0.8
# The filters reach 4 + 3 pixels (and the contact test and closing 1 more): regions of
# interest are widened by this much.
FILTER_REACH = 8

_LUMA = LUMA_BGR.reshape(1, 3)
_WEIGHT_MIN = 1e-3  # the texture windows' least weight sum (one weighted pixel: 255/81)
_MEAN3 = np.full((1, 3), 1.0 / 3.0, np.float32)
_SUM3 = np.ones((1, 3), np.float32)


def plate_edges_of_light(mean: F32, plate_luma: F32, plate_energy: F32, noise_var: F32) -> U8:
    """0/255: the plate's edges of light (see PLATE_RAMP_SLOPE), from its mean (HxWx3), its
    luma, the energy of the luma's 9x9 detail and the luma's noise variance (the finest
    energy of a ramp that noise may add). Once per plate: it allocates."""
    finest = cv2.subtract(plate_luma, cv2.blur(plate_luma, FINEST_DETAIL))
    finest_energy = cv2.blur(cv2.multiply(finest, finest), FINEST_DETAIL)
    level = cv2.max(plate_luma, 1.0)
    slope9 = cv2.divide(_slope(cv2.blur(plate_luma, DETAIL_MEAN)), level)
    slope3 = cv2.divide(_slope(plate_luma), level)
    total = cv2.max(cv2.transform(mean, _SUM3), 1.0)
    chroma = cv2.divide(mean, cv2.merge([total, total, total]))
    chroma_detail = cv2.subtract(chroma, cv2.blur(chroma, DETAIL_MEAN))
    chroma_energy = cv2.blur(cv2.transform(cv2.multiply(chroma_detail, chroma_detail), _SUM3), DETAIL_ENERGY)
    ramp_bar = cv2.addWeighted(plate_energy, RAMP_SHARE, noise_var, PLATE_RAMP_NOISE, 0.0)
    chroma_bar = cv2.addWeighted(plate_energy, PLATE_RAMP_CHROMA**2, noise_var, PLATE_CHROMA_NOISE, 0.0)
    edges = cv2.compare(finest_energy, ramp_bar, cv2.CMP_LT)
    cv2.bitwise_and(edges, cv2.compare(slope9, PLATE_RAMP_SLOPE, cv2.CMP_GT), dst=edges)
    cv2.bitwise_and(edges, cv2.compare(slope3, cv2.multiply(slope9, PLATE_RAMP_LOCAL), cv2.CMP_GT), dst=edges)
    relative = cv2.multiply(chroma_energy, cv2.multiply(level, level))
    cv2.bitwise_and(edges, cv2.compare(relative, chroma_bar, cv2.CMP_LT), dst=edges)
    return edges


def _dim_side(luma: F32) -> F32:
    """Per pixel: the luma (3x3 mean) PLATE_EDGE_REACH pixels down the slope of the 9x9 mean,
    at most its own, over its own, less PLATE_EDGE_TOLERANCE (see PLATE_RAMP_SLOPE). Once
    per plate: it allocates."""
    h, w = luma.shape
    mean = cv2.blur(luma, DETAIL_MEAN)
    dx = cv2.Sobel(mean, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(mean, cv2.CV_32F, 0, 1, ksize=3)
    step = cv2.divide(PLATE_EDGE_REACH, cv2.max(cv2.magnitude(dx, dy), 1e-6))
    map_x = cv2.subtract(np.tile(np.arange(w, dtype=np.float32), (h, 1)), cv2.multiply(dx, step))
    map_y = cv2.subtract(np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w)), cv2.multiply(dy, step))
    smooth = cv2.blur(luma, FINEST_DETAIL)
    below = cv2.remap(smooth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dim = cv2.min(below, luma)
    return cv2.divide(dim, cv2.max(luma, 1.0), scale=1.0 - PLATE_EDGE_TOLERANCE)


def _coherence(luma: F32) -> F32:
    """Per pixel: how much the luma's gradients over a 9x9 window share one direction (the
    structure tensor's coherence, 0 to 1). Once per plate: it allocates."""
    mean = cv2.blur(luma, FINEST_DETAIL)
    dx = cv2.Sobel(mean, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(mean, cv2.CV_32F, 0, 1, ksize=3)
    xx = cv2.blur(cv2.multiply(dx, dx), DETAIL_MEAN)
    yy = cv2.blur(cv2.multiply(dy, dy), DETAIL_MEAN)
    xy = cv2.blur(cv2.multiply(dx, dy), DETAIL_MEAN)
    spread = cv2.magnitude(cv2.subtract(xx, yy), cv2.multiply(xy, 2.0))
    return cv2.divide(spread, cv2.max(cv2.add(xx, yy), 1e-6))


def _moved_edges(edges: U8, dim_floor: F32, luma: F32) -> tuple[U8, F32]:
    """Where a ramp of the ratio is an edge of light that moved (255: ``edges``, and within
    MOVED_EDGE_REACH of their long ones), and the least ratio at which it is (``dim_floor``,
    the plate's dim side, there; near long edges, the deepest of theirs within reach): see
    MOVED_EDGE_WIDTH. Once per plate: it allocates."""
    width = cv2.getStructuringElement(cv2.MORPH_RECT, (MOVED_EDGE_WIDTH, MOVED_EDGE_WIDTH))
    wide = cv2.morphologyEx(edges, cv2.MORPH_OPEN, width)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(wide, connectivity=8)
    sides = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    area = np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    coherence = np.bincount(labels.ravel(), _coherence(luma).ravel(), count) / area  # (mean per part)
    long_ = (sides >= MOVED_EDGE_LENGTH * edges.shape[0]) & (coherence >= MOVED_EDGE_COHERENCE)
    long_[0] = False  # (the label of everything else)
    on_long = np.where(long_, 255, 0).astype(np.uint8)[labels]
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * MOVED_EDGE_REACH + 1,) * 2)
    near = cv2.dilate(on_long, reach)
    # near them, no darker than the deepest dim side of the long edges within reach (a
    # backlit hand before a window's glow is darker than that)
    deepest = cv2.erode(np.where(on_long > 0, dim_floor, np.inf).astype(np.float32), reach)
    floor = np.where(edges > 0, np.minimum(dim_floor, deepest), deepest).astype(np.float32)
    return cv2.bitwise_or(edges, near), floor


def _bounds(roi: Box, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``roi``'s (top, bottom, left, right) in a picture of ``shape``."""
    rows, columns = roi
    top, bottom, _ = rows.indices(shape[0])
    left, right, _ = columns.indices(shape[1])
    return top, bottom, left, right


def _slope(luma: F32) -> F32:
    """The gradient's magnitude, in levels a pixel (3x3 Sobel)."""
    dx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    dy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return cv2.magnitude(dx, dy)


_Scalar = TypeVar("_Scalar", bound=np.generic)


class _FirstUse(Generic[_Scalar]):
    """A :class:`LightTests` plane (HxW, or HxWx``channels``) allocated on first use, like a
    ``cached_property``: the first read puts it in the instance's ``__dict__``, which wins
    over this (non-data) descriptor from then on. For buffers only some frames' paths read
    (the OpenCV path's, which the compiled path never reads; a JPEG camera's)."""

    def __init__(self, dtype: type[_Scalar], channels: int = 1) -> None:
        self._dtype = dtype
        self._channels = channels
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, tests: LightTests, owner: type | None = None) -> npt.NDArray[_Scalar]:
        h, w = tests.ratio.shape
        shape = (h, w) if self._channels == 1 else (h, w, self._channels)
        plane: npt.NDArray[_Scalar] = np.empty(shape, self._dtype)
        tests.__dict__[self._name] = plane
        return plane


class LightTests:
    """The light tests at one working size, for one plate (``mean``, ``sigma`` HxWx3).

    Cleared by :meth:`reset` each frame, written by the tests, read by the later stages:
    ``lit`` (0/255: explained by light) and ``consistent`` (0/255: colour and texture as
    under light; 255 where not tested, which is what the light field reads there); by
    :meth:`explain` also ``coloured`` (0/255: candidates that kept their colour), ``smooth``
    (0/255: the ratio without detail at the finest scale, where the texture tests ran) and
    ``verified`` (0/255: passed where the wall's texture could tell), all 0 elsewhere; by
    :meth:`settle`, on the pixels asked about, ``settled`` (0/255: lit, and the wall's coarse
    texture showed through, see COARSE_NCC_MIN). ``ringing_reach`` > 0: the frames come from
    a JPEG camera, whose ringing reaches that many working pixels (see RINGING_ERROR).
    """

    def __init__(self, mean: F32, sigma: F32, ringing_reach: int = 0) -> None:
        h, w = mean.shape[:2]
        # (see RINGING_ERROR: 0 = not a JPEG camera, no allowance)
        self._ringing_window: npt.NDArray[np.uint8] | None = (
            cv2.getStructuringElement(cv2.MORPH_RECT, (2 * ringing_reach + 1, 2 * ringing_reach + 1))
            if ringing_reach > 0 else None
        )
        # the fine detail's allowance for JPEG ringing (0 without it; see _ringing)
        self._ringing_var: F32 = np.zeros((h, w), np.float32)
        self.lit: U8 = np.zeros((h, w), np.uint8)
        self.consistent: U8 = np.full((h, w), 255, np.uint8)
        self.coloured: U8 = np.zeros((h, w), np.uint8)
        self.smooth: U8 = np.zeros((h, w), np.uint8)
        self.ramp: U8 = np.zeros((h, w), np.uint8)
        self.open_edge: U8 = np.zeros((h, w), np.uint8)
        self._written: Box | None = None  # where explain's maps (coloured ... open_edge) may be non-zero
        self.frame_luma: F32 = np.empty((h, w), np.float32)
        self.expected_luma: F32 = np.empty((h, w), np.float32)  # at least 1
        self.ratio: F32 = np.empty((h, w), np.float32)  # frame_luma / expected_luma
        self.ratio_floor: F32 = np.empty((h, w), np.float32)  # max(ratio, RATIO_FLOOR)
        self.sigma = sigma
        self.sigma_luma: F32 = np.maximum(cv2.transform(sigma, _LUMA), SIGMA_LUMA_MIN).astype(np.float32)
        self._light_bar: F32 = (LIGHT_SIGMAS * self.sigma_luma).astype(np.float32)
        # nothing to verify anywhere (a flat plate): the correlation test always passes
        # the plate's luma (the texture tests' reference: the expected background is clipped
        # like the sensor, which would flatten bright texture that the plate still shows)
        plate_luma = cv2.transform(mean, _LUMA)
        self.plate_luma: F32 = plate_luma.astype(np.float32)
        plate_detail = plate_luma - cv2.blur(plate_luma, DETAIL_MEAN)
        plate_energy = cv2.blur(plate_detail * plate_detail, DETAIL_ENERGY)
        self.any_verifiable = bool((plate_energy > (TEXTURE_VERIFY * self.sigma_luma) ** 2).any())
        # the plate's edges of light (see PLATE_RAMP_SLOPE): an open edge where they moved off
        self.plate_edges: U8 = plate_edges_of_light(
            mean, self.plate_luma, plate_energy, np.square(self.sigma_luma)
        )
        # where a ramp may be an edge of light that moved, and the least ratio at which it is
        # (see PLATE_RAMP_SLOPE and MOVED_EDGE_WIDTH)
        self.moved_edges, self.moved_edge_floor = _moved_edges(
            self.plate_edges, _dim_side(self.plate_luma), self.plate_luma
        )
        # (moved_edges holds the plate's edges of light too: a thin strip of light there may
        # be one that moved, see AREA_SHARE)
        self._any_moved_edges = bool(cv2.countNonZero(self.moved_edges))
        self.verified: U8 = np.zeros((h, w), np.uint8)
        self.textured: U8 = np.zeros((h, w), np.uint8)  # the wall's texture verifiable, correlated
        self._eroded: U8 = np.empty((h, w), np.uint8)  # candidates that survive a 3x3 erosion
        self._weight9: F32 = np.empty((h, w), np.float32)  # their box means
        self._weight7: F32 = np.empty((h, w), np.float32)
        # (TEXTURE_VERIFY x luma sigma)^2: the least energy of detail that can be verified
        self._verify_var: F32 = np.square(TEXTURE_VERIFY * self.sigma_luma).astype(np.float32)
        self._ratio_mean: F32 = np.empty((h, w), np.float32)
        self._ratio_energy: F32 = np.empty((h, w), np.float32)
        self._energy_bar: F32 = np.empty((h, w), np.float32)
        self._frame_detail: F32 = np.empty((h, w), np.float32)
        self._plate_energy: F32 = np.empty((h, w), np.float32)
        self._positive: U8 = np.empty((h, w), np.uint8)
        self._passed: U8 = np.empty((h, w), np.uint8)
        self._edge: U8 = np.empty((h, w), np.uint8)  # the edge of light (see extend)
        self._edge_textured: U8 = np.empty((h, w), np.uint8)
        self._measurable: U8 | None = None  # where light may extend (explain sets it)
        # where this frame's coarse test ran (top, bottom, left, right; see settle)
        self._coarse_roi: tuple[int, int, int, int] | None = None
        self._coarse_bar: F32 = np.empty((h, w), np.float32)  # its verifiable bar there
        self._finest_mean: F32 = np.empty((h, w), np.float32)  # the ratio's 3x3 mean
        self._finest_energy: F32 = np.empty((h, w), np.float32)
        self._coarse: list[F32] = [np.empty((h, w), np.float32) for _ in range(7)]
        self._hidden: U8 = np.empty((h, w), np.uint8)  # the coarse test's failures
        self.settled: U8 = np.zeros((h, w), np.uint8)  # lit, the wall's coarse texture kept
        self._asked: U8 = np.empty((h, w), np.uint8)  # the pixels settle is asked about
        self._coarse_kept: U8 = np.empty((h, w), np.uint8)  # its scratch
        self._tested: U8 = np.empty((h, w), np.uint8)  # lit, measurable, below the ceiling

    # The OpenCV path's buffers, allocated on first use (the compiled path never needs them).
    def _f32(self, channels: int = 1) -> F32:
        shape = self.ratio.shape if channels == 1 else (*self.ratio.shape, channels)
        return np.empty(shape, np.float32)

    _weight = _FirstUse(np.float32)  # the texture windows' weights
    _plate_detail = _FirstUse(np.float32)
    _covariance = _FirstUse(np.float32)  # frame detail x expected detail
    _detail_energy = _FirstUse(np.float32)  # the frame's
    _correlation_bar = _FirstUse(np.float32)
    _covariance_sq = _FirstUse(np.float32)
    _verifiable = _FirstUse(np.uint8)
    _energy_mean = _FirstUse(np.float32)  # the ratio's detail energy
    _gone = _FirstUse(np.uint8)  # the plate's edges of light, gone
    _frame_f = _FirstUse(np.float32, 3)  # the frame in float32
    _luma_change = _FirstUse(np.float32)
    _changed = _FirstUse(np.uint8)
    _ratio3 = _FirstUse(np.float32, 3)
    _residual = _FirstUse(np.float32, 3)
    _tolerance = _FirstUse(np.float32, 3)
    _z_mean = _FirstUse(np.float32)
    # (a JPEG camera's: see _ringing)
    _ringing_low = _FirstUse(np.float32)

    @property
    def explained(self) -> bool:
        """Whether :meth:`explain` or :meth:`consistency` wrote their maps in this frame."""
        return self._written is not None

    def reset(self) -> None:
        """A new frame: nothing explained, everything consistent until tested."""
        self.lit.fill(0)
        self.consistent.fill(255)
        self._clear_maps()

    def _clear_maps(self) -> None:
        """The maps explain writes = 0 (it wrote them only within ``_written``)."""
        if self._written is not None:
            maps = (self.coloured, self.smooth, self.verified, self.textured, self.ramp, self.open_edge)
            for plane in maps:
                plane[self._written].fill(0)
            self._written = None

    def explain(
        self, frame: U8, background: ExpectedBackground, roi: Box, ratios: tuple[float, float],
        coarse_min: int = 0,
    ) -> U8:
        """``lit`` = 255 where light explains the pixel within ``roi``, its luma ratio within
        ``ratios`` (lowest, highest), else 0; ``consistent`` is written around the areas the
        tests ran on. ``frame`` is the frame (HxWx3 uint8). The coarse texture test runs only
        where the fine tests passed at least ``coarse_min`` pixels (the caller's smallest
        amount of light worth acting on); then :meth:`settle` may tell which of its pixels
        the wall's coarse texture settled."""
        self._coarse_roi = None
        expected = background.expected()
        self._clear_maps()
        self._candidates(frame, expected, roi, ratios)
        self._measurable = background.light_measurable if background.any_clipped_area else None
        for test in (self._colour, self._texture):
            around = self._around_areas(self.lit[roi], self._eroded[roi])
            if around is None:
                break
            roi = inside(roi, around)
            if test == self._texture and not self._any_area(roi):
                self.lit[roi].fill(0)
                break
            test(frame, expected, roi)
            cv2.bitwise_and(self.lit[roi], self.consistent[roi], dst=self.lit[roi])
            if test == self._colour:
                np.copyto(self.coloured[roi], self.lit[roi])
                self._written = roi
                self._ringing(roi)
            else:
                self._finest_and_ramps(roi)
                if cv2.countNonZero(self.lit[roi]) >= coarse_min:
                    self._coarse_texture(frame, background, roi)
        return self.lit

    def extend(self, roi: Box) -> U8:
        """``lit`` |= the edge of light (see EDGE_LIT_SHARE), in up to EDGE_STEPS steps (darker
        light in the first DARK_EDGE_STEPS), after :meth:`explain` (which it must follow in
        the same frame) and where it ran (``roi`` is the caller's box, for the record);
        returns ``lit``."""
        if self._written is None:
            return self.lit
        roi = self._written  # (where explain wrote the ratio_floor and coloured)
        for step in range(EDGE_STEPS):
            if not self._extend_step(roi, darker=step < DARK_EDGE_STEPS):
                break
        return self.lit

    def _extend_step(self, roi: Box, darker: bool = True) -> bool:
        """One step of :meth:`extend`; whether it added a pixel. The texture tests of the
        edge's pixels in windows weighted by the light beside them (not by the colour kept):
        the light's own detail, and its correlation with the plate's where that is
        verifiable; and the pixel's ratio within the same bar of the light's weighted mean.
        Without ``darker``, only brighter light extends."""
        lit, coloured = self.lit[roi], self.coloured[roi]
        edge = cv2.subtract(coloured, lit, dst=self._edge[roi])  # kept the colour, failed
        if self._measurable is not None:  # never onto clipped areas (see ExpectedBackground)
            cv2.bitwise_and(edge, self._measurable[roi], dst=edge)
        if not darker:  # (before the texture tests: they only narrow the edge)
            brighter = cv2.compare(self.ratio[roi], 1.0, cv2.CMP_GT, dst=self._positive[roi])
            cv2.bitwise_and(edge, brighter, dst=edge)
        if not cv2.countNonZero(edge):
            return False
        weight9 = cv2.blur(lit, DETAIL_MEAN, dst=self._passed[roi])  # (uint8: rounded)
        enough = cv2.compare(weight9, EDGE_LIT_SHARE * 255.0, cv2.CMP_GE, dst=weight9)
        cv2.bitwise_and(edge, enough, dst=edge)
        if not cv2.countNonZero(edge):
            return False
        textured = self._edge_textured[roi]
        self._texture_pass(self.lit, self._edge, self._edge_textured, roi)
        # the pixel's own ratio against the light's weighted mean around it (its own weight
        # is 0: the energy test saw only the light's)
        deviation = cv2.divide(self._ratio_mean[roi], self._weight9[roi], dst=self._frame_detail[roi])
        cv2.subtract(self.ratio[roi], deviation, dst=deviation)
        cv2.multiply(deviation, deviation, dst=deviation)
        fits = cv2.compare(deviation, self._texture_bar(roi), cv2.CMP_LT, dst=self._passed[roi])
        cv2.bitwise_and(edge, fits, dst=edge)
        # where the plate's texture cannot tell, only brighter light extends: anything dark
        # keeps the colour of a deep shadow (a backlit hand before a bright window)
        if darker:
            brighter = cv2.compare(self.ratio[roi], 1.0, cv2.CMP_GT, dst=self._positive[roi])
            cv2.bitwise_or(brighter, textured, dst=brighter)
            cv2.bitwise_and(edge, brighter, dst=edge)
        cv2.bitwise_or(lit, edge, dst=lit)
        return cv2.countNonZero(edge) > 0

    def consistency(self, frame: U8, background: ExpectedBackground, roi: Box) -> U8:
        """``consistent`` = 255 within ``roi`` where the frame is the expected background under
        another light (colour and texture kept), else 0 (for the light field)."""
        expected = background.expected()
        self._clear_maps()
        self._luma_ratio(frame, expected, roi)
        self._colour(frame, expected, roi)
        self._ringing(roi)
        self._texture(frame, expected, roi)
        self._written = roi  # (verified)
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

    def _any_area(self, roi: Box) -> bool:
        """Whether a DETAIL_MEAN window within ``roi`` holds at least AREA_SHARE of ``lit``,
        or ``lit`` touches the plate's edges of light there (see AREA_SHARE)."""
        if self._any_moved_edges:
            on_edges = cv2.bitwise_and(self.lit[roi], self.moved_edges[roi], dst=self._passed[roi])
            if cv2.countNonZero(on_edges):
                return True
        share = cv2.blur(self.lit[roi], DETAIL_MEAN, dst=self._passed[roi])  # (uint8: rounded)
        return bool(cv2.minMaxLoc(share)[1] >= AREA_SHARE * 255.0)

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

    @cached_property
    def _box_rows(self) -> npt.NDArray[np.float64]:  # the compiled 3x3 box means' scratch
        h, w = self.ratio.shape
        return np.empty((h + FINEST_DETAIL[0] - 1, w), np.float64)

    @cached_property
    def _box_ext(self) -> npt.NDArray[np.float64]:
        return np.empty(self.ratio.shape[1] + FINEST_DETAIL[1] - 1, np.float64)

    def _finest_and_ramps(self, roi: Box) -> None:
        """:meth:`_finest` then :meth:`_ramps` (one compiled pass where the kernels run: the
        same operations, the same masks)."""
        if kernels.finest_ramps(
            self.ratio, self.ratio_floor, self.sigma_luma, self.expected_luma, self._ratio_energy,
            self._weight7, self.textured, self.moved_edge_floor, self.moved_edges, self._measurable,
            TEXTURE_NOISE, TEXTURE_FLOOR, RAMP_SHARE, self._ringing_var, smooth=self.smooth, ramp=self.ramp,
            open_edge=self.open_edge, squares=self._finest_mean, finest_energy=self._finest_energy,
            rows=self._box_rows, ext=self._box_ext, box=roi,
        ):
            return
        self._finest(roi)
        self._ramps(roi)

    def _finest(self, roi: Box) -> None:
        """smooth = 255 within ``roi`` where the ratio's detail at the finest scale (minus its
        3x3 mean, energy over 3x3) is below the fine detail's bar; ratio_floor must hold
        max(r, RATIO_FLOOR) there (see :meth:`_colour`)."""
        r = self.ratio[roi]
        energy = cv2.blur(r, FINEST_DETAIL, dst=self._finest_mean[roi])
        cv2.subtract(r, energy, dst=energy)
        cv2.multiply(energy, energy, dst=energy)
        cv2.blur(energy, FINEST_DETAIL, dst=self._finest_energy[roi])
        cv2.compare(self._finest_energy[roi], self._texture_bar(roi), cv2.CMP_LT, dst=self.smooth[roi])

    def _ramps(self, roi: Box) -> None:
        """ramp = 255 within ``roi`` where the ratio is smooth and a ramp (see RAMP_SHARE);
        open_edge = 255 where a ramp is also brighter light, or the wall's texture shows
        through it (verifiable and correlated), or the plate held an edge of light there and
        the frame is no darker than its dim side (the light moved off it: see
        PLATE_RAMP_SLOPE), or it lies near a long edge of light (that edge moved: see
        MOVED_EDGE_WIDTH), and the plate is not clipped there: such an edge of light is as
        good as the clear background to the contact rule. Anything else dark keeps the
        colour of a deep shadow, and a hand moving before a bright window has a blurred
        outline. After :meth:`_finest` and the texture pass (their planes)."""
        share = cv2.divide(
            self._ratio_energy[roi], self._weight7[roi], dst=self._energy_mean[roi], scale=RAMP_SHARE
        )
        ramp = cv2.compare(self._finest_energy[roi], share, cv2.CMP_LT, dst=self.ramp[roi])
        cv2.bitwise_and(ramp, self.smooth[roi], dst=ramp)
        open_edge = cv2.compare(self.ratio[roi], 1.0, cv2.CMP_GT, dst=self.open_edge[roi])
        cv2.bitwise_or(open_edge, self.textured[roi], dst=open_edge)
        # the plate's edges of light where the frame is no darker than their dim side, and
        # near their long edges: the light moved off them
        gone = cv2.compare(self.ratio[roi], self.moved_edge_floor[roi], cv2.CMP_GE, dst=self._gone[roi])
        cv2.bitwise_and(gone, self.moved_edges[roi], dst=gone)
        cv2.bitwise_or(open_edge, gone, dst=open_edge)
        cv2.bitwise_and(open_edge, ramp, dst=open_edge)
        if self._measurable is not None:
            cv2.bitwise_and(open_edge, self._measurable[roi], dst=open_edge)

    def _coarse_texture(self, frame: U8, background: ExpectedBackground, roi: Box) -> None:
        """lit (and coloured, consistent) = 0 within ``roi`` where the wall's coarse texture
        was hidden (see COARSE_VERIFY): such a pixel kept the colour and the fine texture of
        light, but it is an opaque cloth of the wall's shade. Its weights and verifiable bar
        stay for :meth:`settle`. After the fine tests (lit holds what they passed; ``frame``
        is the frame, HxWx3 uint8)."""
        lit = self.lit[roi]
        if not cv2.countNonZero(lit):
            return
        weight, sum_detail, sum_window, frame_mean, plate_mean, frame_d, plate_d = (
            plane[roi] for plane in self._coarse
        )
        hidden = self._hidden[roi]
        # clipped pixels show no texture under any light: the plate's, and the frame's
        highest = tuple(max(0.0, c - CLIP_TOLERANCE) for c in background.ceiling[:3])
        tested = cv2.inRange(frame[roi], (0.0, 0.0, 0.0), highest, dst=self._tested[roi])
        cv2.bitwise_and(tested, lit, dst=tested)
        if self._measurable is not None:
            cv2.bitwise_and(tested, self._measurable[roi], dst=tested)
        cv2.multiply(tested, 1.0 / 255.0, dst=weight, dtype=cv2.CV_32F)
        cv2.blur(weight, COARSE_DETAIL, dst=sum_detail)
        cv2.max(sum_detail, _WEIGHT_MIN, dst=sum_detail)
        cv2.blur(weight, COARSE_WINDOW, dst=sum_window)
        cv2.max(sum_window, _WEIGHT_MIN, dst=sum_window)
        # each luma's coarse detail (the mean over the detail's window minus the mean over the
        # wide one, in the light's weights) relative to the wide mean
        for luma, mean, detail in (
            (self.frame_luma[roi], frame_mean, frame_d), (self.plate_luma[roi], plate_mean, plate_d)
        ):
            cv2.multiply(luma, weight, dst=detail)
            cv2.blur(detail, COARSE_WINDOW, dst=mean)
            cv2.divide(mean, sum_window, dst=mean)
            cv2.max(mean, 1.0, dst=mean)
            cv2.blur(detail, COARSE_DETAIL, dst=detail)
            cv2.divide(detail, sum_detail, dst=detail)
            cv2.subtract(detail, mean, dst=detail)
            cv2.divide(detail, mean, dst=detail)
            # its energy over the wide window, in the same weights
            cv2.multiply(detail, detail, dst=detail)
            cv2.multiply(detail, weight, dst=detail)
            cv2.blur(detail, COARSE_WINDOW, dst=detail)
            cv2.divide(detail, sum_window, dst=detail)
        # the noise of a detail window's mean, relative to each mean: sigma / mean / side
        # (the plate's bar in its own plane: settle reads it later in the frame)
        bar = self._coarse_bar[roi]
        cv2.divide(self.sigma_luma[roi], plate_mean, dst=bar, scale=1.0 / COARSE_DETAIL[0])
        cv2.multiply(bar, bar, dst=bar)
        cv2.multiply(bar, COARSE_VERIFY**2, dst=bar)
        verifiable = cv2.compare(plate_d, bar, cv2.CMP_GT, dst=hidden)
        self._coarse_roi = _bounds(roi, self.lit.shape)
        noise = cv2.divide(self.sigma_luma[roi], frame_mean, dst=sum_detail, scale=1.0 / COARSE_DETAIL[0])
        cv2.multiply(noise, noise, dst=noise, scale=COARSE_FLAT**2)
        flat = cv2.compare(frame_d, noise, cv2.CMP_LT, dst=self._passed[roi])
        cv2.bitwise_and(verifiable, flat, dst=hidden)
        cv2.multiply(plate_d, COARSE_LOST, dst=plate_d)
        lost = cv2.compare(frame_d, plate_d, cv2.CMP_LT, dst=self._passed[roi])
        cv2.bitwise_and(hidden, lost, dst=hidden)
        cv2.bitwise_and(hidden, tested, dst=hidden)
        if cv2.countNonZero(hidden):
            for plane in (self.lit, self.coloured, self.consistent, self.verified, self.textured):
                cv2.subtract(plane[roi], hidden, dst=plane[roi])

    @cached_property
    def _settle_planes(self) -> tuple[F32, ...]:  # :meth:`settle`'s (allocated on first use)
        return tuple(self._f32() for _ in range(10))

    @cached_property
    def _columns_rows(self) -> tuple[F32, F32]:  # each pixel's x and y
        h, w = self.ratio.shape
        return (
            np.tile(np.arange(w, dtype=np.float32), (h, 1)),
            np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w)),
        )

    def settle(self, where: U8, roi: Box) -> U8:
        """``settled`` within ``roi`` = 255 on the pixels of ``where`` (0/255, ``roi``-sized)
        that the last :meth:`explain` left lit, where the frame's coarse detail follows the
        plate's (see COARSE_NCC_MIN) in the coarse test's weights (what it tested, 0 or 1),
        where the plate's is over that test's verifiable bar, and not within a pixel of the
        edge of what it weighed; 0 elsewhere on ``where``, and unspecified off it. Returns
        ``settled[roi]``. Computed on demand, on the box of those pixels widened by
        SETTLE_REACH (the windows' reach: there it is what the whole picture would give),
        since the contact rule asks only about the light it would give to the person.

        Here the windows count only the picture (not the border's reflection), and each
        detail is taken against the wide window's plane of light, not its mean: where the
        window's weights lie to one side (beside the person, at the picture's edge), the mean
        of a ramp of light (the room's light and the lens's vignetting, which every surface
        shares, the person's too) is off the pixel by the weights' centroid, and two ramps
        would correlate like textures. (Measured first without this on fresh seeds: a grey
        shirt over a grey cabinet, at the picture's bottom edge, was settled in 16 frames of
        30: `clean` 1103, 0.9958 -> 0.9907.)"""
        out = self.settled[roi]
        out.fill(0)
        coarse = self._coarse_roi
        if coarse is None:  # (no coarse test in this frame: nothing verifiable)
            return out
        # the pixels asked about that the coarse test weighed and left lit, within its box
        # (its planes hold older frames' values off it)
        top, bottom, left, right = _bounds(roi, self.lit.shape)
        c_top, c_bottom, c_left, c_right = coarse
        r0, r1, c0, c1 = max(top, c_top), min(bottom, c_bottom), max(left, c_left), min(right, c_right)
        if r1 <= r0 or c1 <= c0:
            return out
        both = (slice(r0, r1), slice(c0, c1))
        asked = self._asked[both]
        cv2.bitwise_and(where[r0 - top : r1 - top, c0 - left : c1 - left], self._tested[both], dst=asked)
        cv2.bitwise_and(asked, self.lit[both], dst=asked)  # (not what the coarse test hid)
        x, y, w, h = cv2.boundingRect(asked)
        if w == 0:
            return out
        reach = SETTLE_REACH
        rows = slice(max(r0 + y - reach, c_top), min(r0 + y + h + reach, c_bottom))
        self._settle_box((rows, slice(max(c0 + x - reach, c_left), min(c0 + x + w + reach, c_right))))
        inner = self.settled[r0 + y : r0 + y + h, c0 + x : c0 + x + w]
        cv2.bitwise_and(inner, asked[y : y + h, x : x + w], dst=inner)
        return out

    def _settle_box(self, roi: Box) -> None:
        """:meth:`settle`'s test on ``roi`` (within the coarse test's box), into ``settled``."""
        tested, verify_bar = self._tested[roi], self._coarse_bar[roi]
        edge = cv2.BORDER_CONSTANT
        weight = self._coarse[0][roi]  # (the coarse test's: tested as 0 or 1)
        near, wide, shift_x, shift_y, product, near_mean, wide_mean, slope, frame_d, plate_d = (
            plane[roi] for plane in self._settle_planes
        )
        cv2.blur(weight, COARSE_DETAIL, dst=near, borderType=edge)
        cv2.max(near, _WEIGHT_MIN, dst=near)
        cv2.blur(weight, COARSE_WINDOW, dst=wide, borderType=edge)
        cv2.max(wide, _WEIGHT_MIN, dst=wide)
        # the near window's centroid of weight against the wide one's, per axis
        for coordinate, shift in zip(self._columns_rows, (shift_x, shift_y), strict=True):
            cv2.multiply(coordinate[roi], weight, dst=product)
            cv2.blur(product, COARSE_DETAIL, dst=near_mean, borderType=edge)
            cv2.divide(near_mean, near, dst=near_mean)
            cv2.blur(product, COARSE_WINDOW, dst=wide_mean, borderType=edge)
            cv2.divide(wide_mean, wide, dst=wide_mean)
            cv2.subtract(near_mean, wide_mean, dst=shift)
        # each luma's near mean against the wide window's plane (its mean, moved along the
        # wide mean's slope to the near window's centroid), relative to the wide mean
        for luma, detail in ((self.frame_luma[roi], frame_d), (self.plate_luma[roi], plate_d)):
            cv2.multiply(luma, weight, dst=product)
            cv2.blur(product, COARSE_WINDOW, dst=wide_mean, borderType=edge)
            cv2.divide(wide_mean, wide, dst=wide_mean)
            cv2.max(wide_mean, 1.0, dst=wide_mean)
            cv2.blur(product, COARSE_DETAIL, dst=near_mean, borderType=edge)
            cv2.divide(near_mean, near, dst=near_mean)
            cv2.subtract(near_mean, wide_mean, dst=detail)
            for axis, shift in ((0, shift_x), (1, shift_y)):
                cv2.Sobel(wide_mean, cv2.CV_32F, 1 - axis, axis, dst=slope, ksize=3, scale=0.125)
                cv2.multiply(slope, shift, dst=slope)
                cv2.subtract(detail, slope, dst=detail)
            cv2.divide(detail, wide_mean, dst=detail)
        # their covariance and energies over the wide window, in the same weights
        covariance, frame_energy, plate_energy = near_mean, wide_mean, slope
        for a, b, out in (
            (frame_d, plate_d, covariance), (frame_d, frame_d, frame_energy), (plate_d, plate_d, plate_energy)
        ):
            cv2.multiply(a, b, dst=out)
            cv2.multiply(out, weight, dst=out)
            cv2.blur(out, COARSE_WINDOW, dst=out, borderType=edge)
            cv2.divide(out, wide, dst=out)
        settled = self.settled[roi]
        cv2.compare(covariance, 0.0, cv2.CMP_GT, dst=settled)
        cv2.multiply(covariance, covariance, dst=covariance)
        cv2.multiply(frame_energy, plate_energy, dst=frame_energy, scale=COARSE_NCC_MIN**2)
        passed = self._coarse_kept[roi]
        cv2.bitwise_and(settled, cv2.compare(covariance, frame_energy, cv2.CMP_GT, dst=passed), dst=settled)
        cv2.bitwise_and(settled, cv2.compare(plate_energy, verify_bar, cv2.CMP_GT, dst=passed), dst=settled)
        # (not on the edge of what was weighed: the person's outline pixels that kept the
        # colour of light share their windows with the light beside them)
        cv2.bitwise_and(settled, cv2.erode(tested, RECT3, dst=passed), dst=settled)

    def _ringing(self, roi: Box) -> None:
        """With a JPEG camera, the fine detail's allowance for its ringing within ``roi``
        (see RINGING_ERROR): (RINGING_ERROR x the frame's luma range over the window /
        the expected luma)^2; the lumas must be there. Nothing otherwise (the plane stays 0)."""
        window = self._ringing_window
        if window is None:
            return
        y_f, allowance = self.frame_luma[roi], self._ringing_var[roi]
        low = cv2.erode(y_f, window, dst=self._ringing_low[roi])
        cv2.dilate(y_f, window, dst=allowance)
        cv2.subtract(allowance, low, dst=allowance)
        cv2.divide(allowance, self.expected_luma[roi], dst=allowance, scale=RINGING_ERROR)
        cv2.multiply(allowance, allowance, dst=allowance)

    def _texture_bar(self, roi: Box) -> F32:
        """The fine detail's bar within ``roi``: (TEXTURE_NOISE x max(r, RATIO_FLOOR) x luma
        sigma / luma + TEXTURE_FLOOR)^2, plus a JPEG camera's ringing allowance (in a buffer
        the next call overwrites; ratio_floor must hold max(r, RATIO_FLOOR) there)."""
        bar = cv2.multiply(self.ratio_floor[roi], self.sigma_luma[roi], dst=self._energy_bar[roi])
        cv2.divide(bar, self.expected_luma[roi], dst=bar, scale=TEXTURE_NOISE)
        cv2.add(bar, TEXTURE_FLOOR, dst=bar)
        cv2.multiply(bar, bar, dst=bar)
        return cv2.add(bar, self._ringing_var[roi], dst=bar)

    def _texture(self, frame: U8, expected: F32, roi: Box) -> None:
        """consistent &= the fine texture behaves as under light, within ``roi``, each window
        weighted by the pixels that kept their colour (consistent on entry): the person's
        pixels beside a shadow tell nothing of the light on the wall, and a window that
        straddles them would fail the shadow's edge. ``verified`` = 255 where the expected
        background's detail (in the same weights) was verifiable and the pixel passed, else
        0. ratio_floor must hold max(r, RATIO_FLOOR) there (see :meth:`_colour`). First,
        the pooled colour test (see POOLED_COLOUR) narrows consistent."""
        self._pooled_colour(frame, expected, roi)
        self._texture_pass(self.consistent, self.consistent, self.textured, roi)
        cv2.bitwise_and(self.textured[roi], self.consistent[roi], dst=self.verified[roi])

    @property
    def _pooled(self) -> tuple[F32, F32]:
        """The pooled colour test's sums (residual x w per channel, and w) and their box
        means, interleaved by four (one box filter for all four): the texture pass's 9x9
        buffers, free until that pass (which runs after the test) writes them."""
        sums9, means9, _, _ = self._texture_sums
        return sums9, means9

    def _pooled_colour(self, frame: U8, expected: F32, roi: Box) -> None:
        """consistent = 0 within ``roi`` where a pixel that kept its colour fails the pooled
        colour test (see POOLED_COLOUR); ratio_floor must hold max(r, RATIO_FLOOR) there."""
        consistent = self.consistent
        if not cv2.countNonZero(consistent[roi]):
            return
        sums, means = self._pooled
        area = float(POOLED_COLOUR[0] * POOLED_COLOUR[1])
        if kernels.pooled_colour_sums(frame, expected, self.ratio, consistent, sums=sums, box=roi):
            cv2.blur(sums[roi], POOLED_COLOUR, dst=means[roi])
            if kernels.pooled_colour_test(
                means, expected, self.sigma, self.ratio_floor, area, COLOUR_Z_LIMIT, TONE_TOLERANCE,
                LEVEL_TOLERANCE, consistent=consistent, box=roi,
            ):
                return
        self._pooled_colour_opencv(frame, expected, roi, area)

    @cached_property
    def _pooled_planes(self) -> tuple[F32, F32, F32, F32]:  # the OpenCV path's scratch
        return self._f32(), self._f32(), self._f32(3), self._f32(3)

    def _pooled_colour_opencv(self, frame: U8, expected: F32, roi: Box, area: float) -> None:
        """:meth:`_pooled_colour` in OpenCV passes (the kernels' operations, in order)."""
        sums, means = (plane[roi] for plane in self._pooled)
        n, root, mean3, tolerance = (plane[roi] for plane in self._pooled_planes)
        e, r = expected[roi], self.ratio[roi]
        f = self._frame_f[roi]
        np.copyto(f, frame[roi], casting="unsafe")
        r3 = cv2.cvtColor(r, cv2.COLOR_GRAY2BGR, dst=self._ratio3[roi])
        residual = cv2.multiply(e, r3, dst=self._residual[roi])
        cv2.subtract(f, residual, dst=residual)
        weight = cv2.compare(self.consistent[roi], 0, cv2.CMP_NE, dst=self._passed[roi])
        w = cv2.multiply(weight, 1.0 / 255.0, dst=n, dtype=cv2.CV_32F)  # 0 or 1
        cv2.multiply(residual, cv2.cvtColor(w, cv2.COLOR_GRAY2BGR, dst=mean3), dst=residual)
        cv2.merge([residual, w], dst=sums)
        cv2.blur(sums, POOLED_COLOUR, dst=means)
        cv2.mixChannels([means], [n], [3, 0])
        cv2.multiply(n, area, dst=n)
        cv2.max(n, 1.0, dst=n)
        cv2.sqrt(n, dst=root)
        cv2.mixChannels([means], [mean3], [0, 0, 1, 1, 2, 2])
        cv2.multiply(mean3, area, dst=mean3)
        cv2.divide(mean3, cv2.cvtColor(n, cv2.COLOR_GRAY2BGR, dst=tolerance), dst=mean3)
        rf = cv2.cvtColor(self.ratio_floor[roi], cv2.COLOR_GRAY2BGR, dst=tolerance)
        cv2.multiply(self.sigma[roi], rf, dst=tolerance)
        cv2.divide(tolerance, cv2.cvtColor(root, cv2.COLOR_GRAY2BGR, dst=residual), dst=tolerance)
        cv2.addWeighted(tolerance, 1.0, e, TONE_TOLERANCE, LEVEL_TOLERANCE, dst=tolerance)
        z = cv2.divide(mean3, tolerance, dst=mean3)
        cv2.multiply(z, z, dst=z)
        cv2.transform(z, _MEAN3, dst=self._z_mean[roi][..., None])
        passed = cv2.compare(self._z_mean[roi], COLOUR_Z_LIMIT, cv2.CMP_LT, dst=self._passed[roi])
        cv2.bitwise_and(self.consistent[roi], passed, dst=self.consistent[roi])

    def _texture_pass(self, weights: U8, consistent: U8, textured: U8, roi: Box) -> None:
        """The texture tests within ``roi``, each window weighted by ``weights`` (0/255):
        ``consistent`` &= the ratio's detail within the bar and, where the plate's detail
        (in the same weights) is verifiable, the frame's correlated with it; ``textured`` =
        255 where it is verifiable and correlated, else 0 (all frame-sized).

        The weights are 0 or 255: every weighted mean divides by their sum over the same
        window, so the scale cancels (a window without weight gives 0, not NaN: it passes,
        but its pixel did not keep its colour anyway). The weighted planes stay in the
        buffers until the next pass (``_ratio_mean``: the ratio's 9x9 weighted sum,
        ``_weight9``: the weights')."""
        if self._texture_pass_compiled(weights, consistent, textured, roi):
            return
        y_f, r = self.frame_luma[roi], self.ratio[roi]
        detail = self.any_verifiable
        weight, weight9, weight7 = self._weight[roi], self._weight9[roi], self._weight7[roi]
        ratio_w, frame_w = self._ratio_mean[roi], self._frame_detail[roi]
        plate_w = self._plate_detail[roi]
        energy_w, covariance = self._ratio_energy[roi], self._covariance[roi]
        frame_energy, plate_energy = self._detail_energy[roi], self._plate_energy[roi]
        np.copyto(weight, weights[roi], casting="unsafe")
        cv2.multiply(r, weight, dst=ratio_w)
        if detail:
            cv2.multiply(y_f, weight, dst=frame_w)
            cv2.multiply(self.plate_luma[roi], weight, dst=plate_w)
        # the weighted means over 9x9
        for plane in (weight, ratio_w, frame_w, plate_w) if detail else (weight, ratio_w):
            cv2.blur(plane, DETAIL_MEAN, dst=weight9 if plane is weight else plane)
        cv2.max(weight9, _WEIGHT_MIN, dst=weight9)
        cv2.blur(weight, DETAIL_ENERGY, dst=weight7)
        cv2.max(weight7, _WEIGHT_MIN, dst=weight7)
        # the ratio's fine detail (minus its weighted mean), the lumas' (each minus its own),
        # their weighted energies and covariance
        self._texture_detail_opencv(r, y_f, self.plate_luma[roi], weight, weight9, detail, roi)
        outputs = (energy_w, covariance, frame_energy, plate_energy) if detail else (energy_w,)
        for plane in outputs:  # the weighted means over 7x7
            cv2.blur(plane, DETAIL_ENERGY, dst=plane)
        # the tests: the ratio's detail within what noise makes; where the expected background
        # has detail well above the noise, light only scales it, so the frame's detail must
        # correlate with it (a cloth of the wall's colour in front of a faintly textured wall
        # does not, and its ratio to the wall is too faint for the energy test)
        self._texture_tests_opencv(roi, detail, consistent[roi], textured[roi])

    @cached_property
    def _texture_sums(self) -> tuple[F32, F32, F32, F32]:
        """The compiled pass's weighted planes and their means, interleaved by four (HxWx4:
        OpenCV's box filter runs four channels at once in 0.45x the time of four planes, the
        same bits): the 9x9 sums' input and means, the 7x7's. The first two are also the
        pooled colour test's (see :attr:`_pooled`)."""
        shape = (*self.ratio.shape, 4)
        return tuple(np.empty(shape, np.float32) for _ in range(4))  # type: ignore[return-value]

    def _texture_pass_compiled(self, weights: U8, consistent: U8, textured: U8, roi: Box) -> bool:
        """:meth:`_texture_pass` with the compiled kernels (the same operations, the same
        bits; ``_weight9``, ``_ratio_mean``, ``_weight7`` and ``_ratio_energy`` written as by
        the OpenCV passes); False (and then nothing of the tests written) where they do not
        run."""
        detail = self.any_verifiable
        sums9, means9, sums7, means7 = self._texture_sums
        if not kernels.texture_weights(
            weights, self.ratio, self.frame_luma, self.plate_luma, detail=detail, sums9=sums9, box=roi
        ):
            return False
        cv2.blur(sums9[roi], DETAIL_MEAN, dst=means9[roi])
        if not kernels.texture_detail(
            self.ratio, self.frame_luma, self.plate_luma, sums9, means9, _WEIGHT_MIN, detail=detail,
            weight9=self._weight9, ratio_mean=self._ratio_mean, sums7=sums7,
            plate_energy_w=self._plate_energy, box=roi,
        ):
            return False
        cv2.blur(sums7[roi], DETAIL_ENERGY, dst=means7[roi])
        if detail:
            cv2.blur(self._plate_energy[roi], DETAIL_ENERGY, dst=self._plate_energy[roi])
        return kernels.texture_tests(
            means7, _WEIGHT_MIN, self.ratio_floor, self.sigma_luma, self.expected_luma, TEXTURE_NOISE,
            TEXTURE_FLOOR, self._ringing_var, detail=detail, plate_energy=self._plate_energy,
            verify_var=self._verify_var, ncc2=TEXTURE_NCC_MIN**2, weight7=self._weight7,
            ratio_energy=self._ratio_energy, consistent=consistent, textured=textured, box=roi,
        )

    def _texture_detail_opencv(
        self, r: F32, y_f: F32, y_p: F32, weight: F32, weight9: F32, detail: bool, roi: Box
    ) -> None:
        """The texture tests' middle in OpenCV passes (:func:`.kernels.texture_detail`'s
        operations, in order)."""
        energy = cv2.divide(self._ratio_mean[roi], weight9, dst=self._ratio_energy[roi])
        cv2.subtract(r, energy, dst=energy)
        cv2.multiply(energy, energy, dst=energy)
        cv2.multiply(energy, weight, dst=energy)
        if not detail:
            return
        fd = cv2.divide(self._frame_detail[roi], weight9, dst=self._frame_detail[roi])
        cv2.subtract(y_f, fd, dst=fd)
        pd = cv2.divide(self._plate_detail[roi], weight9, dst=self._plate_detail[roi])
        cv2.subtract(y_p, pd, dst=pd)
        for a, b, out in (
            (fd, pd, self._covariance[roi]), (fd, fd, self._detail_energy[roi]),
            (pd, pd, self._plate_energy[roi]),
        ):
            cv2.multiply(a, b, dst=out)
            cv2.multiply(out, weight, dst=out)

    def _texture_tests_opencv(self, roi: Box, detail: bool, consistent: U8, textured: U8) -> None:
        """:func:`.kernels.texture_tests` in OpenCV passes (the same operations, in order),
        on ``consistent`` and ``textured`` within ``roi``."""
        passed, weight7 = self._passed[roi], self._weight7[roi]
        energy = cv2.divide(self._ratio_energy[roi], weight7, dst=self._energy_mean[roi])
        cv2.compare(energy, self._texture_bar(roi), cv2.CMP_LT, dst=passed)
        cv2.bitwise_and(consistent, passed, dst=consistent)
        if not detail:
            textured.fill(0)
            return
        covariance, plate_energy = self._covariance[roi], self._plate_energy[roi]
        verify_bar = cv2.multiply(self._verify_var[roi], weight7, dst=self._energy_bar[roi])
        verifiable = cv2.compare(plate_energy, verify_bar, cv2.CMP_GT, dst=self._verifiable[roi])
        correlation_bar = cv2.multiply(
            self._detail_energy[roi], plate_energy, dst=self._correlation_bar[roi],
            scale=TEXTURE_NCC_MIN**2,
        )
        covariance_sq = cv2.multiply(covariance, covariance, dst=self._covariance_sq[roi])
        correlated = cv2.compare(covariance_sq, correlation_bar, cv2.CMP_GT, dst=textured)
        positive = cv2.compare(covariance, 0.0, cv2.CMP_GT, dst=self._positive[roi])
        cv2.bitwise_and(correlated, positive, dst=correlated)  # correlation > NCC_MIN
        cv2.bitwise_not(verifiable, dst=passed)
        cv2.bitwise_or(passed, correlated, dst=passed)
        cv2.bitwise_and(consistent, passed, dst=consistent)
        cv2.bitwise_and(correlated, verifiable, dst=textured)
