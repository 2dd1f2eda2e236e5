"""Registration of the "Background Replacer" source in libobs, and its callbacks.

Lifetimes (see docs: obs-facts): libobs keeps raw pointers to the ``obs_source_info`` and to
every callback. They live in this module, which stays in ``sys.modules`` for the whole OBS
process; reloading or removing ``obs_bgreplace.py`` re-executes only that file, and
:func:`script_load` registers the type once per process. The per-source state map is here
too, so sources keep running across a script reload.

Threads: libobs calls ``create``/``get_properties`` on the UI thread; ``update`` of a video
source is deferred to the next video tick (graphics thread), so a button pressed right after
a settings change can arrive before it; ``show``/``hide`` on the graphics thread, ``destroy``
on its destruction thread, buttons on the UI or a websocket thread, hotkeys on the hotkey
thread. Every callback only hands values to the
source's :class:`~bgobs.worker.SourceWorker` and returns; every exception is caught and
logged once (nothing escapes into OBS); ``get_properties`` never returns NULL.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bgcore.settings import Spec

from . import SOURCE_ID, SOURCE_NAME, cameras, config, plate_files, structs
from . import structs as S
from .libobs import Lib, LibobsError, load
from .status import State, Status, status_line
from .worker import BGRA, SourceWorker

F = TypeVar("F", bound=Callable[..., Any])

HOTKEY_NAME = b"bgreplace.recapture"
HOTKEY_TEXT = b"Recapture background"

_LEVELS = {"info": S.LOG_INFO, "warning": S.LOG_WARNING, "error": S.LOG_ERROR}
_INFO_TYPES = {
    "normal": S.OBS_TEXT_INFO_NORMAL,
    "warning": S.OBS_TEXT_INFO_WARNING,
    "error": S.OBS_TEXT_INFO_ERROR,
}

# -- process-wide state (must outlive script reloads) ------------------------------------------
_lib: Lib | None = None
_registered = False
_refusal: str | None = None
_version_warning: str | None = None  # registered on an OBS newer than the verified ones
_info: S.obs_source_info | None = None
_keep: list[Any] = []  # every ctypes object libobs points to
_name_buf = ctypes.create_string_buffer(SOURCE_NAME.encode())
_id_buf = ctypes.create_string_buffer(SOURCE_ID.encode())
_handles: dict[int, _Handle] = {}
_handles_lock = threading.Lock()
_ids = itertools.count(1)
_logged: set[str] = set()
_plate_dir: Path | None = None
_plates_pruned = False


def lib() -> Lib:
    assert _lib is not None
    return _lib


def log(level: str, message: str) -> None:
    """One line in the OBS log (falls back to stderr outside OBS)."""
    if _lib is None:
        print(f"[bgreplace] {message}", file=sys.stderr)
        return
    _lib.log(_LEVELS.get(level, S.LOG_INFO), message)


def log_once(level: str, message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log(level, message)


def _guard(default: Any) -> Callable[[F], F]:
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


class _Handle:
    """One source: its libobs pointers, its worker and its status line."""

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
        lib().obs_queue_task(S.OBS_TASK_UI, _TASK_CB, self.id, False)


@_guard(None)
def _ui_status_task(param: int | None) -> None:
    """On the UI thread: write the status into the settings (the read-only status line)."""
    handle = _handles.get(param or 0)
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


def read_values(data: int) -> dict[str, Any]:
    """An obs_data_t as a dict of the keys in config.KEYS."""
    L = lib()
    out: dict[str, Any] = {}
    for key, (kind, _) in config.KEYS.items():
        k = key.encode()
        if kind is str:
            raw = L.obs_data_get_string(data, k)
            out[key] = raw.decode("utf-8", "replace") if raw else ""
        elif kind is bool:
            out[key] = bool(L.obs_data_get_bool(data, k))
        elif kind is int:
            out[key] = int(L.obs_data_get_int(data, k))
        else:
            out[key] = float(L.obs_data_get_double(data, k))
    return out


# -- source callbacks ---------------------------------------------------------------------
@_guard(None)
def _get_name(type_data: int | None) -> int:
    return ctypes.addressof(_name_buf)


@_guard(None)
def _create(settings: int, source: int) -> int | None:
    L = lib()
    raw = L.obs_source_get_name(source)
    name = raw.decode("utf-8", "replace") if raw else SOURCE_NAME
    if not L.obs_data_get_string(settings, b"plate_id"):
        L.obs_data_set_string(settings, b"plate_id", uuid.uuid4().hex.encode())
    for key in (b"status", b"status_level"):  # live state an older version saved: not a setting
        L.obs_data_erase(settings, key)
    _prune_plates_once()
    ident = next(_ids)
    handle = _Handle(ident, source, name)
    handle.weak = L.obs_source_get_weak_source(source)
    L.obs_source_set_async_unbuffered(source, True)
    handle.worker = SourceWorker(
        name, sink=handle.output, on_status=handle.on_status, log=log, plate_dir=_plate_dir
    )
    with _handles_lock:
        _handles[ident] = handle
    handle.worker.configure(config.from_values(read_values(settings)))
    handle.worker.start()
    handle.hotkey = L.obs_hotkey_register_source(source, HOTKEY_NAME, HOTKEY_TEXT, _HOTKEY_CB, ident)
    log("info", f"{name}: created")
    return ident


def _prune_plates_once() -> None:
    """At the first source created in this process: delete the plates of sources removed in
    earlier sessions (see bgobs.plate_files for why then, and not in destroy)."""
    global _plates_pruned
    if _plates_pruned or _plate_dir is None:
        return
    _plates_pruned = True
    try:
        collections = Path(lib().config_path("obs-studio/basic/scenes"))
    except LibobsError as exc:
        log("warning", f"plates of removed sources kept: {exc}")
        return
    result = plate_files.prune(_plate_dir, collections)
    if result.skipped:
        log("warning", f"plates of removed sources kept: {result.skipped}")
    for ident in result.removed:
        log("info", f"deleted the background plate {ident} (its source was removed)")
    for error in result.errors:
        log("warning", f"cannot delete an old plate file: {error}")


@_guard(None)
def _destroy(data: int | None) -> None:
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


@_guard(None)
def _get_defaults(settings: int) -> None:
    L = lib()
    for key, (kind, default) in config.KEYS.items():
        k = key.encode()
        if kind is str:
            L.obs_data_set_default_string(settings, k, str(default).encode())
        elif kind is bool:
            L.obs_data_set_default_bool(settings, k, bool(default))
        elif kind is int:
            L.obs_data_set_default_int(settings, k, int(default))
        else:
            L.obs_data_set_default_double(settings, k, float(default))


@_guard(None)
def _update(data: int | None, settings: int) -> None:
    handle = _handles.get(data or 0)
    if handle is not None and handle.worker is not None:
        handle.worker.configure(config.from_values(read_values(settings)))


def _visibility(visible: bool) -> Callable[[int | None], None]:
    @_guard(None)
    def cb(data: int | None) -> None:
        handle = _handles.get(data or 0)
        if handle is not None and handle.worker is not None:
            handle.worker.set_visible(visible)

    cb.__name__ = "show" if visible else "hide"
    return cb


def _recapture(ident: int | None) -> None:
    handle = _handles.get(ident or 0)
    if handle is not None and handle.worker is not None:
        handle.worker.recapture()


@_guard(False)
def _button_recapture(props: int | None, prop: int | None, data: int | None) -> bool:
    _recapture(data)
    return False


@_guard(None)
def _hotkey(data: int | None, hotkey_id: int, hotkey: int | None, pressed: bool) -> None:
    if pressed:
        _recapture(data)


@_guard(True)
def _modified(priv: int | None, props: int, prop: int | None, settings: int) -> bool:
    """Show only the properties that apply; copy a browsed camera file into ``camera``."""
    L = lib()
    kind = (L.obs_data_get_string(settings, b"background_type") or b"").decode()
    for key, shown in (
        (b"background_path", kind in ("image", "video")),
        (b"background_color", kind == "color"),
        (b"screen_monitor", kind == "screen"),
        *((spec.name.encode(), not L.obs_data_get_bool(settings, config.auto_key(spec).encode()))
          for spec in config.SHOWN if spec.auto),
    ):
        p = L.obs_properties_get(props, key)
        if p:
            L.obs_property_set_visible(p, shown)
    browsed = L.obs_data_get_string(settings, b"camera_file")
    if browsed:
        L.obs_data_set_string(settings, b"camera", browsed)
        L.obs_data_set_string(settings, b"camera_file", b"")
    return True


def _fallback_properties(message: str) -> int:
    L = lib()
    props = L.obs_properties_create()
    p = L.obs_properties_add_text(props, b"status", message.encode(), S.OBS_TEXT_INFO)
    if p:
        L.obs_property_text_set_info_type(p, S.OBS_TEXT_INFO_ERROR)
    return int(props)


def _get_properties(data: int | None) -> int:
    try:
        return _build_properties(data)
    except BaseException as exc:
        log_once("error", f"get_properties failed: {exc!r}\n{traceback.format_exc()}")
        return _fallback_properties(f"Properties unavailable ({exc}); see the OBS log")


_get_properties.__name__ = "get_properties"

MEDIA_FILTER = (
    b"Images and videos (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.mp4 *.mov *.mkv *.webm *.avi *.gif);;"
    b"All files (*.*)"
)


def _build_properties(data: int | None) -> int:
    L = lib()
    props = L.obs_properties_create()
    handle = _handles.get(data or 0)
    level = handle.status.level.word if handle else "normal"

    def add_text_info(key: bytes, desc: bytes, info: int) -> None:
        p = L.obs_properties_add_text(props, key, desc, S.OBS_TEXT_INFO)
        if p:
            L.obs_property_text_set_info_type(p, info)
            L.obs_property_text_set_info_word_wrap(p, True)

    add_text_info(b"status", b"Status", _INFO_TYPES.get(level, S.OBS_TEXT_INFO_NORMAL))
    if _version_warning:
        add_text_info(b"version_warning", _version_warning.encode(), S.OBS_TEXT_INFO_WARNING)

    p = L.obs_properties_add_list(
        props, b"camera", b"Camera", S.OBS_COMBO_TYPE_EDITABLE, S.OBS_COMBO_FORMAT_STRING
    )
    for value, label in cameras.listed():
        L.obs_property_list_add_string(p, label.encode(), value.encode())
    L.obs_property_set_long_description(
        p,
        b"A camera number (0, 1, ...), or a video file, image sequence (frame_%04d.png), still image or URL",
    )
    p = L.obs_properties_add_path(
        props, b"camera_file", b"Or use a file as camera", S.OBS_PATH_FILE, MEDIA_FILTER, None
    )
    L.obs_property_set_modified_callback2(p, _MODIFIED_CB, None)
    L.obs_properties_add_int(props, b"camera_width", b"Capture width (0 = camera default)", 0, 7680, 1)
    L.obs_properties_add_int(props, b"camera_height", b"Capture height (0 = camera default)", 0, 4320, 1)
    L.obs_properties_add_int(props, b"camera_fps", b"Capture fps (0 = camera default)", 0, 240, 1)
    L.obs_properties_add_bool(props, b"keep_open", b"Keep the camera open while the source is hidden")

    L.obs_properties_add_button2(props, b"recapture", b"Recapture background", _BUTTON_CB, data)
    p = L.obs_properties_add_int(props, b"recapture_delay", b"Countdown before capture", 0, 60, 1)
    L.obs_property_int_set_suffix(p, b" s")

    p = L.obs_properties_add_list(
        props, b"background_type", b"Background", S.OBS_COMBO_TYPE_LIST, S.OBS_COMBO_FORMAT_STRING
    )
    for value, label in config.BACKGROUND_TYPES.items():
        L.obs_property_list_add_string(p, label.encode(), value.encode())
    L.obs_property_set_modified_callback2(p, _MODIFIED_CB, None)
    L.obs_properties_add_path(
        props, b"background_path", b"Background file", S.OBS_PATH_FILE, MEDIA_FILTER, None
    )
    L.obs_properties_add_color(props, b"background_color", b"Background colour")
    L.obs_properties_add_int(props, b"screen_monitor", b"Screen (monitor number)", 1, 16, 1)

    for spec in config.SHOWN:
        _add_setting_property(props, spec)
    return int(props)


def _add_setting_property(props: int, spec: Spec) -> None:
    """The property of one engine setting, from its row of the table (bgcore.settings)."""
    L = lib()
    shown = spec.obs
    assert shown is not None
    key, label = spec.name.encode(), shown.label.encode()
    if spec.auto:
        p = L.obs_properties_add_bool(props, config.auto_key(spec).encode(), shown.auto_label.encode())
        L.obs_property_set_modified_callback2(p, _MODIFIED_CB, None)
    if spec.kind is bool:
        p = L.obs_properties_add_bool(props, key, label)
    elif spec.choices:
        p = L.obs_properties_add_list(props, key, label, S.OBS_COMBO_TYPE_LIST, S.OBS_COMBO_FORMAT_STRING)
        for value, word in zip(spec.choices, shown.choice_labels, strict=True):
            L.obs_property_list_add_string(p, word.encode(), value.encode())
    elif spec.kind is int or shown.whole:
        add = L.obs_properties_add_int_slider if shown.slider else L.obs_properties_add_int
        p = add(props, key, label, int(spec.lo or 0), int(spec.hi or 0), int(shown.step))
        if shown.suffix:
            L.obs_property_int_set_suffix(p, shown.suffix.encode())
    else:
        p = L.obs_properties_add_float_slider(props, key, label, spec.lo, spec.hi, shown.step)
        if shown.suffix:
            L.obs_property_float_set_suffix(p, shown.suffix.encode())
    if shown.description:
        L.obs_property_set_long_description(p, shown.description.encode())


# -- ctypes callback objects (kept alive for the process) ---------------------------------------
_TASK_CB = S.TASK(_ui_status_task)
_BUTTON_CB = S.BUTTON_CLICKED(_button_recapture)
_HOTKEY_CB = S.HOTKEY_FUNC(_hotkey)
_MODIFIED_CB = S.MODIFIED2(_modified)
_keep += [_TASK_CB, _BUTTON_CB, _HOTKEY_CB, _MODIFIED_CB]


def _make_info() -> S.obs_source_info:
    info = S.obs_source_info()
    info.id = ctypes.cast(_id_buf, ctypes.c_char_p).value  # copied by libobs (bstrdup)
    info.type = S.OBS_SOURCE_TYPE_INPUT
    info.output_flags = S.OBS_SOURCE_ASYNC_VIDEO | S.OBS_SOURCE_DO_NOT_DUPLICATE
    info.icon_type = S.OBS_ICON_TYPE_CAMERA
    callbacks = {
        "get_name": S.GET_NAME(_get_name),
        "create": S.CREATE(_create),
        "destroy": S.DESTROY(_destroy),
        "get_defaults": S.GET_DEFAULTS(_get_defaults),
        "get_properties": S.GET_PROPERTIES(_get_properties),
        "update": S.UPDATE(_update),
        "show": S.DATA_CB(_visibility(True)),
        "hide": S.DATA_CB(_visibility(False)),
    }
    for field, cb in callbacks.items():
        setattr(info, field, cb)
        _keep.append(cb)
    return info


def register() -> bool:
    """Register the source type (once per process). False, with a log line, if refused."""
    global _lib, _registered, _refusal, _version_warning, _info, _plate_dir
    if _registered:
        log(
            "info",
            f"script loaded again (reloaded or re-added): the source type stays registered, "
            f"{len(_handles)} existing source(s) keep running",
        )
        return True
    try:
        _lib = load()
    except LibobsError as exc:
        _refusal = str(exc)
        print(f"[bgreplace] {exc}", file=sys.stderr)
        return False
    verdict = structs.check_version(_lib.obs_get_version())
    if not verdict.register:
        _refusal = verdict.message
        log("error", verdict.message or "not registering the source")
        return False
    if verdict.message:
        _version_warning = verdict.message
        log("warning", verdict.message)
    try:
        _plate_dir = Path(_lib.config_path("obs-studio/plugin_config/bgreplace/plates"))
    except LibobsError as exc:
        log("warning", f"{exc}: background plates will not be saved")
    _info = _make_info()
    _keep.append(_info)
    _lib.obs_register_source_s(ctypes.byref(_info), ctypes.sizeof(_info))
    _registered = True
    raw = _lib.obs_get_version_string()
    log("info", f"registered source '{SOURCE_NAME}' ({SOURCE_ID}) on OBS {raw.decode() if raw else '?'}")
    from . import filter as bgreplace_filter  # (it imports this module: not at the top)

    bgreplace_filter.register()  # the filter beside the source, once per process too
    return True


def unloaded() -> None:
    """The script was unloaded (Reload, Remove in Tools > Scripts, or OBS exiting).

    libobs cannot unregister a source type: the type and its callbacks (in this module) stay,
    and existing sources keep running until they are removed or OBS exits.
    """
    if _registered:
        log(
            "info",
            f"script unloaded: the source type stays registered, {len(_handles)} source(s) keep running",
        )


def state() -> dict[str, Any]:
    """A summary for the script's description and for debugging."""
    return {
        "registered": _registered,
        "refusal": _refusal,
        "version_warning": _version_warning,
        "sources": {h.name: status_line(h.status) for h in list(_handles.values())},
        "plate_dir": str(_plate_dir) if _plate_dir else None,
    }
