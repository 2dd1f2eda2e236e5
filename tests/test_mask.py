"""Each mask stage against a simple reference or a property that must hold."""

from __future__ import annotations

import cv2
import numpy as np
from helpers import noisy, textured_room

from bgcore import engine, mask
from bgcore.engine import MaskEngine
from bgcore.plate import Plate


def _tutorial_reference(frame: np.ndarray, ref: np.ndarray, thr: int) -> np.ndarray:
    """The tutorial's mask re-derived in integer numpy (no OpenCV)."""
    d = np.abs(frame.astype(np.int16) - ref.astype(np.int16))
    d[d < thr] = 0
    b, g, r = (d[..., i].astype(np.int32) for i in range(3))
    gray = (b * 1868 + g * 9617 + r * 4899 + (1 << 13)) >> 14  # OpenCV's fixed-point BGR2GRAY
    return np.where(gray >= 10, 255, 0).astype(np.uint8)


def test_classic_mask_matches_the_tutorial_exactly(rng: np.random.Generator) -> None:
    ref = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    frame = np.clip(ref.astype(np.int16) + rng.integers(-40, 41, ref.shape), 0, 255).astype(np.uint8)
    for thr in (0, 13, 30):
        assert np.array_equal(mask.classic_mask(frame, ref, thr), _tutorial_reference(frame, ref, thr))


def test_noise_score_is_squared_z_averaged_over_channels(rng: np.random.Generator) -> None:
    f = rng.uniform(0, 255, (20, 30, 3)).astype(np.float32)
    e = rng.uniform(0, 255, (20, 30, 3)).astype(np.float32)
    s = rng.uniform(1, 5, (20, 30, 3)).astype(np.float32)
    ref = (((f - e) / s) ** 2).mean(axis=2)
    np.testing.assert_allclose(mask.noise_score(f, e, s, shake=0), ref, rtol=1e-5)
    # With shake tolerance the score never exceeds the plain one.
    assert (mask.noise_score(f, e, s, shake=1) <= ref * (1 + 1e-5)).all()


def test_pure_noise_scores_below_the_auto_threshold(rng: np.random.Generator) -> None:
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    f = noisy(room, rng, 2.5).astype(np.float32)
    score = mask.noise_score(f, room, sigma)
    assert (score > 4.0**2).mean() < 1e-4


def test_channel_gains_recover_exposure_and_white_balance(rng: np.random.Generator) -> None:
    room = textured_room()
    gains = np.array([0.8, 0.9, 1.1], np.float32)
    frame = noisy(room * gains, rng).astype(np.float32)
    frame[50:150, 100:200] = (20, 240, 30)  # a person: not background, must not bias the gain
    np.testing.assert_allclose(mask.channel_gains(frame, room, None), gains, atol=0.01)


def test_gain_field_recovers_a_lamp(rng: np.random.Generator) -> None:
    room = textured_room()
    h, w = room.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lamp = 1.0 + 0.5 * np.exp(-((xx - 220) ** 2 + (yy - 60) ** 2) / (2 * 60.0**2))
    frame = noisy(np.clip(room * lamp[..., None], 0, 255), rng).astype(np.float32)
    sigma = np.full(room.shape, 2.5, np.float32)
    gains = mask.channel_gains(frame, room, None)
    _, lit = mask.light_consistency(frame, room * gains, sigma, z_limit=6.25)
    field = mask.gain_field(frame, room, gains, lit)
    err = np.abs(field[..., 1] - lamp)
    assert float(np.median(err)) < 0.02 and float(err.max()) < 0.1


def test_shadow_is_found_and_flat_darker_cloth_is_not(rng: np.random.Generator) -> None:
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    frame = room.copy()
    frame[20:90, 20:120] *= 0.6  # a cast shadow: same texture and colour, less light
    cloth = room[100:170, 180:300].reshape(-1, 3).mean(axis=0) * 0.7  # a darker wall shade
    frame[100:170, 180:300] = cloth
    f = noisy(frame, rng).astype(np.float32)
    shadow = mask.shadow_candidates(f, room, sigma, z_limit=6.25)
    assert shadow[25:85, 25:115].mean() > 0.9
    assert shadow[105:165, 185:295].mean() < 0.2


def test_texture_kept_tells_a_shadow_from_a_cloth_of_the_wall_colour(rng: np.random.Generator) -> None:
    room = textured_room()
    luma = room @ mask.LUMA_BGR
    sigma_luma = np.full(luma.shape, 1.5, np.float32)
    frame = luma.copy()
    frame[20:90, 20:120] *= 0.6  # a shadow scales the texture
    frame[100:170, 180:300] = luma[100:170, 180:300].mean() * 0.9  # flat cloth, wall colour
    f = (frame + rng.normal(0, 1.5, frame.shape)).astype(np.float32)
    kept = mask.texture_kept(f, luma.astype(np.float32), sigma_luma)
    assert kept[28:82, 28:112].mean() > 0.95
    assert kept[108:162, 188:292].mean() < 0.05
    flat = np.full(luma.shape, 120.0, np.float32)  # nothing to verify on a flat plate: passes
    assert mask.texture_kept(f, flat, sigma_luma).all()


def test_engine_texture_test_matches_the_reference(rng: np.random.Generator) -> None:
    room = textured_room()
    plate = Plate.from_frames([noisy(room, rng) for _ in range(8)], work_width=0)
    eng = MaskEngine(plate, plate.size)
    frame = room.copy()
    frame[20:90, 20:120] *= 0.6
    frame[100:170, 180:300] = room[100:170, 180:300].reshape(-1, 3).mean(axis=0) * 0.9
    eng.small = noisy(frame, rng)  # the frame of the step (the gains are 1)
    eng._consistency(6.25)
    assert np.array_equal(eng.f, eng.small) and np.array_equal(eng.expected, np.minimum(eng.mean, 255))
    ref = mask.texture_kept(
        eng.y_f,
        eng.mean @ mask.LUMA_BGR,
        eng.sigma_luma,
        verify=engine.TEXTURE_VERIFY,
        ncc_min=engine.TEXTURE_NCC_MIN,
    )
    _, chroma_and_energy = mask.light_consistency(eng.f, eng.expected, eng.sigma, z_limit=6.25)
    expected = chroma_and_energy & ref
    agree = (eng.consistent > 0) == expected
    assert agree.mean() > 0.995  # box filters at the border and float rounding may differ
    assert (eng.consistent[28:82, 28:112] > 0).mean() > 0.9 and (
        eng.consistent[108:162, 188:292] > 0
    ).mean() < 0.1


def test_hysteresis_properties(rng: np.random.Generator) -> None:
    score = cv2.GaussianBlur(rng.uniform(0, 10, (80, 100)).astype(np.float32), (0, 0), 2) * 3
    out = mask.hysteresis(score, 14.0, 18.0, min_area=5) > 0
    weak, strong = score > 14.0, score > 18.0
    assert not (out & ~weak).any()  # never outside the weak set
    n, labels = cv2.connectedComponents(out.view(np.uint8), connectivity=8)
    for lab in range(1, n):
        comp = labels == lab
        assert (comp & strong).any() and comp.sum() >= 5
    # every strong pixel in a large enough weak component is kept
    nw, wl, stats, _ = cv2.connectedComponentsWithStats(weak.view(np.uint8), connectivity=8)
    for lab in range(1, nw):
        comp = wl == lab
        if (comp & strong).any() and stats[lab, cv2.CC_STAT_AREA] >= 5:
            assert out[comp].all()


def test_hysteresis_keep_lowers_the_bar_only_where_kept() -> None:
    score = np.zeros((20, 20), np.float32)
    score[5:10, 5:10] = 10.0  # weak only
    assert not mask.hysteresis(score, 5.0, 20.0, min_area=1).any()
    keep = np.zeros((20, 20), bool)
    keep[6, 6] = True
    assert mask.hysteresis(score, 5.0, 20.0, min_area=1, keep=keep)[5:10, 5:10].all()
