"""Finding libobs in the running OBS, and the table of the C functions bgobs calls.

Every function is declared once here with argtypes and restype (pointer results as
``c_void_p``: the default ``int`` would truncate 64-bit pointers). ``load()`` returns the
process-wide :class:`Lib`; it raises :class:`LibobsError` with a readable message when
libobs or a symbol is missing.
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


class Lib:
    """libobs with the declared functions as attributes (``lib.obs_get_version()``)."""

    def __init__(
        self, dll: ctypes.CDLL, path: str, functions: Mapping[str, tuple[Any, list[Any]]] = FUNCTIONS
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
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        if missing:
            raise LibobsError(
                f"{_version_of(dll)} at {path} lacks {len(missing)} function(s) bgreplace calls "
                f"({', '.join(missing)}); not registering the source"
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


def load() -> Lib:
    """The process-wide :class:`Lib` (found once)."""
    global _lib
    if _lib is None:
        dll, path = find()
        _lib = Lib(dll, path)
    return _lib
