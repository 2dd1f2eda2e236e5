"""Finding libobs in the running OBS, and the tables of the C functions bgobs calls.

Every function is declared once here with argtypes and restype (pointer results as
``c_void_p``: the default ``int`` would truncate 64-bit pointers). ``load()`` returns the
process-wide :class:`Lib` of :data:`FUNCTIONS` (the source); ``load_filter()`` the one of
:data:`FILTER_FUNCTIONS` (the filter: graphics and the filter chain), so a libobs lacking one
of those refuses only the filter. Both raise :class:`LibobsError` with a readable message when
libobs or a symbol is missing.

The GIL: ctypes releases it around every call and takes it back on return. A thread that
holds the GIL must not wait for a libobs lock that a thread waiting for the GIL may hold
(OBS calls callbacks while holding some; obspython calls keep the GIL), so every call that
can wait (entering graphics, creating a source, registering a hotkey) releases it. The
other way round, the filter's worker must not wait for the GIL while it holds the graphics
context: it reads in one compiled call through these functions' addresses (:mod:`bgobs.nogil`).
Its fallback without numba makes only the calls bound in :data:`HOLDING_GIL` inside the
context (the ``gs_*`` calls, drawing the filter's source, plain reads), which keep the GIL
between them but take it back after ``obs_enter_graphics`` (see :mod:`bgobs.graphics`).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
from collections.abc import Mapping
from typing import Any

from . import structs as S

vp = ctypes.c_void_p
cstr = ctypes.c_char_p
c_bool = ctypes.c_bool
c_int = ctypes.c_int
c_ll = ctypes.c_longlong
c_double = ctypes.c_double
c_size = ctypes.c_size_t
c_u32 = ctypes.c_uint32
c_float = ctypes.c_float


class LibobsError(RuntimeError):
    """libobs could not be found or lacks a function bgobs needs."""


def _version_of(dll: ctypes.CDLL) -> str:
    """"OBS 29.0.2" from the library's own obs_get_version_string, or "libobs" without one."""
    try:
        fn = dll.obs_get_version_string
    except AttributeError:
        return "libobs"
    fn.restype, fn.argtypes = cstr, []
    raw = fn()
    return f"OBS {raw.decode('utf-8', 'replace')}" if raw else "libobs"


# name: (restype, argtypes)
FUNCTIONS: dict[str, tuple[Any, list[Any]]] = {
    # core, version, logging, tasks, paths
    "obs_get_version": (ctypes.c_uint32, []),
    "obs_get_version_string": (cstr, []),
    "obs_register_source_s": (None, [ctypes.POINTER(S.obs_source_info), c_size]),
    "blog": (None, [c_int, cstr]),  # variadic: called as blog(level, b"%s", msg)
    "obs_queue_task": (None, [c_int, S.TASK, vp, c_bool]),
    "os_get_config_path_ptr": (vp, [cstr]),
    "bfree": (None, [vp]),
    "os_gettime_ns": (ctypes.c_uint64, []),
    # sources
    "obs_source_output_video": (None, [vp, ctypes.POINTER(S.obs_source_frame)]),
    "obs_source_set_async_unbuffered": (None, [vp, c_bool]),
    "obs_source_get_settings": (vp, [vp]),
    "obs_source_get_name": (cstr, [vp]),
    "obs_source_update_properties": (None, [vp]),
    "obs_source_get_weak_source": (vp, [vp]),
    "obs_weak_source_get_source": (vp, [vp]),
    "obs_weak_source_release": (None, [vp]),
    "obs_source_release": (None, [vp]),
    # settings (obs_data_t)
    "obs_data_release": (None, [vp]),
    "obs_data_get_string": (cstr, [vp, cstr]),
    "obs_data_get_int": (c_ll, [vp, cstr]),
    "obs_data_get_double": (c_double, [vp, cstr]),
    "obs_data_get_bool": (c_bool, [vp, cstr]),
    "obs_data_set_string": (None, [vp, cstr, cstr]),
    "obs_data_erase": (None, [vp, cstr]),
    "obs_data_set_default_string": (None, [vp, cstr, cstr]),
    "obs_data_set_default_int": (None, [vp, cstr, c_ll]),
    "obs_data_set_default_double": (None, [vp, cstr, c_double]),
    "obs_data_set_default_bool": (None, [vp, cstr, c_bool]),
    # properties
    "obs_properties_create": (vp, []),
    "obs_properties_get": (vp, [vp, cstr]),
    "obs_properties_add_bool": (vp, [vp, cstr, cstr]),
    "obs_properties_add_int": (vp, [vp, cstr, cstr, c_int, c_int, c_int]),
    "obs_properties_add_int_slider": (vp, [vp, cstr, cstr, c_int, c_int, c_int]),
    "obs_properties_add_float_slider": (vp, [vp, cstr, cstr, c_double, c_double, c_double]),
    "obs_properties_add_text": (vp, [vp, cstr, cstr, c_int]),
    "obs_properties_add_path": (vp, [vp, cstr, cstr, c_int, cstr, cstr]),
    "obs_properties_add_list": (vp, [vp, cstr, cstr, c_int, c_int]),
    "obs_properties_add_color": (vp, [vp, cstr, cstr]),
    "obs_properties_add_button2": (vp, [vp, cstr, cstr, S.BUTTON_CLICKED, vp]),
    "obs_property_list_add_string": (c_size, [vp, cstr, cstr]),
    "obs_property_list_add_int": (c_size, [vp, cstr, c_ll]),
    "obs_property_set_long_description": (None, [vp, cstr]),
    "obs_property_set_visible": (None, [vp, c_bool]),
    "obs_property_set_modified_callback2": (None, [vp, S.MODIFIED2, vp]),
    "obs_property_text_set_info_type": (None, [vp, c_int]),
    "obs_property_text_set_info_word_wrap": (None, [vp, c_bool]),
    "obs_property_int_set_suffix": (None, [vp, cstr]),
    "obs_property_float_set_suffix": (None, [vp, cstr]),
    # hotkeys
    "obs_hotkey_register_source": (c_size, [vp, cstr, cstr, S.HOTKEY_FUNC, vp]),
}

# Functions only the filter calls (graphics.h, obs.h, obs-source.h, obs-properties.h).
FILTER_FUNCTIONS: dict[str, tuple[Any, list[Any]]] = {
    # the filter and its chain
    "obs_source_create_private": (vp, [cstr, cstr, vp]),
    "obs_source_get_ref": (vp, [vp]),
    "obs_source_video_render": (None, [vp]),  # (its address is the filter's video_render)
    "obs_properties_remove_by_name": (None, [vp, cstr]),
    "obs_hotkey_unregister": (None, [c_size]),
    "obs_filter_get_target": (vp, [vp]),
    "obs_filter_get_parent": (vp, [vp]),
    "obs_source_get_output_flags": (c_u32, [vp]),
    "obs_source_get_base_width": (c_u32, [vp]),
    "obs_source_get_base_height": (c_u32, [vp]),
    "obs_source_enabled": (c_bool, [vp]),
    "obs_source_showing": (c_bool, [vp]),
    "obs_get_total_frames": (c_u32, []),
    "obs_source_skip_video_filter": (None, [vp]),
    # the filtered source's "filter_remove" signal (see bgobs.filter)
    "obs_source_get_signal_handler": (vp, [vp]),
    "signal_handler_connect": (None, [vp, cstr, S.SIGNAL_CALLBACK, vp]),
    "signal_handler_disconnect": (None, [vp, cstr, S.SIGNAL_CALLBACK, vp]),
    # the graphics context
    "obs_enter_graphics": (None, []),
    "obs_leave_graphics": (None, []),
    "gs_texrender_create": (vp, [c_int, c_int]),
    "gs_texrender_destroy": (None, [vp]),
    "gs_texrender_reset": (None, [vp]),
    "gs_texrender_begin": (c_bool, [vp, c_u32, c_u32]),
    "gs_texrender_end": (None, [vp]),
    "gs_texrender_get_texture": (vp, [vp]),
    "gs_stagesurface_create": (vp, [c_u32, c_u32, c_int]),
    "gs_stagesurface_destroy": (None, [vp]),
    "gs_stage_texture": (None, [vp, vp]),
    "gs_stagesurface_map": (c_bool, [vp, ctypes.POINTER(vp), ctypes.POINTER(c_u32)]),
    "gs_stagesurface_unmap": (None, [vp]),
    "gs_clear": (None, [c_u32, vp, c_float, ctypes.c_uint8]),
    "gs_ortho": (None, [c_float] * 6),
    "gs_blend_state_push": (None, []),
    "gs_blend_state_pop": (None, []),
    "gs_blend_function": (None, [c_int, c_int]),
    "gs_set_linear_srgb": (c_bool, [c_bool]),
}

HOLDING_GIL: frozenset[str] = frozenset(
    name for name in FILTER_FUNCTIONS if name.startswith("gs_")
) | {
    # called inside the graphics context the calling thread holds (see bgobs.graphics)
    "obs_source_skip_video_filter",
    "obs_source_get_base_width",
    "obs_source_get_base_height",
    # plain reads of a field or a global: no lock
    "obs_filter_get_target",
    "obs_filter_get_parent",
    "obs_source_get_output_flags",
    "obs_source_enabled",
    "obs_source_showing",
    "obs_get_total_frames",
}
"""Bound without releasing the GIL (see the module docstring and bgobs.graphics)."""


class Lib:
    """libobs with the declared functions as attributes (``lib.obs_get_version()``)."""

    def __init__(
        self,
        dll: ctypes.CDLL,
        path: str,
        functions: Mapping[str, tuple[Any, list[Any]]] = FUNCTIONS,
        *,
        holding_gil: frozenset[str] = frozenset(),
        what: str = "the source",
    ) -> None:
        self.dll = dll
        self.path = path
        missing = []
        for name, (restype, argtypes) in functions.items():
            try:
                fn = getattr(dll, name)
            except AttributeError:
                missing.append(name)
                continue
            if name in holding_gil:
                # the same C function through a PYFUNCTYPE prototype: called with the GIL held
                address = ctypes.cast(fn, ctypes.c_void_p).value
                assert address is not None  # getattr found the symbol
                fn = ctypes.PYFUNCTYPE(restype, *argtypes)(address)
            else:
                fn.restype = restype
                fn.argtypes = argtypes
            setattr(self, name, fn)
        if missing:
            raise LibobsError(
                f"{_version_of(dll)} at {path} lacks {len(missing)} function(s) bgreplace calls "
                f"({', '.join(missing)}); not registering {what}"
            )

    def __getattr__(self, name: str) -> Any:  # only reached for undeclared names
        raise AttributeError(f"libobs function {name} is not declared in bgobs.libobs.FUNCTIONS")

    def log(self, level: int, message: str) -> None:
        """One line in the OBS log, prefixed ``[bgreplace]``."""
        self.blog(level, b"%s", ("[bgreplace] " + message).encode("utf-8", "replace"))

    def config_path(self, name: str) -> str:
        """``os_get_config_path_ptr``: OBS's per-user config folder + ``name``."""
        ptr = self.os_get_config_path_ptr(name.encode())
        if not ptr:
            raise LibobsError(f"libobs gave no config path for {name}")
        try:
            return ctypes.string_at(ptr).decode("utf-8", "replace")
        finally:
            self.bfree(ptr)


def candidates() -> list[str | None]:
    """Where libobs is on this platform, best first (the copy OBS already loaded wins)."""
    if sys.platform.startswith("win"):
        return ["obs.dll", "obs"]
    if sys.platform == "darwin":
        found: list[str | None] = [None]  # dlopen(NULL): the symbols OBS itself loaded
        exe_dir = os.path.dirname(os.path.realpath(sys.executable or ""))
        for root in (exe_dir, "/Applications/OBS.app/Contents/MacOS"):
            found += glob.glob(
                os.path.join(root, "..", "Frameworks", "libobs.framework", "Versions", "*", "libobs")
            )
        found.append("@rpath/libobs.framework/Versions/A/libobs")
        return found
    return ["libobs.so.0", "libobs.so", None]


def find() -> tuple[ctypes.CDLL, str]:
    errors = []
    for name in candidates():
        try:
            dll = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
            continue
        if hasattr(dll, "obs_get_version"):
            return dll, name or "(process)"
        errors.append(f"{name or '(process)'}: no obs_get_version")
    raise LibobsError("libobs not found (is this running inside OBS?): " + "; ".join(errors))


_lib: Lib | None = None
_filter_lib: Lib | None = None


def load() -> Lib:
    """The process-wide :class:`Lib` of :data:`FUNCTIONS` (found once)."""
    global _lib
    if _lib is None:
        dll, path = find()
        _lib = Lib(dll, path)
    return _lib


def load_filter() -> Lib:
    """The process-wide :class:`Lib` of :data:`FILTER_FUNCTIONS` (the filter's calls)."""
    global _filter_lib
    if _filter_lib is None:
        main = load()
        _filter_lib = Lib(main.dll, main.path, FILTER_FUNCTIONS, holding_gil=HOLDING_GIL, what="the filter")
    return _filter_lib
