"""Helpers for talking to the source over obs-websocket."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from harness import SCENE, Obs


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
            f"{exc}\nstatus now: {status(obs, name)!r}\nOBS log:\n{obs.log_tail(40)}"
        ) from None


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
