"""Files as the camera and as the background, in a real headless OBS, with exact pixels.

- A lossless video (FFV1 in .mkv) of the empty room, then a person walking in, plays as an
  endless camera: the screenshot must equal the engine's composite for the person, then for
  the empty room, then the person again (the file looped).
- A lossy MJPEG .avi: pixels differ from the pictures it was made from, so the expected
  composite is computed from the frames as OBS's own Python and OpenCV decode them.
- An .mp4 (MPEG-4, inter-frame): plays and cuts the person out (not pixel-exact, see there).
- An image sequence ``frames/%05d.png``.
- A solid colour background and an image background: exact composites.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from harness import Obs
from util import (
    BASE,
    assert_clean_logs,
    assert_shows,
    create,
    expected_composite,
    press,
    screenshot,
    settings,
    wait_for,
    wait_log,
    wait_status,
)

pytestmark = pytest.mark.obs

NAME = "Media BG"
FPS = 30


def write_video(path: Path, frames: list[npt.NDArray[np.uint8]], fourcc: str) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (w, h))
    assert out.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    for f in frames:
        out.write(f)
    out.release()
    return path


def decode_like_obs(obs: Obs, path: Path, index: int) -> npt.NDArray[np.uint8]:
    """Frame ``index`` of ``path`` as decoded by OBS's Python with the OpenCV ./install gave it."""
    m = re.search(r"obs-python-(\d+\.\d+)$", obs.deps.rstrip("/"))
    exe = shutil.which(f"python{m.group(1)}") if m else None
    if exe is None:
        pytest.fail(f"cannot tell OBS's Python from the deps folder {obs.deps}")
    target = path.with_name(f"{path.stem}-decoded-{index}.png")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import cv2\n"
        "c = cv2.VideoCapture(sys.argv[2])\n"
        "for _ in range(int(sys.argv[3]) + 1): ok, f = c.read()\n"
        "assert ok and cv2.imwrite(sys.argv[4], f)\n"
    )
    subprocess.run(
        [exe, "-I", "-c", code, obs.deps, str(path), str(index), str(target)], check=True, timeout=60
    )
    img = cv2.imread(str(target), cv2.IMREAD_COLOR)
    assert img is not None
    return img


@pytest.fixture(scope="module")
def plate(obs: Obs, pictures: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The source with a plate captured from a video of the empty room (10 frames, looping)."""
    d = tmp_path_factory.mktemp("media")
    empty_video = write_video(d / "empty.mkv", [pictures["empty"]] * 10, "FFV1")
    create(obs, NAME, {**BASE, "camera": str(empty_video)})
    wait_status(obs, NAME, "no background captured")
    press(obs, NAME)
    wait_status(obs, NAME, "Running:")
    wait_for("the plate file", (obs.plate_dir() / (settings(obs, NAME)["plate_id"] + ".npz")).exists, 10)
    return {"dir": d, "empty_video": empty_video}


def test_lossless_video_camera_loops_with_exact_composites(
    obs: Obs, pictures: dict[str, Any], plate: dict[str, Any]
) -> None:
    empty, person = pictures["empty"], pictures["person"]
    walk = write_video(plate["dir"] / "walk.mkv", [empty] * FPS + [person] * FPS, "FFV1")  # 2 s
    obs.client.set_input_settings(NAME, {"camera": str(walk)}, True)
    values = {**BASE, "camera": str(walk)}
    with_person = expected_composite(values, empty, person)
    without = expected_composite(values, empty, empty)
    assert not np.array_equal(with_person, without)
    assert_shows(obs, NAME, with_person, timeout=30)
    assert_shows(obs, NAME, without, timeout=30)  # the empty part: the video goes on
    assert_shows(obs, NAME, with_person, timeout=30)  # and loops back to the person
    wait_status(obs, NAME, "Running")
    assert "Camera stopped" not in obs.log_text()


def test_image_sequence_camera(obs: Obs, pictures: dict[str, Any], plate: dict[str, Any]) -> None:
    frames = plate["dir"] / "frames"
    frames.mkdir()
    for i in range(1, 4):  # numbered from 1, like most exporters
        cv2.imwrite(str(frames / f"{i:05d}.png"), pictures["person"])
    pattern = str(frames / "%05d.png")
    obs.client.set_input_settings(NAME, {"camera": pattern}, True)
    expected = expected_composite({**BASE, "camera": pattern}, pictures["empty"], pictures["person"])
    assert_shows(obs, NAME, expected)


def test_solid_colour_background(obs: Obs, pictures: dict[str, Any], plate: dict[str, Any]) -> None:
    values = {"camera": pictures["paths"]["person"], "background_type": "color"}
    values["background_color"] = 0xFF00B140
    obs.client.set_input_settings(NAME, values, True)
    expected = expected_composite({**BASE, **values}, pictures["empty"], pictures["person"])
    shot = assert_shows(obs, NAME, expected)
    assert (shot[..., 3] == 255).all(), "a colour background makes the output opaque"
    assert tuple(shot[5, 5]) == (0x00, 0xB1, 0x40, 255), "OBS colour 0xAABBGGRR -> BGRA #40b100"


def test_image_background(obs: Obs, pictures: dict[str, Any], plate: dict[str, Any]) -> None:
    h, w = pictures["empty"].shape[:2]
    yy, xx = np.mgrid[0 : 2 * h, 0 : 2 * w]
    beach = np.dstack([(xx * 255 // (2 * w)), (yy * 255 // (2 * h)), np.full_like(xx, 200)]).astype(np.uint8)
    path = plate["dir"] / "beach.png"
    cv2.imwrite(str(path), beach)  # twice the canvas size: scaled to fit ("cover")
    values = {"camera": pictures["paths"]["person"], "background_type": "image", "background_path": str(path)}
    obs.client.set_input_settings(NAME, values, True)
    expected = expected_composite({**BASE, **values}, pictures["empty"], pictures["person"])
    shot = assert_shows(obs, NAME, expected)
    assert (shot[..., 3] == 255).all()
    assert tuple(shot[5, 5]) != tuple(shot[h - 5, w - 5]), "the picture, not a flat colour"


def recapture_from(obs: Obs, clip: Path, values: dict[str, Any]) -> None:
    """Switch to ``clip`` (the empty room), wait until the worker has it, capture the plate."""
    saved = obs.log_text().count(f"{NAME}: saved the background plate")
    obs.client.set_input_settings(NAME, {**values, "camera": str(clip)}, True)
    wait_log(obs, f"{NAME}: opened {clip}")
    press(obs, NAME)
    wait_log(obs, f"{NAME}: saved the background plate", saved + 1)
    wait_status(obs, NAME, "Running:")


# "Follow light changes" slowly absorbs compression ringing at the person's edges into the
# plate, so with lossy clips the output depends on how long they have played: off for these.
STEADY = {**BASE, "adapt": False}


def test_lossy_avi_camera_matches_the_decoded_frames(
    obs: Obs, pictures: dict[str, Any], plate: dict[str, Any]
) -> None:
    """MJPEG (every frame a JPEG): the plate is captured from the empty-room clip, then the
    person clip plays; the expected composite uses both clips' frames as OBS's Python decodes them."""
    d = plate["dir"]
    empty_clip = write_video(d / "empty.avi", [pictures["empty"]] * 10, "MJPG")
    person_clip = write_video(d / "person.avi", [pictures["person"]] * 10, "MJPG")
    empty, person = decode_like_obs(obs, empty_clip, 4), decode_like_obs(obs, person_clip, 4)
    assert not np.array_equal(person, pictures["person"]), "JPEG is lossy: this checks real decoding"
    recapture_from(obs, empty_clip, STEADY)
    obs.client.set_input_settings(NAME, {"camera": str(person_clip)}, True)
    expected = expected_composite({**STEADY, "camera": str(person_clip)}, empty, person)
    assert_shows(obs, NAME, expected, timeout=30)


def test_mp4_camera_plays(obs: Obs, pictures: dict[str, Any], plate: dict[str, Any]) -> None:
    """MPEG-4 part 2 in .mp4: frames are predicted from each other, so decoded frames differ a
    little from one to the next and the output cannot be predicted to the pixel; the person
    must be cut out as from one decoded frame, to within a few edge pixels."""
    d = plate["dir"]
    empty_clip = write_video(d / "empty.mp4", [pictures["empty"]] * 20, "mp4v")
    person_clip = write_video(d / "person.mp4", [pictures["person"]] * 20, "mp4v")
    recapture_from(obs, empty_clip, STEADY)
    obs.client.set_input_settings(NAME, {"camera": str(person_clip)}, True)
    wait_log(obs, f"{NAME}: opened {person_clip}")
    reference = expected_composite(
        {**STEADY, "camera": str(person_clip)},
        decode_like_obs(obs, empty_clip, 10),
        decode_like_obs(obs, person_clip, 10),
    )
    last: dict[str, float] = {}

    def close_enough() -> bool:
        shot = screenshot(obs, NAME)
        last["agree"] = float(((shot[..., 3] > 127) == (reference[..., 3] > 127)).mean())
        return last["agree"] > 0.995

    try:
        wait_for("the mp4's person cut out", close_enough, 30, every=0.3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: mask agreement {last.get('agree')}\n{obs.log_tail(20)}") from None
    wait_status(obs, NAME, "Running")
    assert "Camera stopped" not in obs.log_text()
    assert_clean_logs(obs)
