"""Helpers for the source's tests: talking to it over obs-websocket, and :class:`Recorder`, what
a SourceWorker driven without OBS sent (tests/obs/conftest.py's ``run_worker``)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from harness import SCENE, Obs
from obsws_python.error import OBSSDKRequestError

from bgcore import BackgroundReplacer, Plate
from bgcore.backgrounds import open_background
from bgobs import config
from bgobs.status import Status, status_line

BASE: dict[str, Any] = {"recapture_delay": 0, "plate_frames": 10, "background_type": "transparent"}
"""Settings most tests start from: no countdown, a short plate, a transparent background."""


def settings(obs: Obs, name: str) -> dict[str, Any]:
    return dict(obs.client.get_input_settings(name).input_settings)


def status(obs: Obs, name: str) -> str:
    return str(settings(obs, name).get("status", ""))


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0, every: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def wait_status(obs: Obs, name: str, *needles: str, timeout: float = 20.0) -> str:
    def check() -> str | None:
        text = status(obs, name)
        return text if any(n.lower() in text.lower() for n in needles) else None

    try:
        return str(wait_for(f"status containing {needles}", check, timeout))
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\nstatus now: {status(obs, name)!r}\nOBS log:\n{obs.log_tail(40)}\n"
            f"Python threads in OBS:\n{obs.python_stacks()}"
        ) from None


def wait_log(obs: Obs, needle: str, at_least: int = 1, timeout: float = 20.0) -> None:
    """Wait until the current OBS log holds ``needle`` at least ``at_least`` times."""
    try:
        wait_for(f"{needle!r} in the OBS log", lambda: obs.log_text().count(needle) >= at_least, timeout)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\nOBS log:\n{obs.log_tail(40)}\nPython threads in OBS:\n{obs.python_stacks()}"
        ) from None


RENDER_FAILED = 702  # obs-websocket's RequestStatus::RequestProcessingFailed


def screenshot(obs: Obs, name: str) -> npt.NDArray[np.uint8]:
    """GetSourceScreenshot as an HxWx4 BGRA array (PNG: exact pixels)."""
    resp = obs.client.send("GetSourceScreenshot", {"sourceName": name, "imageFormat": "png"}, raw=True)
    data = resp["imageData"].split(",", 1)[1]
    img = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    return img


def create(obs: Obs, name: str, values: dict[str, Any]) -> None:
    obs.client.create_input(SCENE, name, "bgreplace_source", values, True)


def remove(obs: Obs, name: str) -> None:
    obs.client.remove_input(name)


def press(obs: Obs, name: str, button: str = "recapture") -> None:
    obs.client.press_input_properties_button(name, button)


def expected_composite(values: dict[str, Any], empty: Any, frame: Any) -> npt.NDArray[np.uint8]:
    """What the source must show: the engine fed like the OBS worker feeds it (a plate of
    ``empty``, then ``frame`` until the output no longer changes)."""
    cfg = config.from_values(values)
    r = BackgroundReplacer(open_background(cfg.background), settings=cfg.settings)
    r.set_plate(Plate.from_frames([empty] * cfg.settings.plate_frames, work_width=cfg.settings.work_width))
    for _ in range(5):
        r.process(empty)
    out = None
    for _ in range(10):
        nxt = r.process(frame).copy()
        if out is not None and np.array_equal(out, nxt):
            break
        out = nxt
    r.close()
    assert out is not None
    return out


def assert_shows(
    obs: Obs, name: str, expected: npt.NDArray[np.uint8], timeout: float = 20.0
) -> npt.NDArray[np.uint8]:
    """Wait until GetSourceScreenshot equals ``expected`` exactly (BGRA)."""
    last: dict[str, Any] = {}

    def check() -> bool:
        try:
            shot = screenshot(obs, name)
        except OBSSDKRequestError as exc:
            # 702 "Failed to render screenshot": OBS has not drawn the source yet (seen once
            # right after a restart); anything else is a real error
            if exc.code != RENDER_FAILED:
                raise
            last["error"] = str(exc)
            return False
        last["shot"] = shot
        return shot.shape == expected.shape and np.array_equal(shot, expected)

    try:
        wait_for("the screenshot to equal the engine's composite", check, timeout, every=0.3)
    except AssertionError:
        shot = last.get("shot")
        if shot is not None and shot.shape == expected.shape:
            diff = np.abs(shot.astype(int) - expected.astype(int))
            detail = f"{int((diff.max(axis=2) > 0).sum())} pixels differ, max {int(diff.max())} per channel"
        elif shot is None:
            detail = f"no screenshot: {last.get('error')}"
        else:
            detail = f"shape {shot.shape} != {expected.shape}"
        raise AssertionError(f"{detail}; status {status(obs, name)!r}\n{obs.log_tail(30)}") from None
    return last["shot"]


def assert_clean_logs(obs: Obs) -> None:
    """No double registration, no Python traceback, no crash report in any OBS log so far."""
    everything = obs.all_logs()
    assert "already exists" not in everything, "the source type was registered twice"
    assert "Traceback" not in everything, everything[-4000:]
    assert "crash" not in everything.lower(), everything[-4000:]
    assert not obs.crashes(), obs.crashes()


class Recorder:
    """A SourceWorker's sink, status and log callbacks, remembering what it sent: every status
    and log line, how many frames and the newest ``keep`` of them."""

    def __init__(self, keep: int = 100) -> None:
        self.keep = keep
        self.frames: list[npt.NDArray[np.uint8]] = []
        self.count = 0
        self.statuses: list[Status] = []
        self.logs: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def sink(self, bgra: npt.NDArray[np.uint8]) -> None:
        with self.lock:
            self.count += 1
            self.frames.append(bgra.copy())
            del self.frames[: -self.keep]

    def on_status(self, status: Status) -> None:
        with self.lock:
            self.statuses.append(status)

    def log(self, level: str, message: str) -> None:
        with self.lock:
            self.logs.append((level, message))

    def lines(self) -> list[str]:
        """Every status line so far."""
        with self.lock:
            return [status_line(s) for s in self.statuses]

    def line(self) -> str:
        """The status line now ("" before the first)."""
        with self.lock:
            return status_line(self.statuses[-1]) if self.statuses else ""

    def last_frame(self) -> npt.NDArray[np.uint8] | None:
        with self.lock:
            return self.frames[-1] if self.frames else None

    def log_count(self, needle: str) -> int:
        """How many log lines contain ``needle``."""
        with self.lock:
            return sum(needle in m for _, m in self.logs)

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
        """:func:`wait_for` every 20 ms; the failure shows the last statuses and log lines."""
        try:
            return wait_for(what, check, timeout, every=0.02)
        except AssertionError as exc:
            with self.lock:
                logs = self.logs[-8:]
            raise AssertionError(f"{exc}; statuses {self.lines()[-5:]}, logs {logs}") from None
