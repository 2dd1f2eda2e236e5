"""The mask engine's stages (bgcore.engine), each against a plain reference (tests/reference.py)
or a property of the physics it models. Every test that touches a stage with a compiled
kernel runs on both paths (the ``kernel_path`` fixture)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import reference
from helpers import jpeg, noisy, textured_room

from bgcore import workload
from bgcore.engine.band import BAND_FLOOR, BAND_SEED_MIN, BAND_SEED_SHARE, BAND_SIGMAS, BAND_STEPS, LightBand
from bgcore.engine.expected import ExpectedBackground, clipped_channels
from bgcore.engine.hysteresis import Hysteresis
from bgcore.engine.light import LIGHT_RATIO_MAX, LIGHT_RATIO_MIN, LUMA_BGR, LightTests, plate_edges_of_light
from bgcore.engine.light_levels import FIELD_STEP_MAX, LightLevels
from bgcore.engine.mask_engine import MaskEngine, ringing_reach
from bgcore.engine.regions import (
    ANCHOR_REACH,
    LIGHT_CONTACT_MIN_HELD,
    LIGHT_CONTACT_MIN_NEW,
    SUSPICIOUS_SCORE,
    Anchor,
    Cleanup,
    LightContact,
)
from bgcore.engine.score import Scorer, auto_bars
from bgcore.engine.shake import SHAKE_FLOOR, TREMOR_CAP, ShakeMeter, tremor_floor
from bgcore.pipeline import BackgroundReplacer
from bgcore.plate import Plate, work_size
from bgcore.settings import Settings

FULL = (slice(None), slice(None))


def _plate(room: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A plate of ``room`` as a camera with noise 2.5 gives it: the mean (float32) and the
    noise per pixel and channel as measured on its 8 frames (std, at least 0.6)."""
    frames = np.stack([noisy(room, rng) for _ in range(8)]).astype(np.float32)
    return frames.mean(axis=0), np.maximum(frames.std(axis=0, ddof=1), 0.6)


# -- light levels -------------------------------------------------------------------------------


def test_global_gains_recover_exposure_and_white_balance_despite_the_person(rng: np.random.Generator) -> None:
    room = textured_room()
    mean, _ = _plate(room, rng)
    h, w = room.shape[:2]
    levels = LightLevels((w, h), mean, np.full((h, w), 255, np.uint8))
    gains = np.array([0.8, 0.9, 1.1], np.float32)
    frame = noisy(room * gains, rng)
    frame[50:150, 100:200] = (20, 240, 30)  # a person: not background, must not bias the gain
    coarse = levels.measure(frame, np.full((h, w), 255, np.uint8))
    assert coarse is not None  # the first measurement always builds the gains
    np.testing.assert_allclose(coarse.reshape(-1, 3), np.tile(gains, (4, 1)), atol=0.01)
    assert levels.measure(frame, np.full((h, w), 255, np.uint8)) is None  # no change: nothing to rebuild
    assert levels.reset() and not levels.reset()


@pytest.mark.parametrize("share", [0.3, 0.6, 0.9])
def test_gains_of_a_close_up_come_from_what_is_still_background(
    rng: np.random.Generator, share: float
) -> None:
    """Webcam framing: a person (darker and of another colour than the room, as a shirt that
    would read as the exposure dropping) over 30-90% of the picture while the exposure and
    white balance change. Measured on what the last mask left as background, the gains are
    the camera's, never the person's (the engine's close_up scenes: tests/test_footage.py)."""
    room = textured_room()
    mean, _ = _plate(room, rng)
    h, w = room.shape[:2]
    levels = LightLevels((w, h), mean, np.full((h, w), 255, np.uint8))
    gains = np.array([1.2, 1.15, 1.05], np.float32)
    frame = noisy(room * gains, rng)
    x1 = round(share * w)
    frame[:, :x1] = noisy(np.full((h, x1, 3), (40.0, 60.0, 90.0), np.float32), rng)  # the person
    confident = np.full((h, w), 255, np.uint8)
    confident[:, : min(w, x1 + 3)] = 0  # the last mask, widened
    coarse = levels.measure(frame, confident)
    assert coarse is not None
    np.testing.assert_allclose(coarse.reshape(-1, 3), np.tile(gains, (4, 1)), atol=0.01)


def test_light_field_follows_a_gradient_of_light_a_step_at_a_time(rng: np.random.Generator) -> None:
    room = textured_room()
    mean, sigma = _plate(room, rng)
    h, w = room.shape[:2]
    everywhere = np.full((h, w), 255, np.uint8)
    levels = LightLevels((w, h), mean, everywhere)
    background = ExpectedBackground(mean.copy(), sigma)
    lamp = np.linspace(0.85, 1.15, w, dtype=np.float32)[None, :, None]  # light from the right
    frame = noisy(np.clip(room * lamp, 0, 255), rng)
    before = levels.field.copy()
    for _ in range(40):
        coarse = levels.measure(frame, everywhere)
        if coarse is not None:
            background.set_gains(coarse)
        levels.update_field(everywhere, everywhere, background.gains, background.ceiling)
        assert np.abs(levels.field / before - 1).max() <= FIELD_STEP_MAX + 1e-6  # at most a step
        before = levels.field.copy()
    expected = background.expected()
    ratio = (expected / mean)[..., 1]
    assert ratio[:, : w // 8].mean() < 0.98 and ratio[:, -w // 8 :].mean() > 1.02  # it leans the right way
    lit_room = room * lamp
    assert np.abs(expected - lit_room).mean() < 0.75 * np.abs(mean - lit_room).mean()


# -- the expected background ---------------------------------------------------------------------


def test_a_clipped_window_is_found_and_only_bounds_the_score_from_below(rng: np.random.Generator) -> None:
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    mean = room.astype(np.float32)
    mean[20:60, 30:90] = 252.0  # a window: bright and silent (clipping removes the noise)
    sigma[20:60, 30:90] = 0.3
    clipped, ceiling = clipped_channels(mean, sigma)
    assert clipped[20:60, 30:90].all() and not clipped[80:].any()
    np.testing.assert_allclose(ceiling, 255.0)  # 252 + the margin, capped at 255
    background = ExpectedBackground(mean, sigma)
    mid, width = background.score_range()
    hi = (mid.astype(int) + width) // 2  # (lo + hi + hi - lo) / 2, fixed point
    assert (hi[25:55, 35:85] == 8 * 255).all()  # no upper bound where it clips
    assert (hi[100:] < 8 * 230).all()


def test_the_sensor_clips_every_channel_at_one_white_point() -> None:
    """A light-blue window through a JPEG camera: blue and green clipped at 244 (silent),
    red at 220 and silent too (compression flattened it, nothing clipped it). The ceiling
    is the white point for all three channels, never 220 for red: red rises to the white
    point when the exposure does."""
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    mean = room.astype(np.float32)
    mean[20:60, 30:90] = (244.0, 244.0, 220.0)
    sigma[20:60, 30:90] = 0.3
    clipped, ceiling = clipped_channels(mean, sigma)
    assert clipped[20:60, 30:90, :2].all()
    np.testing.assert_allclose(ceiling, 247.0)
    exposed = ExpectedBackground(mean, sigma)
    exposed.set_gains(np.full((2, 2, 3), 1.15, np.float32))
    np.testing.assert_allclose(exposed.expected()[40, 60], 247.0)


def test_a_white_window_reads_the_white_point_in_every_channel_when_the_exposure_falls() -> None:
    """A white window through a JPEG camera: green and red silent at the white point, blue
    as bright but noisier than the silence bar (compression). When the exposure falls by
    10% the window still reads the white point in every channel (its light is far above
    it): the score's range must not bound blue at 0.9 x 246 from above, or the window
    turns into "you"."""
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    mean = room.astype(np.float32)
    mean[20:60, 30:90] = 246.0
    sigma[20:60, 30:90] = (1.5, 0.3, 0.3)
    clipped, ceiling = clipped_channels(mean, sigma)
    assert clipped[20:60, 30:90, 1:].all() and not clipped[..., 0].any()  # (silent ones)
    np.testing.assert_allclose(ceiling, 249.0)
    background = ExpectedBackground(mean, sigma)
    background.set_gains(np.full((2, 2, 3), 0.9, np.float32))
    mid, width = background.score_range()
    lo = (mid.astype(int) - width) // 2
    hi = (mid.astype(int) + width) // 2
    assert (hi[25:55, 35:85] == 8 * 255).all()  # every channel unbounded above
    assert (lo[25:55, 35:85, 0] < 8 * 246 * 0.9).all()
    assert (hi[100:] < 8 * 230).all()  # the room keeps its bounds


def test_a_white_window_with_no_silent_channel_is_unbounded_above_too() -> None:
    """At lower JPEG qualities nothing in a burnt-out window is silent (the plate's JPEG
    floor), so no white point is found; a window white in every channel, the brightest
    thing in the picture, still reads white when the exposure falls. A light-blue window
    (red well under the rest) keeps its bounds: it follows the exposure."""
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    mean = room.astype(np.float32)
    mean[20:60, 30:90] = 245.0  # white, every channel as noisy as the floor makes it
    mean[70:110, 30:90] = (245.0, 240.0, 215.0)  # light blue
    sigma[20:110, 30:90] = 1.5
    clipped, ceiling = clipped_channels(mean, sigma)
    assert not clipped.any()
    np.testing.assert_allclose(ceiling, 255.0)
    background = ExpectedBackground(mean, sigma)
    background.set_gains(np.full((2, 2, 3), 0.9, np.float32))
    mid, width = background.score_range()
    hi = (mid.astype(int) + width) // 2
    assert (hi[25:55, 35:85] == 8 * 255).all()
    assert (hi[75:105, 35:85, 2] < 8 * 215).all()
    assert (hi[120:] < 8 * 230).all()


def test_a_flat_bright_surface_of_a_quiet_jpeg_camera_is_not_clipped() -> None:
    """A beige door (red at 182) seen by a quiet sensor through a JPEG camera is as silent
    as a clipped window, but the picture is brighter elsewhere (a white frame at 240): the
    camera's output was not at its ceiling there. Clipped at its own level, the door's red
    would stay at 185 while the exposure rose, and the whole door turn foreground."""
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)
    mean = room.astype(np.float32)
    mean[20:100, 30:70] = (110.0, 160.0, 182.0)  # the door: flat, bright red, silent
    sigma[20:100, 30:70] = 0.3
    mean[10:20, 100:140] = 240.0  # a white picture frame, with the sensor's noise
    clipped, ceiling = clipped_channels(mean, sigma)
    assert not clipped.any()
    np.testing.assert_allclose(ceiling, 255.0)
    exposed = ExpectedBackground(mean, sigma)
    exposed.set_gains(np.full((2, 2, 3), 1.1, np.float32))
    np.testing.assert_allclose(exposed.expected()[60, 50], (121.0, 176.0, 200.2), rtol=1e-5)


# -- camera shake ---------------------------------------------------------------------------------


def _shifted(room: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(room, m, room.shape[1::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("shift", [(0.0, 0.0), (0.25, 0.0), (0.3, -0.4), (-0.7, 0.5), (1.0, 0.0)])
def test_shake_is_measured_and_the_range_follows_it(
    rng: np.random.Generator, shift: tuple[float, float]
) -> None:
    """A textured room shifted by a known sub-pixel amount: the shift is measured within
    0.15 px (a person over a third of the picture, left out as not confident, does not bias
    it), and the reach (the share of the 3x3 range the score uses) covers the shift but is
    no wider than it plus a quarter pixel (its floor without shake)."""
    room = textured_room()
    mean, sigma = _plate(room, rng)
    h, w = room.shape[:2]
    levels = LightLevels((w, h), mean, np.full((h, w), 255, np.uint8))
    meter = ShakeMeter(levels, mean, sigma, np.full((h, w), 255, np.uint8))
    frame = noisy(_shifted(room, *shift), rng)
    frame[40:160, 100:220] = rng.integers(0, 255, (120, 120, 3), dtype=np.uint8)  # a person
    confident = np.full((h, w), 255, np.uint8)
    confident[37:163, 97:223] = 0
    reach = meter.measure(frame, confident, np.ones((h, w, 3), np.float32))
    dx, dy = meter.shift
    assert abs(dx - shift[0]) < 0.15 and abs(dy - shift[1]) < 0.15, meter.shift
    size = float(np.hypot(*shift))
    assert min(1.0, max(SHAKE_FLOOR, size)) <= reach <= min(1.0, max(SHAKE_FLOOR, size) + 0.25)


def test_without_shake_the_range_shrinks_to_the_reach(rng: np.random.Generator) -> None:
    """The expected background's range is the plate widened towards its 3x3 extremes by the
    reach: all of it at 1, half of it at a half, and never less than the floor (a still
    plate: SHAKE_FLOOR everywhere)."""
    room = textured_room()
    mean, sigma = _plate(room, rng)
    background = ExpectedBackground(mean, np.full_like(sigma, 3.0))
    full = background.score_range()[1].astype(np.float64)
    lo3, hi3 = cv2.erode(mean, np.ones((3, 3), np.uint8)), cv2.dilate(mean, np.ones((3, 3), np.uint8))
    for reach, expected in ((0.5, 0.5), (0.0, SHAKE_FLOOR)):
        background.set_reach(reach)
        mid, width = (a.astype(np.float64) for a in background.score_range())
        lo, hi = mean + expected * (lo3 - mean), mean + expected * (hi3 - mean)
        assert np.abs(width / 8 - (hi - lo)).max() < 0.3
        assert np.abs(mid / 8 - (hi + lo)).max() < 0.3
        assert width.mean() < (expected + 0.05) * full.mean()


def test_the_floor_is_higher_only_where_the_plates_frames_trembled(rng: np.random.Generator) -> None:
    """A plate whose frames trembled by up to a pixel in the left half (leaves, a curtain)
    and were still in the right half: the reach's floor is TREMOR_CAP on the left's edges and
    SHAKE_FLOOR on the right, so a value between them, of the way to its brightest
    neighbour's, is within the range on the left and beyond it on the right."""
    room = textured_room()
    h, w = room.shape[:2]
    frames = []
    for _ in range(20):
        frame = room.copy()
        frame[:, : w // 2] = _shifted(room, *rng.uniform(-1.0, 1.0, 2))[:, : w // 2]
        frames.append(noisy(frame, rng))
    plate = Plate.from_frames(frames)
    mean, sigma = plate.mean_at((w, h)), plate.sigma_at((w, h))
    floor = tremor_floor(mean, sigma)
    half = (cv2.dilate(mean, np.ones((3, 3), np.uint8)) - cv2.erode(mean, np.ones((3, 3), np.uint8))) / 2
    edges = half > 20.0  # (levels: where a tremor shows)
    left, right = edges.copy(), edges.copy()
    left[:, w // 2 - 8 :] = False
    right[:, : w // 2 + 8] = False
    assert (floor[left] == np.float32(TREMOR_CAP)).mean() > 0.9, np.median(floor[left])
    assert (floor[right] == np.float32(SHAKE_FLOOR)).mean() > 0.95
    background = ExpectedBackground(mean, sigma)
    background.set_reach(0.0)
    mid, width = (a.astype(np.float64) / 8 for a in background.score_range())
    hi = (mid + width) / 2
    between = (SHAKE_FLOOR + TREMOR_CAP) / 2
    value = mean + between * (cv2.dilate(mean, np.ones((3, 3), np.uint8)) - mean)
    inside = value <= hi + 0.2
    assert inside[left].mean() > 0.7, inside[left].mean()
    assert inside[right].mean() < 0.05, inside[right].mean()


# -- the score ------------------------------------------------------------------------------------


def test_score_equals_the_reference_within_its_fixed_point(
    rng: np.random.Generator, kernel_path: str
) -> None:
    room = textured_room()
    mean, _ = _plate(room, rng)
    # noise per pixel and channel (none so quiet that it reads as clipping, which has no upper bound)
    sigma = rng.uniform(2.5, 4.0, room.shape).astype(np.float32)
    background = ExpectedBackground(mean, sigma)
    frame = noisy(room, rng)
    frame[40:120, 100:220] = (30, 200, 90)  # a person
    scorer = Scorer(sigma)
    low, high = auto_bars(1.0)
    scorer.auto(frame, *background.score_range(), low=low, high=high, prev=None)
    ref = reference.noise_score(frame, background.expected(), sigma)
    # the range is taken in eighths of a level: each distance d is off by at most 1/16 level,
    # so each channel's (d / s)^2 by at most 2 (d / s) (1/16 / s) + (1/16 / s)^2, s >= sigma
    step = (1 / 16) / sigma.min(axis=2)
    bound = 2 * np.sqrt(3 * ref) * step + step**2
    assert (np.abs(scorer.score - ref) <= bound + 1e-5 * ref).all()
    assert np.abs(scorer.score - ref).mean() < 0.01
    assert np.array_equal(scorer.weak > 0, scorer.score > low)
    assert np.array_equal(scorer.strong > 0, scorer.score > high)
    assert scorer.strong[50:110, 110:210].all()


def test_pure_noise_stays_below_the_low_bar(rng: np.random.Generator, kernel_path: str) -> None:
    room = textured_room()
    sigma = np.full(room.shape, 2.5, np.float32)  # the camera's noise, known exactly
    scorer = Scorer(sigma)
    low, high = auto_bars(1.0)
    expected_range = ExpectedBackground(room, sigma).score_range()
    scorer.auto(noisy(room, rng), *expected_range, low=low, high=high, prev=None)
    assert (scorer.score > low).mean() < 1e-3 and not scorer.strong.any()


def test_last_frames_mask_lowers_the_bar_only_where_it_was(kernel_path: str) -> None:
    room = np.full((60, 80, 3), 120.0, np.float32)
    sigma = np.full(room.shape, 2.0, np.float32)
    background = ExpectedBackground(room, sigma)
    frame = room.astype(np.uint8)
    frame[10:30, 10:30] += 8  # weak only: (8 / 2)^2 = 16 is above 2.5^2, below 4^2
    scorer = Scorer(sigma)
    low, high = auto_bars(1.0)
    scorer.auto(frame, *background.score_range(), low=low, high=high, prev=None)
    assert scorer.weak[12:28, 12:28].all() and not scorer.strong.any()
    prev = np.zeros((60, 80), np.uint8)
    prev[15:20, 15:20] = 255
    scorer.auto(frame, *background.score_range(), low=low, high=high, prev=prev)
    assert np.array_equal(scorer.strong, prev)


# -- the pooled score ----------------------------------------------------------------------------


def _dim_room_frames(
    rng: np.random.Generator, n: int, *, sigma: float, blur: float = 0.0, person: float = 0.0
) -> list[np.ndarray]:
    """Frames of a dark cabinet (50, 55, 60) filling a 180x320 picture at high gain: noise
    ``sigma`` per pixel (spread over neighbours by a Gaussian blur of ``blur`` pixels first,
    as a camera's denoiser or compression does, then scaled back to ``sigma``); with
    ``person``, a shirt that many levels lighter in every channel stands at PERSON, its
    outline blurred over a pixel or two as a lens draws it."""
    room = np.full((180, 320, 3), (50.0, 55.0, 60.0), np.float32)
    coverage = np.zeros(room.shape[:2], np.float32)
    coverage[PERSON] = 1.0
    room += person * cv2.GaussianBlur(coverage, (0, 0), 1.0)[..., None]  # a soft outline
    frames = []
    for _ in range(n):
        noise = rng.normal(0.0, 1.0, room.shape).astype(np.float32)
        if blur:
            noise = cv2.GaussianBlur(noise, (0, 0), blur)
            noise /= noise.std()
        frames.append(np.clip(np.rint(room + sigma * noise), 0, 255).astype(np.uint8))
    return frames


PERSON = (slice(40, 180), slice(120, 200))


def _mask_after(engine: MaskEngine, frames: list[np.ndarray]) -> np.ndarray:
    for frame in frames:
        mask = engine.step(frame, Settings()) > 0
    return mask


def test_a_dark_shirt_on_a_dark_cabinet_under_heavy_noise_is_found_by_the_window(
    rng: np.random.Generator,
) -> None:
    """Noise 12 per pixel, the shirt 12 levels lighter: one sigma, which no per-pixel test
    tells from noise (pooling off: less than half of it found), while its 5x5 windows' mean
    does; and nothing beside it joins."""
    engine = MaskEngine(Plate.from_frames(_dim_room_frames(rng, 20, sigma=12.0)), (320, 180))
    assert engine.pooled.on and 0.8 < engine.pooled.rho < 1.3  # independent noise
    mask = _mask_after(engine, _dim_room_frames(rng, 4, sigma=12.0, person=12.0))
    inner = np.zeros(mask.shape, np.uint8)
    inner[PERSON] = 1
    near = cv2.dilate(inner, np.ones((7, 7), np.uint8)) > 0
    inner = cv2.erode(inner, np.ones((7, 7), np.uint8)) > 0
    assert mask[inner].mean() > 0.97
    assert (mask & ~near).mean() < 0.002
    engine.pooled.on = False
    assert _mask_after(engine, _dim_room_frames(rng, 4, sigma=12.0, person=12.0))[inner].mean() < 0.5


def test_noise_a_camera_spreads_over_neighbours_is_not_pooled_into_change(
    rng: np.random.Generator,
) -> None:
    """Noise 8, blurred over neighbours (a denoiser, compression): the window's sum varies
    far more than independent noise would; the plate measures by how much (rho), and the
    empty room stays empty: a little spread is pooled with its factor, a wide one not at all
    (pooling it with the factor taken as 1 read 99% of the room as change)."""
    for blur, pooled in ((0.5, True), (1.5, False)):
        frames = _dim_room_frames(rng, 24, sigma=8.0, blur=blur)
        engine = MaskEngine(Plate.from_frames(frames[:20]), (320, 180))
        assert engine.pooled.on == pooled and engine.pooled.rho > 1.3
        assert _mask_after(engine, frames[20:]).mean() < 0.001


def test_the_window_pools_no_sharp_outline_into_the_room_beside_it(rng: np.random.Generator) -> None:
    """A shirt 80 levels lighter under noise 12: the per-pixel score finds it, and the
    pooled score adds no halo around it (its windows leave out what the per-pixel score
    found and the pixels beside it, where the outline's mixed pixels are)."""
    engine = MaskEngine(Plate.from_frames(_dim_room_frames(rng, 20, sigma=12.0)), (320, 180))
    mask = _mask_after(engine, _dim_room_frames(rng, 4, sigma=12.0, person=80.0))
    person = np.zeros(mask.shape, np.uint8)
    person[PERSON] = 1
    assert mask[cv2.erode(person, np.ones((3, 3), np.uint8)) > 0].all()
    assert int((mask & ~(cv2.dilate(person, np.ones((5, 5), np.uint8)) > 0)).sum()) < 20


# -- hysteresis -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_hysteresis_by_flood_fill_equals_labelling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = 90, 120
    score = cv2.GaussianBlur(rng.uniform(0, 10, (h, w)).astype(np.float32), (0, 0), 1.5) * 3
    score[rng.random((h, w)) < 0.01] = 40.0  # lone strong specks, some inside weak areas
    weak = np.where(score > 14, 255, 0).astype(np.uint8)
    strong = np.where(score > 17, 255, 0).astype(np.uint8)
    hysteresis = Hysteresis(h, w)
    for min_area in (1, 12, 60):
        out = np.full((h, w), 77, np.uint8)
        hysteresis(weak, strong, min_area, out)
        assert np.array_equal(out, reference.hysteresis(weak, strong, min_area))
    # and on views (the engine's region of interest)
    out = np.zeros((h, w), np.uint8)
    hysteresis(weak[5:80, 7:110], strong[5:80, 7:110], 12, out[5:80, 7:110])
    assert np.array_equal(out[5:80, 7:110], reference.hysteresis(weak[5:80, 7:110], strong[5:80, 7:110], 12))


# -- the light tests ------------------------------------------------------------------------------


def _shadow_and_cloth(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(room, plate mean, plate sigma, frame): a cast shadow at [30:90, 40:140] and a flat
    cloth of the wall's colour, a little darker, at [120:170, 200:300]."""
    room = textured_room()
    mean, sigma = _plate(room, rng)
    frame = room.copy()
    frame[30:90, 40:140] *= 0.6
    frame[120:170, 200:300] = room[120:170, 200:300].mean(axis=(0, 1)) * 0.8
    return room, mean, sigma, noisy(frame, rng)


def test_light_consistency_matches_the_reference(rng: np.random.Generator, kernel_path: str) -> None:
    _, mean, sigma, frame = _shadow_and_cloth(rng)
    background = ExpectedBackground(mean, sigma)
    light = LightTests(mean, sigma)
    light.reset()
    consistent = light.consistency(frame, background, FULL) > 0
    r, expected_consistent, verified = reference.light_consistency(
        frame, background.expected(), sigma, z_limit=6.25
    )
    assert (consistent == expected_consistent).mean() > 0.995  # float rounding may differ
    assert ((light.verified > 0) == verified).mean() > 0.995
    np.testing.assert_allclose(light.ratio, r, rtol=1e-5)
    assert consistent[38:82, 48:132].mean() > 0.9  # the shadow
    assert consistent[128:162, 208:292].mean() < 0.1  # the cloth


def test_light_explains_areas_with_the_full_tests_and_never_lone_pixels(
    rng: np.random.Generator, kernel_path: str
) -> None:
    """Light explains exactly what the full tests pass among the candidates around areas
    of candidates (a cast shadow), and drops lone candidates (noise)."""
    _, mean, sigma, frame = _shadow_and_cloth(rng)
    background = ExpectedBackground(mean, sigma)
    light = LightTests(mean, sigma)
    ratios = (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)
    light.reset()
    lit = light.explain(frame, background, FULL, ratios) > 0
    light.reset()
    full = light.consistency(frame, background, FULL) > 0
    candidates = reference.light_candidates(frame, background.expected(), sigma, ratios)
    assert not (lit & ~(candidates & full)).any()  # never more than the full tests
    around = (slice(30 - 8, 90 + 8), slice(40 - 8, 140 + 8))
    assert np.array_equal(lit[around], (candidates & full)[around])  # around an area: exactly them
    assert lit[30:90, 40:140].mean() > 0.6  # the shadow is light (where luma moved 3 sigma)
    assert lit[120:170, 200:300].mean() < 0.1  # the cloth is not
    assert (candidates & full).sum() > lit.sum()  # some lone candidates (noise) were dropped


def _striped_wall(h: int = 180, w: int = 320) -> np.ndarray:
    """A wall with soft vertical stripes (period 24 px, +-3%, ~4.5 levels): too faint for the
    fine texture test to verify at noise 2.5, plain over a 31-pixel window."""
    stripes = 1.0 + 0.03 * np.sin(2 * np.pi * np.arange(w) / 24.0)
    wall = np.array([150.0, 140.0, 160.0], np.float32) * stripes[:, None].astype(np.float32)
    return np.repeat(wall[None], h, axis=0)


def test_a_cloth_of_the_walls_shade_that_hides_its_faint_stripes_is_not_light(
    rng: np.random.Generator, kernel_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flat cloth of the wall's hue at 0.8 keeps the colour and the fine texture of light
    (the stripes are too faint for the 9x9 windows), but it hides the wall's stripes, which a
    cast shadow at 0.6 on the same wall keeps: the coarse texture test refuses the cloth, and
    exactly where its reference does."""
    room = _striped_wall()
    mean, sigma = _plate(room, rng)
    frame = room.copy()
    frame[30:150, 30:130] *= 0.6  # the shadow
    frame[30:150, 190:290] = room[30:150, 190:290].mean(axis=(0, 1)) * 0.8  # the cloth
    frame = noisy(frame, rng)
    background = ExpectedBackground(mean, sigma)
    light = LightTests(mean, sigma)
    ratios = (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)
    light.reset()
    lit = light.explain(frame, background, FULL, ratios) > 0
    shadow, cloth = (slice(45, 135), slice(45, 115)), (slice(45, 135), slice(205, 275))
    assert lit[shadow].mean() > 0.9
    assert lit[cloth].mean() < 0.05
    # the fine tests alone pass the cloth: the coarse test is what refuses it
    monkeypatch.setattr(LightTests, "_coarse_texture", lambda self, frame, background, roi: None)
    light.reset()
    fine = light.explain(frame, background, FULL, ratios) > 0
    assert fine[cloth].mean() > 0.5
    hidden = reference.coarse_texture_hidden(frame, mean, sigma, fine)
    assert hidden[cloth].mean() > 0.5 and not hidden[shadow].any()
    assert (lit == (fine & ~hidden)).mean() > 0.999  # float rounding may differ


def test_light_stays_light_where_the_plate_held_an_edge_of_light_that_moved(
    rng: np.random.Generator, kernel_path: str
) -> None:
    """The plate was taken with a soft sun patch on the striped wall; it has moved on, and
    its old place is darker than the plate, with the wall's stripes still showing. The patch's
    soft edges were most of the plate's coarse detail there, and they are gone, but the
    frame is not flat: light, not a cloth."""
    room = _striped_wall()
    patch = np.zeros(room.shape[:2], np.float32)
    patch[20:160, 120:160] = 1.0
    patch = cv2.GaussianBlur(patch, (0, 0), 6.0)
    mean, sigma = _plate(room * (1.0 + 0.3 * patch)[..., None], rng)
    frame = noisy(room, rng)
    background = ExpectedBackground(mean, sigma)
    light = LightTests(mean, sigma)
    light.reset()
    lit = light.explain(frame, background, FULL, (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)) > 0
    old_place = (slice(30, 150), slice(125, 155))
    assert lit[old_place].mean() > 0.9


def test_a_shadow_is_light_right_up_to_the_person_beside_it(
    rng: np.random.Generator, kernel_path: str
) -> None:
    """A cast shadow beside a person in patterned clothes whose colour light cannot explain:
    the texture windows weigh only pixels that kept their colour, so the person does not make
    the shadow fail next to them, and on this textured wall the shadow is verified by the
    wall's own texture."""
    room = textured_room()
    mean, sigma = _plate(room, rng)
    frame = room.copy()
    checks = (np.arange(120)[:, None] // 6 + np.arange(60)[None, :] // 6) % 2 == 0
    frame[30:150, 100:160] = np.where(checks[..., None], (40, 160, 90), (150, 60, 200))  # the person
    frame[30:150, 160:200] *= 0.6  # the shadow, beside them
    frame = noisy(frame, rng)
    background = ExpectedBackground(mean, sigma)
    light = LightTests(mean, sigma)
    light.reset()
    lit = light.explain(frame, background, FULL, (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)) > 0
    assert not lit[30:150, 100:160].any()  # the clothes are not light
    assert lit[34:146, 160:167].mean() > 0.8  # the shadow's first columns beside them are
    assert lit[34:146, 167:196].mean() > 0.9
    assert (light.verified[34:146, 160:196] > 0).mean() > 0.8  # by the wall's own texture


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("gain", [1.3, 0.6])
def test_light_extends_to_its_sharp_edge_only_where_it_can_tell(
    rng: np.random.Generator, flat: bool, gain: float
) -> None:
    """A sun patch (x1.3) or a shadow (x0.6) with a sharp edge: the texture test fails a band
    inside the edge, and light extends into it, never beyond the patch: brighter light in two
    steps, darker light in one and only where the wall's texture can tell (on a flat wall,
    anything dark keeps a deep shadow's colour)."""
    room = np.full((180, 320, 3), (150, 140, 120), np.float32) if flat else textured_room()
    mean, sigma = _plate(room, rng)
    frame = room.copy()
    frame[40:140, 60:200] *= gain
    frame = noisy(frame, rng)
    light = LightTests(mean, sigma)
    light.reset()
    ratios = (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)
    before = light.explain(frame, ExpectedBackground(mean, sigma), FULL, ratios).copy() > 0
    assert before[50:130, 70:190].mean() > 0.95  # the patch's inside is light
    band = np.zeros(before.shape, bool)
    band[40:140, 60:200] = True
    assert (band & ~before).sum() > 300  # a band inside the sharp edge failed the texture test
    added = (light.extend(FULL) > 0) & ~before
    assert not (added & ~band).any()  # never beyond the patch
    if flat and gain < 1:
        assert not added.any()
    else:
        # what stays of the failed band: about 0.39 and 0.49 of a sun patch's (textured, flat
        # wall: two steps; one step left 0.67 and 0.75), 0.80 of a shadow's (one step)
        left = (band & ~before & ~(light.lit > 0)).sum() / (band & ~before).sum()
        assert left < {(False, 1.3): 0.5, (False, 0.6): 0.9, (True, 1.3): 0.62}[flat, gain]


def _patch_of_light(
    h: int, w: int, gain: float, width: int, box: tuple[int, int, int, int] = (40, 139, 60, 199)
) -> np.ndarray:
    """The ratio of light over a patch (``box``: top, bottom, left, right, inclusive; by
    default [40:140, 60:200]) of ``gain``, its edge a ramp over ``width`` pixels (0: a step,
    a cloth's outline)."""
    top, bottom, left, right = box
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    inside = np.minimum.reduce([y - top, bottom - y, x - left, right - x]) + 0.5
    t = np.clip(inside / width + 0.5, 0, 1) if width else (inside > 0).astype(np.float32)
    return (1 + (gain - 1) * t).astype(np.float32)


@pytest.mark.parametrize("flat", [False, True])
def test_a_ramp_of_light_is_told_from_a_step(rng: np.random.Generator, flat: bool) -> None:
    """A shadow's edge blurred over 6 pixels is a ramp on every row across it; a cloth
    darker than the wall by 15% (its outline a step: smooth, as the step is faint) has a
    line without ramps along its outline, which keeps the contact rule from reaching
    through it. Only where the wall's texture shows through is a dark ramp an open edge."""
    room = np.full((180, 320, 3), (150, 140, 120), np.float32) if flat else textured_room()
    mean, sigma = _plate(room, rng)
    ramps = []
    for gain, width in ((0.6, 6), (0.85, 0)):
        frame = noisy(room * _patch_of_light(180, 320, gain, width)[..., None], rng)
        light = LightTests(mean, sigma)
        light.reset()
        light.explain(frame, ExpectedBackground(mean, sigma), FULL, (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX))
        ramps.append([(light.ramp[y, 80:180] > 0).mean() for y in range(30, 52)])
        if width:
            band = (light.ramp[30:52, 80:180] > 0) & (light.lit[30:52, 80:180] == 0)
            band &= light.coloured[30:52, 80:180] > 0  # the edge the light tests left
            opened = (light.open_edge[30:52, 80:180] > 0)[band].mean()
            assert opened < 0.01 if flat else opened > 0.8
    ramp, step = ramps
    assert min(ramp[4:16]) > 0.25, ramp  # rows 34-45: across the edge
    assert max(step[8:12]) < 0.02, step  # rows 38-41: along the outline


def test_a_wide_edge_of_light_is_not_the_person() -> None:
    """A sun patch touching the person, its blurred edge (8 pixels: colour kept, ramps) in
    the mask on its other three sides: the edge counts as the clear background where it is
    an open edge of light, and the patch stays light; without ramps (a cloth's outline) or
    where the edge is not open (dark light on a flat wall) it rejoins the person. A patch
    with such an edge all round, away from the person, is dropped whole by the anchor."""
    h, w = 80, 120
    person = np.zeros((h, w), np.uint8)
    person[5:75, 0:20] = 255
    lit = np.zeros((h, w), np.uint8)
    lit[20:50, 20:80] = 255  # the patch, touching the person on its left
    edge = np.zeros((h, w), np.uint8)
    edge[12:58, 20:88] = 255  # its edge: 8 pixels above, below and to the right
    edge[lit > 0] = 0
    mask = cv2.bitwise_or(person, edge)
    coloured = cv2.bitwise_or(edge, lit)
    smooth = np.full((h, w), 255, np.uint8)
    ramp = cv2.dilate(edge, np.ones((5, 5), np.uint8))  # a ramp runs a little into either side
    ramp[person > 0] = 0

    def contact(ramp: np.ndarray | None, open_edge: np.ndarray | None) -> tuple[np.ndarray, LightContact]:
        out, rule = mask.copy(), LightContact(h, w)
        rule(out, lit, FULL, coloured, smooth, None, ramp, open_edge)
        return out, rule

    out, rule = contact(ramp, ramp)
    assert not out[20:50, 20:80].any()  # stays light
    assert rule.penumbra[edge > 0].mean() > 0.95  # the whole edge is penumbra
    assert np.array_equal(out, mask)
    for ramp_, open_ in ((None, None), (np.zeros_like(ramp), ramp), (ramp, np.zeros_like(ramp))):
        out, _ = contact(ramp_, open_)
        assert out[20:50, 20:80].all()  # rejoined
    # away from the person: the edge alone is a part of the mask that light explains
    alone = edge.copy()
    alone[20:50, 12:20] = 255  # the patch's left edge too
    lit_alone = np.zeros((h, w), np.uint8)
    lit_alone[20:50, 20:80] = 255
    alone[lit_alone > 0] = 0
    rule = LightContact(h, w)
    out = alone.copy()
    alone_ramp = cv2.dilate(alone, np.ones((5, 5), np.uint8))
    rule(out, lit_alone, FULL, cv2.bitwise_or(alone, lit_alone), smooth, None, alone_ramp)
    dark = np.full((h, w), 0.6, np.float32)
    kept = out.copy()
    Anchor(h, w)(kept, cv2.bitwise_or(alone, lit_alone), dark, FULL)
    assert np.array_equal(kept, out)  # darker light's colour alone: kept
    Anchor(h, w)(out, cv2.bitwise_or(alone, lit_alone), dark, FULL, penumbra=rule.penumbra)
    assert not out.any()  # all penumbra: dropped


@pytest.mark.parametrize("width", [4, 6])
def test_a_sun_patch_beside_the_person_leaves_no_edge_in_the_mask(
    rng: np.random.Generator, width: int
) -> None:
    """A sun patch (x1.35) on a flat wall, its edge blurred over ``width`` pixels, the person
    standing against its right side: the mask is the person and nothing of the patch's edge
    (before light's open edge was taken off the mask, 14494 and 297 pixels stayed)."""
    room = np.full((180, 320, 3), (150, 140, 120), np.float32)
    engine = MaskEngine(Plate.from_frames([noisy(room, rng) for _ in range(12)]), (320, 180))
    lit_room = room * _patch_of_light(180, 320, 1.35, width)[..., None]
    assert _beside_the_person(engine, lit_room, (slice(30, 180), slice(204, 260)), rng) < 50


def _beside_the_person(
    engine: MaskEngine, room: np.ndarray, person: tuple[slice, slice], rng: np.random.Generator
) -> int:
    """The person (clothes light cannot explain) painted over ``room`` at ``person``, four
    noisy frames: the person must be whole in the mask; returns the mask's pixels farther
    than 2 pixels from the person."""
    frame = room.copy()
    frame[person] = (40, 160, 90)
    for _ in range(4):
        mask = engine.step(noisy(frame, rng), Settings()) > 0
    assert mask[person].all()
    near = np.zeros(mask.shape, np.uint8)
    near[person] = 1
    return int((mask & ~(cv2.dilate(near, np.ones((5, 5), np.uint8)) > 0)).sum())


def test_clothes_that_keep_the_walls_colour_in_specks_are_not_light_and_not_texture_tested() -> None:
    """The benchmark's person (a striped shirt before a mottled room, 720p): its stripes keep
    the colour of the room scaled by a light in specks, hundreds of pixels a frame, but
    nowhere most of a 9x9 window, and the room holds no edge of light: light explains none
    of them, and the texture tests (which ran on them in every frame, 5-26 of them lit) leave
    nothing for the contact rule (no smooth ratio, no ramp)."""
    plate, frames = workload.make_scene(1280, 720, n_frames=8)
    replacer = BackgroundReplacer(background=workload.COLOR)
    replacer.set_plate(plate)
    for frame in frames:
        replacer.process(frame)
        engine = replacer._state
        assert engine is not None
        light = engine.light
        assert cv2.countNonZero(light.coloured) > 200  # the specks
        assert cv2.countNonZero(light.lit) == 0
        assert cv2.countNonZero(light.smooth) == 0 and cv2.countNonZero(light.ramp) == 0


@pytest.mark.parametrize("shift", [1, 2, 4, 6])
def test_a_sun_patch_that_moved_leaves_no_outline_when_light_explains_little_else(
    rng: np.random.Generator, shift: int
) -> None:
    """The plate was taken with a sun patch (x1.35, its edge blurred over 4 pixels) on a flat
    wall; it has moved by ``shift`` pixels, and the person stands away from it in clothes
    light cannot explain. The patch's moved outline (brighter where it went, darker where
    the plate's edge of light was) leaves the mask though light explains too few pixels to
    run the contact rule (from 2 pixels on, 189-1623 pixels of outline stayed before)."""
    room = np.full((180, 320, 3), (150, 140, 120), np.float32)
    patch = _patch_of_light(180, 320, 1.35, 4)
    plate = Plate.from_frames([noisy(room * patch[..., None], rng) for _ in range(12)])
    engine = MaskEngine(plate, (320, 180))
    moved = room * np.roll(patch, shift, axis=1)[..., None]
    assert _beside_the_person(engine, moved, (slice(30, 180), slice(240, 290)), rng) < 50


def test_the_plates_edges_of_light_are_its_blurred_outlines_of_light_only() -> None:
    """plate_edges_of_light: a sun patch's outline blurred over 8 pixels on a flat wall is an
    edge of light along its middle; a sharp outline (a frame), the flat wall beside it, and
    a blurred outline where the colour changes (a leaf's, a picture's) are not."""
    h, w = 120, 200
    wall = np.full((h, w, 3), (150.0, 140.0, 120.0), np.float32)
    x = np.arange(w, dtype=np.float32)
    light = 1.0 + 0.35 * np.clip((x - 40.0) / 8.0 + 0.5, 0.0, 1.0)  # ramp over x 36..44
    plate = wall * light[None, :, None]
    plate[20:50, 120:160] = (60.0, 60.0, 60.0)  # a dark frame: a sharp step
    leaf = np.clip((x - 180.0) / 8.0 + 0.5, 0.0, 1.0)[None, :, None]  # blurred, to green
    plate[70:110] = plate[70:110] * (1 - leaf) + np.array([60.0, 160.0, 60.0], np.float32) * leaf
    luma = cv2.transform(plate, LUMA_BGR.reshape(1, 3))
    detail = luma - cv2.blur(luma, (9, 9))
    energy = cv2.blur(detail * detail, (7, 7))
    edges = plate_edges_of_light(plate, luma, energy, np.full((h, w), 1.0, np.float32)) > 0
    assert edges[10:110, 38:43].mean() > 0.9  # the middle of the sun patch's ramp
    assert not edges[:, :30].any() and not edges[:, 50:115].any()  # the flat wall
    assert not edges[14:56, 114:166].any()  # the frame and the 6 pixels beside it
    assert not edges[70:110, 170:].any()  # the blurred change of colour


@pytest.mark.parametrize("left", [True, False])
def test_an_edge_of_light_the_plate_held_is_open_where_the_light_left_it(
    rng: np.random.Generator, left: bool
) -> None:
    """The plate holds a sun patch (x1.35, its edge blurred over 8 pixels) on a flat wall.
    Where the light left (the wall alone), its old edge is a dark ramp the wall's texture
    cannot tell, and an open edge of light. Where something much darker with a blurred
    outline stands on that edge instead (a backlit hand, at 40% of the plate), the pixels it
    covers by half or more are not."""
    room = np.full((180, 320, 3), (150, 140, 120), np.float32)
    patch = _patch_of_light(180, 320, 1.35, 8)
    mean, sigma = _plate(room * patch[..., None], rng)
    light = LightTests(mean, sigma)
    edges = light.plate_edges > 0
    assert edges[60:120, 56:64].mean() > 0.8  # the patch's left edge, x 56..63
    if left:
        frame, judged = room, edges
    else:  # the hand: over the patch's left part, its outline blurred like the patch's edge
        cover = (_patch_of_light(180, 320, 2.0, 8) - 1.0)[..., None]
        cover[:, 100:] = 0.0
        frame = room * patch[..., None] * (1.0 - 0.6 * cover)
        judged = edges & (cover[..., 0] >= 0.5)
    light.reset()
    ratios = (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)
    light.explain(noisy(frame, rng), ExpectedBackground(mean, sigma), FULL, ratios)
    band = judged & (light.ramp > 0) & (light.lit == 0) & (light.coloured > 0)
    assert band.sum() > 30
    opened = (light.open_edge > 0)[band].mean()
    assert opened > 0.8 if left else opened < 0.02, opened

@pytest.mark.parametrize("tall", [True, False])
def test_only_long_edges_of_light_reach_beside_themselves(rng: np.random.Generator, tall: bool) -> None:
    """A sun patch 100 pixels tall on a flat wall: its edges of light are long, and a ramp up
    to MOVED_EDGE_REACH pixels beside them may be that edge moved. A patch of 8 x 8 pixels
    (its edges of light a ring 18 pixels across, short, like the halos the ramp test finds
    beside sharp things): only its edges."""
    h, w = 180, 320
    room = np.full((h, w, 3), (150, 140, 120), np.float32)
    patch = _patch_of_light(h, w, 1.35, 8, box=(40, 139, 60, 199) if tall else (86, 93, 60, 67))
    light = LightTests(*_plate(room * patch[..., None], rng))
    edges, moved = light.plate_edges > 0, light.moved_edges > 0
    assert edges[88:92, 58:62].all()  # the patch's left edge
    assert (moved | ~edges).all()  # (its edges are in, whatever their length)
    if tall:
        assert moved[60:120, 56:72].all()  # the left edge and 8 pixels beside it
        assert not moved[60:120, 76:184].any()
    else:
        assert not (moved & ~edges).any()


@pytest.mark.parametrize("hand", [False, True])
def test_a_ramp_beside_a_long_edge_of_light_is_that_edge_moved(rng: np.random.Generator, hand: bool) -> None:
    """The plate holds a sun patch (x1.35, its edge blurred over 8 pixels, 100 pixels tall)
    on a flat wall; the patch has moved 12 pixels to the right. Where it moved off, the ratio
    is a dark ramp beside the plate's edge of light: an open edge. Not where something darker
    than the edge's dim side stands there (a backlit hand at 40% of the plate)."""
    h, w = 180, 320
    room = np.full((h, w, 3), (150, 140, 120), np.float32)
    patch = _patch_of_light(h, w, 1.35, 8)
    mean, sigma = _plate(room * patch[..., None], rng)
    light = LightTests(mean, sigma)
    frame = room * np.roll(patch, 12, axis=1)[..., None]
    if hand:  # over the strip the light left, its outline blurred like the edge
        cover = np.zeros((h, w), np.float32)
        cover[50:130, 62:84] = 1.0
        frame *= 1.0 - 0.6 * cv2.blur(cover, (5, 5))[..., None]
    light.reset()
    ratios = (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)
    light.explain(noisy(frame, rng), ExpectedBackground(mean, sigma), FULL, ratios)
    beside = np.zeros((h, w), bool)
    beside[60:120, 62:72] = True
    beside &= light.plate_edges == 0  # (beside the plate's edge, not on it)
    band = beside & (light.ramp > 0) & (light.coloured > 0)
    assert band.sum() > 100, band.sum()
    opened = (light.open_edge > 0)[band].mean()
    assert opened < 0.02 if hand else opened > 0.95, opened


@pytest.mark.parametrize(("depth", "light"), [(0.6, True), (0.4, True), (0.75, False)])
def test_a_shadow_enclosed_on_a_plain_floor_has_the_depth_of_the_shadow_the_wall_verified(
    rng: np.random.Generator, depth: float, light: bool
) -> None:
    """Light at 60% on a textured wall (the wall verifies it) and a region of the plain floor
    enclosed by an arm, its forearm and the body, both with soft edges: at the same 60% the
    floor's region is that shadow and not the person; deeper, at 40%, too (one light darkens
    along one line, and the floor lies in its umbra); at 75% (a shirt of the floor's colour,
    shallower than the shadow) it is the person, as the contact rule keeps what the texture
    cannot tell (without the rule the 60% region is the person's too)."""
    room = textured_room(180, 320)
    room[100:] = (70.0, 100.0, 130.0)  # the plain floor
    plate = Plate.from_frames([noisy(room, rng) for _ in range(12)])
    engine = MaskEngine(plate, (320, 180))
    gain = np.ones((180, 320), np.float32)
    gain[20:80, 40:120] = 0.6  # the shadow on the wall
    gain[125:180, 150:200] = depth  # the floor between the arm and the body
    frame = room * cv2.GaussianBlur(gain, (0, 0), 2.0)[..., None]
    frame[110:125, 100:200] = (40, 160, 90)  # the arm
    frame[110:180, 135:150] = (40, 160, 90)  # the forearm
    frame[60:180, 200:250] = (40, 160, 90)  # the body
    for _ in range(4):
        mask = engine.step(noisy(frame, rng), Settings()) > 0
    assert mask[110:125, 100:200].all() and mask[60:180, 200:250].all()
    assert mask[24:76, 44:116].mean() < 0.01
    enclosed = mask[131:180, 156:194].mean()
    assert enclosed < 0.05 if light else enclosed > 0.99, enclosed


def _mottled_wall(h: int = 180, w: int = 320, seed: int = 7) -> np.ndarray:
    """A painted wall's mottling: blobs about 16 px across, +-4% (~6 levels): too faint and
    too soft for the fine texture test to verify at noise 2.5, plain to the coarse test."""
    blobs = np.random.default_rng(seed).uniform(-1, 1, (h // 16 + 2, w // 16 + 2)).astype(np.float32)
    mottle = cv2.resize(blobs, (w, h), interpolation=cv2.INTER_CUBIC)
    mottle *= 0.04 / np.abs(mottle).max()
    return np.array([120.0, 150.0, 110.0], np.float32) * (1.0 + mottle)[..., None]


def test_the_walls_coarse_texture_settles_a_shadow_and_no_cloth_of_its_shade(
    rng: np.random.Generator, kernel_path: str
) -> None:
    """On a mottled wall, where the fine tests cannot verify anything, a cast shadow (x0.72)
    keeps the wall's coarse texture: it is settled as light. Two cloths of the shadowed
    wall's shade are light to the fine tests too, but neither is settled: a flat one hides
    the mottling (the coarse test refuses it), a mottled one shows a mottling of its own."""
    room = _mottled_wall()
    mean, sigma = _plate(room, rng)
    frame = room.copy()
    frame[30:150, 20:110] *= 0.72  # the shadow
    frame[30:150, 120:200] = room[30:150, 120:200].mean(axis=(0, 1)) * 0.72  # a flat cloth
    own = _mottled_wall(seed=8)[30:150, 210:300] / np.array([120.0, 150.0, 110.0], np.float32)
    frame[30:150, 210:300] = room[30:150, 210:300].mean(axis=(0, 1)) * 0.72 * own  # a mottled one
    frame = noisy(frame, rng)
    light = LightTests(mean, sigma)
    light.reset()
    lit = light.explain(frame, ExpectedBackground(mean, sigma), FULL, (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)) > 0
    settled = light.settle(np.full(frame.shape[:2], 255, np.uint8), FULL) > 0
    shadow, flat, mottled = (slice(45, 135), slice(35, 95)), (slice(30, 150), slice(120, 200)), (
        slice(30, 150), slice(210, 300)
    )
    assert not light.verified[shadow].any()  # the fine tests cannot tell
    assert lit[shadow].mean() > 0.9 and settled[shadow].mean() > 0.5
    assert not settled[flat].any()
    assert lit[mottled].mean() > 0.5 and settled[mottled].mean() < 0.02


def _light_inside_the_person(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A person's mask (40x40) with a 10x10 region of light inside it, not in the mask: the
    mask and the light (0/255)."""
    mask = np.zeros((h, w), np.uint8)
    mask[10:50, 10:50] = 255
    lit = np.zeros((h, w), np.uint8)
    lit[20:30, 20:30] = 255
    mask[20:30, 20:30] = 0
    return mask, lit


def test_light_verified_by_the_walls_texture_stays_light_whatever_it_touches() -> None:
    """The contact rule rejoins light enclosed by the person (a shirt of a flat wall's
    colour) only when the texture could not tell: a region the wall's texture verified
    stays light (a shadow between an arm and the body)."""
    h, w = 60, 80
    mask, lit = _light_inside_the_person(h, w)
    verified = np.zeros((h, w), np.uint8)
    before = mask.copy()
    LightContact(h, w)(mask, lit, FULL, verified=verified)
    assert mask[20:30, 20:30].all()  # not verified: rejoined
    verified[20:30, 20:26] = 255  # 60% verified
    mask = before.copy()
    LightContact(h, w)(mask, lit, FULL, verified=verified)
    assert not mask[20:30, 20:30].any()  # stays light


def test_a_ramp_of_light_every_surface_shares_settles_no_cloth_in_a_corner(
    rng: np.random.Generator, kernel_path: str
) -> None:
    """The lens darkens the corners (vignetting), the mottled wall and a cloth before it
    alike. A cloth of the wall's shade with a mottling of its own, in the picture's corner,
    is light to the fine tests; its coarse windows lie to one side of each pixel (the
    picture's edges, the cloth's), where the mean of the shared ramp of light is off the
    pixel. Taken against the window's plane of light, over the picture only, the two ramps
    do not correlate like textures: almost none of the cloth is settled (against the mean,
    with the border's reflection, about a tenth of it was)."""
    h, w = 180, 320
    rows, columns = np.mgrid[0:h, 0:w].astype(np.float32)
    vignetting = 1.0 - 0.175 * (((columns - w / 2) / (w / 2)) ** 2 + ((rows - h / 2) / (h / 2)) ** 2)
    room = _mottled_wall() * vignetting[..., None]
    mean, sigma = _plate(room, rng)
    cloth = (slice(120, 180), slice(240, 320))
    own = _mottled_wall(seed=8)[cloth] / np.array([120.0, 150.0, 110.0], np.float32)
    frame = room.copy()
    shade = room[cloth].mean(axis=(0, 1)) / vignetting[cloth].mean() * 0.8
    frame[cloth] = shade * own * vignetting[cloth][..., None]
    light = LightTests(mean, sigma)
    light.reset()
    ratios = (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX)
    lit = light.explain(noisy(frame, rng), ExpectedBackground(mean, sigma), FULL, ratios)
    assert (lit[cloth] > 0).mean() > 0.5
    settled = light.settle(np.full((h, w), 255, np.uint8), FULL)
    assert (settled[cloth] > 0).mean() < 0.03


def test_settled_light_never_rejoins_the_person_and_the_rest_of_its_region_may() -> None:
    """A region of light that touches only the person rejoins it, all but its pixels the
    wall's coarse texture settled (a shadow beside the person whose fringe, or a cloth of the
    wall's shade between them, the texture cannot tell)."""
    h, w = 60, 80
    mask, lit = _light_inside_the_person(h, w)
    settled = np.zeros((h, w), np.uint8)
    settled[20:30, 24:30] = 255
    asked = []

    def settle(where: np.ndarray, roi: tuple[slice, slice]) -> np.ndarray:
        asked.append(cv2.countNonZero(where))
        return settled[roi]

    LightContact(h, w)(mask, lit, FULL, verified=np.zeros((h, w), np.uint8), settle=settle)
    assert asked == [100]  # about the region that rejoins
    assert mask[20:30, 20:24].all()  # rejoined
    assert not mask[20:30, 24:30].any()  # settled: light


def test_parts_of_the_mask_that_light_explains_away_from_the_person_are_dropped() -> None:
    """A part of the mask that is all colour brighter light explains (the sharp outline of a
    sun patch that the texture test fails) is dropped when it lies away from the person and
    the picture's edges, kept when it lies within ANCHOR_REACH pixels of the person (a shirt
    of the wall's colour beside the arm) or touches the picture's edge (an arm coming in),
    and a part that light does not explain is always kept; nor is darker light's colour
    (a backlit hand keeps the colour of a deep shadow)."""
    h, w = 80, 120
    ratio = np.full((h, w), 1.3, np.float32)
    mask = np.zeros((h, w), np.uint8)
    coloured = np.zeros((h, w), np.uint8)
    mask[10:70, 10:40] = 255  # the person: light explains none of it
    cv2.rectangle(mask, (70, 10), (110, 40), 255, 1)  # a sun patch's outline, away from the person
    cv2.rectangle(coloured, (70, 10), (110, 40), 255, 1)
    mask[50:70, 39 + ANCHOR_REACH : 60] = 255  # a shirt of the wall's colour, near the person
    coloured[50:70, 39 + ANCHOR_REACH : 60] = 255
    mask[72:78, 100:110] = 255  # a small part light does not explain, away from the person
    out = mask.copy()
    Anchor(h, w)(out, coloured, ratio, FULL)
    assert np.array_equal(out[10:70, 10:40], mask[10:70, 10:40])
    assert not out[10:41, 70:111].any()  # the outline: dropped
    assert out[50:70, 39 + ANCHOR_REACH : 60].all()  # near the person: kept
    assert out[72:78, 100:110].all()
    alone = np.zeros((h, w), np.uint8)
    cv2.rectangle(alone, (70, 10), (110, 40), 255, 1)
    Anchor(h, w)(alone, coloured, ratio, FULL)
    assert not alone.any()  # the outline alone in the picture: dropped too
    dark = np.full((h, w), 0.4, np.float32)
    alone[10:41, 70:111] = mask[10:41, 70:111]
    Anchor(h, w)(alone, coloured, dark, FULL)
    assert np.array_equal(alone[10:41, 70:111], mask[10:41, 70:111])  # a dark outline stays
    edge = np.zeros((h, w), np.uint8)
    cv2.rectangle(edge, (70, 0), (110, 40), 255, 1)  # touching the top edge
    Anchor(h, w)(edge, cv2.bitwise_or(coloured, edge), ratio, FULL)
    assert edge[0, 70:111].all()
    far = mask.copy()
    far[50:70, 39 + ANCHOR_REACH] = 0  # one pixel farther
    Anchor(h, w)(far, coloured, ratio, FULL)
    assert not far[50:70, 40 + ANCHOR_REACH : 60].any()  # beyond the reach: dropped


def test_light_touching_only_the_person_rejoins_it() -> None:
    h, w = 60, 80
    mask = np.zeros((h, w), np.uint8)
    mask[10:50, 10:50] = 255
    lit = np.zeros((h, w), np.uint8)
    lit[20:30, 20:30] = 255  # inside the person: a shirt of the wall's colour, taken for light
    mask[20:30, 20:30] = 0
    lit[20:40, 50:70] = 255  # beside the person, on the open wall: a cast shadow
    LightContact(h, w)(mask, lit, FULL)
    assert mask[20:30, 20:30].all()  # rejoined
    assert not mask[20:40, 50:70].any()  # stays background


def test_changed_pixels_enclosed_by_light_are_no_outline_on_the_room() -> None:
    """A shirt of the wall's colour taken for light, speckled with pixels that changed but
    failed the light tests (its fabric), at the picture's right edge beside the rest of the
    person: counted as clear background, the speckles would outnumber its outline on the
    person; with ``changed``, only background connected to unchanged pixels is clear, and it
    rejoins. A shadow beside the person whose outline on the room is a band of changed
    pixels (noise, JPEG) that reaches the unchanged wall stays light either way."""
    h, w = 60, 80
    mask = np.zeros((h, w), np.uint8)
    mask[10:60, 30:80] = 255  # the person, coming in across the right edge
    lit = np.zeros((h, w), np.uint8)
    lit[20:50, 50:80] = 255  # the shirt, taken for light
    changed = np.zeros((h, w), np.uint8)
    changed[10:60, 30:80] = 255  # everything on the person changed
    for y in range(22, 48, 4):  # ... and a few of the shirt's pixels passed nothing
        for x in range(52, 78, 4):
            lit[y, x] = 0
    mask[20:50, 50:80] = 0  # light left the speckles alone: not in the mask either
    holes = (mask == 0) & (lit == 0) & (changed > 0)
    assert holes.sum() == 49
    plain = mask.copy()
    LightContact(h, w)(plain, lit, FULL)
    assert not plain[20:50, 50:80].any()  # the speckles count as room: it stays light
    out = mask.copy()
    LightContact(h, w)(out, lit, FULL, changed=changed)
    assert out[20:50, 50:80][lit[20:50, 50:80] > 0].all()  # rejoined (the lit pixels)
    assert not out[holes].any()  # (the speckles were never taken by light: not given back)
    # a shadow to the person's left, its outline on the room a 2-pixel band of changed pixels
    shadow = np.zeros((h, w), np.uint8)
    shadow[20:40, 10:30] = 255
    person = np.zeros((h, w), np.uint8)
    person[10:60, 30:80] = 255
    band = np.zeros((h, w), np.uint8)
    band[18:42, 8:30] = 255
    changed = cv2.bitwise_or(person, band)
    out = person.copy()
    LightContact(h, w)(out, shadow, FULL, changed=changed)
    assert not out[20:40, 10:30].any()  # light: the band reaches the unchanged wall


def test_the_contact_rule_gives_back_only_what_light_took() -> None:
    """A region of light enclosed by the person rejoins it, but only the pixels that were in
    the mask before light explained them (``within``): light on pixels that were background
    anyway (a bright window whose colour the exposure shifted) never becomes the person."""
    h, w = 60, 80
    mask = np.zeros((h, w), np.uint8)
    mask[10:50, 10:50] = 255
    lit = np.zeros((h, w), np.uint8)
    lit[20:30, 20:30] = 255
    mask[20:30, 20:30] = 0
    within = np.zeros((h, w), np.uint8)
    within[20:30, 20:25] = 255  # half of it was in the mask
    out = mask.copy()
    LightContact(h, w)(out, lit, FULL, within=within)
    assert out[20:30, 20:25].all() and not out[20:30, 25:30].any()


def test_a_penumbra_is_neither_room_nor_person() -> None:
    """A shadow beside the person, its penumbra (colour kept, smooth, in the mask) on two
    sides, the room below: the penumbra does not drag it back into the mask; the same band
    with a step (not smooth) at its outer edge is a cloth's outline and does."""
    h, w = 70, 100
    mask = np.zeros((h, w), np.uint8)
    mask[10:25, 10:40] = 255  # the person
    lit = np.zeros((h, w), np.uint8)
    lit[15:45, 40:80] = 255  # the shadow (explained: not in the mask)
    mask[11:15, 40:84] = 255  # its penumbra above ...
    mask[11:45, 80:84] = 255  # ... and to the right
    coloured = np.where(mask > 0, 255, 0).astype(np.uint8)
    coloured[10:25, 10:40] = 0  # the person's colour is not the light's
    smooth = np.full((h, w), 255, np.uint8)
    before = mask.copy()
    LightContact(h, w)(mask, lit, FULL)
    assert mask[15:45, 40:80].all()  # without the light tests' maps: enclosed, rejoined
    mask = before.copy()
    LightContact(h, w)(mask, lit, FULL, coloured, smooth)
    assert not mask[15:45, 40:80].any()  # stays background
    assert np.array_equal(mask, before)  # and the penumbra stays as it was
    step = smooth.copy()
    step[9:12, 38:86] = 0  # a step at the band's outer edge: not reached from the room
    step[9:47, 83:86] = 0
    mask = before.copy()
    LightContact(h, w)(mask, lit, FULL, coloured, step)
    assert mask[15:45, 40:80].all()  # a cloth's outline: rejoined


def test_the_contact_rule_holds_its_decision_from_frame_to_frame() -> None:
    """A strip of light hugging an arm, about half its outline on the arm and half on the
    wall (a cast shadow, or a sleeve of the wall's colour): it joins the person when it was
    the person's in the last frame, and stays light when it was not (not even the pixels
    that were in the mask); without a last frame, the rule of the person's regions."""
    h, w = 80, 60
    mask = np.zeros((h, w), np.uint8)
    mask[5:75, 10:20] = 255  # the arm
    lit = np.zeros((h, w), np.uint8)
    lit[10:70, 20:25] = 255  # the strip, explained as light (out of the mask)
    strip = lit > 0
    rule = LightContact(h, w)
    was_person = cv2.bitwise_or(mask, lit)
    was_light = mask.copy()
    for last, joins in ((None, True), (was_person, True), (was_light, False)):
        out = mask.copy()
        rule(out, lit, FULL, within=lit, last=last)
        assert out[strip].all() if joins else not out[strip].any()
        assert np.array_equal(out > 0, reference.light_contact(mask, lit, last) > 0)
    half = was_light.copy()
    half[10:40, 20:25] = 255  # half of it was the person's: still the person's
    out = mask.copy()
    rule(out, lit, FULL, last=half)
    assert out[strip].all()


def test_light_that_stayed_light_holds_when_an_arm_hides_its_outline() -> None:
    """A shadow on the wall between an arm and the body, its outline mostly on them (the arm
    swung down beside it): new to the rule it joins the person; when it was light that
    stayed light in the last frame (``held``), it stays light, unless the person all but
    encloses it; when it was the person's, it stays the person's."""
    h, w = 60, 60
    mask = np.zeros((h, w), np.uint8)
    mask[5:55, 10:20] = 255  # the arm
    mask[5:55, 28:40] = 255  # the body
    lit = np.zeros((h, w), np.uint8)
    lit[20:32, 20:28] = 255  # the shadow between them, 8 wide and 12 high
    shadow = lit > 0
    assert LIGHT_CONTACT_MIN_HELD < reference.clear_share(mask, lit) < LIGHT_CONTACT_MIN_NEW
    nobody = np.zeros((h, w), np.uint8)
    rule = LightContact(h, w)
    for last, held, joins in (
        (nobody, None, True), (nobody, nobody, True), (nobody, lit, False), (lit, lit, True),
    ):
        out = mask.copy()
        rule(out, lit, FULL, last=last, held=held)
        assert out[shadow].all() if joins else not out[shadow].any()
        assert np.array_equal(out > 0, reference.light_contact(mask, lit, last, held) > 0)
    enclosed = mask.copy()
    enclosed[5:20, 20:28] = 255  # the person closes over it but for a gap at its bottom
    enclosed[32:55, 20:25] = 255
    out = enclosed.copy()
    rule(out, lit, FULL, last=nobody, held=lit)
    assert out[shadow].all()


def test_a_region_that_was_the_persons_goes_to_light_once_most_of_its_outline_is_on_the_room() -> None:
    """A patch of light that was the person's in the last frame, now beside the arm with 58%
    of its outline on the room: it is light (clear background is only what is connected to
    unchanged pixels, so a shadow's outline on the room is rarely much more than that)."""
    h, w = 60, 60
    mask = np.zeros((h, w), np.uint8)
    mask[5:55, 10:20] = 255  # the arm
    lit = np.zeros((h, w), np.uint8)
    lit[20:36, 20:24] = 255  # 16 high, 4 wide, beside the arm
    component = lit > 0
    assert 0.57 < reference.clear_share(mask, lit) < 0.59
    was_person = cv2.bitwise_or(mask, lit)
    out = mask.copy()
    LightContact(h, w)(out, lit, FULL, within=lit, last=was_person)
    assert not out[component].any()
    assert np.array_equal(out > 0, reference.light_contact(mask, lit, was_person) > 0)


@pytest.mark.parametrize("blobs", [40, 400])  # up to 256 components, and more
def test_light_contact_equals_labelling_each_region(blobs: int) -> None:
    rng = np.random.default_rng(blobs)
    h, w = 120, 160
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (80, 60), (45, 50), 0, 0, 360, 255, -1)
    lit = np.zeros((h, w), np.uint8)
    for _ in range(blobs):  # patches of light inside, across and outside the person
        x, y = int(rng.integers(0, w - 3)), int(rng.integers(0, h - 3))
        lit[y : y + int(rng.integers(1, 4)), x : x + int(rng.integers(1, 4))] = 255
    mask[lit > 0] = 0  # light was explained away from the mask
    assert cv2.connectedComponents(lit, connectivity=8)[0] - 1 > (256 if blobs > 256 else 0)
    out = mask.copy()
    LightContact(h, w)(out, lit, FULL)
    assert np.array_equal(out, reference.light_contact(mask, lit))
    assert (out != mask).any() and (lit[out == 0] > 0).any()  # some rejoin, some stay light
    last = np.zeros((h, w), np.uint8)  # the person a little to the left in the last frame
    cv2.ellipse(last, (74, 60), (45, 50), 0, 0, 360, 255, -1)
    held = mask.copy()
    LightContact(h, w)(held, lit, FULL, last=last)
    assert np.array_equal(held, reference.light_contact(mask, lit, last))


# -- cleanup --------------------------------------------------------------------------------------


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
    cleanup = Cleanup(h, w)
    mask = _random_mask(rng, h, w)
    low = 6.25
    # about half of each hole suspicious: the share rule decides both ways across the seeds
    score = rng.uniform(0, SUSPICIOUS_SCORE * low, (h, w)).astype(np.float32)
    score[rng.random((h, w)) < rng.uniform(0.2, 0.5)] = low  # a raised score ...
    lit = np.where(rng.random((h, w)) < 0.2, 255, 0).astype(np.uint8)  # ... or light
    suspicious = (score > SUSPICIOUS_SCORE * low) | (lit > 0)
    out = mask.copy()
    cleanup.fill_holes(out, FULL, score=score, low=low, lit=lit)
    assert np.array_equal(out, reference.fill_holes(mask, suspicious, cleanup.small_hole_area))
    # inside a region of interest whose edges are background: the same holes
    framed = np.zeros_like(mask)
    framed[11:79, 16:104] = mask[11:79, 16:104]
    out = framed.copy()
    cleanup.fill_holes(out, (slice(10, 80), slice(15, 105)), score=score, low=low, lit=lit)
    assert np.array_equal(out, reference.fill_holes(framed, suspicious, cleanup.small_hole_area))
    # without light, only the score is suspicious
    out = mask.copy()
    cleanup.fill_holes(out, FULL, score=score, low=low, lit=None)
    raised = score > SUSPICIOUS_SCORE * low
    assert np.array_equal(out, reference.fill_holes(mask, raised, cleanup.small_hole_area))


def test_cleanup_fills_small_and_suspicious_holes_and_keeps_real_gaps() -> None:
    h = w = 100
    cleanup = Cleanup(h, w)  # small holes: up to 15 pixels here
    quiet = np.zeros((h, w), np.float32)

    def ring(hole: int) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        m[20:80, 20:80] = 255
        c = 50 - hole // 2
        m[c : c + hole, c : c + hole] = 0
        return m

    small = ring(3)
    cleanup(small, FULL, score=quiet, low=6.25, lit=None)
    assert small[20:80, 20:80].all()
    gap = ring(30)  # a real gap (an arm on the hip): the plate shows there exactly
    cleanup(gap, FULL, score=quiet, low=6.25, lit=None)
    assert not gap[36:64, 36:64].any() and gap[20:30, 20:80].all()
    shirt = ring(30)  # the same hole, but its pixels differ faintly from the plate
    raised = quiet.copy()
    raised[35:65, 35:65] = 2.0  # above SUSPICIOUS_SCORE x 6.25
    cleanup(shirt, FULL, score=raised, low=6.25, lit=None)
    assert shirt[20:80, 20:80].all()
    border = np.zeros((50, 50), np.uint8)
    border[:, 10:40] = 255
    border[20:50, 20:30] = 0  # open to the bottom edge: never a hole
    before = border.copy()
    Cleanup(50, 50).fill_holes(border, FULL, score=np.full((50, 50), 5.0, np.float32), low=6.25, lit=None)
    assert np.array_equal(border, before)


def test_closing_joins_cracks_never_shrinks_and_keeps_a_thin_finger() -> None:
    m = np.zeros((40, 40), np.uint8)
    m[10:30, 10:30] = 255
    m[5:10, 20] = 255  # a one-pixel finger
    m[15, 10:30] = 0  # a crack
    out = m.copy()
    Cleanup(40, 40)(out, FULL, score=np.zeros((40, 40), np.float32), low=6.25, lit=None)
    assert (out >= m).all() and out[15, 12:28].all() and out[5:10, 20].all()


# -- the band of light beside the person --------------------------------------------------------


def _band_scene(band_width: int = 6, band_ratio: float = 0.76) -> dict[str, np.ndarray]:
    """A person at the left edge (its last 5 columns a shirt of the wall's hue that kept the
    colour of light at ratio 0.48), a band of ``band_width`` columns beside it in the mask
    that kept the colour at ``band_ratio``, and a cast shadow at 0.76 beyond (lit, on the
    room), with ratio noise of 0.01; the luma noise makes the band's tolerance 0.039."""
    h, w = 60, 90
    rng = np.random.default_rng(7)
    ratio = np.ones((h, w)) + rng.normal(0, 0.01, (h, w))
    mask = np.zeros((h, w), np.uint8)
    coloured = np.zeros((h, w), np.uint8)
    lit = np.zeros((h, w), np.uint8)
    edge = 30 + band_width
    mask[:, :edge] = 255
    coloured[:, 25:30] = 255
    ratio[:, 25:30] += 0.48 - 1
    band = (slice(10, 50), slice(30, edge))
    coloured[band] = 255
    ratio[band] += band_ratio - 1
    mask[:10, 30:edge] = mask[50:, 30:edge] = 0  # the room above and below the band
    shadow = (slice(10, 50), slice(edge, edge + 24))
    lit[shadow] = coloured[shadow] = 255
    ratio[shadow] += 0.76 - 1
    ratio = ratio.astype(np.float32)
    planes = {
        "ratio_floor": np.maximum(ratio, 0.25).astype(np.float32),
        "sigma_luma": np.ones((h, w), np.float32),
        "luma": np.full((h, w), 100.0, np.float32),
    }
    return {"mask": mask, "lit": lit, "coloured": coloured, "ratio": ratio, **planes}


def _band(scene: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The engine's mask after LightBand, and the reference's."""
    h, w = scene["mask"].shape
    out = scene["mask"].copy()
    LightBand(h, w)(
        out, scene["lit"], scene["coloured"], scene["ratio"], scene["ratio_floor"],
        scene["sigma_luma"], scene["luma"], FULL,
    )
    tolerance = BAND_SIGMAS * scene["ratio_floor"] * scene["sigma_luma"] / scene["luma"] + BAND_FLOOR
    expected = reference.light_band(scene["mask"], scene["lit"], scene["coloured"], scene["ratio"], tolerance)
    return out, expected


def test_the_band_beside_a_shadow_goes_to_the_light_and_the_person_stays() -> None:
    """A shadow's strip beside the person that kept its colour but failed the texture test
    (its windows held the shirt's step) goes to the light, all of it; the shirt beside it,
    which kept the colour of light too but at another ratio, stays the person's."""
    scene = _band_scene()
    out, expected = _band(scene)
    assert np.array_equal(out, expected)
    assert not out[10:50, 30:36].any()  # the band
    assert out[:, :30].all()  # the person, its shirt of the wall's hue included
    assert np.array_equal(out[:, 36:] > 0, scene["mask"][:, 36:] > 0)


def test_the_band_goes_only_where_its_ratio_continues_the_lights() -> None:
    """A band at the ratio of the person's shirt (0.60: a step from the shadow's 0.76, well
    beyond its noise) is the person's edge, not light: nothing goes."""
    scene = _band_scene(band_ratio=0.60)
    out, expected = _band(scene)
    assert np.array_equal(out, expected)
    assert np.array_equal(out, scene["mask"])


def test_the_band_goes_at_most_its_steps() -> None:
    """A band wider than BAND_STEPS loses only the BAND_STEPS columns nearest the light."""
    scene = _band_scene(band_width=BAND_STEPS + 3)
    out, expected = _band(scene)
    assert np.array_equal(out, expected)
    edge = 30 + BAND_STEPS + 3
    assert not out[10:50, edge - BAND_STEPS : edge].any()
    assert out[10:50, 30 : edge - BAND_STEPS].all()


def test_only_the_rooms_light_takes_a_band() -> None:
    """No band goes beside light that is not the room's: light enclosed by the person (the
    inside of a shirt of the wall's colour), light with most of its outline on the person,
    light smaller than BAND_SEED_MIN of the picture; and a band pixel that the light tests
    passed (the contact rule gave it to the person) stays."""
    scene = _band_scene()
    enclosed = dict(scene, mask=scene["mask"].copy())
    enclosed["mask"][5:10, 30:65] = enclosed["mask"][50:55, 30:65] = 255  # around the shadow
    enclosed["mask"][5:55, 60:65] = 255
    hugged = dict(scene, mask=scene["mask"].copy())
    hugged["mask"][8:10, 30:62] = hugged["mask"][50:52, 30:62] = 255  # arms along it
    hugged["mask"][8:52, 60:62] = 255
    assert reference.clear_share(hugged["mask"], hugged["lit"]) < BAND_SEED_SHARE
    small = dict(scene, lit=np.zeros_like(scene["lit"]))
    small["lit"][10:12, 36:38] = 255  # 4 pixels: below BAND_SEED_MIN of 60x90
    assert BAND_SEED_MIN * small["lit"].size > 4
    for case in (enclosed, hugged, small):
        out, expected = _band(case)
        assert np.array_equal(out, expected)
        assert np.array_equal(out, case["mask"])
    rejoined = dict(scene, lit=scene["lit"].copy())
    rejoined["lit"][10:50, 30:36] = 255  # the band was light that the contact rule gave back
    out, expected = _band(rejoined)
    assert np.array_equal(out, expected)
    assert np.array_equal(out, scene["mask"])


@pytest.mark.parametrize(("width", "height", "reach"), [(1280, 720, 1), (640, 360, 2), (320, 240, 4)])
def test_a_jpeg_cameras_ringing_reaches_half_a_block_at_the_working_size(
    rng: np.random.Generator, width: int, height: int, reach: int
) -> None:
    """A JPEG block is 8 camera pixels: the light tests' ringing allowance reaches half of
    it, 4 pixels at full size, 2 at half, 1 at a quarter (1280x720 works at 320x180); a
    camera without JPEG gets none."""
    room = textured_room(height, width)
    size = work_size(width, height, Settings().work_width)
    compressed = Plate.from_frames([jpeg(noisy(room, rng, 1.0), 80) for _ in range(4)])
    assert compressed.jpeg_quality == 80
    assert ringing_reach(compressed, size) == reach
    assert ringing_reach(Plate.from_frames([noisy(room, rng, 1.0) for _ in range(4)]), size) == 0
