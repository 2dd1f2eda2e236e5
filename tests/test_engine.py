"""The default-mode engine's fused stages against plain references (exact results)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgcore import engine
from bgcore.engine import MaskEngine
from bgcore.plate import Plate


def _engine(h: int, w: int, rng: np.random.Generator) -> MaskEngine:
    room = rng.uniform(40, 200, (h, w, 3))
    frames = [np.clip(room + rng.normal(0, 2, room.shape), 0, 255).astype(np.uint8) for _ in range(6)]
    plate = Plate.from_frames(frames, work_width=0)
    return MaskEngine(plate, plate.size)


def _fill_holes_reference(mask: np.ndarray, suspicious: np.ndarray, small: int) -> np.ndarray:
    """4-connected background regions not touching the border, filled when at most ``small``
    pixels or more than half suspicious."""
    n, labels = cv2.connectedComponents((mask == 0).astype(np.uint8), connectivity=4)
    out = mask.copy()
    border = set(labels[0]) | set(labels[-1]) | set(labels[:, 0]) | set(labels[:, -1])
    for i in range(1, n):
        if i in border:
            continue
        region = labels == i
        if region.sum() <= small or suspicious[region].mean() > 0.5:
            out[region] = 255
    return out


def _random_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(8, w // 2)), int(rng.integers(8, h // 2)))
        cv2.ellipse(mask, c, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    for _ in range(int(rng.integers(0, 30))):  # holes of every size, some touching the border
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(mask, c, int(rng.integers(1, 14)), 0, -1)
    noise = rng.random((h, w)) < 0.02
    mask[noise] = 255 - mask[noise]  # specks and pinholes, 8-connected chains
    return mask


@pytest.mark.parametrize("seed", range(12))
def test_fill_holes_by_outlines_equals_labelling_the_background(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = 90, 120
    eng = _engine(h, w, rng)
    mask = _random_mask(rng, h, w)
    low = 6.25
    # about half of each hole suspicious: the 0.5 rule decides both ways across the seeds
    eng.score[...] = rng.uniform(0, 0.25 * low, (h, w)).astype(np.float32)
    eng.score[rng.random((h, w)) < rng.uniform(0.2, 0.5)] = low  # a raised score ...
    eng.shadow[...] = np.where(rng.random((h, w)) < 0.2, 255, 0).astype(np.uint8)  # ... or light
    eng.mask[...] = mask
    small = round(engine.SMALL_HOLE_FRACTION * h * w)
    suspicious = (eng.score > 0.25 * low) | (eng.shadow > 0)
    expected = _fill_holes_reference(mask, suspicious, small)
    eng._fill_holes(slice(None), slice(None), low, True)
    assert np.array_equal(eng.mask, expected)
    # and inside a region of interest whose edges are background: the same holes
    eng.mask[...] = 0
    eng.mask[10:80, 15:105] = mask[10:80, 15:105]
    eng.mask[10, 15:105] = eng.mask[79, 15:105] = 0
    eng.mask[10:80, 15] = eng.mask[10:80, 104] = 0
    framed = eng.mask.copy()
    eng._fill_holes(slice(10, 80), slice(15, 105), low, True)
    assert np.array_equal(eng.mask, _fill_holes_reference(framed, suspicious, small))


def test_light_explains_areas_with_the_full_texture_test_and_never_lone_pixels() -> None:
    """With a ratio range, _consistency marks as light exactly what the full test marks
    around areas of candidates (a cast shadow), and drops lone candidates (noise)."""
    from helpers import noisy, textured_room

    rng = np.random.default_rng(5)
    room = textured_room()
    plate = Plate.from_frames([noisy(room, rng) for _ in range(8)], work_width=0)
    eng = MaskEngine(plate, plate.size)
    frame = room.copy()
    frame[30:90, 40:140] *= 0.6  # a shadow
    frame[120:170, 200:300] = room[120:170, 200:300].mean(axis=(0, 1)) * 0.8  # a flat cloth
    eng.small = noisy(frame, rng)
    eng._consistency(6.25, light=(0.25, 1.4))
    with_light = eng.shadow.copy()
    eng._consistency(6.25)  # the full test everywhere
    candidates = (eng.r >= 0.25) & (eng.r <= 1.4) & (np.abs(eng.y_e - eng.y_f) > eng.sigma_luma3)
    full = candidates & (eng.consistent > 0)
    light = with_light > 0
    assert not (light & ~full).any()  # never more than the full test
    around = (slice(30 - 8, 90 + 8), slice(40 - 8, 140 + 8))
    assert np.array_equal(light[around], full[around])  # around an area: exactly the full test
    assert (light[30:90, 40:140]).mean() > 0.6  # the shadow is light (where luma moved 3 sigma)
    assert (light[120:170, 200:300]).mean() < 0.1  # the cloth is not
    assert full.sum() > light.sum()  # some lone candidates (noise) were dropped


def _hysteresis_reference(weak: np.ndarray, strong: np.ndarray, min_area: int) -> np.ndarray:
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    out = np.zeros_like(weak)
    for i in range(1, n):
        comp = labels == i
        if (strong[comp] > 0).any() and comp.sum() >= min_area:
            out[comp] = 255
    return out


@pytest.mark.parametrize("seed", range(8))
def test_hysteresis_by_flood_fill_equals_labelling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = 90, 120
    eng = _engine(h, w, rng)
    score = cv2.GaussianBlur(rng.uniform(0, 10, (h, w)).astype(np.float32), (0, 0), 1.5) * 3
    score[rng.random((h, w)) < 0.01] = 40.0  # lone strong specks, some inside weak areas
    weak = np.where(score > 14, 255, 0).astype(np.uint8)
    strong = np.where(score > 17, 255, 0).astype(np.uint8)
    for min_area in (1, 12, 60):
        out = np.full((h, w), 77, np.uint8)
        eng._hysteresis(weak, strong, min_area, out)
        assert np.array_equal(out, _hysteresis_reference(weak, strong, min_area))
    # and on views (the engine's region of interest)
    out = np.zeros((h, w), np.uint8)
    eng._hysteresis(weak[5:80, 7:110], strong[5:80, 7:110], 12, out[5:80, 7:110])
    assert np.array_equal(out[5:80, 7:110], _hysteresis_reference(weak[5:80, 7:110], strong[5:80, 7:110], 12))
