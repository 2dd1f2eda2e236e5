"""A monitor, or a region of it, grabbed with mss as the background."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import cv2
import numpy as np

from ..errors import BackgroundError
from ..frames import BGR
from .base import FittedPictures, check_fit

SCREEN_MAX_RATE = 30.0
"""Screen backgrounds grab at most this many times per second of the caller's ``t``."""
_RETRY_SECONDS = 1.0


def _mss_class() -> Any:
    import mss

    return getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 renamed the factory


def _screen_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


class ScreenBackground:
    """A monitor (or a region of it) grabbed with mss, at most SCREEN_MAX_RATE times per second
    of ``t``; the picture in between is the last grab. ``monitor``: 1 = first monitor, 0 = all
    of them; ``region``: (x, y, w, h) relative to the monitor's top-left corner.

    The mss object used for rendering is created lazily by the first ``render`` in the thread
    that renders (mss objects are thread-affine on some platforms); if render is later called
    from another thread, a new one is created there. Opening checks that a display and the
    monitor exist (with a temporary mss object) so that errors show at open time.
    """

    transparent = False
    static = False  # (one buffer per size, refilled with each new picture)

    def __init__(
        self,
        monitor: int = 1,
        region: tuple[int, int, int, int] | None = None,
        *,
        fit: str = "cover",
        max_rate: float = SCREEN_MAX_RATE,
    ) -> None:
        check_fit(fit)
        self.monitor_index = monitor
        self.region = region
        self.fit = fit
        self.min_interval = 1.0 / max_rate
        self.error: str | None = None
        self.name = f"screen:{monitor}" + (":{},{},{},{}".format(*region) if region else "")
        self.grabs = 0
        try:
            sct = _mss_class()()
        except ImportError:
            raise BackgroundError("screen backgrounds need the mss package; pip install mss") from None
        except Exception as exc:
            raise BackgroundError(
                f"cannot capture the screen: no display ({_screen_error(exc)}); run inside a desktop "
                "session or choose another background"
            ) from None
        try:
            self.area = self._area(list(sct.monitors))
        finally:
            sct.close()
        self._sct: Any = None
        self._sct_thread: int | None = None
        self._last_grab: float | None = None
        self._shot: BGR | None = None
        self._shot_id = 0
        self._pictures = FittedPictures(fit)
        self._closed = False

    def _area(self, monitors: list[dict[str, int]]) -> dict[str, int]:
        n = self.monitor_index
        if not 0 <= n < len(monitors):
            have = len(monitors) - 1
            raise BackgroundError(
                f"no monitor {n}: this display has {have} monitor{'s' if have != 1 else ''}; "
                f"use screen:1{f' to screen:{have}' if have > 1 else ''} (or screen:0 for all)"
            )
        mon = monitors[n]
        if self.region is None:
            return {k: int(mon[k]) for k in ("left", "top", "width", "height")}
        x, y, w, h = self.region
        if w < 8 or h < 8 or x < 0 or y < 0 or x + w > mon["width"] or y + h > mon["height"]:
            raise BackgroundError(
                f"screen region {x},{y},{w},{h} is not inside monitor {n} "
                f"({mon['width']}x{mon['height']}); give x,y,w,h within it, at least 8x8"
            )
        return {"left": mon["left"] + x, "top": mon["top"] + y, "width": w, "height": h}

    def _grab(self) -> None:
        me = threading.get_ident()
        if self._sct is None or self._sct_thread != me:
            if self._sct is not None:
                self._sct_close()
            self._sct = _mss_class()()
            self._sct_thread = me
        shot = self._sct.grab(self.area)
        h, w = int(shot.height), int(shot.width)
        bgra = np.frombuffer(shot.bgra, np.uint8).reshape(h, w, 4)
        if self._shot is None or self._shot.shape[:2] != (h, w):
            self._shot = np.empty((h, w, 3), np.uint8)
        cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR, dst=self._shot)
        self._shot_id += 1
        self.grabs += 1
        self.error = None

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        due = self._last_grab is None or t < self._last_grab or t - self._last_grab >= self.min_interval
        if due and not self._closed:
            self._last_grab = t
            try:
                self._grab()
            except Exception as exc:  # a lost display must not stop the engine
                self.error = f"screen capture failed: {_screen_error(exc)}"
                self._last_grab = t + _RETRY_SECONDS - self.min_interval
                self._sct_close()
        return self._pictures.render(self._shot, self._shot_id, width, height)

    def _sct_close(self) -> None:
        sct, self._sct = self._sct, None
        if sct is not None:
            with contextlib.suppress(Exception):  # closing from another thread may fail somewhere
                sct.close()

    def close(self) -> None:
        self._closed = True
        self._sct_close()
