"""The synthetic scene generator: determinism, shapes, and truth that is exact by construction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgcore import synth


def test_every_case_gives_valid_frames_and_truth() -> None:
    assert set(synth.DRIFT_CASES) <= set(synth.CASES)
    for case in synth.CASES:
        s = synth.make_scene(case, width=96, height=64, n_frames=4, plate_frames=3, seed=5)
        assert s.name == case and s.fps > 0
        assert len(s.plate) == 3 and len(s.frames) == 4 and len(s.truth) == 4 and len(s.coverage) == 4
        for img in (*s.plate, *s.frames):
            assert img.shape == (64, 96, 3) and img.dtype == np.uint8
        for t, c in zip(s.truth, s.coverage, strict=True):
            assert t.shape == (64, 96) and t.dtype == np.uint8 and set(np.unique(t)) <= {0, 255}
            assert np.array_equal(t > 0, c >= 0.5)  # truth = coverage >= 0.5, exactly
        assert any(t.any() for t in s.truth)  # the person is in the clip
    with pytest.raises(ValueError, match="unknown synthetic case"):
        synth.make_scene("nope")


def test_same_seed_same_scene_other_seed_other_scene() -> None:
    a = synth.make_scene("combo", width=96, height=64, n_frames=3, plate_frames=2, seed=3)
    b = synth.make_scene("combo", width=96, height=64, n_frames=3, plate_frames=2, seed=3)
    c = synth.make_scene("combo", width=96, height=64, n_frames=3, plate_frames=2, seed=4)
    for x, y in zip(a.plate + a.frames + a.truth, b.plate + b.frames + b.truth, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(a.plate[0], c.plate[0])


def test_without_noise_the_frame_differs_from_the_plate_exactly_where_the_person_is() -> None:
    spec = synth.with_changes(synth.case_spec("clean"), noise="none")
    s = synth.render_scene(spec, width=160, height=120, n_frames=6, plate_frames=2, seed=11)
    assert np.array_equal(s.plate[0], s.plate[1])  # no noise, no drift: every plate frame alike
    for frame, cov, truth in zip(s.frames, s.coverage, s.truth, strict=True):
        changed = (frame != s.plate[0]).any(axis=2)
        assert not changed[cov == 0].any()  # not a single background pixel differs
        inside = cv2.erode(truth, np.ones((3, 3), np.uint8)) > 0
        assert changed[inside].mean() > 0.98  # the person differs (up to equal colours)
        assert changed[cov == 1].mean() > 0.98


def test_cast_shadow_darkens_the_wall_keeps_its_colour_and_is_not_truth() -> None:
    spec = synth.with_changes(synth.case_spec("shadow"), noise="none")
    s = synth.render_scene(spec, width=160, height=120, n_frames=8, plate_frames=1, seed=2)
    plate = s.plate[0].astype(np.float32)
    frame = s.frames[-1].astype(np.float32)
    cov = s.coverage[-1]
    away = cv2.dilate((cov > 0).view(np.uint8), np.ones((5, 5), np.uint8)) == 0
    darker = away & (frame.sum(axis=2) < plate.sum(axis=2) - 15) & (plate.min(axis=2) > 40)
    assert darker.sum() > 50  # a visible shadow, away from the person
    assert not (s.truth[-1] > 0)[darker].any()  # and the truth is the person only
    ratio = frame[darker] / plate[darker]
    # one light factor for all three channels (colour kept), up to the tone curve's bend
    assert float(np.median(ratio.max(axis=1) - ratio.min(axis=1))) < 0.05


def test_drift_cases_change_the_whole_picture_and_shake_moves_the_truth() -> None:
    clean = synth.make_scene("clean", width=160, height=120, n_frames=20, plate_frames=2, seed=8)
    expo = synth.make_scene("exposure", width=160, height=120, n_frames=20, plate_frames=2, seed=8)
    bg = clean.truth[-1] == 0
    mean_clean = clean.frames[-1][bg].astype(np.float32).mean()
    mean_expo = expo.frames[-1][bg].astype(np.float32).mean()
    assert abs(mean_expo / mean_clean - 1) > 0.05  # auto-exposure moved the wall's level
    wb = synth.make_scene("white_balance", width=160, height=120, n_frames=20, plate_frames=2, seed=8)
    ch_clean = clean.frames[-1][bg].astype(np.float32).mean(axis=0)
    ch_wb = wb.frames[-1][bg].astype(np.float32).mean(axis=0)
    rel = ch_wb / ch_clean
    assert rel.max() - rel.min() > 0.03  # channels drift apart
    shake = synth.make_scene("shake", width=160, height=120, n_frames=8, plate_frames=2, seed=8)
    assert any(not np.array_equal(a, b) for a, b in zip(shake.truth, clean.truth[:8], strict=True))


def test_write_scene_patterns_read_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = synth.make_scene("jpeg", width=64, height=48, n_frames=2, plate_frames=2, seed=1)
    paths = synth.write_scene(s, tmp_path)
    assert set(paths) == {"plate", "frames", "truth"}
    back = cv2.imread(paths["frames"] % 1, cv2.IMREAD_COLOR)
    assert np.array_equal(back, s.frames[1])
    truth = cv2.imread(paths["truth"] % 0, cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(truth, s.truth[0])


def test_demo_scene_is_a_walk_in() -> None:
    s = synth.demo_scene(width=160, height=90, n_frames=12)
    assert len(s.frames) == 12 and s.frames[0].shape == (90, 160, 3)
    areas = [int((t > 0).sum()) for t in s.truth]
    assert areas[-1] > areas[0]  # walks in
