"""A soak of the Background Replacer inside a real, headless OBS: faults on a schedule, a report.

Run from the repository root (OBS, Xvfb and xdotool installed, ``./install`` run once)::

    .venv/bin/python tests/obs/soak.py --minutes 30     # the full soak
    .venv/bin/python tests/obs/soak.py --minutes 2      # the short version CI runs (test_soak.py)

One OBS (``harness.Obs``, canvas 640x360 at 30 fps) runs one source whose camera is a looping
lossless video (FFV1 .mkv: 2 s of the empty room, then 2 s of a person, ``scenes.py``) over an
image background. Spread over ``--minutes``, in turn:

- the camera file removed (renamed away) while the source is hidden and shown again, so it
  must open the missing file; restored a few seconds later: the source recovers by itself;
- the background file replaced on disk at the same path (alternately rewritten in place and
  replaced by a rename, as editors save) and, separately, switched to another file;
- a recapture by the properties button and one by the hotkey (each from a clip of the empty
  room, then back to the looping video);
- every ``BIG_CAPTURE_EVERY_SECONDS`` (once, mid-run, in a short run) a recapture of
  ``--plate-frames`` frames (default 600, the setting's maximum) from a clip of the empty room
  with per-frame sensor noise: OBS's peak memory above its running level during the capture
  (VmHWM, reset first through /proc/<pid>/clear_refs) and the longest time the output stood
  still (the noise makes every camera frame, so every output frame, differ);
- a script reload through Tools > Scripts (``gui.ObsGui``) in runs of ``RELOAD_MIN_MINUTES``
  or more; at the end OBS is closed and started again: the plate must come back.

What is asserted exactly: the camera clip is lossless and still within each half, so every
screenshot check waits for the engine's exact composite of the person AND then for the exact
composite of the empty room (``util.expected_composite`` for the background file on disk at
that moment): exact pixels, and proof that the video plays and loops. After the noisy
600-frame plate only closeness can be asserted (its mean is the room plus averaged noise), so
that check counts differing pixels, and a regular recapture follows at once.

Measured all along: the RSS of the OBS process (/proc/<pid>/status, every
``MEMORY_SAMPLE_SECONDS``) and OBS's GetStats (frames missed by rendering lag, skipped by the
encoder). The report gives memory at start, middle and end and its least-squares slope, the
frame counters, every check, errors and tracebacks in the OBS logs, crash reports, the plate
after the restart and OBS's exit codes. Exit status 0 only if every check passed; the bounds
are the named constants below, each with its reason.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import CANVAS, SCENE, Obs, missing_prerequisites
from measure_cpu import TICK, machine_ticks, proc_ticks
from obsws_python.error import OBSSDKRequestError
from scenes import empty_room, with_person
from util import (
    RENDER_FAILED,
    assert_shows,
    create,
    expected_composite,
    press,
    screenshot,
    settings,
    status,
    wait_log,
    wait_status,
)

NAME = "Soak BG"
FPS = 30
HALF_SECONDS = 2
"""Each half of the camera clip (empty room, then the person): long enough for a screenshot
poll (every 0.3 s) to land inside it on a loaded machine."""
NOISE_SIGMA = 2.0
"""Grey levels of per-frame sensor noise in the clip the large plate is captured from (a real
webcam's is 1-3); it makes consecutive camera frames, so output frames, differ."""
NOISY_FRAMES = 30
PLATE_FRAMES = 30
"""Frames of the regular recaptures (the product's default)."""
DEFAULT_BIG_PLATE_FRAMES = 600
"""The 'Frames averaged into the background' maximum: the capture whose memory is bounded."""

# -- schedule ---------------------------------------------------------------------------------
EVENT_SECONDS = 60.0
"""One fault a minute in a long run (each recapture kind every five minutes)."""
CHECK_SECONDS = 30.0
"""A screenshot check every half minute between faults."""
STATS_SECONDS = 10.0
MEMORY_SAMPLE_SECONDS = 1.0
BIG_CAPTURE_EVERY_SECONDS = 600.0
RELOAD_MIN_MINUTES = 5.0
CAMERA_GONE_SECONDS = 5.0
"""How long the camera file stays away once the source reports it missing: two retries."""

# -- bounds (each a check in the report) -------------------------------------------------------
MAX_SLOPE_MB_PER_10MIN = 20.0
"""Memory must stay flat: 20 MB per 10 minutes would be under 0.5 GB over a 4-hour stream, and
is above the slope a steady OBS shows from heap noise alone."""
SLOPE_WARMUP_SECONDS = 120.0
"""The first two minutes of the soak are left out of the slope: OBS, Python and numpy settle."""
MIN_SLOPE_SPAN_SECONDS = 600.0
"""A slope over less than ten minutes is dominated by single allocations: reported, not judged."""
BIG_CAPTURE_SETTLE_SECONDS = 5.0
"""Samples from a large capture's start to this long after its plate is saved are judged by
the peak bound, not the slope."""
MAX_CAPTURE_RISE_MB = 400.0
"""A large recapture may raise OBS's memory by a few hundred MB over its running level (a
600-frame 640x360 plate is ~200 MB of uint8 frames at most); several GB is the defect."""
MAX_STILL_SECONDS = 2.0
"""Longest the output may stand still while the large plate is captured and built: a viewer
sees a frozen picture; the source normally shows a new frame every 33 ms, and 2 s leaves room
for a loaded machine."""
MAX_LAGGED_FRACTION = 0.01
"""Frames OBS's render thread missed ('rendering lag'): under 1% is invisible to viewers and
the source does no work on the render thread; more means the source starves OBS of CPU."""
MAX_OTHER_CPUS_FOR_LAG = 0.5
"""The lag is judged only when the machine's other processes (all but OBS, its Xvfb and this
script) used at most half a CPU on average: OBS renders on the CPU (llvmpipe), so on a machine
shared with busier work the missed frames measure that work; they are then reported only."""
CLOSE_LEVELS = 12
MAX_FAR_FRACTION = 0.01
"""After the noisy large plate: at most 1% of pixels more than CLOSE_LEVELS away from the exact
composite of a still plate (the edges move by a pixel where the plate's noise estimate differs)."""
LOOP_TIMEOUT = 30.0
"""Seconds for each half of a screenshot check (the loop is 4 s; a slow OBS takes longer)."""
BACKGROUND_FOLLOW_SECONDS = 10.0
"""A background file changed on disk must show within this long ('a couple of seconds' plus
room for a loaded machine)."""
RECOVER_SECONDS = 30.0
"""A restored camera file must be playing again (exact composite) within this long."""

TRACEBACK = "Traceback (most recent call last)"
ERROR_MARKERS = (
    " failed",  # a callback or the worker caught an exception ("... failed: ...")
    "Internal error",
    "internal error",
    "still busy",  # the worker thread did not stop
    "already exists",  # the source type registered twice
    "Capture refused",  # the soak only ever captures the empty room
    "not registering",
)
"""[bgreplace] log lines that are errors whatever the soak did. Warnings the faults cause
("camera lost", "cannot decode background", ...) are listed in the report, not counted."""
NOTE_MARKERS = ("lost", "cannot", "stopped", "no camera", "not ", "missing", "gone", "vanished", "unreadable")
"""[bgreplace] log lines (compared in lower case) listed as the faults' warnings in the report."""


# -- media ------------------------------------------------------------------------------------
def write_clip(path: Path, frames: list[npt.NDArray[np.uint8]]) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), FPS, (w, h))
    if not out.isOpened():
        raise RuntimeError(f"OpenCV cannot write FFV1 to {path}")
    for f in frames:
        out.write(f)
    out.release()
    return path


def gradient(w: int, h: int, blue: int, flip: bool) -> npt.NDArray[np.uint8]:
    yy, xx = np.mgrid[0:h, 0:w]
    a, b = (yy * 255 // h, xx * 255 // w) if flip else (xx * 255 // w, yy * 255 // h)
    return np.dstack([np.full_like(xx, blue), a, b]).astype(np.uint8)


@dataclasses.dataclass
class Media:
    empty: npt.NDArray[np.uint8]
    person: npt.NDArray[np.uint8]
    walk: Path  # the camera: empty room, then the person, looping
    still: Path  # the empty room, for regular recaptures
    noisy: Path  # the empty room with sensor noise, for the large capture
    backgrounds: dict[Path, tuple[bytes, bytes]]
    """The two background files the source switches between, each with the two PNGs written
    over it in turn (the first is there at the start); the second file is twice the canvas."""


def make_media(d: Path) -> Media:
    empty = empty_room(CANVAS)
    person = with_person(empty)
    rng = np.random.default_rng(11)
    noisy = [
        np.clip(empty + rng.normal(0, NOISE_SIGMA, empty.shape), 0, 255).astype(np.uint8)
        for _ in range(NOISY_FRAMES)
    ]
    w, h = CANVAS

    def png(scale: int, blue: int, flip: bool) -> bytes:
        return bytes(cv2.imencode(".png", gradient(scale * w, scale * h, blue, flip))[1])

    backgrounds = {
        d / "background.png": (png(1, 200, False), png(1, 40, True)),
        d / "other-background.png": (png(2, 120, True), png(2, 90, False)),
    }
    for path, versions in backgrounds.items():
        path.write_bytes(versions[0])
    return Media(
        empty=empty,
        person=person,
        walk=write_clip(d / "walk.mkv", [empty] * (HALF_SECONDS * FPS) + [person] * (HALF_SECONDS * FPS)),
        still=write_clip(d / "empty.mkv", [empty] * 10),
        noisy=write_clip(d / "noisy.mkv", noisy),
        backgrounds=backgrounds,
    )


# -- memory -----------------------------------------------------------------------------------
def proc_status_mb(pid: int, field: str) -> float | None:
    """``VmRSS`` or ``VmHWM`` (peak RSS) of a process in MB, None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (proc(5): clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclasses.dataclass(frozen=True)
class Sample:
    t: float  # monotonic
    rss_mb: float
    session: int  # 1 = the soak's OBS process, 2 = after the restart


class MemorySampler:
    """Samples the RSS of the current OBS process on a thread of its own (only /proc)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.samples: list[Sample] = []
        self.loads: list[float] = []
        self._pid: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-memory", daemon=True)

    def follow(self, pid: int, session: int) -> None:
        self._pid = (pid, session)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def latest(self) -> float | None:
        return self.samples[-1].rss_mb if self.samples else None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.loads.append(os.getloadavg()[0])
            if self._pid is None:
                continue
            pid, session = self._pid
            rss = proc_status_mb(pid, "VmRSS")
            if rss is not None:
                self.samples.append(Sample(time.monotonic(), rss, session))


def slope_mb_per_10min(samples: list[Sample]) -> float:
    """Least-squares slope of RSS over time."""
    t = np.array([s.t for s in samples]) / 600.0
    y = np.array([s.rss_mb for s in samples])
    return float(np.polyfit(t - t.mean(), y, 1)[0])


# -- the soak ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Check:
    at: float  # seconds into the soak
    what: str
    kind: str  # "screenshot" or "bound"
    ok: bool
    detail: str = ""


@dataclasses.dataclass
class Event:
    at: float
    action: str
    seconds: float = 0.0
    ok: bool = True
    note: str = ""


@dataclasses.dataclass
class BigCapture:
    at: float
    frames: int
    running_mb: float
    peak_mb: float
    capture_seconds: float
    still_seconds: float
    still_before_seconds: float
    window: tuple[float, float]  # monotonic, excluded from the slope


class ObsGone(RuntimeError):
    pass


def first_lines(text: str, n: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[:n])


class Soak:
    def __init__(self, obs: Obs, media: Media, big_frames: int) -> None:
        self.obs = obs
        self.media = media
        self.big_frames = big_frames
        self.values: dict[str, Any] = {
            "recapture_delay": 0,
            "plate_frames": PLATE_FRAMES,
            "background_type": "image",
            "background_path": str(next(iter(media.backgrounds))),
            "camera": str(media.walk),
        }
        self.version = dict.fromkeys(media.backgrounds, 0)  # which PNG each background file holds
        self.replace_in_place = True
        self.checks: list[Check] = []
        self.events: list[Event] = []
        self.big: list[BigCapture] = []
        self.memory = MemorySampler(MEMORY_SAMPLE_SECONDS)
        self.stats: dict[int, Any] = {}  # session -> the last GetStats
        self.lag_series: list[tuple[float, int, int]] = []  # (monotonic, session, render skipped)
        self.session = 1
        self.t0 = time.monotonic()
        self.exit_codes: list[int] = []
        self.plate_after_restart: str = "not checked"
        self.soak_end: float | None = None  # monotonic, when the faults ended (before the restart)
        self.cpu: list[tuple[float, int, int]] = []  # (monotonic, machine busy, OBS+Xvfb+soak ticks)

    # -- bookkeeping ------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() - self.t0

    def record(self, what: str, kind: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(self.now(), what, kind, ok, detail))
        mark = "ok  " if ok else "FAIL"
        print(
            f"  [{self.now():7.1f} s] {mark} {what}{': ' + first_lines(detail, 1) if detail else ''}",
            flush=True,
        )
        return ok

    def alive(self) -> None:
        proc = self.obs.proc
        if proc is None or proc.poll() is not None:
            raise ObsGone(f"OBS exited during the soak (exit code {proc.returncode if proc else None})")

    def sample_stats(self) -> None:
        with contextlib.suppress(Exception):
            stats = self.obs.client.get_stats()
            self.stats[self.session] = stats
            self.lag_series.append((time.monotonic(), self.session, stats.render_skipped_frames))

    def sample_cpu(self) -> None:
        """Machine busy ticks and the ticks of OBS, its Xvfb and this process (the rest is the
        machine's other work)."""
        pids = [os.getpid()]
        if self.obs.proc is not None:
            pids.append(self.obs.proc.pid)
        if self.obs.xvfb is not None:
            pids.append(self.obs.xvfb.proc.pid)
        with contextlib.suppress(OSError):
            self.cpu.append((time.monotonic(), machine_ticks(), sum(proc_ticks(p) for p in pids)))

    def other_cpus(self) -> float:
        """CPUs the machine's other processes used on average over the soak."""
        if len(self.cpu) < 2:
            return float("nan")
        (t0, m0, o0), (t1, m1, o1) = self.cpu[0], self.cpu[-1]
        return ((m1 - m0) - (o1 - o0)) / TICK / (t1 - t0)

    def lagged_in_captures(self) -> int:
        """Frames missed by rendering lag between two GetStats samples that overlap a large
        capture's window (where the lag happened, roughly)."""
        total = 0
        for (t0, s0, n0), (t1, s1, n1) in zip(self.lag_series, self.lag_series[1:], strict=False):
            if s0 == s1 and any(t0 <= b and a <= t1 for a, b in (c.window for c in self.big)):
                total += n1 - n0
        return total

    def log_count(self, needle: str) -> int:
        return self.obs.log_text().count(needle)

    def wait_opened(self, path: Path, before: int) -> None:
        wait_log(self.obs, f"{NAME}: opened {path}", before + 1, timeout=30)

    def set_camera(self, path: Path, **more: Any) -> None:
        before = self.log_count(f"{NAME}: opened {path}")
        self.values["camera"] = str(path)
        self.obs.client.set_input_settings(NAME, {"camera": str(path), **more}, True)
        self.wait_opened(path, before)

    # -- screenshot checks ------------------------------------------------------------------
    def expected(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """The exact composite for the settings and the background file as they are now."""
        return expected_composite(self.values, self.media.empty, frame)

    def loop_check(self, what: str, timeout: float = LOOP_TIMEOUT) -> bool:
        """The person's exact composite, then the empty room's: exact and playing."""
        try:
            with_person = self.expected(self.media.person)
            without = self.expected(self.media.empty)
            assert_shows(self.obs, NAME, with_person, timeout=timeout)
            assert_shows(self.obs, NAME, without, timeout=timeout)
        except AssertionError as exc:
            self.alive()
            return self.record(what, "screenshot", False, str(exc))
        return self.record(what, "screenshot", True)

    def close_check(self, what: str) -> bool:
        """The person's composite to within CLOSE_LEVELS on all but MAX_FAR_FRACTION pixels."""
        reference = self.expected(self.media.person)
        best = 1.0
        deadline = time.monotonic() + LOOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                shot = screenshot(self.obs, NAME)
            except OBSSDKRequestError as exc:
                if exc.code != RENDER_FAILED:
                    raise
                time.sleep(0.3)
                continue
            far = float((np.abs(shot.astype(int) - reference.astype(int)).max(axis=2) > CLOSE_LEVELS).mean())
            best = min(best, far)
            if best <= MAX_FAR_FRACTION:
                return self.record(
                    what, "screenshot", True, f"{best:.2%} of pixels > {CLOSE_LEVELS} levels off"
                )
            time.sleep(0.3)
        return self.record(
            what, "screenshot", False, f"at best {best:.2%} of pixels > {CLOSE_LEVELS} levels off"
        )

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        values = {**self.values, "camera": str(self.media.still)}
        create(self.obs, NAME, values)
        wait_status(self.obs, NAME, "no background captured", timeout=60)
        self.recapture("button", settle_camera=False)

    # -- actions ----------------------------------------------------------------------------
    def recapture(self, how: str, settle_camera: bool = True) -> str:
        """From the still empty-room clip, then back to the looping camera; exact check."""
        saved = self.log_count(f"{NAME}: saved the background plate")
        if settle_camera:
            self.set_camera(self.media.still)
        else:
            self.values["camera"] = str(self.media.still)
        if how == "hotkey":
            self.obs.client.trigger_hotkey_by_name("bgreplace.recapture")
        else:
            press(self.obs, NAME)
        wait_log(self.obs, f"{NAME}: saved the background plate", saved + 1, timeout=60)
        self.set_camera(self.media.walk)
        self.loop_check(f"exact composite after a recapture by the {how}")
        return ""

    def camera_gone(self) -> str:
        walk, away = self.media.walk, self.media.walk.with_name(self.media.walk.name + ".away")
        item = int(self.obs.client.get_scene_item_id(SCENE, NAME).scene_item_id)
        hidden = self.log_count(f"{NAME}: source hidden, camera closed")
        os.replace(walk, away)
        try:
            self.obs.client.set_scene_item_enabled(SCENE, item, False)
            wait_log(self.obs, f"{NAME}: source hidden, camera closed", hidden + 1)
            self.obs.client.set_scene_item_enabled(SCENE, item, True)
            said = wait_status(self.obs, NAME, "No camera", "Camera stopped", "Camera disconnected")
            time.sleep(CAMERA_GONE_SECONDS)
        finally:
            os.replace(away, walk)
        t = time.monotonic()
        ok = self.loop_check("exact composite after the camera file came back", RECOVER_SECONDS)
        back = f"playing again in {time.monotonic() - t:.1f} s" if ok else "NOT playing again"
        return f"{back}; status while missing: {said[:60]!r}"

    def background_replaced(self) -> str:
        """A new picture in the background file the source uses, at the same path."""
        target = Path(self.values["background_path"])
        self.version[target] = 1 - self.version[target]
        data = self.media.backgrounds[target][self.version[target]]
        how = "rewritten in place" if self.replace_in_place else "replaced by a rename"
        if self.replace_in_place:
            with target.open("r+b") as fh:
                fh.write(data)
                fh.truncate()
        else:
            tmp = target.with_name(f".{target.stem}.tmp{target.suffix}")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        self.replace_in_place = not self.replace_in_place
        t = time.monotonic()
        if self.loop_check(f"the background file {how} shows", BACKGROUND_FOLLOW_SECONDS):
            return f"{how}; both composites seen within {time.monotonic() - t:.1f} s"
        # what a user would do: pick another file and then this one again
        self.switch_background(self.other_background())
        self.switch_background(target)
        return f"{how}; NOT shown: resynchronised by switching the path away and back"

    def switch_background(self, path: Path) -> None:
        self.values["background_path"] = str(path)
        self.obs.client.set_input_settings(NAME, {"background_path": str(path)}, True)
        self.loop_check(f"exact composite after switching the background to {path.name}")

    def other_background(self) -> Path:
        return next(p for p in self.media.backgrounds if str(p) != self.values["background_path"])

    def background_switched(self) -> str:
        target = self.other_background()
        self.switch_background(target)
        return f"to {target.name}"

    def big_capture(self) -> str:
        """``big_frames`` frames from the noisy empty room: peak memory and a moving output.
        The background is transparent meanwhile: the output then carries the camera's colours
        (alpha 0), so its noise makes every output frame differ (an image background would
        show the same picture in every frame of an empty room)."""
        obs, pid = self.obs, self.obs.proc.pid if self.obs.proc else 0
        saved = self.log_count(f"{NAME}: saved the background plate")
        self.set_camera(self.media.noisy, plate_frames=self.big_frames, background_type="transparent")
        self.values.update(plate_frames=self.big_frames, background_type="transparent")
        still_before = self.longest_still(lambda: False, seconds=3.0)
        running = float(np.median([s.rss_mb for s in self.memory.samples[-5:]]))
        reset_peak(pid)
        t_press = time.monotonic()
        press(obs, NAME)
        saved_at: list[float] = []

        def saved_yet() -> bool:
            if not saved_at and self.log_count(f"{NAME}: saved the background plate") > saved:
                saved_at.append(time.monotonic())
            return bool(saved_at) and time.monotonic() > saved_at[0] + 2.0

        timeout = 120.0 + self.big_frames / 5.0  # 600 frames at 5 fps on a starved machine
        still = self.longest_still(saved_yet, seconds=timeout)
        peak = proc_status_mb(pid, "VmHWM") or float("nan")
        if not saved_at:
            self.alive()
            raise AssertionError(
                f"no plate saved {timeout:g} s after pressing recapture; status {status(obs, NAME)!r}"
            )
        end = saved_at[0] + BIG_CAPTURE_SETTLE_SECONDS
        record = BigCapture(
            self.now(),
            self.big_frames,
            running,
            peak,
            saved_at[0] - t_press,
            still,
            still_before,
            (t_press, end),
        )
        self.big.append(record)
        self.record(
            f"{self.big_frames}-frame recapture: peak {peak - running:.0f} MB above the running level "
            f"({running:.0f} MB)",
            "bound",
            peak - running <= MAX_CAPTURE_RISE_MB,
            f"bound {MAX_CAPTURE_RISE_MB:g} MB",
        )
        self.record(
            f"{self.big_frames}-frame recapture: output stood still at most {still:.1f} s "
            f"(before the capture {still_before:.1f} s)",
            "bound",
            still <= MAX_STILL_SECONDS,
            f"bound {MAX_STILL_SECONDS:g} s",
        )
        self.values.update(plate_frames=PLATE_FRAMES, background_type="image")
        self.set_camera(self.media.walk, plate_frames=PLATE_FRAMES, background_type="image")
        self.close_check(f"close composite with the {self.big_frames}-frame plate")
        self.recapture("button")  # back to a still plate: exact checks again
        return f"capture + build {record.capture_seconds:.1f} s"

    def longest_still(self, done: Callable[[], bool], seconds: float) -> float:
        """Poll screenshots for ``seconds`` (or until ``done()``): the longest time one picture
        was seen unchanged."""
        deadline = time.monotonic() + seconds
        previous: npt.NDArray[np.uint8] | None = None
        first_seen = time.monotonic()
        longest = 0.0
        while time.monotonic() < deadline and not done():
            try:
                shot = screenshot(self.obs, NAME)
            except OBSSDKRequestError as exc:
                if exc.code != RENDER_FAILED:
                    raise
                time.sleep(0.1)
                continue
            t = time.monotonic()
            if previous is not None and np.array_equal(shot, previous):
                longest = max(longest, t - first_seen)
            else:
                first_seen, previous = t, shot
            time.sleep(0.1)
        return longest

    def reload_script(self) -> str:
        from gui import ObsGui, wait_log_count

        again = "[bgreplace] script loaded again"
        gui = ObsGui(self.obs)
        before = self.log_count(again)
        gui.reload_script()
        wait_log_count(gui, again, before + 1)
        gui.close_scripts()
        self.loop_check("exact composite after the script reload")
        return "Tools > Scripts > Reload"

    def check(self) -> str:
        self.loop_check("exact composite")
        return ""

    def restart(self) -> None:
        """Close OBS like a user, start it again: the plate and the picture must come back."""
        self.sample_stats()
        code = self.obs.quit()
        self.exit_codes.append(code)
        self.record(f"OBS exit code {code}", "bound", code == 0)
        self.session = 2
        self.obs.start(timeout=60)
        assert self.obs.proc is not None
        self.memory.follow(self.obs.proc.pid, self.session)
        wait_status(self.obs, NAME, "Running", timeout=60)
        plate_id = settings(self.obs, NAME)["plate_id"]
        npz = self.obs.plate_dir() / f"{plate_id}.npz"
        restored = f"{NAME}: restored the background plate" in self.obs.log_text()
        exact = self.loop_check("exact composite after the restart")
        self.plate_after_restart = (
            f"{'restored' if restored else 'NOT restored'} (log), "
            f"file {'present' if npz.exists() else 'MISSING'}, composite {'exact' if exact else 'WRONG'}"
        )
        self.record("the plate is back after the restart", "bound", restored and npz.exists(), str(npz))
        self.sample_stats()
        code = self.obs.quit()
        self.exit_codes.append(code)
        self.record(f"OBS exit code {code} (after the restart)", "bound", code == 0)

    # -- the run ----------------------------------------------------------------------------
    def run(self, seconds: float, minutes: float) -> None:
        actions: dict[str, Callable[[], str]] = {
            "check": self.check,
            "camera file removed and restored": self.camera_gone,
            "background file replaced": self.background_replaced,
            "recapture (button)": lambda: self.recapture("button"),
            "background switched": self.background_switched,
            "recapture (hotkey)": lambda: self.recapture("hotkey"),
            f"recapture of {self.big_frames} frames": self.big_capture,
            "script reload": self.reload_script,
        }
        plan = schedule(seconds, minutes, self.big_frames)
        print(f"schedule ({len(plan)} actions over {seconds / 60:g} min):", flush=True)
        for at, action in plan:
            print(f"  {at:7.1f} s  {action}")
        self.t0 = time.monotonic()
        self.sample_cpu()
        last_stats = 0.0
        for at, action in plan:
            while self.now() < at:
                self.alive()
                if self.now() - last_stats >= STATS_SECONDS:
                    self.sample_stats()
                    last_stats = self.now()
                time.sleep(min(1.0, max(0.0, at - self.now())))
            self.alive()
            print(f"[{self.now():7.1f} s] {action}", flush=True)
            event = Event(self.now(), action)
            failed_before = sum(not c.ok for c in self.checks)
            try:
                event.note = actions[action]() or ""
                event.ok = sum(not c.ok for c in self.checks) == failed_before
            except ObsGone:
                raise
            except Exception as exc:
                self.alive()
                event.ok = False
                event.note = f"{type(exc).__name__}: {first_lines(str(exc))}"
                self.record(
                    action, "bound", False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
                )
            event.seconds = self.now() - event.at
            self.events.append(event)
            self.sample_stats()
        while self.now() < seconds:
            self.alive()
            time.sleep(min(1.0, seconds - self.now()))
        self.soak_end = time.monotonic()
        self.sample_cpu()
        print(f"[{self.now():7.1f} s] restart", flush=True)
        self.restart()


def schedule(seconds: float, minutes: float, big_frames: int) -> list[tuple[float, str]]:
    """(seconds into the soak, action), sorted. Faults cycle one per EVENT_SECONDS (at least one
    of each); large captures every BIG_CAPTURE_EVERY_SECONDS (one mid-run when shorter); the
    script reload at 70% in long enough runs; checks every CHECK_SECONDS in between."""
    faults = [
        "camera file removed and restored",
        "background file replaced",
        "recapture (button)",
        "background switched",
        "recapture (hotkey)",
    ]
    n = max(len(faults), round(seconds / EVENT_SECONDS))
    plan = [(seconds * (i + 0.5) / n, faults[i % len(faults)]) for i in range(n)]
    big = f"recapture of {big_frames} frames"
    if seconds >= 2 * BIG_CAPTURE_EVERY_SECONDS:
        k = 1
        while k * BIG_CAPTURE_EVERY_SECONDS < seconds - EVENT_SECONDS:
            plan.append((k * BIG_CAPTURE_EVERY_SECONDS + 1.0, big))
            k += 1
    else:
        plan.append((seconds * 0.5 + 1.0, big))
    if minutes >= RELOAD_MIN_MINUTES:
        plan.append((seconds * 0.7 + 1.0, "script reload"))
    busy = sorted(at for at, _ in plan)
    t = CHECK_SECONDS
    while t < seconds:
        if all(abs(t - b) > CHECK_SECONDS / 3 for b in busy):
            plan.append((t, "check"))
        t += CHECK_SECONDS
    return sorted(plan)


# -- report -----------------------------------------------------------------------------------
def log_findings(text: str) -> tuple[int, list[str], list[str]]:
    """(tracebacks, [bgreplace] error lines, distinct [bgreplace] warning-like lines)."""
    errors, notes = [], []
    for line in text.splitlines():
        if "[bgreplace]" not in line:
            continue
        body = re.sub(r"^\S+: ", "", line).strip()  # the log's timestamp
        if any(m in body for m in ERROR_MARKERS):
            errors.append(body)
        elif any(w in body.lower() for w in NOTE_MARKERS):
            notes.append(body)
    distinct = list(dict.fromkeys(notes))
    return text.count(TRACEBACK), errors, distinct


def report(soak: Soak, args: argparse.Namespace, info: dict[str, Any]) -> tuple[str, bool]:
    lines = [
        "",
        "=" * 78,
        f"bgreplace soak: OBS {info['obs_version']}, canvas {CANVAS[0]}x{CANVAS[1]} at {FPS} fps, "
        f"{args.minutes:g} min planned, {info['soak_minutes']:.1f} min run",
        f"code: {info['code']}",
        f"machine: {os.cpu_count()} CPUs, load (1 min) before {info['load_before']:.2f}, "
        f"during mean {info['load_mean']:.2f} max {info['load_max']:.2f}",
        f"command: .venv/bin/python tests/obs/soak.py --minutes {args.minutes:g}"
        + (f" --plate-frames {args.plate_frames}" if args.plate_frames != DEFAULT_BIG_PLATE_FRAMES else ""),
    ]
    # memory
    end = soak.soak_end if soak.soak_end is not None else time.monotonic()
    s1 = [s for s in soak.memory.samples if s.session == 1 and soak.t0 <= s.t <= end]
    if s1:
        mid = min(s1, key=lambda s: abs(s.t - (soak.t0 + end) / 2))
        peak = max(s.rss_mb for s in s1)
        lines.append(
            f"memory (RSS of OBS): start {s1[0].rss_mb:.0f} MB, middle {mid.rss_mb:.0f} MB, "
            f"end {s1[-1].rss_mb:.0f} MB, highest sample {peak:.0f} MB ({len(s1)} samples)"
        )
        steady = [
            s
            for s in s1
            if s.t - soak.t0 >= SLOPE_WARMUP_SECONDS
            and not any(a <= s.t <= b for a, b in (c.window for c in soak.big))
        ]
        span = steady[-1].t - steady[0].t if len(steady) > 1 else 0.0
        if span >= MIN_SLOPE_SPAN_SECONDS:
            slope = slope_mb_per_10min(steady)
            soak.record(
                f"memory slope {slope:+.1f} MB per 10 min (least squares, {len(steady)} samples over "
                f"{span / 60:.1f} min after {SLOPE_WARMUP_SECONDS:g} s, large captures left out)",
                "bound",
                abs(slope) <= MAX_SLOPE_MB_PER_10MIN,
                f"bound {MAX_SLOPE_MB_PER_10MIN:g} MB per 10 min",
            )
            lines.append(f"memory slope: {slope:+.1f} MB per 10 min (bound {MAX_SLOPE_MB_PER_10MIN:g})")
        else:
            outside = [s for s in s1 if not any(a <= s.t <= b for a, b in (c.window for c in soak.big))]
            slope_all = slope_mb_per_10min(outside) if len(outside) > 2 else float("nan")
            lines.append(
                f"memory slope: {slope_all:+.1f} MB per 10 min over the whole run, large captures left "
                f"out (not judged: under {MIN_SLOPE_SPAN_SECONDS / 60:g} min after the warm-up)"
            )
    for big in soak.big:
        lines.append(
            f"{big.frames}-frame recapture at {big.at / 60:.1f} min: running {big.running_mb:.0f} MB, "
            f"peak {big.peak_mb:.0f} MB (+{big.peak_mb - big.running_mb:.0f}), "
            f"capture + build {big.capture_seconds:.1f} s, "
            f"output still at most {big.still_seconds:.1f} s (before: {big.still_before_seconds:.1f} s)"
        )
    # frames
    rendered = sum(s.render_total_frames for s in soak.stats.values())
    lagged = sum(s.render_skipped_frames for s in soak.stats.values())
    out_total = sum(s.output_total_frames for s in soak.stats.values())
    out_skipped = sum(s.output_skipped_frames for s in soak.stats.values())
    fraction = lagged / rendered if rendered else 1.0
    other = soak.other_cpus()
    lag = (
        f"frames missed by rendering lag: {lagged} of {rendered} ({fraction:.2%}; "
        f"{soak.lagged_in_captures()} of them while a large capture ran)"
    )
    if other <= MAX_OTHER_CPUS_FOR_LAG:
        soak.record(
            lag, "bound", rendered > 0 and fraction <= MAX_LAGGED_FRACTION, f"bound {MAX_LAGGED_FRACTION:.0%}"
        )
    else:
        lag += (
            f" - not judged: the machine's other processes used {other:.2f} CPUs "
            f"(judged up to {MAX_OTHER_CPUS_FOR_LAG:g})"
        )
        soak.record("frames rendered", "bound", rendered > 0)
    lines.append(f"{lag}; encoder: {out_skipped} skipped of {out_total} (no stream or recording runs)")
    lines.append(f"CPU: other processes on the machine used {other:.2f} CPUs on average during the soak")
    # logs
    tracebacks, errors, notes = log_findings(info["logs"])
    soak.record(f"{tracebacks} Python tracebacks in the OBS logs", "bound", tracebacks == 0)
    soak.record(
        f"{len(errors)} [bgreplace] errors in the OBS logs", "bound", not errors, "\n".join(errors[:10])
    )
    soak.record(
        f"{len(info['crashes'])} OBS crash reports", "bound", not info["crashes"], str(info["crashes"])
    )
    lines.append(f"OBS logs: {tracebacks} tracebacks, {len(errors)} [bgreplace] errors")
    lines += [f"    error: {e[:160]}" for e in errors[:10]]
    lines.append(f"[bgreplace] warnings the faults caused ({len(notes)} distinct):")
    lines += [f"    {n[:160]}" for n in notes[:15]]
    leaks = re.findall(r"Number of memory leaks: (\d+)", info["logs"])
    lines.append(
        f"crash reports: {len(info['crashes'])}; OBS's own leak count at each exit: {', '.join(leaks)}"
    )
    lines.append(f"plate after the restart: {soak.plate_after_restart}")
    lines.append(f"OBS exit codes: {', '.join(str(c) for c in soak.exit_codes) or 'none (did not quit)'}")
    # events and checks
    lines.append("events:")
    for e in soak.events:
        lines.append(
            f"  {e.at / 60:5.1f} min  {'ok  ' if e.ok else 'FAIL'} {e.action} ({e.seconds:.1f} s)"
            + (f": {e.note[:140]}" if e.note else "")
        )
    shots = [c for c in soak.checks if c.kind == "screenshot"]
    passed = sum(c.ok for c in shots)
    lines.append(f"screenshot checks: {passed} passed, {len(shots) - passed} failed")
    failed = [c for c in soak.checks if not c.ok]
    ok = not failed
    if failed:
        lines.append(f"FAILED ({len(failed)}):")
        for c in failed:
            lines.append(f"  {c.at / 60:5.1f} min  {c.what}")
            keep = 1 if c.kind == "screenshot" else 12  # (a screenshot's detail ends in a log tail)
            lines += [f"      {d}" for d in c.detail.strip().splitlines()[:keep]]
    lines.append("RESULT: " + ("PASS" if ok else "FAIL"))
    return "\n".join(lines), ok


def write_samples(path: Path, soak: Soak) -> None:
    """CSV: seconds into the soak, session, RSS in MB or frames missed so far (by GetStats)."""
    rows = ["seconds,session,what,value"]
    rows += [f"{s.t - soak.t0:.1f},{s.session},rss_mb,{s.rss_mb:.1f}" for s in soak.memory.samples]
    rows += [f"{t - soak.t0:.1f},{session},render_skipped,{n}" for t, session, n in soak.lag_series]
    path.write_text("\n".join(rows) + "\n")


def code_version() -> str:
    """The commit OBS runs, and any uncommitted product files (they run too)."""
    import subprocess

    from harness import REPO

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)
        return out.stdout.rstrip("\n")

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "bgcore", "bgobs", "obs_bgreplace.py").splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = ", ".join(line[3:] for line in dirty if line.strip())
    return f"{REPO} at {head or 'unknown'}" + (f" with uncommitted changes to {changed}" if changed else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="length of the soak (default 30)")
    ap.add_argument(
        "--plate-frames",
        type=int,
        default=DEFAULT_BIG_PLATE_FRAMES,
        help=f"frames of the large recapture (default {DEFAULT_BIG_PLATE_FRAMES}, the setting's maximum)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the OBS home (logs, plates, clips)")
    ap.add_argument("--samples", type=Path, help="write the memory and lag samples to this CSV file")
    args = ap.parse_args(argv)
    logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
    problem = missing_prerequisites()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="bgreplace-soak-"))
    media_dir = home / "media"
    media_dir.mkdir()
    print(f"soak: {args.minutes:g} min in a headless OBS; home {home}", flush=True)
    media = make_media(media_dir)
    obs = Obs(home)
    soak = Soak(obs, media, args.plate_frames)
    info: dict[str, Any] = {"load_before": os.getloadavg()[0], "obs_version": "?", "code": code_version()}
    ok = False
    try:
        obs.start(timeout=60)
        assert obs.proc is not None
        info["obs_version"] = obs.client.get_version().obs_version
        soak.memory.follow(obs.proc.pid, 1)
        soak.memory.start()
        soak.setup()
        soak.run(args.minutes * 60.0, args.minutes)
    except Exception as exc:
        if soak.soak_end is None:
            soak.soak_end = time.monotonic()
        soak.record(
            "the soak ran to its end",
            "bound",
            False,
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
        )
    finally:
        soak.memory.stop()
        obs.kill()
        info["logs"] = obs.all_logs()
        info["crashes"] = [str(p) for p in obs.crashes()]
        if soak.soak_end is None:
            soak.soak_end = time.monotonic()
        info["soak_minutes"] = (soak.soak_end - soak.t0) / 60.0
        loads = soak.memory.loads or [float("nan")]
        info["load_mean"] = float(np.mean(loads))
        info["load_max"] = float(np.max(loads))
        if args.samples:
            write_samples(args.samples, soak)
        text, ok = report(soak, args, info)
        print(text, flush=True)
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
