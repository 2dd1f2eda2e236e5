"""The Background Replacer source inside a real, headless OBS 29 (driven over obs-websocket).

Pixels are compared with the exact output the engine computes in this process for the same
pictures and settings (the engine converges in one frame on a still picture).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from harness import REPO, Obs
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
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.obs

NAME = "Camera BG"


def save_doc_picture(frame: Any, shot: npt.NDArray[np.uint8]) -> None:
    """docs/obs-result.png: camera picture | OBS output over a checkerboard (transparency)."""
    h, w = shot.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    checker = np.where(((yy // 20 + xx // 20) % 2)[..., None] == 0, 200, 150).astype(np.float32) * np.ones(3)
    a = shot[..., 3:4].astype(np.float32) / 255.0
    over = (shot[..., :3] * a + checker * (1 - a)).astype(np.uint8)
    pic = np.concatenate([frame, np.full((h, 8, 3), 255, np.uint8), over], axis=1)
    target = Path(os.environ.get("BGREPLACE_DOC_PICTURE", REPO / "docs" / "obs-result.png"))
    if os.environ.get("BGREPLACE_DOC_PICTURE") or os.environ.get("BGREPLACE_WRITE_DOCS"):
        cv2.imwrite(str(target), pic)


def test_source_is_registered(obs: Obs) -> None:
    kinds = obs.client.get_input_kind_list(False).input_kinds
    assert "bgreplace_source" in kinds
    assert "[bgreplace] registered source 'Background Replacer' (bgreplace_source)" in obs.log_text()


def test_live_capture_then_exact_composite(obs: Obs, pictures: dict[str, Any]) -> None:
    paths = pictures["paths"]
    create(obs, NAME, {**BASE, "camera": paths["empty"]})
    wait_status(obs, NAME, "no background captured")
    assert settings(obs, NAME)["plate_id"], "create() gives every source a plate id"
    press(obs, NAME, "recapture")
    wait_status(obs, NAME, "Running:")
    plate = obs.plate_dir() / (settings(obs, NAME)["plate_id"] + ".npz")
    wait_for("the plate file", plate.exists, 10)

    obs.client.set_input_settings(NAME, {"camera": paths["person"]}, True)
    wait_status(obs, NAME, "another camera")  # same size: plate kept, may be stale
    expected = expected_composite({**BASE, "camera": paths["person"]}, pictures["empty"], pictures["person"])
    assert 0.05 < (expected[..., 3] == 255).mean() < 0.5, "the test picture must have a person and background"
    shot = assert_shows(obs, NAME, expected)
    save_doc_picture(pictures["person"], shot)


def test_a_failed_wait_shows_what_obs_python_threads_are_doing(obs: Obs) -> None:
    """The diagnostics of every wait in these tests: the source's worker thread is named in
    OBS's Python stacks (written on SIGUSR1, see obs_bgreplace.py). faulthandler reads the
    other threads' frames without stopping them: a thread caught while it enters or leaves a
    function shows "<invalid frame>" and its stack ends there (seen on Python 3.14, the
    worker inside the engine), so a few dumps are taken and one must show the worker."""
    dumps = [obs.python_stacks()]
    while "bgobs/worker.py" not in dumps[-1] and len(dumps) < 5:
        time.sleep(0.05)
        dumps.append(obs.python_stacks())
    stacks = dumps[-1]
    assert "bgobs/worker.py" in stacks and "Thread 0x" in stacks, "\n---\n".join(dumps)
    assert obs.client.get_version().obs_version  # OBS goes on answering


def test_hotkey_recaptures(obs: Obs, pictures: dict[str, Any]) -> None:
    hotkeys = obs.client.get_hotkey_list().hotkeys
    assert "bgreplace.recapture" in hotkeys
    obs.client.set_input_settings(NAME, {"camera": pictures["paths"]["empty"], "recapture_delay": 2}, True)
    wait_status(obs, NAME, "Running:")  # the camera the plate was taken with: not stale
    obs.client.trigger_hotkey_by_name("bgreplace.recapture")
    wait_status(obs, NAME, "Recapture in")  # the countdown
    wait_status(obs, NAME, "Running:", timeout=15)
    obs.client.set_input_settings(NAME, {"camera": pictures["paths"]["person"], "recapture_delay": 0}, True)
    expected = expected_composite(
        {**BASE, "camera": pictures["paths"]["person"]}, pictures["empty"], pictures["person"]
    )
    assert_shows(obs, NAME, expected)


def test_other_size_passes_through_with_status(obs: Obs, pictures: dict[str, Any]) -> None:
    obs.client.set_input_settings(NAME, {"camera": pictures["paths"]["small"]}, True)
    wait_status(obs, NAME, "captured at 640x360 but the camera gives 320x180")
    expected = cv2.cvtColor(pictures["small"], cv2.COLOR_BGR2BGRA)
    assert_shows(obs, NAME, expected)
    obs.client.set_input_settings(NAME, {"camera": pictures["paths"]["person"]}, True)
    wait_status(obs, NAME, "Running")


def test_bad_settings_give_status_and_keep_source(obs: Obs, pictures: dict[str, Any]) -> None:
    obs.client.set_input_settings(NAME, {"camera": "/nonexistent/camera.mp4"}, True)
    wait_status(obs, NAME, "No camera")
    screenshot(obs, NAME)  # still renders (last frame with a banner)
    obs.client.set_input_settings(
        NAME, {"camera": pictures["paths"]["person"], "background_type": "image", "background_path": ""}, True
    )
    wait_status(obs, NAME, "Choose a background image")
    obs.client.set_input_settings(
        NAME, {"background_type": "transparent", "auto_threshold": False, "threshold": 999}, True
    )
    wait_status(obs, NAME, "threshold must be")
    obs.client.set_input_settings(NAME, {"auto_threshold": True, "threshold": 30}, True)
    wait_status(obs, NAME, "Running")


def test_several_sources_remove_and_readd(obs: Obs, pictures: dict[str, Any]) -> None:
    for n in ("Second", "Third"):
        create(obs, n, {**BASE, "camera": pictures["paths"]["person"]})
    for n in ("Second", "Third"):
        wait_status(obs, n, "no background captured")
    remove(obs, "Second")
    wait_for("Second destroyed", lambda: "[bgreplace] Second: destroyed" in obs.log_text(), 10)
    create(obs, "Second", {**BASE, "camera": pictures["paths"]["person"]})
    wait_status(obs, "Second", "no background captured")
    remove(obs, "Third")
    wait_status(obs, NAME, "Running")


def test_restart_restores_plate_and_exits_cleanly(obs: Obs, pictures: dict[str, Any]) -> None:
    t0 = time.monotonic()
    assert obs.quit() == 0
    assert time.monotonic() - t0 < 20
    log = obs.log_text()
    assert f"[bgreplace] {NAME}: destroyed" in log
    assert not obs.crashes()
    obs.start()
    wait_status(obs, NAME, "Running")
    assert f"[bgreplace] {NAME}: restored the background plate" in obs.log_text()
    expected = expected_composite(
        {**BASE, "camera": pictures["paths"]["person"]}, pictures["empty"], pictures["person"]
    )
    assert_shows(obs, NAME, expected)
    assert obs.quit() == 0
    assert_clean_logs(obs)
