"""One capture of a background plate: camera frames in, a :class:`~bgcore.plate.Plate` out.

:class:`PlateCapture` feeds a :class:`~bgcore.plate.PlateBuilder` either in the caller's
thread (``threaded=False``: the call that adds the last frame builds the plate, as a script
or a test expects) or on a thread of its own (``threaded=True``), so that a live loop that
must keep showing frames (the OBS source) never waits for the plate: :meth:`add` then only
copies the frame into a small queue and returns, and the thread tests and accumulates the
frames and builds the plate.

Threading contract: :meth:`add`, :meth:`result`, :meth:`cancel` and :meth:`close` are
called from one thread (the one that runs the engine); the capture's own thread only reads
the queue and writes the result. Lifetime: :meth:`cancel` returns at once (the thread stops
after the frame it is on); :meth:`close` also joins the thread; both are idempotent.
"""

from __future__ import annotations

import contextlib
import queue
import threading

from .errors import PlateError
from .frames import BGR, check_bgr
from .plate import Plate, PlateBuilder

QUEUE_FRAMES = 3
"""Frames waiting for the capture's thread at most; a frame that finds the queue full is not
taken (the capture then takes a few camera frames longer), so memory stays bounded even when
the thread falls behind the camera."""


class PlateCapture:
    """Collects ``target`` frames for a plate (see the module docstring)."""

    def __init__(self, target: int, *, work_width: int = 480, threaded: bool = False) -> None:
        if target < 1:
            raise ValueError(f"a plate needs at least one frame, got {target}")
        self.target = target
        self.threaded = threaded
        self._builder = PlateBuilder(target, work_width=work_width)
        self._size: tuple[int, int] | None = None
        self._taken = 0
        self._plate: Plate | None = None
        self._error: str | None = None
        self._finished = threading.Event()
        self._cancelled = False
        self._queue: queue.Queue[BGR | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=QUEUE_FRAMES)
            self._thread = threading.Thread(target=self._run, name="bgreplace plate", daemon=True)
            self._thread.start()

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the frames taken (None before the first)."""
        return self._size

    @property
    def progress(self) -> tuple[int, int]:
        """(frames taken, frames wanted)."""
        return self._taken, self.target

    @property
    def wants_frames(self) -> bool:
        return self._taken < self.target and not self._cancelled

    @property
    def computing(self) -> bool:
        """Every frame is taken and the plate is not ready yet (threaded captures only)."""
        return not self.wants_frames and not self._finished.is_set() and not self._cancelled

    def add(self, frame: BGR) -> bool:
        """Offer one frame of the empty scene (same size as the first); True if taken."""
        if not self.wants_frames:
            return False
        check_bgr(frame, size=self._size, what="plate frame")
        if self._queue is None:
            self._builder.add(frame)
            if self._builder.done:
                self._finish()
        else:
            try:
                self._queue.put_nowait(frame.copy())
            except queue.Full:
                return False
        self._size = (frame.shape[1], frame.shape[0])
        self._taken += 1
        return True

    def result(self) -> Plate | str | None:
        """The plate, or why it was refused (one line), once finished; None until then."""
        if not self._finished.is_set():
            return None
        return self._plate if self._plate is not None else self._error

    def cancel(self) -> None:
        """Stop without a result; returns at once (idempotent)."""
        if self._cancelled:
            return
        self._cancelled = True
        if self._queue is not None:
            # wakes the thread if it waits for a frame (a full queue: it checks the flag next)
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)

    def close(self, timeout: float = 10.0) -> None:
        """Cancel unless finished, and join the thread (idempotent)."""
        if not self._finished.is_set():
            self.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the result is there (for scripts and tests); False on timeout."""
        return self._finished.wait(timeout)

    # -- the capture's thread (threaded) or the caller's (not threaded) --------------------
    def _finish(self) -> None:
        try:
            plate = self._builder.finish()
            if self.threaded:
                plate.image  # noqa: B018 - cached: the first composite needs it (~0.1 s at 720p)
            self._plate = plate
        except PlateError as exc:
            self._error = str(exc)
        self._builder = PlateBuilder(None)  # (drops the sums: the plate holds what it needs)
        self._finished.set()

    def _run(self) -> None:
        assert self._queue is not None
        try:
            while not self._cancelled:
                frame = self._queue.get()
                if frame is None or self._cancelled:
                    return
                self._builder.add(frame)
                if self._builder.done:
                    self._finish()
                    return
        except Exception as exc:  # a bug must not leave the caller waiting for ever
            self._error = f"building the background plate failed: {type(exc).__name__}: {exc}"
            self._finished.set()
