"""The "Background Replacer" filter (id ``bgreplace_filter``): the source's engine on any
video source (right click a camera > Filters > + > Background Replacer).

How the pixels travel (measured against the alternatives in docs/performance.md):
1. OBS draws the filter (``video_render``, graphics thread, once per view and frame). Once
   per video frame the filter draws its target (the filtered source, or the next filter in
   its chain) into a texture, copies it to memory and pushes it into a one-slot mailbox
   (:class:`bgcore.capture.PushedFrames`): :class:`bgobs.graphics.FilterGraphics`.
2. The source's worker (:class:`bgobs.worker.SourceWorker` with ``frames=``) takes the newest
   frame and runs the engine, as for a camera: plates, backgrounds, recapture, status.
3. Its composite (BGRA) goes to :class:`Composites`; the next ``video_render`` uploads the
   newest one into a texture and draws it: one frame later than the source, and no OBS
   thread ever waits for the engine. Until the first composite, and whenever the source's
   size differs from the newest composite's, the filter passes the source through.

This works for every source (cameras, media, images, browser, capture cards) and gives
alpha (the output is BGRA). An async filter (``filter_video``) would get cameras' frames in
their own format without a GPU copy, but must return one of the source's own frames (same
format, so no alpha) and exists only for async sources.

Everything else is the source's (:mod:`bgobs.plugin`): the handle registry, settings,
properties (minus the camera ones), status line, recapture button, plate persistence
(``plate_id``). Registered once per process with the source, in this module that outlives
script reloads.

The recapture hotkey (``bgreplace.recapture``) is registered on the filtered source, not on
the filter: libobs registers no hotkey for a private source, and filters are private when
obs-websocket creates them and whenever OBS loads them from a scene collection (obs.c
``obs_load_source_type(filter_data, true)``). So it shows in Settings > Hotkeys under the
source ("Recapture background (<filter>)"), its binding is saved with the source, and
obs-websocket's ``TriggerHotkeyByName`` with the source's name as ``contextName`` presses
it (obs-websocket has no request for a filter's button). ``video_tick`` notices the parent
(a filter has none in ``create``) and a UI task registers the hotkey; ``destroy``
unregisters it.

Threads and errors: ``video_render`` runs on the graphics thread (and inside
obs-websocket's screenshot); ``destroy`` on whichever thread drops the last reference: it
stops the worker, then destroys the graphics objects inside the graphics context. Nothing
escapes a callback: a failure while drawing is logged once and the filter passes the
source through from then on.
"""

from __future__ import annotations

import ctypes
import threading
import traceback
import uuid

import numpy as np

from bgcore.capture import PushedFrames

from . import config, plugin
from . import structs as S
from .graphics import BGRA, FilterGraphics
from .libobs import Lib, LibobsError, load_filter
from .worker import SourceWorker

FILTER_ID = "bgreplace_filter"
FILTER_NAME = "Background Replacer"

CAMERA_PROPERTIES = (
    b"camera", b"camera_file", b"camera_width", b"camera_height", b"camera_fps", b"keep_open"
)
"""The source's properties that choose and open a camera: the filter's frames come from OBS."""

# -- process-wide state (must outlive script reloads) ------------------------------------------
_gs: Lib | None = None
_registered = False
_info: S.obs_source_info | None = None
_keep: list[object] = []
_name_buf = ctypes.create_string_buffer(FILTER_NAME.encode())
_id_buf = ctypes.create_string_buffer(FILTER_ID.encode())


def gs() -> Lib:
    assert _gs is not None
    return _gs


class Composites:
    """The newest composite, from the worker thread to the graphics thread, without copies
    on the graphics thread and without either thread waiting for the other's work.

    Three buffers: the newest (``put`` last filled), the one the graphics thread is reading
    (between :meth:`take` and :meth:`done`), and one the worker fills next. ``seq`` counts
    composites put, so the reader uploads a composite once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffers: list[BGRA | None] = [None, None, None]
        self._newest: int | None = None
        self._reading: int | None = None
        self.seq = 0

    # worker thread
    def put(self, bgra: BGRA) -> None:
        """Copy ``bgra`` (HxWx4 uint8) in as the newest composite."""
        with self._lock:
            index = next(i for i in range(3) if i not in (self._newest, self._reading))
        buffer = self._buffers[index]
        if buffer is None or buffer.shape != bgra.shape:
            buffer = self._buffers[index] = np.empty(bgra.shape, np.uint8)
        np.copyto(buffer, bgra)
        with self._lock:
            self._newest = index
            self.seq += 1

    # graphics thread
    def take(self) -> tuple[BGRA, int] | None:
        """The newest composite and its number, kept unchanged until :meth:`done` (None
        before the first one)."""
        with self._lock:
            if self._newest is None:
                return None
            self._reading = self._newest
            buffer = self._buffers[self._reading]
            assert buffer is not None
            return buffer, self.seq

    def done(self) -> None:
        with self._lock:
            self._reading = None


class FilterHandle(plugin._Handle):
    """One filter: a source handle (registry, status, worker) whose frames come from the
    filtered source and whose output is drawn by :func:`_video_render`."""

    def __init__(self, ident: int, source: int, name: str, graphics: FilterGraphics) -> None:
        super().__init__(ident, source, name)
        self.frames = PushedFrames(f"the filter {name}")
        self.composites = Composites()
        self.graphics = graphics
        self.read_at: int | None = None  # video frame time of the last read-back
        self.hotkey_parent: int | None = None  # the source the recapture hotkey is registered on
        self.parent_hotkey: int | None = None  # its id
        self.hotkey_task_pending = False
        self.uploaded = 0  # Composites.seq of the picture in the texture
        self.failed = False  # a drawing error: the source passes through from then on

    # worker thread
    def output(self, bgra: BGRA) -> None:
        self.composites.put(bgra)


def _handle(data: int | None) -> FilterHandle | None:
    handle = plugin._handles.get(data or 0)
    return handle if isinstance(handle, FilterHandle) else None


# -- filter callbacks ---------------------------------------------------------------------
@plugin._guard(None)
def _get_name(type_data: int | None) -> int:
    return ctypes.addressof(_name_buf)


@plugin._guard(None)
def _create(settings: int, source: int) -> int | None:
    L = plugin.lib()
    raw = L.obs_source_get_name(source)
    name = raw.decode("utf-8", "replace") if raw else FILTER_NAME
    if not L.obs_data_get_string(settings, b"plate_id"):
        L.obs_data_set_string(settings, b"plate_id", uuid.uuid4().hex.encode())
    ident = next(plugin._ids)
    handle = FilterHandle(ident, source, name, FilterGraphics(gs()))
    handle.weak = L.obs_source_get_weak_source(source)
    handle.worker = SourceWorker(
        name,
        sink=handle.output,
        on_status=handle.on_status,
        log=plugin.log,
        plate_dir=plugin._plate_dir,
        frames=handle.frames,
    )
    handle.worker.set_visible(True)  # frames come only while OBS draws the source
    with plugin._handles_lock:
        plugin._handles[ident] = handle
    handle.worker.configure(config.from_values(plugin.read_values(settings)))
    handle.worker.start()
    plugin.log("info", f"{name}: created (filter)")
    return ident


@plugin._guard(None)
def _destroy(data: int | None) -> None:
    handle = _handle(data)
    plugin._destroy(data)  # out of the registry, the worker stopped and joined, the weak ref released
    if handle is not None:
        with handle.lock:
            _unregister_hotkey(handle)
        handle.frames.close()
        handle.graphics.close()


@plugin._guard(None)
def _video_tick(data: int | None, seconds: float) -> None:
    """Graphics thread, every frame: (re)register the hotkey when the parent is new."""
    handle = _handle(data)
    if handle is None or handle.hotkey_task_pending:
        return
    parent = gs().obs_filter_get_parent(handle.source)
    if parent and parent != handle.hotkey_parent:
        handle.hotkey_task_pending = True
        plugin.lib().obs_queue_task(S.OBS_TASK_UI, _HOTKEY_TASK_CB, handle.id, False)


@plugin._guard(None)
def _register_hotkey_task(param: int | None) -> None:
    """UI thread: the recapture hotkey on the filter's parent (see the module docstring)."""
    handle = _handle(param)
    if handle is None:
        return
    L, G = plugin.lib(), gs()
    with handle.lock:  # (destroy unregisters under it: nothing registered after destroy)
        handle.hotkey_task_pending = False
        if handle.weak is None:
            return
        source = L.obs_weak_source_get_source(handle.weak)
        if not source:
            return
        try:
            parent = G.obs_source_get_ref(G.obs_filter_get_parent(source) or None)
            if not parent:
                return
            try:
                _unregister_hotkey(handle)
                text = f"{plugin.HOTKEY_TEXT.decode()} ({handle.name})".encode()
                hotkey = L.obs_hotkey_register_source(
                    parent, plugin.HOTKEY_NAME, text, plugin._HOTKEY_CB, handle.id
                )
                handle.hotkey_parent = parent
                if hotkey != S.OBS_INVALID_HOTKEY_ID:
                    handle.parent_hotkey = hotkey
            finally:
                L.obs_source_release(parent)
        finally:
            L.obs_source_release(source)


def _unregister_hotkey(handle: FilterHandle) -> None:
    if handle.parent_hotkey is not None:
        gs().obs_hotkey_unregister(handle.parent_hotkey)
        handle.parent_hotkey = None


def _get_properties(data: int | None) -> int:
    props = plugin._get_properties(data)  # never raises, never NULL
    try:
        for key in CAMERA_PROPERTIES:
            gs().obs_properties_remove_by_name(props, key)
    except BaseException as exc:
        plugin.log_once("error", f"filter get_properties failed: {exc!r}\n{traceback.format_exc()}")
    return props


def _video_render(data: int | None, effect: int | None) -> None:
    handle = _handle(data)
    if handle is None:
        return
    try:
        if not handle.failed and _render(handle):
            return
    except BaseException as exc:
        handle.failed = True
        plugin.log_once(
            "error",
            f"{handle.name}: drawing the filter failed, passing the source through: {exc!r}\n"
            f"{traceback.format_exc()}",
        )
    try:
        gs().obs_source_skip_video_filter(handle.source)
    except BaseException as exc:
        plugin.log_once("error", f"{handle.name}: obs_source_skip_video_filter failed: {exc!r}")


def _render(handle: FilterHandle) -> bool:
    """Read the target back (once per video frame), draw the newest composite; False when
    there is none for the target's current size (the caller passes the source through)."""
    G = gs()
    target = G.obs_filter_get_target(handle.source)
    if not target:
        return False
    width, height = G.obs_source_get_base_width(target), G.obs_source_get_base_height(target)
    if not width or not height:
        return False
    frame_time = G.obs_get_video_frame_time()
    if frame_time != handle.read_at:  # the first view this frame (the others draw the same)
        handle.read_at = frame_time
        frame = handle.graphics.read_target(handle.source, width, height)
        if frame is not None:
            handle.frames.push(frame)
    taken = handle.composites.take()
    if taken is None:
        return False
    try:
        bgra, seq = taken
        if bgra.shape[:2] != (height, width):
            return False  # the source changed size: its own picture until a new composite
        if seq != handle.uploaded:
            handle.graphics.upload(bgra)
            handle.uploaded = seq
    finally:
        handle.composites.done()
    handle.graphics.draw()
    return True


def _make_info() -> S.obs_source_info:
    info = S.obs_source_info()
    info.id = ctypes.cast(_id_buf, ctypes.c_char_p).value  # copied by libobs (bstrdup)
    info.type = S.OBS_SOURCE_TYPE_FILTER
    # SRGB: the filter handles linear sRGB itself (drawn as an async sRGB frame is)
    info.output_flags = S.OBS_SOURCE_VIDEO | S.OBS_SOURCE_SRGB
    callbacks = {
        "get_name": S.GET_NAME(_get_name),
        "create": S.CREATE(_create),
        "destroy": S.DESTROY(_destroy),
        "get_defaults": S.GET_DEFAULTS(plugin._get_defaults),
        "get_properties": S.GET_PROPERTIES(_get_properties),
        "update": S.UPDATE(plugin._update),
        "video_render": S.VIDEO_RENDER(_video_render),
        "video_tick": S.VIDEO_TICK(_video_tick),
    }
    for field, cb in callbacks.items():
        setattr(info, field, cb)
        _keep.append(cb)
    return info


def register() -> bool:
    """Register the filter type (once per process, after the source). False, with a log
    line, when this libobs lacks a function the filter calls."""
    global _gs, _registered, _info
    if _registered:
        return True
    try:
        _gs = load_filter()
    except LibobsError as exc:
        plugin.log("warning", f"{exc} (the source is registered)")
        return False
    _info = _make_info()
    _keep.append(_info)
    plugin.lib().obs_register_source_s(ctypes.byref(_info), ctypes.sizeof(_info))
    _registered = True
    plugin.log("info", f"registered filter '{FILTER_NAME}' ({FILTER_ID})")
    return True


_HOTKEY_TASK_CB = S.TASK(_register_hotkey_task)
_keep.append(_HOTKEY_TASK_CB)
