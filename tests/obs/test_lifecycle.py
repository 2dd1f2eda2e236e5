"""A source's life: long captures, background files that change, problems in the log, the
plates of removed sources, what is saved in the scene collection.

The first tests drive the worker without OBS (plain callables for libobs, real files); the
ones marked ``obs`` run the source in a real, headless OBS (see harness.py).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from scenes import empty_room

from bgcore import Plate, PlateBuilder
from bgobs import config
from bgobs.plate_files import prune
from bgobs.status import State, Status, status_line
from bgobs.worker import SourceWorker


class Recorder:
    """Sink, status and log callbacks that remember what the worker sent, and on which thread."""

    def __init__(self) -> None:
        self.frames = 0
        self.last: np.ndarray | None = None
        self.statuses: list[Status] = []
        self.logs: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def sink(self, bgra: np.ndarray) -> None:
        with self.lock:
            self.frames += 1
            self.last = bgra.copy()

    def on_status(self, status: Status) -> None:
        with self.lock:
            self.statuses.append(status)

    def log(self, level: str, message: str) -> None:
        with self.lock:
            self.logs.append((level, message))

    def lines(self) -> list[str]:
        with self.lock:
            return [status_line(s) for s in self.statuses]

    def line(self) -> str:
        """The status line now ("" before the first)."""
        with self.lock:
            return status_line(self.statuses[-1]) if self.statuses else ""

    def log_count(self, needle: str) -> int:
        with self.lock:
            return sum(needle in m for _, m in self.logs)

    def wait(self, what: str, check: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(
                f"timed out waiting for {what}; statuses {[status_line(s) for s in self.statuses[-5:]]}, "
                f"logs {self.logs[-8:]}"
            )


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), fps, (w, h))
    assert out.isOpened()
    for f in frames:
        out.write(f)
    out.release()
    return path


def noisy_room(n: int, size: tuple[int, int] = (320, 180), seed: int = 3) -> list[np.ndarray]:
    """The empty room with fresh sensor noise in every frame (a camera looking at a still room)."""
    rng = np.random.default_rng(seed)
    room = empty_room(size).astype(np.float32)
    return [
        np.clip(np.rint(room + rng.normal(0, 2.0, room.shape)), 0, 255).astype(np.uint8) for _ in range(n)
    ]


@pytest.fixture
def run_worker(tmp_path: Path) -> Iterator[Any]:
    started: list[SourceWorker] = []

    def start(values: dict[str, Any]) -> tuple[SourceWorker, Recorder]:
        rec = Recorder()
        w = SourceWorker(
            "test", sink=rec.sink, on_status=rec.on_status, log=rec.log, plate_dir=tmp_path / "plates"
        )
        w.configure(config.from_values({"background_type": "transparent", "recapture_delay": 0, **values}))
        w.set_visible(True)
        w.start()
        started.append(w)
        return w, rec

    yield start
    for w in started:
        assert w.stop(10), "the worker thread did not finish"


# -- without OBS -------------------------------------------------------------------------------


def test_long_capture_is_built_and_saved_off_the_worker_thread_while_frames_flow(
    tmp_path: Path, run_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 300-frame recapture: the worker only hands frames over; the motion test, the plate's
    statistics and the saving run on other threads, the camera keeps coming out, the log
    says 'capturing' once (not per frame) and the frame rate never reads 0."""
    threads: dict[str, set[str]] = {"add": set(), "finish": set(), "save": set()}
    real_add, real_finish, real_save = PlateBuilder.add, PlateBuilder.finish, Plate.save

    def add(self: PlateBuilder, frame: np.ndarray) -> None:
        threads["add"].add(threading.current_thread().name)
        real_add(self, frame)

    def finish(self: PlateBuilder) -> Plate:
        threads["finish"].add(threading.current_thread().name)
        return real_finish(self)

    def save(self: Plate, path: Any) -> None:
        threads["save"].add(threading.current_thread().name)
        real_save(self, path)

    monkeypatch.setattr(PlateBuilder, "add", add)
    monkeypatch.setattr(PlateBuilder, "finish", finish)
    monkeypatch.setattr(Plate, "save", save)
    clip = write_clip(tmp_path / "room.mkv", noisy_room(40))
    w, rec = run_worker({"camera": str(clip), "plate_frames": 300, "plate_id": "a" * 32})
    rec.wait("frames", lambda: rec.frames >= 5)
    w.recapture()
    rec.wait("the capture", lambda: any(s.state is State.CAPTURING for s in rec.statuses))
    frames_at_start = rec.frames
    rec.wait("the plate saved", lambda: rec.log_count("saved the background plate"), timeout=240)
    rec.wait("running", lambda: rec.statuses and rec.statuses[-1].state is State.RUNNING)
    assert rec.frames - frames_at_start >= 300, "every captured frame was also shown"
    assert (tmp_path / "plates" / ("a" * 32 + ".npz")).exists()
    worker_thread = "bgreplace test"
    assert threads["add"] and worker_thread not in threads["add"], threads
    assert threads["finish"] == {"bgreplace plate"}, threads
    assert threads["save"] == {"bgreplace plate saver"}, threads
    assert rec.log_count("capturing the background (300 frames)") == 1
    assert rec.log_count("Capturing") == 0 and rec.log_count("fps") == 0
    lines = rec.lines()
    assert not any(" 0 fps" in line for line in lines), [line for line in lines if " 0 fps" in line][:3]
    assert any(line.startswith("Capturing background 300/300") or "Computing" in line for line in lines)


def test_problems_are_logged_once_and_a_fixed_background_recovers(tmp_path: Path, run_worker: Any) -> None:
    """A corrupt background image: the status says so and the log says it once, however many
    frames pass; fixed on disk, the source shows it without being touched. A setting toggled
    bad and good again and again is logged once."""
    room = noisy_room(1)[0]
    camera = tmp_path / "room.png"
    cv2.imwrite(str(camera), room)
    picture = tmp_path / "bg.png"
    picture.write_bytes(b"not a picture")
    values = {"camera": str(camera), "background_type": "image", "background_path": str(picture)}
    w, rec = run_worker(values)
    rec.wait("the problem in the status", lambda: "cannot decode background image" in rec.line())
    frames = rec.frames
    rec.wait("more frames", lambda: rec.frames >= frames + 30)
    assert rec.log_count("cannot decode background image") == 1
    assert rec.statuses[-1].state is State.NO_PLATE  # (and the problem beside it)
    cv2.imwrite(str(picture), np.full((90, 160, 3), (10, 200, 30), np.uint8))  # fixed on disk
    rec.wait("the problem gone", lambda: "cannot decode" not in rec.line(), timeout=20)
    for i in range(6):
        bad = {**values, "auto_threshold": False, "threshold": 999 if i % 2 == 0 else 30}
        w.configure(config.from_values({"background_type": "transparent", "recapture_delay": 0, **bad}))
        rec.wait("the setting applied", lambda i=i: ("threshold must be" in rec.line()) == (i % 2 == 0))
    assert rec.log_count("threshold must be") == 1
    assert rec.log_count("cannot decode background image") == 1


def test_only_the_capture_fps_changed_is_not_a_new_camera(tmp_path: Path, run_worker: Any) -> None:
    clip = write_clip(tmp_path / "room.mkv", noisy_room(10))
    w, rec = run_worker({"camera": str(clip)})
    rec.wait("running", lambda: rec.log_count("opened"))
    w.configure(config.from_values({"camera": str(clip), "camera_fps": 15, "background_type": "transparent"}))
    rec.wait("reopened", lambda: rec.log_count("opened") >= 2)
    assert rec.log_count("camera changed") == 0
    assert rec.log_count(f"capture fps default -> 15: reopening {clip}") == 1
    rec.wait("a measured frame rate", lambda: rec.statuses and rec.statuses[-1].fps is not None)
    assert not any(" 0 fps" in line for line in rec.lines())


def test_prune_deletes_only_plates_no_scene_collection_mentions(tmp_path: Path) -> None:
    plates, scenes = tmp_path / "plates", tmp_path / "scenes"
    plates.mkdir()
    scenes.mkdir()
    kept, elsewhere, gone = "1" * 32, "2" * 32, "3" * 32
    for ident in (kept, elsewhere, gone):
        (plates / f"{ident}.npz").write_bytes(b"plate")
        (plates / f"{ident}.json").write_text("{}")
    (plates / "notes.txt").write_text("not a plate")
    old_temp, new_temp = plates / ".plate-old.npz", plates / ".plate-new.npz"
    old_temp.write_bytes(b"half")
    new_temp.write_bytes(b"half")
    os.utime(old_temp, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    # no collection at all (another config folder, a fresh install): nothing goes
    assert prune(plates, scenes).skipped and len(list(plates.iterdir())) == 9
    source = {"id": "bgreplace_source", "settings": {"plate_id": kept}}
    (scenes / "Main.json").write_text(json.dumps({"sources": [source]}))
    (scenes / "Other.json.bak").write_text(json.dumps({"sources": [{"settings": {"plate_id": elsewhere}}]}))
    result = prune(plates, scenes)
    assert result.skipped is None and result.removed == [gone] and not result.errors
    assert sorted(p.name for p in plates.iterdir()) == sorted(
        [f"{kept}.npz", f"{kept}.json", f"{elsewhere}.npz", f"{elsewhere}.json", "notes.txt", new_temp.name]
    )
    # an unreadable collection: nothing is deleted
    (plates / f"{gone}.npz").write_bytes(b"plate")
    (scenes / "Broken.json").mkdir()
    (scenes / "Broken.json" / "x").write_text("")
    unreadable = scenes / "Locked.json"
    unreadable.write_text("{}")
    unreadable.chmod(0)
    try:
        if os.access(unreadable, os.R_OK):  # (root reads anything: use a dangling link instead)
            unreadable.chmod(0o644)
            unreadable.unlink()
            unreadable.symlink_to(scenes / "missing.json")
        result = prune(plates, scenes)
        assert result.skipped and "Locked.json" in result.skipped and (plates / f"{gone}.npz").exists()
    finally:
        if unreadable.exists():
            unreadable.chmod(0o644)
