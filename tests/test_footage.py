"""Real camera footage and photographs, and the living-room scene kinds of bgcore.synth_rooms.

Footage: Debian's ``opencv-doc`` examples (./test installs the package; a missing file fails,
it does not skip). ``tree.avi``: a 320x240 webcam at a window, swaying leaves and the
exposure drifting, a hand coming in at frame 53 (OpenCV decodes the first 68 of the 444
frames its header announces). ``vtest.avi``: 768x576, people walking the paths of a campus
all the time, seen from far. Photographs: the same package's pictures (buildings, shelves,
a desk) as rooms and JPEG cameras.

Quality of the room kinds is measured on held-out seeds (the seed policy is in
bgcore.evaluate): none of them chose a value in the plate or the engine.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import jpeg

from bgcore import BackgroundReplacer, Plate, PlateError, evaluate, synth, synth_rooms
from bgcore.engine.light import LightTests
from bgcore.plate import SIGMA_FLOOR, Downscaler

DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def _need(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: install Debian's opencv-doc (./test does)")
    return path


def _frames(name: str, limit: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(_need(name)))
    frames: list[np.ndarray] = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def tree() -> list[np.ndarray]:
    frames = _frames("tree.avi")
    assert len(frames) == 68 and frames[0].shape == (240, 320, 3)
    return frames


HAND_ARRIVES = 53  # (looked at: the first frame the fingers are in, at the top right)


def _mask_shares(plate: Plate, frames: list[np.ndarray], mode: str) -> list[float]:
    r = BackgroundReplacer("transparent", mode=mode)
    r.set_plate(plate)
    shares = []
    for i, frame in enumerate(frames):
        r.process(frame, t=i / 15.0)
        shares.append(float(np.mean(r.mask > 127)))
    return shares


def test_tree_webcam_leaves_and_drifting_light_then_a_hand(tree: list[np.ndarray]) -> None:
    """A plate from the first two seconds (leaves swaying) is accepted; until the hand comes
    no pixel is foreground in default mode, while classic shows a fifth of the picture or
    more (the exposure drifts); the hand is found at the top right."""
    plate = Plate.from_frames(tree[:30])
    default = _mask_shares(plate, tree[30:], "default")
    classic = _mask_shares(plate, tree[30:], "classic")
    before = slice(0, HAND_ARRIVES - 30)
    assert max(default[before]) < 0.001, default[before]
    assert min(classic[before]) > 0.15, classic[before]
    r = BackgroundReplacer("transparent")
    r.set_plate(plate)
    for i, frame in enumerate(tree[30:]):
        r.process(frame, t=i / 15.0)
    mask = r.mask > 127
    # (the hand covers 13.9% of the last frame; its fingers taken for the shadow of the
    # leaves the exposure darkened left 13.1%: see SHADOW_LINE_MIN)
    assert 0.135 < mask.mean() < 0.4, mask.mean()
    ys, xs = np.nonzero(mask)
    assert xs.mean() > 0.6 * 320 and ys.mean() < 0.5 * 240  # the hand comes in at the top right


def test_tree_webcam_foliage_is_no_long_edge_of_light(tree: list[np.ndarray]) -> None:
    """The ramp test finds edges of light all over the sunlit foliage: soft outlines of
    leaves that keep the colour. None of them is a long edge of one direction (a sun patch's
    or a lamp's outline), so no ramp beside them is taken for such an edge that moved (while
    they counted, the backlit hand lost up to 190 pixels a frame)."""
    plate = Plate.from_frames(tree[:30])
    light = LightTests(plate.mean_at((320, 240)), plate.sigma_at((320, 240)))
    edges = light.plate_edges > 0
    assert edges.mean() > 0.05
    assert not (light.moved_edges > 0)[~edges].any()


@pytest.mark.parametrize("start", [30, 34, 38])
def test_tree_capture_while_the_hand_comes_in_is_refused_at_the_right(
    tree: list[np.ndarray], start: int
) -> None:
    at_the_right = r"something moved during background capture .* at the (top )?right\)"
    with pytest.raises(PlateError, match=at_the_right):
        Plate.from_frames(tree[start : start + 30])


def test_vtest_people_walking_far_off_are_a_dynamic_part_and_a_bumped_camera_is_not() -> None:
    """People crossing a campus all the time, seen from far (each under 1% of the picture):
    like traffic outside a window, a part of the room that lives. The plate is made and says
    the walkways in the middle change all the time. The same two seconds with the camera
    bumped by 6 pixels two thirds of the way are refused: the camera moved (3 working pixels: a smaller
    bump is within what the engine's 3x3 range absorbs)."""
    frames = _frames("vtest.avi", 60)
    assert frames[0].shape == (576, 768, 3)
    plate = Plate.from_frames(frames[:30])
    regions = plate.dynamic_regions
    assert regions and sum(r.share for r in regions) > 0.03
    assert all(r.place in ("centre", "left", "right", "top", "top left", "top right") for r in regions[:3])
    bumped = frames[:20] + [np.roll(f, (6, 0), axis=(0, 1)) for f in frames[20:30]]
    moved = r"the camera moved during background capture \(the picture shifted by [5-7] pixels in frame 21 of"
    with pytest.raises(PlateError, match=moved):
        Plate.from_frames(bumped)


# -- JPEG cameras on real photographs -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("quality", [30, 45, 60, 75, 95])
def test_jpeg_camera_on_real_rooms_shows_no_false_foreground(quality: int) -> None:
    """Four photographs as still rooms, seen through a JPEG camera at ``quality`` (sensor
    noise 1 level, 640x360) while its exposure moves by up to 6%: no pixel of the default
    mode's mask is foreground (measured 0.0000 at every quality). With the frames' own spread
    as the noise (what plates measured before the JPEG floor) 3.1% of the picture was at
    quality 30 (0.3-0.4% at 45-75)."""
    rng = np.random.default_rng(quality)
    with_floor, without = [], []
    for name in ("building.jpg", "board.jpg", "stuff.jpg", "home.jpg"):
        room = cv2.resize(cv2.imread(str(_need(name))), (640, 360), interpolation=cv2.INTER_AREA)
        room = cv2.GaussianBlur(room.astype(np.float32), (0, 0), 0.7)  # (a lens)

        def shot(gain: float, room: np.ndarray = room) -> np.ndarray:
            noisy = np.rint(room * gain + rng.normal(0, 1.0, room.shape))
            return jpeg(np.clip(noisy, 0, 255).astype(np.uint8), quality)

        frames = [shot(1.0) for _ in range(30)]
        plate = Plate.from_frames(frames)
        assert plate.jpeg_quality == quality
        small = Downscaler(plate.sigma_size)
        own = np.stack([small(f).astype(np.float32) for f in frames]).var(axis=0, ddof=1)
        bare = dataclasses.replace(
            plate, sigma=np.maximum(np.sqrt(cv2.blur(own, (3, 3))), SIGMA_FLOOR).astype(np.float32), _cache={}
        )
        live = [shot(g) for g in np.linspace(0.94, 1.06, 20)]
        for target, p in ((with_floor, plate), (without, bare)):
            target.append(float(np.mean(_mask_shares(p, live, "default"))))
    assert max(with_floor) < 0.0005, with_floor
    if quality == 30:
        assert np.mean(without) > 0.01, without


# -- the room kinds: default against classic on held-out seeds -----------------------------------

# Cases below classic (strict xfail: the day they pass, the marker must come off). None
# today: photo_room and photo_person were (0.941 and 0.951 against classic's 0.976 and 0.981,
# holes in front of detailed backgrounds) until the score's 3x3 range followed the camera
# shake measured on each frame (bgcore.engine.shake): 0.99 both.
BELOW_CLASSIC: dict[str, str] = {}


@pytest.fixture(scope="module")
def room_scores() -> dict[str, tuple[float, float]]:
    """(default F1, classic F1) per room kind, over the held-out seeds (20 live frames)."""
    if not synth_rooms.photos_available():
        pytest.fail(f"the photographs of the photo cases are missing from {DATA}: install opencv-doc")
    rows = evaluate.quality_table(synth_rooms.QUALITY_CASES, seeds=evaluate.HELD_OUT_SEEDS, n_frames=20)
    return {r.case: (r.default.f1, r.classic.f1) for r in rows}


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=BELOW_CLASSIC[c]))
        if c in BELOW_CLASSIC
        else c
        for c in synth_rooms.QUALITY_CASES
    ],
)
def test_room_kinds_default_is_never_below_classic(
    room_scores: dict[str, tuple[float, float]], case: str
) -> None:
    default, classic = room_scores[case]
    assert default >= classic - 0.005, f"{case}: default {default:.3f} vs classic {classic:.3f}"
    assert default > 0.95, f"{case}: default {default:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", evaluate.HELD_OUT_SEEDS)
def test_swaying_leaves_on_one_side_cost_the_person_nothing_elsewhere(seed: int) -> None:
    """The same room, person and camera (one seed) with and without a plant swaying before a
    window on one side: no statistic of the leaves may make the rest of the picture less
    sensitive. The person's recall away from the plant (its region, widened by 15 pixels)
    is the same with the leaves as without (measured equal to 4 decimals on seeds 500-502:
    0.998, 0.994, 0.982)."""
    scenes = {k: synth.make_scene(k, n_frames=20, plate_frames=30, seed=seed) for k in ("clean", "leaves")}
    means = {k: np.mean(np.array(s.plate, np.float32), axis=0) for k, s in scenes.items()}
    plant = (np.abs(means["leaves"] - means["clean"]).max(axis=2) > 10).astype(np.uint8)
    assert 0.02 < plant.mean() < 0.2  # the plant is there, on one side
    away = cv2.dilate(plant, np.ones((31, 31), np.uint8)) == 0
    recall = {}
    for kind, scene in scenes.items():
        assert all(np.array_equal(a, b) for a, b in zip(scene.truth, scenes["clean"].truth, strict=True))
        masks, _ = evaluate.run_masks(scene)
        hits = ((m > 127) & (t > 127) & away for m, t in zip(masks, scene.truth, strict=True))
        found = sum(int(np.count_nonzero(h)) for h in hits)
        present = sum(int(np.count_nonzero((t > 127) & away)) for t in scene.truth)
        recall[kind] = found / present
    assert recall["clean"] > 0.97, recall
    assert recall["leaves"] >= recall["clean"] - 0.002, recall


def test_a_person_before_a_circuit_board_is_found_where_the_plate_was_still() -> None:
    """A photograph of a circuit board as the room (clip 1120: white, black and green parts
    a pixel or two wide), still while the plate was taken. Its 3x3 range spans nearly every
    grey; with half of it forgiven everywhere (the floor for leaves) the default mode lost
    14% of the person (recall 0.861, F1 0.925 against classic's 0.975). The floor from the
    plate keeps to SHAKE_FLOOR where nothing trembled: recall 0.960, F1 0.979."""
    if not synth_rooms.photos_available():
        pytest.fail(f"the photographs of the photo cases are missing from {DATA}: install opencv-doc")
    scene = synth.make_scene("photo_room", seed=1120, n_frames=20)
    default = evaluate.evaluate_scene(scene)
    classic = evaluate.evaluate_scene(scene, mode="classic")
    assert default.recall > 0.94 and default.precision > 0.99, (default.recall, default.precision)
    assert default.f1 > classic.f1, (default.f1, classic.f1)


@pytest.mark.slow
def test_monitor_rooms_make_plates_in_almost_every_window() -> None:
    """Every tenth 30-frame window of six rooms with a playing screen (3 s of video each,
    looped as a file camera loops; seeds 500-505, none used to choose a value): at least 95%
    make a plate (measured 52 of 54; 36 with the rule before dynamic pixels were modelled).
    Each refused one holds a scene cut in a part of the screen that had not moved yet:
    indistinguishable from something put down there. Captured live from there (the OBS
    source's way: a refused capture tries again with the next frames), every one makes its
    plate (both on the second try)."""
    made = tried = 0
    for seed in range(evaluate.HELD_OUT_SEEDS[0], evaluate.HELD_OUT_SEEDS[0] + 6):
        scene = synth_rooms.make_scene("monitor", seed=seed, n_frames=1, plate_frames=90)
        looped = scene.plate * 2
        for start in range(0, 90, 10):
            tried += 1
            try:
                Plate.from_frames(looped[start : start + 30])
                made += 1
                continue
            except PlateError:
                pass
            live = BackgroundReplacer("transparent")
            live.start_capture(30, retry=True)
            frame = iter(looped[start:])
            while live.capture_progress is not None:
                live.process(next(frame))
            assert live.plate is not None and live.capture_try > 1, (seed, start, live.capture_error)
    assert made >= 0.95 * tried, (made, tried)
