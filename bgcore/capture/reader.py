"""Reading a source on a thread of its own and handing over only its newest frame."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from ..errors import BgError
from ..frames import BGR
from .opening import open_source
from .source import DEFAULT_FPS, FrameSource

RECONNECT_SECONDS = 2.0
"""How often a reader reopens a lost live source, by default."""


@runtime_checkable
class FrameMailbox(Protocol):
    """What a consumer of the newest frame reads (:class:`LatestFrameReader`, the OBS filter's
    frames).

    ``state`` is "starting", "running", "reconnecting", "ended", "failed" or "closed";
    ``error`` the last problem (or None); ``reconnects`` how often the source came back."""

    state: str
    error: str | None
    reconnects: int

    def latest(self, timeout: float | None = None) -> tuple[BGR, float, int] | None:
        """The newest frame not yet handed over: ``(frame, time, seq)``, or None (see
        :meth:`LatestFrameReader.latest`)."""
        ...

    def close(self) -> None:
        """Stop handing frames over; idempotent."""
        ...


class LatestFrameReader:
    """Reads a source on a background thread and keeps only its newest frame.

    ``source`` is a spec for :func:`open_source` (with ``width``, ``height``, ``fps``, ``loop``)
    or a zero-argument function returning a FrameSource. The first open happens in the
    constructor, so a bad spec raises SourceError there (unless ``wait_for_source``: then the
    thread keeps trying, as for a lost camera).

    Threading contract: the reader thread is the only one that touches the source (open,
    read, close). Any thread may call :meth:`latest`, read the counters and ``status``, and
    call :meth:`close`. Frames go through a one-slot mailbox: a new frame replaces one the
    consumer has not taken (counted in ``frames_dropped``); nothing queues, so a slow consumer
    always gets the newest frame. A frame is handed over once and never written to again.

    Live sources that fail are closed and reopened every ``reconnect_seconds`` until they
    come back (``state`` is "reconnecting" and ``status`` gives the last error). Files are
    paced to their fps (a file behaves like a camera at that rate; ``pace=False`` reads
    as fast as the consumer could want) and end with state "ended" (or loop, with loop=True).

    Lifetime: :meth:`close` stops and joins the thread and closes the source; idempotent;
    also a context manager.
    """

    def __init__(
        self,
        source: str | int | Callable[[], FrameSource],
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        loop: bool = False,
        pace: bool = True,
        reconnect_seconds: float = RECONNECT_SECONDS,
        wait_for_source: bool = False,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] | None = None,
    ) -> None:
        """``clock`` stamps the frames and paces files; ``pause(seconds)`` is how the reader
        waits between paced frames (default: on the stop event, so that close wakes it). Both
        are there for tests, which pace a file on a clock of their own."""
        if callable(source):
            self._open: Callable[[], FrameSource] = source
            self.name = getattr(source, "__name__", "source")
        else:
            spec = source

            def _open() -> FrameSource:
                return open_source(spec, width=width, height=height, fps=fps, loop=loop)

            self._open = _open
            self.name = f"camera {spec}" if isinstance(spec, int) or str(spec).isdigit() else str(spec)
        self.pace = pace
        self.reconnect_seconds = reconnect_seconds
        self._clock = clock
        self._pause = pause
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._slot: tuple[BGR, float, int] | None = None
        self.frames_read = 0
        self.frames_dropped = 0
        self.reconnects = 0
        self.state = "starting"
        self.error: str | None = None
        self.fps = DEFAULT_FPS
        self.live = True
        self._source: FrameSource | None = None
        try:
            self._set_source(self._open())
        except BgError as exc:
            if not wait_for_source:
                raise
            self._failed(str(exc))
        self._thread = threading.Thread(target=self._run, name=f"bgreplace reader {self.name}", daemon=True)
        self._thread.start()

    # -- any thread --------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """One line for people: "running", "reconnecting (<error>): retrying every 2 s", ..."""
        if self.state == "reconnecting":
            return f"reconnecting ({self.error}): retrying every {self.reconnect_seconds:g} s"
        if self.error and self.state in ("ended", "failed"):
            return f"{self.state} ({self.error})"
        return self.state

    def latest(self, timeout: float | None = None) -> tuple[BGR, float, int] | None:
        """Take the newest frame not yet handed over: ``(frame, capture_time, seq)``.

        ``capture_time`` is the reader's clock (time.monotonic()) when the frame was read,
        ``seq`` counts frames read from 1 (gaps are dropped frames). Waits up to ``timeout``
        seconds (None: until a frame comes, the stream ends or the reader closes; 0: do not
        wait); returns None if no new frame came.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._slot is None:
                if self.state in ("ended", "failed", "closed"):
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            item, self._slot = self._slot, None
            return item

    def __iter__(self) -> Iterator[tuple[BGR, float, int]]:
        """Frames until the stream ends or the reader closes (slow consumers skip frames)."""
        while True:
            item = self.latest()
            if item is None:
                return
            yield item

    def close(self, timeout: float = 5.0) -> None:
        """Stop and join the reader thread, close the source; idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._cond:
            if self.state not in ("ended", "failed"):
                self.state = "closed"
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> LatestFrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reader thread -------------------------------------------------------------------------------
    def _set_source(self, src: FrameSource) -> None:
        self._source = src
        self.fps = float(src.fps) if src.fps and src.fps > 0 else DEFAULT_FPS
        self.live = bool(src.live)
        self.error = None
        self.state = "running"

    def _failed(self, message: str) -> None:
        with self._cond:
            self.error = message
            self.state = "reconnecting"
            self._cond.notify_all()

    def _close_source(self) -> None:
        src, self._source = self._source, None
        if src is not None:
            try:
                src.close()
            except Exception as exc:  # a broken driver must not kill the reader
                self.error = f"{self.error or ''} (closing failed: {exc})".strip()

    def _finish(self, state: str, error: str | None = None) -> None:
        self._close_source()
        with self._cond:
            self.state = state
            if error:
                self.error = error
            self._cond.notify_all()

    def _wait(self, seconds: float) -> bool:
        """Wait between paced frames; True if the reader was closed meanwhile."""
        if self._pause is None:
            return self._stop.wait(seconds)
        self._pause(seconds)
        return self._stop.is_set()

    def _run(self) -> None:
        clock = self._clock
        due = clock()
        try:
            while not self._stop.is_set():
                src = self._source
                if src is None:
                    if self._stop.wait(self.reconnect_seconds):
                        break
                    try:
                        self._set_source(self._open())
                        self.reconnects += 1
                        due = clock()
                    except Exception as exc:
                        self._failed(str(exc))
                    continue
                try:
                    frame = src.read()
                except Exception as exc:
                    if not src.live:
                        self._finish("failed", str(exc))
                        return
                    self._close_source()
                    self._failed(str(exc))
                    continue
                now = clock()
                if frame is None:
                    self._finish("ended")
                    return
                with self._cond:
                    self.frames_read += 1
                    if self._slot is not None:
                        self.frames_dropped += 1
                    self._slot = (frame, now, self.frames_read)
                    self._cond.notify_all()
                if self.pace and not src.live:
                    due += 1.0 / self.fps
                    if due < now - 1.0 / self.fps:  # fell behind: do not burst to catch up
                        due = now + 1.0 / self.fps  # (the next frame one interval after this one)
                    if self._wait(max(0.0, due - clock())):
                        break
        finally:
            self._close_source()

