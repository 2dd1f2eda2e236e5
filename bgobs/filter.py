"""The "Background Replacer" filter (id ``bgreplace_filter``): the source's engine on any video
source (right click a camera > Filters > + > Background Replacer).

No Python runs on OBS's graphics thread, nor in its per-frame tick: OBS calls those callbacks
while it holds the scene's (or the source list's) mutex, and a Python script that holds the
GIL while it waits for that mutex (obspython calls keep the GIL) then freezes OBS for good;
a test froze OBS 29 within seconds that way with a filter drawing in Python. So:

- **Drawing is libobs's own.** Each filter owns a private async source
  (``bgreplace_filter_output``, never listed) that its worker hands composites to with
  ``obs_source_output_video``, exactly as the Background Replacer source does. That source
  is the filter's ``data``, and the filter's ``video_render`` is libobs's own
  ``obs_source_video_render``: OBS draws the newest composite (with alpha) where the
  filtered source would be, without calling Python.
- **Reading the source happens on the worker thread.** :class:`FilterFrames` (the worker's
  frame mailbox) waits for OBS to finish a frame (``obs_get_total_frames`` changes when the
  graphics thread has rendered it and goes to sleep until the next one), then reads the
  source back (:class:`bgobs.graphics.TargetReader`): one frame of latency, and the graphics
  thread is asleep while the worker holds the graphics context. Nothing is read while the
  filter is off or its source is not shown anywhere.
- **Settings and the hotkey are handled on the UI thread.** The filter has no ``update``
  callback (OBS would call it in the tick): a UI task, queued by the worker four times a
  second, reads the settings and hands a changed configuration to the worker. The same task
  registers the recapture hotkey (``bgreplace.recapture``) on the filtered source, not on
  the filter: libobs registers no hotkey for a private source, and every filter is private
  (obs-source.c marks them so). It shows in Settings > Hotkeys under the source as
  "Recapture background (<filter name>)", its key is saved with the source, and
  obs-websocket's ``TriggerHotkeyByName`` with the source's name as ``contextName``
  presses it (obs-websocket 5.4+; it has no request for a filter's button).

Everything else is the source's (:mod:`bgobs.handles`, :mod:`bgobs.properties`): the handle
table (a filter's key is its output source's address, which is the ``data`` every callback
gets), properties (minus the camera ones), status line, recapture button, worker and plates
(``plate_id``).
Registered once per process beside the source, in this module that outlives script reloads.

Effect filters between this one and the source are not drawn into what it keeps (see
:mod:`bgobs.graphics`); the log says so once per filter: put Background Replacer first.
Threads: ``create``/``get_properties`` on the UI (or obs-websocket's) thread;
``filter_remove`` on the thread that removes the filter from its source (OBS's graphics
thread too, holding the graphics context, when a scene drops the last reference to the
source): no more reads from then on; the source's "filter_remove" signal (any filter of it
removed) on that thread too, waiting for a read under way (see ``_watch``); both wait with
the GIL released. ``destroy`` on whichever thread drops the last reference: it stops the
worker, then destroys the graphics objects and releases the output source. Nothing escapes
a callback.
"""

from __future__ import annotations

import ctypes
import time
import traceback
import uuid
from typing import Any

from . import config, handles, nogil
from . import structs as S
from .config import SourceConfig
from .graphics import BGR, TargetReader
from .handles import HOTKEY_CB, HOTKEY_NAME, HOTKEY_TEXT, Handle, guard, lib, log, log_once
from .libobs import Lib, LibobsError, load_filter
from .properties import get_defaults, get_properties, read_values
from .worker import SourceWorker

FILTER_ID = "bgreplace_filter"
FILTER_NAME = "Background Replacer"
OUTPUT_ID = "bgreplace_filter_output"
OUTPUT_NAME = "Background Replacer (a filter's output)"

CAMERA_PROPERTIES = (
    b"camera", b"camera_file", b"camera_width", b"camera_height", b"camera_fps", b"keep_open"
)
"""The source's properties that choose and open a camera: the filter's frames come from OBS."""

FRAME_POLL_SECONDS = 0.004
"""How often the worker looks whether OBS has finished a frame (a 30 fps frame is 33 ms)."""
IDLE_POLL_SECONDS = 0.05
"""... and how often while the filter is off or its source is not shown."""
SYNC_SECONDS = 0.25
"""How often the settings and the source the filter is on are looked at (a UI task)."""

# -- process-wide state (must outlive script reloads) ------------------------------------------
_gs: Lib | None = None
_registered = False
_infos: list[S.obs_source_info] = []
_keep: list[object] = []
_name_buf = ctypes.create_string_buffer(FILTER_NAME.encode())
_output_name_buf = ctypes.create_string_buffer(OUTPUT_NAME.encode())
_id_buf = ctypes.create_string_buffer(FILTER_ID.encode())
_output_id_buf = ctypes.create_string_buffer(OUTPUT_ID.encode())


def gs() -> Lib:
    assert _gs is not None
    return _gs


class FilterFrames:
    """The filter's frames for its worker (a :class:`bgcore.capture.FrameMailbox`): each call
    of :meth:`latest` waits for OBS to finish a frame, then reads the source back.

    Threading: :meth:`latest` runs on the worker thread only; :meth:`close` (any thread) makes
    it return None and keeps it from touching the filter again, also when it is waiting for
    the graphics context at that moment.
    """

    def __init__(self, handle: FilterHandle) -> None:
        self.handle = handle
        self.reader = TargetReader(gs(), log)
        self.state = "running"
        self.error: str | None = None
        self.reconnects = 0
        self.frames_read = 0
        self._seen_frames: int | None = None
        self._next_sync = 0.0
        self._warned_skipped = False

    def wanted(self) -> bool:
        return self.state != "closed"

    def latest(self, timeout: float | None = None) -> tuple[BGR, float, int] | None:
        deadline = time.monotonic() + (0.1 if timeout is None else timeout)
        G, handle = gs(), self.handle
        while self.wanted():
            now = time.monotonic()
            if now >= self._next_sync:
                self._next_sync = now + SYNC_SECONDS
                handle.queue_sync()
            # Under the handle's lock, which _filter_remove takes before it returns to libobs
            # (which then clears the parent and may free it): the parent read here stays
            # alive until obs_source_showing has read it. (Only once the source's
            # "filter_remove" signal holds removals off, see _watch.)
            with handle.lock:
                parent = G.obs_filter_get_parent(handle.filter)
                ready = (
                    bool(parent) and parent == handle.watched and self.wanted()
                    and G.obs_source_enabled(handle.filter) and G.obs_source_showing(parent)
                )
            frames = G.obs_get_total_frames()
            if ready and frames != self._seen_frames:
                self._seen_frames = frames
                readback = self.reader.read(handle.filter)
                if readback is not None:
                    self.note_skipped(readback.skipped_filters)
                    self.frames_read += 1
                    return readback.frame, time.monotonic(), self.frames_read
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(left, FRAME_POLL_SECONDS if ready else IDLE_POLL_SECONDS))
        return None

    def note_skipped(self, skipped: int) -> None:
        if skipped and not self._warned_skipped:
            self._warned_skipped = True
            log(
                "warning",
                f"{self.handle.name}: {skipped} effect filter(s) above it are not applied to the picture "
                "it replaces the background of (OBS cannot draw them for it): move Background Replacer "
                "to the top of the Effect Filters list",
            )
        elif not skipped:
            self._warned_skipped = False

    def close(self) -> None:
        self.state = "closed"
        self.reader.stop()


class FilterHandle(Handle):
    """One filter. ``source`` (where :meth:`~bgobs.handles.Handle.output` sends composites) is its
    private output source, ``filter`` the filter itself, ``weak`` a weak reference to it."""

    def __init__(self, output: int, filter_source: int, name: str) -> None:
        super().__init__(output, output, name)
        self.filter = filter_source
        self.frames = FilterFrames(self)
        self.config: SourceConfig | None = None
        self.hotkey_parent: int | None = None  # the source the recapture hotkey is on
        self.parent_hotkey: int | None = None  # its id
        self.watched: int | None = None  # the source whose "filter_remove" we listen to (_watch)
        self.sync_pending = False

    # worker thread
    def queue_sync(self) -> None:
        if not self.sync_pending:
            self.sync_pending = True
            lib().obs_queue_task(S.OBS_TASK_UI, _SYNC_TASK_CB, self.id, False)


def _handle(data: int | None) -> FilterHandle | None:
    handle = handles.find(data)
    return handle if isinstance(handle, FilterHandle) else None


@guard(None)
def _sync_task(param: int | None) -> None:
    """UI thread: hand changed settings to the worker; the hotkey on the filter's source."""
    handle = _handle(param)
    if handle is None:
        return
    L, G = lib(), gs()
    with handle.lock:  # (destroy releases the weak reference and the hotkey under it)
        handle.sync_pending = False
        if handle.weak is None or not handle.frames.wanted():
            return  # (destroyed, or off its source: the parent may be on its way out)
        source = L.obs_weak_source_get_source(handle.weak)
        if not source:
            return
        try:
            data = L.obs_source_get_settings(source)
            if data:
                try:
                    cfg = config.from_values(read_values(data))
                finally:
                    L.obs_data_release(data)
                if cfg != handle.config and handle.worker is not None:
                    handle.config = cfg
                    handle.worker.configure(cfg)
            parent = G.obs_filter_get_parent(source)
            if parent and parent != handle.watched:
                _watch(handle, parent)
            if parent and parent != handle.hotkey_parent:
                _register_hotkey(handle, parent)
        finally:
            L.obs_source_release(source)


def _register_hotkey(handle: FilterHandle, parent: int) -> None:
    L, G = lib(), gs()
    parent_ref = G.obs_source_get_ref(parent)
    if not parent_ref:
        return
    try:
        _unregister_hotkey(handle)
        text = f"{HOTKEY_TEXT.decode()} ({handle.name})".encode()
        hotkey = L.obs_hotkey_register_source(
            parent_ref, HOTKEY_NAME, text, HOTKEY_CB, handle.id
        )
        handle.hotkey_parent = parent
        if hotkey != S.OBS_INVALID_HOTKEY_ID:
            handle.parent_hotkey = hotkey
    finally:
        L.obs_source_release(parent_ref)


def _watch(handle: FilterHandle, parent: int) -> None:
    """Listen to the "filter_remove" signal of the source the filter is on (under
    ``handle.lock``, which :func:`_filter_remove` takes to stop listening): the worker reads
    only once this is done.

    Why: a read draws the source through the filters between this one and the source
    (``obs_source_skip_video_filter`` on the one nearest the source). When one of those is
    removed, libobs relinks the chain, emits the source's "filter_remove", then clears that
    filter's parent and releases it, without a lock the reader holds; a read that walked the
    chain before the relink would draw through a NULL parent or a freed filter. The handler
    waits for a read under way (:meth:`~bgobs.graphics.TargetReader.wait_for_reads`: a read
    holds the graphics context from its walk to its last draw call), so libobs goes on only
    after such a read has finished, and the next read walks the relinked chain."""
    L, G = lib(), gs()
    parent_ref = G.obs_source_get_ref(parent)
    if not parent_ref:
        return
    try:
        signals = G.obs_source_get_signal_handler(parent_ref)
        if not signals:  # (libobs gives every source one: not expected)
            log_once("error", f"{handle.name}: libobs gave its source no signal handler; it shows nothing")
            return
        G.signal_handler_connect(signals, b"filter_remove", _FILTER_REMOVED_CB, handle.id)
        handle.watched = parent
    finally:
        L.obs_source_release(parent_ref)


@guard(None)
def _a_filter_removed(data: int | None, params: int | None) -> None:
    """The filtered source's "filter_remove" signal: wait for a read under way (see :func:`_watch`)."""
    handle = _handle(data)
    if handle is not None:
        handle.frames.reader.wait_for_reads()


def _unregister_hotkey(handle: FilterHandle) -> None:
    if handle.parent_hotkey is not None:
        gs().obs_hotkey_unregister(handle.parent_hotkey)
        handle.parent_hotkey = None


# -- filter callbacks ---------------------------------------------------------------------
@guard(None)
def _get_name(type_data: int | None) -> int:
    return ctypes.addressof(_name_buf)


@guard(None)
def _create(settings: int, filter_source: int) -> int | None:
    L, G = lib(), gs()
    raw = L.obs_source_get_name(filter_source)
    name = raw.decode("utf-8", "replace") if raw else FILTER_NAME
    if not L.obs_data_get_string(settings, b"plate_id"):
        L.obs_data_set_string(settings, b"plate_id", uuid.uuid4().hex.encode())
    # plates of removed sources and filters go at the first one created, while the saved
    # collections are what is loaded (later, this session's new plates are not saved in them)
    handles.prune_plates_once()
    output = G.obs_source_create_private(_output_id_buf.value, raw or _name_buf.value, None)
    if not output:
        log("error", f"{name}: libobs could not create the filter's output source")
        return None
    L.obs_source_set_async_unbuffered(output, True)
    handle = FilterHandle(output, filter_source, name)
    handle.weak = L.obs_source_get_weak_source(filter_source)
    handle.config = config.from_values(read_values(settings))
    handle.worker = SourceWorker(
        name,
        sink=handle.output,
        on_status=handle.on_status,
        log=log,
        plate_dir=handles.process.plate_dir,
        frames=handle.frames,
    )
    handle.worker.set_visible(True)  # (frames come only while the source is shown)
    handles.add(handle)
    handle.worker.configure(handle.config)
    handle.worker.start()
    log("info", f"{name}: created (filter)")
    return int(output)


@guard(None)
def _destroy(data: int | None) -> None:
    handle = _handle(data)
    if handle is not None:
        handle.frames.close()  # the worker reads nothing more, even if it waits for graphics now
    handles.destroy(data)  # out of the registry, the worker stopped and joined, the weak ref released
    if handle is None:
        return
    with handle.lock:
        _unregister_hotkey(handle)
    try:
        handle.frames.reader.close()
    finally:
        lib().obs_source_release(handle.source)  # the output source


@guard(None)
def _filter_remove(data: int | None, source: int | None) -> None:
    """The filter leaves its source: the worker reads nothing more. OBS calls this before it
    clears the filter's parent; this returns only once a read under way has finished
    (:meth:`~bgobs.graphics.TargetReader.wait_for_reads`), and a read that comes after stops
    at its check of the closed flag, inside the graphics context. (Without it, libobs could
    clear the parent between the reader's check and its draw: ``obs_source_skip_video_filter``
    then reads through a NULL parent.) Stops listening to the source's "filter_remove" (see
    :func:`_watch`)."""
    handle = _handle(data)
    if handle is None:
        return
    handle.frames.close()
    handle.frames.reader.wait_for_reads()
    with handle.lock:  # (the source is still alive: libobs destroys it after its filters)
        if source and source == handle.watched:
            signals = gs().obs_source_get_signal_handler(source)
            if signals:
                gs().signal_handler_disconnect(signals, b"filter_remove", _FILTER_REMOVED_CB, handle.id)
        handle.watched = None


def _get_properties(data: int | None) -> int:
    props = get_properties(data)  # never raises, never NULL
    try:
        for key in CAMERA_PROPERTIES:
            gs().obs_properties_remove_by_name(props, key)
    except BaseException as exc:
        log_once("error", f"filter get_properties failed: {exc!r}\n{traceback.format_exc()}")
    return props


# -- the output source's callbacks (it has no settings, no properties, and draws itself) --------
@guard(None)
def _output_get_name(type_data: int | None) -> int:
    return ctypes.addressof(_output_name_buf)


@guard(None)
def _output_create(settings: int, source: int) -> int:
    return 1  # libobs draws an async source only when its data is not NULL


@guard(None)
def _output_destroy(data: int | None) -> None:
    return None


def _make_infos() -> list[S.obs_source_info]:
    native_render = ctypes.cast(gs().dll.obs_source_video_render, ctypes.c_void_p).value
    assert native_render is not None
    flt = S.obs_source_info()
    flt.id = _id_buf.value  # copied by libobs (bstrdup)
    flt.type = S.OBS_SOURCE_TYPE_FILTER
    # SRGB: libobs's async drawing handles linear sRGB itself, as for the source
    flt.output_flags = S.OBS_SOURCE_VIDEO | S.OBS_SOURCE_SRGB
    flt.video_render = S.VIDEO_RENDER(native_render)  # obs_source_video_render(data = output)
    callbacks: dict[str, Any] = {
        "get_name": S.GET_NAME(_get_name),
        "create": S.CREATE(_create),
        "destroy": S.DESTROY(_destroy),
        "filter_remove": S.FILTER_REMOVE(_filter_remove),
        "get_defaults": S.GET_DEFAULTS(get_defaults),
        "get_properties": S.GET_PROPERTIES(_get_properties),
    }
    out = S.obs_source_info()
    out.id = _output_id_buf.value
    out.type = S.OBS_SOURCE_TYPE_INPUT
    out.output_flags = S.OBS_SOURCE_ASYNC_VIDEO | S.OBS_SOURCE_CAP_DISABLED | S.OBS_SOURCE_DO_NOT_DUPLICATE
    output_callbacks: dict[str, Any] = {
        "get_name": S.GET_NAME(_output_get_name),
        "create": S.CREATE(_output_create),
        "destroy": S.DESTROY(_output_destroy),
    }
    for info, table in ((flt, callbacks), (out, output_callbacks)):
        for field, cb in table.items():
            setattr(info, field, cb)
            _keep.append(cb)
    return [out, flt]


def register() -> bool:
    """Register the filter type (once per process, after the source). False, with a log
    line, when this libobs lacks a function the filter calls."""
    global _gs, _registered
    if _registered:
        return True
    try:
        _gs = load_filter()
    except LibobsError as exc:
        log("warning", f"{exc} (the source is registered)")
        return False
    for info in _make_infos():
        _infos.append(info)
        lib().obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))
    _registered = True
    log("info", f"registered filter '{FILTER_NAME}' ({FILTER_ID})")
    if not nogil.AVAILABLE:
        log("warning", nogil.fallback_warning())
    return True


_SYNC_TASK_CB = S.TASK(_sync_task)
_FILTER_REMOVED_CB = S.SIGNAL_CALLBACK(_a_filter_removed)
_keep += [_SYNC_TASK_CB, _FILTER_REMOVED_CB]
