"""The examples in examples/, run as a user runs them (a Python process each: slow): --help,
wrong arguments, missing and unwritable files (exit 2, one line, no traceback), real runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from bgcore.synth import make_scene, write_scene

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BACKGROUND = Path(__file__).resolve().parent.parent / "bgcore" / "data" / "background.jpg"


def example(
    name: str, *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=timeout,
    )


def one_error_line(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    scene = make_scene("clean", width=160, height=120, n_frames=12, plate_frames=8, seed=11)
    return write_scene(scene, tmp_path_factory.mktemp("scene"))


def frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_replace_video_help_and_usage_errors(tmp_path: Path) -> None:
    r = example("replace_video.py", "--help")
    assert r.returncode == 0 and "INPUT EMPTY_ROOM BACKGROUND OUT" in r.stdout and "--sample" in r.stdout
    for args in ([], ["a.mp4"], ["a", "b", "c", "d", "e"], ["--sample", "a", "b", "c", "d"], ["--bogus"]):
        r = example("replace_video.py", *args, cwd=tmp_path)
        assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr, args
    assert list(tmp_path.iterdir()) == []  # nothing ran


def test_replace_video_on_files(scene_files: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "example.mp4"
    r = example("replace_video.py", scene_files["frames"], scene_files["plate"], str(BACKGROUND), str(out))
    assert r.returncode == 0 and f"wrote 12 frames to {out}" in r.stdout, r.stderr
    assert frame_count(out) == 12


def test_replace_video_bad_files_are_one_line(scene_files: dict[str, str], tmp_path: Path) -> None:
    frames, plate = scene_files["frames"], scene_files["plate"]
    one_error_line(
        example("replace_video.py", str(tmp_path / "nosuch.mp4"), plate, "blur", "o.mp4"), "nosuch.mp4"
    )
    one_error_line(
        example("replace_video.py", frames, plate, "nosuch.png", str(tmp_path / "o.mp4")), "nosuch.png"
    )
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = example("replace_video.py", frames, plate, "blur", str(blocker / "o.mp4"))
    one_error_line(r, "file")
    assert "wrote" not in r.stdout


def test_replace_video_sample(tmp_path: Path) -> None:
    r = example("replace_video.py", "--sample", cwd=tmp_path)
    assert r.returncode == 0 and "wrote 60 frames to out/example.mp4" in r.stdout, r.stderr
    assert frame_count(tmp_path / "out" / "example.mp4") == 60


def test_live_camera_help_file_end_and_errors(scene_files: dict[str, str], tmp_path: Path) -> None:
    r = example("live_camera.py", "--help")
    assert r.returncode == 0 and "CAMERA" in r.stdout.upper() and "--background" in r.stdout
    # a video file as the camera: the plate from its first 30 frames, then it plays to its end
    clip = tmp_path / "clip.avi"
    scene = make_scene("clean", width=160, height=120, n_frames=60, plate_frames=30, seed=12)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (160, 120))
    for frame in [*scene.plate, *scene.frames]:
        writer.write(frame)
    writer.release()
    r = example("live_camera.py", "--delay", "0", str(clip), timeout=120)
    assert r.returncode == 0 and "the video ended" in r.stdout and r.stderr == "", (r.stdout, r.stderr)
    assert "fps" in r.stdout
    one_error_line(example("live_camera.py", str(tmp_path / "nosuch.mp4")), "nosuch.mp4")
    one_error_line(example("live_camera.py", "--background", "color:#zz", str(clip)), "color")
    r = example("live_camera.py", "--seconds", "x")
    assert r.returncode == 2 and "usage:" in r.stderr
