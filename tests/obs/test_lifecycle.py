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
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from harness import COLLECTION, Obs
from scenes import empty_room
from util import (
    BASE,
    assert_clean_logs,
    assert_shows,
    create,
    expected_composite,
    press,
    remove,
    screenshot,
    settings,
    status,
    wait_for,
    wait_log,
    wait_status,
)

from bgcore import Plate, PlateBuilder
from bgobs import config
from bgobs.plate_files import prune
from bgobs.status import Level, Problem, State, Status, Topic, log_line, status_line


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Overwrite the file's bytes (same inode), as an editor saving over it does."""
    with open(path, "r+b") as fh:
        fh.write(data)
        fh.truncate()


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
    rec.wait("frames", lambda: rec.count >= 5)
    w.recapture()
    rec.wait("the capture", lambda: any(s.state is State.CAPTURING for s in rec.statuses))
    frames_at_start = rec.count
    rec.wait("the plate saved", lambda: rec.log_count("saved the background plate"), timeout=240)
    rec.wait("running", lambda: rec.statuses and rec.statuses[-1].state is State.RUNNING)
    assert rec.count - frames_at_start >= 300, "every captured frame was also shown"
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
    frames = rec.count
    rec.wait("more frames", lambda: rec.count >= frames + 30)
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


def test_status_words_come_from_the_data() -> None:
    """The status line shows the numbers and every problem; the log line for a state never
    carries the moving numbers; the level is the worst of the state's and the problems'."""
    problem = Problem(Topic.BACKGROUND, "cannot decode background image 'x.png'; use a PNG")
    measuring = Status(State.RUNNING, camera_size=(640, 360))
    assert status_line(measuring) == "Running: measuring the frame rate" and measuring.level is Level.NORMAL
    running = Status(State.RUNNING, (problem,), camera_size=(640, 360), fps=30.0, ms_per_frame=2.5)
    assert status_line(running) == f"Running (30 fps, 2.5 ms per frame); {problem.message}"
    assert running.level is Level.WARNING and log_line(running) == "running at 640x360"
    assert log_line(running) == log_line(Status(State.RUNNING, camera_size=(640, 360), fps=12.0))
    refused = Problem(Topic.CAPTURE, "Capture refused: something moved", Level.ERROR)
    assert Status(State.NO_PLATE, (problem, refused)).level is Level.ERROR
    capturing = Status(State.CAPTURING, progress=(12, 30))
    assert status_line(capturing) == "Capturing background 12/30: keep out of the frame"
    assert log_line(capturing) is None  # (the worker logs the capture's start, once)
    lost = Status(State.CAMERA_LOST, detail="camera 0 stopped giving frames")
    assert status_line(lost) == "Camera disconnected: reconnecting by itself"
    assert log_line(lost) == "camera lost (camera 0 stopped giving frames): reconnecting by itself"


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
    (scenes / "Other.json").write_text(json.dumps({"sources": [{"settings": {"plate_id": elsewhere}}]}))
    # the backup OBS keeps of the version before the last save does not keep a plate
    (scenes / "Main.json.bak").write_text(json.dumps({"sources": [{"settings": {"plate_id": gone}}]}))
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


# -- in a real OBS -------------------------------------------------------------------------------


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


@pytest.mark.obs
def test_600_frame_recapture_keeps_memory_flat_and_the_picture_moving(obs: Obs, tmp_path: Path) -> None:
    """The largest plate (600 frames) from a camera giving fresh noise every frame: OBS's
    peak memory stays within a few hundred MB of its running level, and the source's picture
    keeps changing all through the capture and the plate's last step (screenshots: never the
    same one for 3 s)."""
    name = "Big plate"
    clip = write_clip(tmp_path / "room.mkv", noisy_room(97, (640, 360)))
    create(obs, name, {**BASE, "camera": str(clip), "plate_frames": 600})
    wait_status(obs, name, "no background captured")
    assert obs.proc is not None
    pid = obs.proc.pid
    time.sleep(2)  # (settled: the source runs, the camera is open)
    base = _rss_mb(pid)
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM starts again from VmRSS (proc(5))
    assert _rss_mb(pid, "VmHWM") < base + 50
    saved = obs.log_text().count(f"{name}: saved the background plate")
    press(obs, name)
    wait_status(obs, name, "Capturing background")
    last_shot = screenshot(obs, name)
    changed_at = time.monotonic()
    longest_still = 0.0  # (the plate's last step once froze the picture for 8 s)
    deadline = changed_at + 180
    while obs.log_text().count(f"{name}: saved the background plate") == saved:
        assert time.monotonic() < deadline, f"no plate; status {status(obs, name)!r}\n{obs.log_tail(20)}"
        time.sleep(0.2)
        shot = screenshot(obs, name)
        now = time.monotonic()
        if not np.array_equal(shot, last_shot):
            last_shot, changed_at = shot, now
        longest_still = max(longest_still, now - changed_at)
    peak = _rss_mb(pid, "VmHWM")
    assert longest_still < 3.0, f"the picture stood still for {longest_still:.1f} s"
    assert peak - base < 300, f"peak {peak:.0f} MB with {base:.0f} MB running"
    print(
        f"600-frame recapture: OBS peak {peak:.0f} MB, running {base:.0f} MB, "
        f"picture still for {longest_still:.1f} s at most"
    )
    wait_status(obs, name, "Running")
    log = obs.log_text()
    ours = "\n".join(line for line in log.splitlines() if "[bgreplace]" in line)
    assert log.count(f"{name}: capturing the background (600 frames)") == 1, ours
    assert "Capturing background" not in log and " 0 fps" not in log
    remove(obs, name)


@pytest.mark.obs
def test_background_file_replaced_fixed_and_gone_in_obs(
    obs: Obs, pictures: dict[str, Any], tmp_path: Path
) -> None:
    """The background image overwritten on disk shows within seconds; a corrupt one keeps the
    last good picture and is said once in the log; fixed, it shows; gone, the last picture
    stays with a warning."""
    name = "BG file"
    path = tmp_path / "background.png"
    colours = ((200, 40, 40), (40, 200, 40), (40, 40, 200))
    a, b, c = (np.full((360, 640, 3), colour, np.uint8) for colour in colours)
    cv2.imwrite(str(path), a)
    values = {
        **BASE,
        "camera": pictures["paths"]["empty"],
        "background_type": "image",
        "background_path": str(path),
    }
    create(obs, name, values)
    wait_status(obs, name, "no background captured")
    press(obs, name)
    wait_status(obs, name, "Running:")

    def expected(picture: np.ndarray) -> np.ndarray:
        probe = tmp_path / "probe.png"
        cv2.imwrite(str(probe), picture)
        empty = pictures["empty"]
        return expected_composite({**values, "background_path": str(probe)}, empty, empty)

    assert_shows(obs, name, expected(a))
    rewrite_in_place(path, cv2.imencode(".png", b)[1].tobytes())
    t0 = time.monotonic()
    assert_shows(obs, name, expected(b), timeout=10)
    took = time.monotonic() - t0
    rewrite_in_place(path, b"this is not a picture any more")
    wait_status(obs, name, "cannot decode background image")
    time.sleep(3)  # frames keep coming: the problem must still be in the log only once
    assert obs.log_text().count(f"{name}: cannot decode background image") == 1
    assert_shows(obs, name, expected(b))  # the last good picture
    rewrite_in_place(path, cv2.imencode(".png", c)[1].tobytes())
    assert_shows(obs, name, expected(c), timeout=10)
    wait_status(obs, name, "Running:")
    path.unlink()
    wait_status(obs, name, "is gone")
    assert_shows(obs, name, expected(c))
    assert obs.log_text().count(f"{name}: background file '{path}' is gone") == 1
    remove(obs, name)
    print(f"replaced background shown {took:.1f} s after the file changed")


@pytest.mark.obs
def test_recapture_in_a_room_with_a_playing_monitor_succeeds(obs: Obs, tmp_path: Path) -> None:
    """A camera looking at a room whose screen plays video (bgcore.synth_rooms' ``monitor``,
    seed 0: every 30-frame window of the looped clip makes a plate, see
    tests/test_footage.py): the recapture is not refused (plates refused every such room
    before dynamic pixels were modelled), and the status line and the log say where the
    picture changes all the time."""
    from bgcore import synth_rooms

    scene = synth_rooms.make_scene("monitor", seed=0, n_frames=1, plate_frames=90)
    clip = write_clip(tmp_path / "monitor.mkv", scene.plate)
    name = "Monitor room"
    create(obs, name, {**BASE, "camera": str(clip), "plate_frames": 30})
    wait_status(obs, name, "no background captured")
    press(obs, name)
    line = wait_status(obs, name, "Running (", "refused", timeout=90)
    assert "refused" not in line, line
    assert "changes all the time" in line and "less sensitive there" in line, line
    place = synth_rooms_place(scene)
    assert f"the picture at the {place}" in line, (place, line)
    wait_log(obs, f"{name}: running at 320x240; the picture at the {place} changes all the time")


def synth_rooms_place(scene: Any) -> str:
    """Where the monitor of ``scene`` is, as the plate words it (its plate, built here)."""
    regions = Plate.from_frames(scene.plate[:30]).dynamic_regions
    assert regions, "the monitor's plate has no dynamic region"
    return regions[0].place


@pytest.mark.obs
def test_removed_source_plate_goes_at_the_next_start(obs: Obs, pictures: dict[str, Any]) -> None:
    """A removed source's plate stays while OBS runs (Edit > Undo can bring the source back)
    and is deleted when OBS next starts; the kept source's plate is restored. (The status line
    OBS writes into the scene collection with the settings is dropped when the source is created
    again: no save callback keeps it out, because OBS calls save holding its source list's lock,
    where a Python callback can deadlock with another script's thread; see test_other_scripts.)"""
    ids = {}
    for name in ("Keeps plate", "Loses plate"):
        create(obs, name, {**BASE, "camera": pictures["paths"]["empty"]})
        wait_status(obs, name, "no background captured")
        ids[name] = settings(obs, name)["plate_id"]
        press(obs, name)
    for name in ids:
        wait_for(f"{name}'s plate", (obs.plate_dir() / f"{ids[name]}.json").exists, 30)
    remove(obs, "Loses plate")
    wait_log(obs, "[bgreplace] Loses plate: destroyed")
    assert (obs.plate_dir() / f"{ids['Loses plate']}.npz").exists(), "kept for Undo while OBS runs"
    assert obs.quit() == 0
    collection = json.loads((obs.config / "basic" / "scenes" / f"{COLLECTION}.json").read_text())
    ours = [s for s in collection["sources"] if s["id"] == "bgreplace_source"]
    assert ours
    assert {s["settings"]["plate_id"] for s in ours} >= {ids["Keeps plate"]}
    obs.start()
    wait_status(obs, "Keeps plate", "Running")
    log = obs.log_text()
    assert f"deleted the background plate {ids['Loses plate']} (its source was removed)" in log
    assert not list(obs.plate_dir().glob(f"{ids['Loses plate']}.*"))
    assert (obs.plate_dir() / f"{ids['Keeps plate']}.npz").exists()
    assert "[bgreplace] Keeps plate: restored the background plate" in log
    assert obs.quit() == 0
    assert_clean_logs(obs)

