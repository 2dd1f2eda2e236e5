"""A background that follows its file: replaced, fixed, vanished or back.

:func:`bgcore.backgrounds.open_background` returns a :class:`FollowedFile` for an image or
video file when asked to ``follow_file`` (the OBS source does: a streamer edits the picture
and expects to see the new one). Same threading and lifetime contract as every background
(see :mod:`bgcore.backgrounds`): one rendering thread; ``close`` idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import BackgroundError
from .frames import BGR

if TYPE_CHECKING:
    from .backgrounds import Background

FOLLOW_SECONDS = 1.0
"""A followed file is looked at (one ``stat``) at most this often, in seconds of the
caller's ``t``."""

FileSignature = tuple[int, int, int]
"""(modification time in ns, size, inode) of a file: any change means new contents."""


def _signature(path: str) -> FileSignature:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class FollowedFile:
    """An image or video file background that follows its file.

    ``opener()`` opens the file as a Background (raising BackgroundError). ``render`` looks at
    the file (one ``stat``) at most every ``every`` seconds of ``t``; a new modification time,
    size or inode, once the same on two looks in a row (so a file still being copied is not
    read half-written), opens it again and the new picture replaces the old. A file that
    cannot be read keeps the last good picture (transparent if there never was one) and says
    why in ``error``; so does a file that vanished; a fixed or returned file is picked up by
    itself. Opening a changed file runs in ``render``, on the rendering thread (a decode, once
    per change). The first open runs in the constructor and never raises for the file's
    contents: see ``error``.
    """

    def __init__(self, path: str, opener: Callable[[], Background], *, every: float = FOLLOW_SECONDS) -> None:
        self.path = path
        self.name = path
        self.every = every
        self._open = opener
        self.current: Background | None = None
        """The background of the last good version of the file (None: never readable)."""
        self.reloads = 0
        """How many times a changed file was opened again (for tests)."""
        self._tried: FileSignature | None = None  # the last version opened (good or not)
        self._pending: FileSignature | None = None  # a new version seen once, not yet opened
        self._open_error: str | None = None
        self._missing: str | None = None
        self._checked_at: float | None = None
        self._closed = False
        try:
            sig: FileSignature | None = _signature(path)
        except OSError:
            sig = None
        self._load(sig)
        if sig is None:
            self._missing = self._open_error

    @property
    def transparent(self) -> bool:
        return self.current is None or bool(self.current.transparent)

    @property
    def static(self) -> bool:
        return bool(getattr(self.current, "static", False))

    @property
    def error(self) -> str | None:
        """What is wrong with the file now (vanished, unreadable), or the current picture's
        own problem (a video that stopped decoding); None when all is well."""
        return self._missing or self._open_error or getattr(self.current, "error", None)

    def _meanwhile(self) -> str:
        return "showing the last good picture meanwhile" if self.current else "transparent meanwhile"

    def _load(self, sig: FileSignature | None) -> None:
        self._tried = sig
        try:
            new = self._open()
        except BackgroundError as exc:
            self._open_error = f"{exc} ({self._meanwhile()})"
            return
        old, self.current = self.current, new
        if old is not None:
            old.close()
        self._open_error = None

    def refresh(self) -> None:
        """Look at the file at the next ``render`` whatever the time (e.g. settings sent again)."""
        self._checked_at = None

    def check(self) -> None:
        """Look at the file now (``render`` calls this at most every ``every`` seconds)."""
        if self._closed:
            return
        try:
            sig = _signature(self.path)
        except OSError as exc:
            if self._missing is None:
                gone = isinstance(exc, FileNotFoundError)
                self._missing = (
                    f"background file '{self.path}' "
                    + ("is gone" if gone else f"cannot be read ({exc.strerror})")
                    + f"; put it back or choose another ({self._meanwhile()})"
                )
            self._pending = None
            return
        self._missing = None
        if sig == self._tried:
            self._pending = None
            return
        if sig != self._pending:
            self._pending = sig  # changed: open it once it has stopped changing
            return
        self._pending = None
        self.reloads += 1
        self._load(sig)

    def follow(self, t: float) -> None:
        """Look at the file if ``every`` seconds of ``t`` passed since the last look (render
        does this; a caller that shows no background for a while, e.g. without a plate, calls
        it so that ``error`` stays true)."""
        if self._checked_at is None or t < self._checked_at or t - self._checked_at >= self.every:
            self._checked_at = t
            self.check()

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR | None:
        self.follow(t)
        if self.current is None:
            return None
        return self.current.render(width, height, t=t, plate=plate)

    def close(self) -> None:
        self._closed = True
        if self.current is not None:
            self.current.close()
