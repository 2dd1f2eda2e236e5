"""Metrics on hand-computed examples, and the default mode's quality held to measured floors.

The floors were set a little under what the default mode measured on the first two seeds of
the published table, which are tuning seeds (see the seed policy in bgcore.evaluate): they
guard against regressions, they do not show how well the engine does on scenes nobody has
seen. Scenes are 320x240, 20 live frames.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgcore import evaluate, synth
from bgcore.errors import PlateError

# -- metrics --------------------------------------------------------------------------------


def test_f1_hand_computed() -> None:
    truth = np.zeros((4, 5), np.uint8)
    truth[1:3, 1:4] = 255  # 6 pixels
    assert evaluate.f1(truth, truth) == 1.0
    assert evaluate.f1(np.zeros_like(truth), truth) == 0.0
    assert evaluate.f1(np.zeros_like(truth), np.zeros_like(truth)) == 1.0  # nothing to find
    pred = np.zeros_like(truth)
    pred[1, 1:5] = 255  # 4 pixels: 3 right, 1 wrong; 3 missed
    assert evaluate.counts(pred, truth) == evaluate.Counts(tp=3, fp=1, fn=3)
    assert evaluate.f1(pred, truth) == pytest.approx(2 * 3 / (2 * 3 + 1 + 3))
    with pytest.raises(ValueError, match="alike"):
        evaluate.f1(pred, truth[:3])


def test_edge_f1_hand_computed() -> None:
    truth = np.zeros((20, 20), np.uint8)
    truth[5:15, 5:15] = 255
    assert evaluate.edge_f1(truth, truth) == 1.0
    assert evaluate.edge_f1(np.zeros_like(truth), truth) == 0.0
    shifted = np.roll(truth, 2, axis=1)  # every boundary pixel within 2 px of the true one
    assert evaluate.edge_f1(shifted, truth, tolerance=2) == 1.0
    far = np.roll(truth, 3, axis=1)
    # 3 px off: only the top/bottom rows' overlapping parts match
    c = evaluate.boundary_counts(far, truth, tolerance=2)
    assert 0 < c.tp < c.tp + c.fp and evaluate.edge_f1(far, truth, tolerance=2) < 1.0
    assert evaluate.edge_f1(far, truth, tolerance=3) == 1.0


def test_flicker_counts_flips_only_where_the_truth_holds() -> None:
    t = np.zeros((2, 5), np.uint8)
    t2 = t.copy()
    t2[0, 0] = 255  # the truth changes at one pixel: not counted
    m1, m2, m3 = t.copy(), t.copy(), t.copy()
    m2[0, 0] = 255  # follows the truth
    m2[1, 4] = 255  # a flip where the truth stayed background
    m3[0, 0] = 255
    # pairs (1,2): 9 stable pixels, 1 flip; (2,3): 10 stable, 1 flip (pixel [1,4] back)
    assert evaluate.flicker([m1, m2, m3], [t, t2, t2]) == pytest.approx(2 / 19)
    assert evaluate.flicker([t, t], [t, t]) == 0.0
    assert evaluate.flicker([t], [t]) == 0.0


def test_evaluate_scene_perfect_and_table_format() -> None:
    scene = synth.make_scene("clean", width=96, height=64, n_frames=3, plate_frames=3, seed=1)
    m = evaluate.score_masks(scene.truth, scene.truth)
    assert (m.f1, m.edge_f1, m.flicker, m.frames) == (1.0, 1.0, 0.0, 3)
    rows = evaluate.quality_table(["clean"], seeds=(1,), width=96, height=64, n_frames=3, plate_frames=3)
    text = evaluate.format_table(rows)
    assert text.splitlines()[0].startswith("| case | F1 default | F1 classic")
    assert "| clean |" in text and "**mean**" in text


# -- quality of the default mode --------------------------------------------------------------

SEEDS = evaluate.DEFAULT_SEEDS[:2]
STILL_SEED = evaluate.DEFAULT_SEEDS[2]
N_FRAMES = 20
# Measured with these settings (SEEDS, 20 frames), floors a little below. Re-based
# when the engine learned sensor clipping, the edge-error noise term, the 2x2 light field and
# the contact rule for light: every case rose except combo (0.884 -> 0.835, a sharp-edged sun
# patch that the contact rule now hands to the person), and no case is below classic any more.
# Raised for the light cases when the light tests learned light beside the person (weighted
# texture windows, verified light, the edge of light, the anchor rule), and again when
# it learned light's blurred edge (ramps as penumbra, open edges as clear background), and
# when the contact rule learned to remember the last frame (shadow, combo), and when the
# edge of brighter light took two steps (combo). similar_jpeg added when clear background
# became what is connected to unchanged pixels. Raised again when the band beside the
# person went to the light beside it (shadow, combo), and when the plate's edges of light
# became open where the light left them (local_light, combo), and when noisy pixels were
# also scored over 5x5 windows (noise_high). shadow_jpeg added with its measure. Raised
# with a JPEG camera's ringing allowance (shadow_jpeg, combo).
FLOORS = {
    "clean": 0.95,  # measured 0.988
    "noise_high": 0.96,  # 0.981 (0.862 before the pooled score)
    "exposure": 0.95,  # 0.987
    "white_balance": 0.95,  # 0.987
    "shadow": 0.97,  # 0.975 (0.961 without the band)
    "shadow_jpeg": 0.965,  # 0.971 (0.959 without the ringing allowance)
    "local_light": 0.975,  # 0.981 (0.973 before the plate's edges of light)
    "similar_clothing": 0.90,  # 0.983
    "similar_jpeg": 0.94,  # 0.971
    "jpeg": 0.94,  # 0.981
    "shake": 0.94,  # 0.983
    "still": 0.95,  # 0.986
    "combo": 0.955,  # 0.960 (0.940 without the ringing allowance)
}
# Where the default mode does not yet reach the tutorial's F1 (see the Quality section of README.md):
# strict, so the day it does, the marker must come off. None today.
BELOW_CLASSIC: dict[str, str] = {}


def _cases(names: tuple[str, ...]) -> list[object]:
    marked: list[object] = []
    for c in names:
        gap = BELOW_CLASSIC.get(c)
        marked.append(c if gap is None else pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=gap)))
    return marked


@pytest.fixture(scope="module")
def scores() -> dict[str, tuple[float, float]]:
    """(default F1, classic F1) per case, averaged over SEEDS."""
    out = {}
    for case in synth.CASES:
        d, c = [], []
        for seed in SEEDS:
            scene = synth.make_scene(case, n_frames=N_FRAMES, plate_frames=20, seed=seed)
            d.append(evaluate.evaluate_scene(scene).f1)
            c.append(evaluate.evaluate_scene(scene, mode="classic").f1)
        out[case] = (float(np.mean(d)), float(np.mean(c)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", synth.CASES)
def test_default_mode_meets_its_floor(scores: dict[str, tuple[float, float]], case: str) -> None:
    assert scores[case][0] >= FLOORS[case], f"{case}: F1 {scores[case][0]:.3f} < floor {FLOORS[case]}"


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases(synth.DRIFT_CASES))
def test_default_beats_classic_under_light_drift(scores: dict[str, tuple[float, float]], case: str) -> None:
    d, c = scores[case]
    assert d > c, f"{case}: default {d:.3f} vs classic {c:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases(synth.CASES))
def test_default_is_never_below_classic(scores: dict[str, tuple[float, float]], case: str) -> None:
    d, c = scores[case]
    assert d >= c - 0.005, f"{case}: default {d:.3f} vs classic {c:.3f}"


@pytest.mark.slow
def test_still_person_does_not_flicker() -> None:
    scene = synth.make_scene("still", n_frames=N_FRAMES, plate_frames=20, seed=STILL_SEED)
    m = evaluate.evaluate_scene(scene)
    assert m.flicker < 0.004 and m.f1 > 0.95


@pytest.mark.slow
def test_a_shirt_of_the_walls_shade_before_faint_wallpaper_is_the_person() -> None:
    """Tuning seed 3 of similar_clothing: a shirt close to the wall's colour, before
    wallpaper whose stripes are too faint for the fine texture test. Without the coarse
    texture test a fifth of the shirt was taken for a shadow (F1 0.885, recall 0.80 here;
    0.989 and 0.988 with it)."""
    scene = synth.make_scene("similar_clothing", n_frames=N_FRAMES, plate_frames=20, seed=3)
    m = evaluate.evaluate_scene(scene)
    assert m.f1 > 0.96 and m.recall > 0.95, f"F1 {m.f1:.3f}, recall {m.recall:.3f}"


@pytest.mark.slow
def test_a_shadow_beside_the_person_through_a_jpeg_camera_is_light(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tuning seed 101 of shadow_jpeg: a soft shadow beside the person through an MJPEG
    webcam. The JPEG blocks that hold the person's outline ring onto the wall beside it, and
    without the ringing allowance (bgcore.engine.light.RINGING_ERROR) the shadow there
    failed the fine texture test and stayed the person (F1 0.971 here, 11.9K false
    foreground pixels within 8 pixels of the person; 0.987 and 4.4K with it)."""
    from bgcore.engine import mask_engine

    scene = synth.make_scene("shadow_jpeg", n_frames=N_FRAMES, plate_frames=20, seed=101)

    def measured() -> tuple[float, int]:
        masks, _ = evaluate.run_masks(scene)
        near = 0
        for mask, truth in zip(masks, scene.truth, strict=True):
            person = truth > 127
            beside = (cv2.dilate(person.astype(np.uint8), np.ones((17, 17), np.uint8)) > 0) & ~person
            near += int(((mask > 127) & beside).sum())
        return evaluate.score_masks(masks, scene.truth, 0.0).f1, near

    f1, near = measured()
    monkeypatch.setattr(mask_engine, "ringing_reach", lambda plate, size: 0)
    f1_without, near_without = measured()
    assert near < 0.5 * near_without, (near, near_without)
    assert f1 > 0.98 and f1 > f1_without + 0.01, (f1, f1_without)


@pytest.mark.slow
def test_a_refused_plate_is_reported_and_left_out_of_the_means() -> None:
    """Fresh seed 1120 of ``monitor`` (looked at since): its screen cuts to a new scene at
    the end of the capture and the plate is refused. The table leaves that clip out of its
    row, says so under the table, and fails only when no clip of a case made a plate."""
    rows = evaluate.quality_table(["monitor"], [1120, 1117], n_frames=4)
    assert rows[0].seeds == (1117,) and [seed for seed, _ in rows[0].refused] == [1120]
    assert rows[0].default.frames == 4
    text = evaluate.format_table(rows)
    assert "monitor, seed 1120: plate refused, left out of its row (something moved" in text
    with pytest.raises(PlateError, match=r"^monitor: no clip made a plate \(seed 1120: something moved"):
        evaluate.quality_table(["monitor"], [1120], n_frames=4)
