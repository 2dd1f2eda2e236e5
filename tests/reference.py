"""Plain references for the mask engine's stages (bgcore.engine): the same physics written the
obvious way (float64 numpy, labelling, one pass per idea, new arrays every call), slow and
easy to check by eye. The tests hold each stage to its reference. Constants come from the
stage modules, where each is named once.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from bgcore.engine.band import BAND_SEED_MIN, BAND_SEED_SHARE, BAND_STEPS
from bgcore.engine.expected import CLIP_TOLERANCE
from bgcore.engine.light import (
    COARSE_DETAIL,
    COARSE_FLAT,
    COARSE_LOST,
    COARSE_VERIFY,
    COARSE_WINDOW,
    DETAIL_ENERGY,
    DETAIL_MEAN,
    LEVEL_TOLERANCE,
    LIGHT_SIGMAS,
    LUMA_BGR,
    RATIO_FLOOR,
    SIGMA_LUMA_MIN,
    TEXTURE_FLOOR,
    TEXTURE_NCC_MIN,
    TEXTURE_NOISE,
    TEXTURE_VERIFY,
    TONE_TOLERANCE,
)
from bgcore.engine.regions import (
    LAST_SHARE,
    LIGHT_CONTACT_MIN,
    LIGHT_CONTACT_MIN_HELD,
    LIGHT_CONTACT_MIN_NEW,
    SUSPICIOUS_SHARE,
)
from bgcore.engine.score import EDGE_ERROR, NOISE_RANGE

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]
Image = npt.NDArray[np.generic]

_RECT3 = np.ones((3, 3), np.uint8)
_RECT5 = np.ones((5, 5), np.uint8)


def noise_score(frame: Image, expected: Image, sigma: Image) -> F64:
    """The auto score: per channel, the distance of ``frame`` outside the 3x3 range of
    ``expected``, squared, over sigma^2 + (EDGE_ERROR x the frame's 5x5 range less
    NOISE_RANGE sigma)^2; averaged over the channels."""
    f = np.asarray(frame, np.float64)
    e = np.asarray(expected, np.float32)
    lo = cv2.erode(e, _RECT3).astype(np.float64)
    hi = cv2.dilate(e, _RECT3).astype(np.float64)
    distance = np.maximum(0.0, np.maximum(f - hi, lo - f))
    frame_u8 = np.asarray(frame, np.uint8)
    contrast = cv2.dilate(frame_u8, _RECT5).astype(np.float64) - cv2.erode(frame_u8, _RECT5)
    contrast = np.maximum(0.0, contrast - np.clip(np.rint(NOISE_RANGE * np.asarray(sigma)), 0, 255))
    variance = np.asarray(sigma, np.float64) ** 2 + (EDGE_ERROR * contrast) ** 2
    return (distance**2 / variance).mean(axis=2)


def hysteresis(weak: U8, strong: U8, min_area: int) -> U8:
    """255 on the 8-connected components of ``weak`` that hold a ``strong`` pixel and have at
    least ``min_area`` pixels, by labelling."""
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    out = np.zeros_like(weak)
    for i in range(1, n):
        component = labels == i
        if (strong[component] > 0).any() and component.sum() >= min_area:
            out[component] = 255
    return out


def luma(image: Image) -> F64:
    return np.asarray(image, np.float64) @ LUMA_BGR.astype(np.float64)


def sigma_luma(sigma: Image) -> F64:
    return np.maximum(luma(sigma), SIGMA_LUMA_MIN)


def _weighted_mean(plane: F64, weight: F64, window: tuple[int, int]) -> F64:
    """The mean of ``plane`` over ``window`` weighted by ``weight`` (0 where no weight)."""
    total = cv2.blur(weight, window)
    return np.divide(cv2.blur(plane * weight, window), total, out=np.zeros_like(total), where=total > 0)


def light_consistency(
    frame: Image, expected: Image, sigma: Image, *, z_limit: float
) -> tuple[F64, Bool, Bool]:
    """Where ``frame`` is ``expected`` under different light: returns (r, consistent,
    verified), r the luma ratio frame/expected.

    Consistent: every channel matches r x expected within the tolerance (the colour kept),
    and, in windows weighted by the pixels that kept their colour, r has no fine detail (r
    minus its 9x9 mean, energy over 7x7) beyond what noise makes plus TEXTURE_FLOOR (a soft
    shadow's edge is a ramp of r and passes, a patterned cloth fails), and where the expected
    background's fine detail is well above the noise (TEXTURE_VERIFY x sigma, std over 7x7:
    verifiable) the frame's detail correlates with it by at least TEXTURE_NCC_MIN (a flat
    cloth in front of a textured wall fails). Verified: verifiable and consistent.
    """
    f, e, s = (np.asarray(a, np.float64) for a in (frame, expected, sigma))
    y_f, y_e = luma(f), np.maximum(luma(e), 1.0)
    r = y_f / y_e
    r_floor = np.maximum(r, RATIO_FLOOR)
    residual = f - r[..., None] * e
    tolerance = s * r_floor[..., None] + TONE_TOLERANCE * e + LEVEL_TOLERANCE
    colour_kept = ((residual / tolerance) ** 2).mean(axis=2) < z_limit
    weight = colour_kept.astype(np.float64)
    detail = r - _weighted_mean(r, weight, DETAIL_MEAN)
    energy = _weighted_mean(detail * detail, weight, DETAIL_ENERGY)
    noise_r = TEXTURE_NOISE * r_floor * sigma_luma(s) / y_e
    smooth = energy < (noise_r + TEXTURE_FLOOR) ** 2
    fd = y_f - _weighted_mean(y_f, weight, DETAIL_MEAN)
    ed = y_e - _weighted_mean(y_e, weight, DETAIL_MEAN)
    cov = _weighted_mean(fd * ed, weight, DETAIL_ENERGY)
    ff = _weighted_mean(fd * fd, weight, DETAIL_ENERGY)
    ee = _weighted_mean(ed * ed, weight, DETAIL_ENERGY)
    ncc = cov / np.sqrt(np.maximum(ff * ee, 1e-12))
    verifiable = ee > (TEXTURE_VERIFY * sigma_luma(s)) ** 2
    consistent = colour_kept & smooth & (~verifiable | (ncc >= TEXTURE_NCC_MIN))
    return r, consistent, verifiable & consistent


def coarse_texture_hidden(
    frame: Image, plate: Image, sigma: Image, lit: Bool, ceiling: float = 255.0
) -> Bool:
    """Where ``lit`` (what the fine light tests passed) hides the wall's coarse texture: the
    plate's coarse detail (its luma's mean over COARSE_DETAIL minus its mean over
    COARSE_WINDOW, relative to the latter, in the light's weights) has an energy over
    COARSE_WINDOW above (COARSE_VERIFY x the noise of a COARSE_DETAIL mean)^2, and the
    frame's is below (COARSE_FLAT x that noise)^2 and below COARSE_LOST x the plate's. Frame
    pixels within CLIP_TOLERANCE of ``ceiling`` in any channel are not tested."""
    tested = lit & (np.asarray(frame).max(axis=2) <= ceiling - CLIP_TOLERANCE)
    weight = tested.astype(np.float64)
    side = COARSE_DETAIL[0]

    def energy(y: F64) -> tuple[F64, F64]:
        wide = np.maximum(_weighted_mean(y, weight, COARSE_WINDOW), 1.0)
        detail = (_weighted_mean(y, weight, COARSE_DETAIL) - wide) / wide
        return _weighted_mean(detail * detail, weight, COARSE_WINDOW), wide

    frame_energy, frame_wide = energy(luma(frame))
    plate_energy, plate_wide = energy(luma(plate))
    s = sigma_luma(sigma)
    verifiable = plate_energy > (COARSE_VERIFY * s / plate_wide / side) ** 2
    flat = frame_energy < (COARSE_FLAT * s / frame_wide / side) ** 2
    return tested & verifiable & flat & (frame_energy < COARSE_LOST * plate_energy)


def light_candidates(frame: Image, expected: Image, sigma: Image, ratios: tuple[float, float]) -> Bool:
    """The pixels light might explain: the luma ratio within ``ratios`` and a luma change
    above LIGHT_SIGMAS sigmas of luma noise."""
    y_f, y_e = luma(frame), np.maximum(luma(expected), 1.0)
    r = y_f / y_e
    return (r >= ratios[0]) & (r <= ratios[1]) & (np.abs(y_e - y_f) > LIGHT_SIGMAS * sigma_luma(sigma))


def fill_holes(mask: U8, suspicious: Bool, small: int) -> U8:
    """The 4-connected background regions of ``mask`` that do not touch the border, filled
    when they have at most ``small`` pixels or more than SUSPICIOUS_SHARE of them are
    ``suspicious``."""
    n, labels = cv2.connectedComponents((mask == 0).astype(np.uint8), connectivity=4)
    out = mask.copy()
    border = set(labels[0]) | set(labels[-1]) | set(labels[:, 0]) | set(labels[:, -1])
    for i in range(1, n):
        if i in border:
            continue
        region = labels == i
        if region.sum() <= small or suspicious[region].mean() > SUSPICIOUS_SHARE:
            out[region] = 255
    return out


def _near_clear_and_person(mask: U8, lit: U8) -> tuple[Bool, Bool]:
    """Within a pixel of clear background (neither ``mask`` nor ``lit``), and of ``mask``."""
    near_clear = cv2.dilate(((mask == 0) & (lit == 0)).astype(np.uint8), _RECT3) > 0
    return near_clear, cv2.dilate(mask, _RECT3) > 0


def clear_share(mask: U8, lit: U8) -> float:
    """The share of the touching pixels of ``lit`` (one component) that touch clear
    background, as :func:`light_contact` weighs it against its bars."""
    near_clear, near_person = _near_clear_and_person(mask, lit)
    component = lit > 0
    clear, person = (component & near_clear).sum(), (component & near_person).sum()
    return float(clear / (clear + person))


def light_contact(mask: U8, lit: U8, last: U8 | None = None, held: U8 | None = None) -> U8:
    """``mask`` with the 8-connected components of ``lit`` added that touch the person (within
    a pixel of ``mask``) more than clear background (within a pixel of neither): a share of
    their touching pixels below LIGHT_CONTACT_MIN on clear background, or below
    LIGHT_CONTACT_MIN_NEW for one of which less than LAST_SHARE was in ``last``, or below
    LIGHT_CONTACT_MIN_HELD for such a one of which at least LAST_SHARE was in ``held``."""
    near_clear, near_person = _near_clear_and_person(mask, lit)
    n, labels = cv2.connectedComponents(lit, connectivity=8)
    out = mask.copy()
    for i in range(1, n):
        component = labels == i
        clear, person = (component & near_clear).sum(), (component & near_person).sum()
        bar = LIGHT_CONTACT_MIN
        if last is not None and (component & (last > 0)).sum() < LAST_SHARE * component.sum():
            bar = LIGHT_CONTACT_MIN_NEW
            if held is not None and (component & (held > 0)).sum() >= LAST_SHARE * component.sum():
                bar = LIGHT_CONTACT_MIN_HELD
        if person > 0 and clear < bar * (clear + person):
            out[component] = 255
    return out


def light_band(mask: U8, lit: U8, coloured: U8, ratio: F64, tolerance: F64) -> U8:
    """``mask`` without its band beside the room's light, pixel by pixel: seeds are the
    8-connected components of light outside the mask that touch the background outside the
    person (4-connected to the image's edge after closing the mask's cracks) with at least
    BAND_SEED_SHARE of their touching pixels there and BAND_SEED_MIN of the image; each step
    gives a mask pixel that kept its colour and was not lit, beside the light, whose ratio
    is within ``tolerance`` of the mean ratio of the light among its 8 neighbours."""
    h, w = mask.shape
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    free = ((closed == 0) & (lit == 0)).astype(np.uint8)
    n, labels = cv2.connectedComponents(free, connectivity=4)
    edge = set(labels[0]) | set(labels[-1]) | set(labels[:, 0]) | set(labels[:, -1])
    outside = np.isin(labels, [i for i in edge if i != 0])
    near_room = cv2.dilate(outside.astype(np.uint8), _RECT3) > 0
    near_person = cv2.dilate(mask, _RECT3) > 0
    light = (lit > 0) & (mask == 0)
    n, labels = cv2.connectedComponents(light.astype(np.uint8), connectivity=8)
    seeds = np.zeros((h, w), bool)
    for i in range(1, n):
        component = labels == i
        room, person = (component & near_room).sum(), (component & near_person).sum()
        big = component.sum() >= BAND_SEED_MIN * h * w
        if big and room > 0 and room >= BAND_SEED_SHARE * (room + person):
            seeds |= component
    band = (mask > 0) & (coloured > 0) & (lit == 0)
    out = mask.copy()
    for _ in range(BAND_STEPS):
        given = []
        for y, x in zip(*np.nonzero(band), strict=True):
            around = [
                ratio[y + dy, x + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                if 0 <= y + dy < h and 0 <= x + dx < w and seeds[y + dy, x + dx]
            ]
            if around and abs(ratio[y, x] - np.mean(around)) < tolerance[y, x]:
                given.append((y, x))
        for y, x in given:
            seeds[y, x], band[y, x], out[y, x] = True, False, 0
        if not given:
            break
    return out
