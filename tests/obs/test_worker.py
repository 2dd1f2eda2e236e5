"""The OBS source's worker without OBS: plain callables stand in for libobs (fast; no Xvfb).

What a real OBS cannot show without hardware: a camera that disappears and comes back, and
which threads do camera I/O. Camera files (video, image sequence, still) are real files.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from scenes import empty_room, with_person

from bgcore import SourceError
from bgobs import config, worker


def small(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, (160, 90), interpolation=cv2.INTER_AREA)


def test_a_camera_number_is_ascii_digits_and_anything_else_a_name() -> None:
    """The dialog's camera field: "0" and "2: Integrated Camera" are cameras; "²" (a digit
    to str.isdigit that int() refuses: it raised in the source's create) and paths are
    names, which the worker opens and, when missing, says so in the status."""
    assert config.parse_camera(" 0 ") == 0 and config.parse_camera("2: Integrated Camera") == 2
    for name in ("²", "²: cam", "١", "/dev/video0", "C:\\clip.mp4"):
        assert config.parse_camera(name) == name
    assert config.from_values({"camera": "²"}).camera == "²"


def test_video_file_loops_like_a_camera(tmp_path: Path, run_worker: Any) -> None:
    frames = [np.full((90, 160, 3), 20 * i, np.uint8) for i in range(1, 6)]
    path = tmp_path / "clip.mkv"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 60, (160, 90))
    for f in frames:
        out.write(f)
    out.release()
    _w, rec = run_worker({"camera": str(path)})

    def seen_twice() -> bool:  # the first frame again after the last one: the file looped
        with rec.lock:
            values = [int(f[0, 0, 0]) for f in rec.frames]
        if 100 not in values:
            return False
        return 20 in values[values.index(100) :]

    rec.wait("the video to loop", seen_twice)
    with rec.lock:
        assert all(f[..., 3].min() == 255 for f in rec.frames), "no plate yet: the camera shown as is"
        assert {int(f[0, 0, 0]) for f in rec.frames} <= {20, 40, 60, 80, 100}
    assert any(s.startswith("Running, no background captured yet") for s in rec.lines())


def test_image_sequence_as_camera(tmp_path: Path, run_worker: Any) -> None:
    room = small(empty_room())
    person = small(with_person(empty_room()))
    (tmp_path / "seq").mkdir()
    for i, img in enumerate([room, room, person]):
        cv2.imwrite(str(tmp_path / "seq" / f"{i:05d}.png"), img)
    _w, rec = run_worker({"camera": str(tmp_path / "seq" / "%05d.png")})

    def both() -> bool:
        with rec.lock:
            got = list(rec.frames)
        return any(np.array_equal(f[..., :3], person) for f in got) and any(
            np.array_equal(f[..., :3], room) for f in got
        )

    rec.wait("both pictures of the sequence", both)


class FlakyCamera:
    """A live camera that gives ``good`` frames, then is 'unplugged' (read raises)."""

    live = True
    fps = 100.0

    def __init__(self, good: int, frame: np.ndarray) -> None:
        self.name = "flaky"
        self.left = good
        self.frame = frame

    def read(self) -> np.ndarray:
        if self.left <= 0:
            raise SourceError("camera 0 stopped giving frames; is it still plugged in?")
        self.left -= 1
        time.sleep(0.01)
        return self.frame

    def close(self) -> None:
        pass


def test_lost_camera_reconnects_by_itself_off_obs_threads(
    monkeypatch: pytest.MonkeyPatch, run_worker: Any
) -> None:
    monkeypatch.setattr(worker, "RECONNECT_SECONDS", 0.2)
    frame = small(empty_room())
    opens: list[str] = []
    plugged = threading.Event()
    plugged.set()

    def open_camera(cfg: config.SourceConfig) -> FlakyCamera:
        opens.append(threading.current_thread().name)
        if not plugged.is_set():
            raise SourceError("cannot open camera 0: no such device")
        return FlakyCamera(20, frame)

    caller = threading.current_thread().name
    _w, rec = run_worker({"camera": "0"}, open_camera=open_camera)
    rec.wait("frames", lambda: rec.count >= 5)
    plugged.clear()  # the camera stops after 20 frames and cannot be reopened
    rec.wait("the disconnected status", lambda: "Camera disconnected: reconnecting by itself" in rec.lines())
    n_opens = len(opens)
    rec.wait("reopen attempts", lambda: len(opens) >= n_opens + 2)
    with rec.lock:  # the last picture stays on screen (with a banner)
        assert rec.frames[-1].shape == (90, 160, 4)
    plugged.set()
    rec.wait("the camera back", lambda: rec.log_count("camera back"))
    rec.wait("running again", lambda: rec.line().startswith("Running"))
    assert caller not in opens, "camera I/O must never run on the caller's (OBS's) thread"
    assert all(name.startswith("bgreplace") for name in opens), opens


def test_missing_file_then_it_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_worker: Any
) -> None:
    monkeypatch.setattr(worker, "RECONNECT_SECONDS", 0.2)
    path = tmp_path / "later.png"
    _w, rec = run_worker({"camera": str(path)})
    rec.wait("no camera", lambda: any(s.startswith("No camera: ") for s in rec.lines()))
    rec.wait("a placeholder", lambda: getattr(rec.last_frame(), "shape", None) == (720, 1280, 4))
    cv2.imwrite(str(path), small(empty_room()))
    rec.wait("running", lambda: rec.line().startswith("Running"))


def test_hidden_closes_the_camera(run_worker: Any) -> None:
    frame = small(empty_room())
    closed = threading.Event()

    class Cam(FlakyCamera):
        def close(self) -> None:
            closed.set()

    w, rec = run_worker({"camera": "0"}, open_camera=lambda cfg: Cam(10**9, frame))
    rec.wait("frames", lambda: rec.count >= 3)
    w.set_visible(False)
    rec.wait("closed", closed.is_set, 5)
    rec.wait("hidden status", lambda: rec.line().startswith("Hidden"))


class FramesFromOBS:
    """What the filter's mailbox does without OBS: hands over the picture OBS shows now, one
    per call (OBS's read-back itself is tested in a real OBS, test_filter.py)."""

    state = "running"
    error = None
    reconnects = 0

    def __init__(self, frame: np.ndarray) -> None:
        self.frame = frame
        self.seq = 0
        self.closed = False

    def latest(self, timeout: float | None = None) -> tuple[np.ndarray, float, int] | None:
        time.sleep(0.01)  # one "OBS frame"
        self.seq += 1
        return self.frame.copy(), time.monotonic(), self.seq

    def close(self) -> None:
        self.closed = True


class WalkingThrough(FramesFromOBS):
    """The empty room, and after :meth:`walk` someone walking across it for ``frames``
    frames (None: for good)."""

    def __init__(self, room: np.ndarray) -> None:
        super().__init__(room)
        self.room = room
        self.walking: int | None = 0
        self.served = 0

    def walk(self, frames: int | None) -> None:
        self.served, self.walking = 0, frames

    def latest(self, timeout: float | None = None) -> tuple[np.ndarray, float, int] | None:
        frame = self.room.copy()
        if self.walking is None or self.served < self.walking:
            x = (4 * self.served) % 120
            frame[20:70, x : x + 40] = (40, 60, 200)
        self.served += 1
        self.frame = frame
        return super().latest(timeout)


@pytest.mark.parametrize("walking", [14, None])
def test_a_recapture_refused_tries_again_by_itself(run_worker: Any, walking: int | None) -> None:
    """Someone still crossing the room when the capture starts: the source captures again
    by itself (logged), and has its plate once they are gone; someone who stays is refused
    after CAPTURE_TRIES tries, as the status says."""
    from bgcore.pipeline import CAPTURE_TRIES

    frames = WalkingThrough(small(empty_room()))
    values = {"background_type": "transparent", "recapture_delay": 0, "plate_frames": 10}
    w, rec = run_worker(values, frames=frames)
    rec.wait("no plate yet", lambda: rec.line().startswith("Running, no"))
    frames.walk(walking)
    w.recapture()
    if walking is None:
        rec.wait("refused", lambda: rec.line().startswith("Running, no") and "Capture refused" in rec.line())
        assert rec.log_count("capturing again, try") == CAPTURE_TRIES - 1
        assert rec.log_count(f"capturing again, try {CAPTURE_TRIES} of {CAPTURE_TRIES}") == 1
    else:
        rec.wait("the plate", lambda: rec.line().startswith("Running:"))
        assert rec.log_count("capture refused (something moved") >= 1
        assert rec.log_count(f"capturing again, try 2 of {CAPTURE_TRIES}") == 1
        assert not any("Capture refused" in line for line in rec.lines())


def test_frames_from_a_mailbox_instead_of_a_camera(run_worker: Any) -> None:
    """The filter's worker: frames come from its mailbox, no camera is opened, the composite is
    the engine's for those frames, and the mailbox stays open (the filter owns it)."""
    from util import expected_composite

    room, person = small(empty_room()), small(with_person(empty_room()))
    frames = FramesFromOBS(room)
    opened: list[object] = []
    values = {"background_type": "transparent", "recapture_delay": 0, "plate_frames": 10}
    w, rec = run_worker(values, frames=frames, open_camera=lambda cfg: opened.append(cfg))
    rec.wait("no plate yet", lambda: rec.line().startswith("Running, no"))
    w.recapture()
    rec.wait("the plate", lambda: rec.line().startswith("Running:"))
    frames.frame = person
    expected = expected_composite(values, room, person)
    rec.wait("the composite of the mailbox's frames", lambda: np.array_equal(rec.last_frame(), expected))
    assert opened == [], "no camera is opened"
    assert w.stop(10)
    assert not frames.closed, "the mailbox belongs to the filter: the worker does not close it"
