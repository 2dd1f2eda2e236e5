"""What the Background Replacer source and filter share for the whole OBS process: libobs,
the log, the guard around every callback, the per-source handles and their table, the
recapture hotkey and the status line's UI task, the plates folder.

Lifetime: like :mod:`bgobs.plugin`, this module stays in ``sys.modules`` for the whole OBS
process (a script reload re-executes only ``obs_bgreplace.py``), so the handle table and the
ctypes callbacks libobs keeps pointers to (``TASK_CB``, ``HOTKEY_CB``) outlive reloads and
sources keep running across them. :data:`process` is set up once by
:func:`bgobs.plugin.register`.

Threads: the table is written under its lock (create on the UI thread, destroy on the
destruction thread) and read without it from any callback thread (one dict lookup, atomic
under the GIL); each :class:`Handle` documents which thread calls what.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from . import plate_files
from . import structs as S
from .libobs import Lib, LibobsError
from .status import State, Status, status_line
from .worker import BGRA, SourceWorker

F = TypeVar("F", bound=Callable[..., Any])

HOTKEY_NAME = b"bgreplace.recapture"
HOTKEY_TEXT = b"Recapture background"

_LEVELS = {"info": S.LOG_INFO, "warning": S.LOG_WARNING, "error": S.LOG_ERROR}


@dataclass
class ProcessState:
    """Set once by :func:`bgobs.plugin.register`, read by every callback afterwards."""

    lib: Lib | None = None
    plate_dir: Path | None = None
    """Where the plates are saved (None: not saved, OBS's config folder is unknown)."""
    version_warning: str | None = None
    """Registered on an OBS newer than the verified ones: shown in every source's properties."""
    plates_pruned: bool = False


process = ProcessState()
_logged: set[str] = set()


def lib() -> Lib:
    assert process.lib is not None
    return process.lib


def log(level: str, message: str) -> None:
    """One line in the OBS log (falls back to stderr outside OBS)."""
    if process.lib is None:
        print(f"[bgreplace] {message}", file=sys.stderr)
        return
    process.lib.log(_LEVELS.get(level, S.LOG_INFO), message)


def log_once(level: str, message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log(level, message)


def guard(default: Any) -> Callable[[F], F]:
    """Nothing escapes into OBS: catch, log once per callback and error, return ``default``."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any) -> Any:
            try:
                return fn(*args)
            except BaseException as exc:
                log_once("error", f"{fn.__name__} failed: {exc!r}\n{traceback.format_exc()}")
                return default() if callable(default) else default

        return inner  # type: ignore[return-value]

    return wrap


class Handle:
    """One source (or filter): its libobs pointers, its worker and its status line."""

    def __init__(self, ident: int, source: int, name: str) -> None:
        self.id = ident
        self.source = source
        self.name = name
        self.weak: int | None = None
        self.lock = threading.Lock()  # guards weak (UI tasks vs destroy)
        self.out_lock = threading.Lock()  # guards alive (frame output vs destroy)
        self.alive = True
        self.frame = S.padded_frame()
        self.status = Status(State.STARTING)
        self.status_kind: tuple[object, ...] = ()
        self.posted_at = 0.0
        self.post_pending = False
        self.worker: SourceWorker | None = None
        self.hotkey = 0

    # worker thread
    def output(self, bgra: BGRA) -> None:
        if not bgra.flags.c_contiguous:
            bgra = np.ascontiguousarray(bgra)
        h, w = bgra.shape[:2]
        f = self.frame
        f.data[0] = bgra.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        f.linesize[0] = w * 4
        f.width, f.height = w, h
        f.format = S.VIDEO_FORMAT_BGRA
        f.full_range = True
        f.timestamp = lib().os_gettime_ns()
        with self.out_lock:
            if self.alive:
                lib().obs_source_output_video(self.source, ctypes.byref(f))

    # worker thread
    def on_status(self, status: Status) -> None:
        """Show the worker's status (the worker logs what is new): at once when its kind
        changes, else (frame rate, progress) at most once a second."""
        self.status = status
        now = time.monotonic()
        changed = status.kind != self.status_kind
        if not changed and (self.post_pending or now - self.posted_at < 1.0):
            return
        self.status_kind = status.kind
        self.posted_at = now
        self.post_pending = True
        lib().obs_queue_task(S.OBS_TASK_UI, TASK_CB, self.id, False)


# -- the handle table -----------------------------------------------------------------------
_handles: dict[int, Handle] = {}
_handles_lock = threading.Lock()


def add(handle: Handle) -> None:
    """Put ``handle`` in the table under its ``id`` (callbacks get the id as their data)."""
    with _handles_lock:
        _handles[handle.id] = handle


def find(ident: int | None) -> Handle | None:
    """The handle of a callback's data (None if it was destroyed, or for NULL)."""
    return _handles.get(ident or 0)


def all_handles() -> list[Handle]:
    """A snapshot of the live handles."""
    return list(_handles.values())


@guard(None)
def destroy(data: int | None) -> None:
    """Take a handle out of the table, stop and join its worker, release its weak reference."""
    with _handles_lock:
        handle = _handles.pop(data or 0, None)
    if handle is None:
        return
    with handle.out_lock:
        handle.alive = False
    if handle.worker is not None:
        handle.worker.stop()
    with handle.lock:
        if handle.weak is not None:
            lib().obs_weak_source_release(handle.weak)
            handle.weak = None
    log("info", f"{handle.name}: destroyed")


def recapture(ident: int | None) -> None:
    handle = find(ident)
    if handle is not None and handle.worker is not None:
        handle.worker.recapture()


@guard(None)
def _ui_status_task(param: int | None) -> None:
    """On the UI thread: write the status into the settings (the read-only status line)."""
    handle = find(param)
    if handle is None:
        return
    handle.post_pending = False
    with handle.lock:
        if handle.weak is None:
            return
        src = lib().obs_weak_source_get_source(handle.weak)
    if not src:
        return
    try:
        data = lib().obs_source_get_settings(src)
        if data:
            lib().obs_data_set_string(data, b"status", status_line(handle.status).encode())
            lib().obs_data_release(data)
        lib().obs_source_update_properties(src)
    finally:
        lib().obs_source_release(src)


@guard(None)
def _hotkey(data: int | None, hotkey_id: int, hotkey: int | None, pressed: bool) -> None:
    if pressed:
        recapture(data)


def prune_plates_once() -> None:
    """At the first source created in this process: delete the plates of sources removed in
    earlier sessions (see bgobs.plate_files for why then, and not in destroy)."""
    if process.plates_pruned or process.plate_dir is None:
        return
    process.plates_pruned = True
    try:
        collections = Path(lib().config_path("obs-studio/basic/scenes"))
    except LibobsError as exc:
        log("warning", f"plates of removed sources kept: {exc}")
        return
    result = plate_files.prune(process.plate_dir, collections)
    if result.skipped:
        log("warning", f"plates of removed sources kept: {result.skipped}")
    for ident in result.removed:
        log("info", f"deleted the background plate {ident} (its source was removed)")
    for error in result.errors:
        log("warning", f"cannot delete an old plate file: {error}")


# -- ctypes callback objects (module globals: kept alive for the process) ----------------------
TASK_CB = S.TASK(_ui_status_task)
"""The UI task that writes a handle's status line (its data is the handle's id)."""
HOTKEY_CB = S.HOTKEY_FUNC(_hotkey)
"""The recapture hotkey's callback (its data is the handle's id)."""
