"""Registration of the "Background Replacer" source in libobs, and its callbacks.

Lifetimes (see docs: obs-facts): libobs keeps raw pointers to the ``obs_source_info`` and to
every callback. They live in this module and in :mod:`bgobs.handles` and
:mod:`bgobs.properties`, which stay in ``sys.modules`` for the whole OBS process; reloading
or removing ``obs_bgreplace.py`` re-executes only that file, and :func:`script_load`
registers the type once per process. The per-source state map is in :mod:`bgobs.handles`
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
import itertools
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import SOURCE_ID, SOURCE_NAME, config, handles, structs
from . import filter as bgreplace_filter
from . import structs as S
from .handles import HOTKEY_CB, HOTKEY_NAME, HOTKEY_TEXT, Handle, guard, lib, log, log_once
from .libobs import LibobsError, load
from .properties import get_defaults, get_properties, read_values
from .status import status_line
from .worker import SourceWorker

__all__ = [
    "HOTKEY_NAME",
    "HOTKEY_TEXT",
    "lib",
    "log",
    "log_once",
    "read_values",
    "register",
    "state",
    "unloaded",
]

# -- process-wide state (must outlive script reloads) ------------------------------------------
_registered = False
_refusal: str | None = None
_info: S.obs_source_info | None = None
_keep: list[Any] = []  # every ctypes object libobs points to
_name_buf = ctypes.create_string_buffer(SOURCE_NAME.encode())
_id_buf = ctypes.create_string_buffer(SOURCE_ID.encode())
_ids = itertools.count(1)


# -- source callbacks ---------------------------------------------------------------------
@guard(None)
def _get_name(type_data: int | None) -> int:
    return ctypes.addressof(_name_buf)


@guard(None)
def _create(settings: int, source: int) -> int | None:
    L = lib()
    raw = L.obs_source_get_name(source)
    name = raw.decode("utf-8", "replace") if raw else SOURCE_NAME
    if not L.obs_data_get_string(settings, b"plate_id"):
        L.obs_data_set_string(settings, b"plate_id", uuid.uuid4().hex.encode())
    for key in (b"status", b"status_level"):  # live state an older version saved: not a setting
        L.obs_data_erase(settings, key)
    handles.prune_plates_once()
    ident = next(_ids)
    handle = Handle(ident, source, name)
    handle.weak = L.obs_source_get_weak_source(source)
    L.obs_source_set_async_unbuffered(source, True)
    handle.worker = SourceWorker(
        name, sink=handle.output, on_status=handle.on_status, log=log, plate_dir=handles.process.plate_dir
    )
    handles.add(handle)
    handle.worker.configure(config.from_values(read_values(settings)))
    handle.worker.start()
    handle.hotkey = L.obs_hotkey_register_source(source, HOTKEY_NAME, HOTKEY_TEXT, HOTKEY_CB, ident)
    log("info", f"{name}: created")
    return ident


@guard(None)
def _update(data: int | None, settings: int) -> None:
    handle = handles.find(data)
    if handle is not None and handle.worker is not None:
        handle.worker.configure(config.from_values(read_values(settings)))


def _visibility(visible: bool) -> Callable[[int | None], None]:
    @guard(None)
    def cb(data: int | None) -> None:
        handle = handles.find(data)
        if handle is not None and handle.worker is not None:
            handle.worker.set_visible(visible)

    cb.__name__ = "show" if visible else "hide"
    return cb


def _make_info() -> S.obs_source_info:
    info = S.obs_source_info()
    info.id = ctypes.cast(_id_buf, ctypes.c_char_p).value  # copied by libobs (bstrdup)
    info.type = S.OBS_SOURCE_TYPE_INPUT
    info.output_flags = S.OBS_SOURCE_ASYNC_VIDEO | S.OBS_SOURCE_DO_NOT_DUPLICATE
    info.icon_type = S.OBS_ICON_TYPE_CAMERA
    callbacks = {
        "get_name": S.GET_NAME(_get_name),
        "create": S.CREATE(_create),
        "destroy": S.DESTROY(handles.destroy),
        "get_defaults": S.GET_DEFAULTS(get_defaults),
        "get_properties": S.GET_PROPERTIES(get_properties),
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
    global _registered, _refusal, _info
    process = handles.process
    if _registered:
        log(
            "info",
            f"script loaded again (reloaded or re-added): the source type stays registered, "
            f"{len(handles.all_handles())} existing source(s) keep running",
        )
        return True
    try:
        obs = process.lib = load()
    except LibobsError as exc:
        _refusal = str(exc)
        print(f"[bgreplace] {exc}", file=sys.stderr)
        return False
    verdict = structs.check_version(obs.obs_get_version())
    if not verdict.register:
        _refusal = verdict.message
        log("error", verdict.message or "not registering the source")
        return False
    if verdict.message:
        process.version_warning = verdict.message
        log("warning", verdict.message)
    try:
        process.plate_dir = Path(obs.config_path("obs-studio/plugin_config/bgreplace/plates"))
    except LibobsError as exc:
        log("warning", f"{exc}: background plates will not be saved")
    _info = _make_info()
    _keep.append(_info)
    obs.obs_register_source_s(ctypes.byref(_info), ctypes.sizeof(_info))
    _registered = True
    raw = obs.obs_get_version_string()
    log("info", f"registered source '{SOURCE_NAME}' ({SOURCE_ID}) on OBS {raw.decode() if raw else '?'}")
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
            f"script unloaded: the source type stays registered, {len(handles.all_handles())} "
            "source(s) keep running",
        )


def state() -> dict[str, Any]:
    """A summary for the script's description and for debugging."""
    plate_dir = handles.process.plate_dir
    return {
        "registered": _registered,
        "refusal": _refusal,
        "version_warning": handles.process.version_warning,
        "sources": {h.name: status_line(h.status) for h in handles.all_handles()},
        "plate_dir": str(plate_dir) if plate_dir else None,
    }
