"""ctypes mirrors of the libobs structs bgobs uses, and the layout check.

The layouts were compared field by field with the C compiler's ``offsetof`` (``layout.c``
built against the OBS headers; ``tests/obs/test_layout.py`` repeats the check against the
installed headers and every recorded ``layouts/<major>.json``). A libobs major version is
accepted at run time only when ``layouts/<major>.json`` exists.

``obs_source_info`` only ever grows at the end and libobs copies ``min(size, its own)``
bytes, so registering with our size stays valid while the leading fields are unchanged.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path
from typing import Any

LAYOUT_DIR = Path(__file__).with_name("layouts")

# enum values (checked by layout.c, see layouts/*.json "constants")
OBS_SOURCE_TYPE_INPUT = 0
OBS_SOURCE_VIDEO = 1 << 0
OBS_SOURCE_ASYNC = 1 << 2
OBS_SOURCE_ASYNC_VIDEO = OBS_SOURCE_VIDEO | OBS_SOURCE_ASYNC
OBS_SOURCE_DO_NOT_DUPLICATE = 1 << 7
OBS_ICON_TYPE_CAMERA = 9
VIDEO_FORMAT_BGRA = 7
OBS_COMBO_TYPE_EDITABLE = 1
OBS_COMBO_TYPE_LIST = 2
OBS_COMBO_FORMAT_INT = 1
OBS_COMBO_FORMAT_STRING = 3
OBS_PATH_FILE = 0
OBS_TEXT_DEFAULT = 0
OBS_TEXT_INFO = 3
OBS_TEXT_INFO_NORMAL = 0
OBS_TEXT_INFO_WARNING = 1
OBS_TEXT_INFO_ERROR = 2
OBS_TASK_UI = 0
LOG_ERROR = 100
LOG_WARNING = 200
LOG_INFO = 300

CONSTANTS = {name: value for name, value in globals().items() if name.isupper() and isinstance(value, int)}

vp = ctypes.c_void_p

# callback signatures (C types from obs-source.h, obs-properties.h, obs-hotkey.h, obs.h)
GET_NAME = ctypes.CFUNCTYPE(vp, vp)  # returns const char*: a pointer we keep alive
CREATE = ctypes.CFUNCTYPE(vp, vp, vp)
DESTROY = ctypes.CFUNCTYPE(None, vp)
GET_DEFAULTS = ctypes.CFUNCTYPE(None, vp)
GET_PROPERTIES = ctypes.CFUNCTYPE(vp, vp)
UPDATE = ctypes.CFUNCTYPE(None, vp, vp)
DATA_CB = ctypes.CFUNCTYPE(None, vp)  # activate, deactivate, show, hide
SAVE = ctypes.CFUNCTYPE(None, vp, vp)
BUTTON_CLICKED = ctypes.CFUNCTYPE(ctypes.c_bool, vp, vp, vp)  # (props, property, data)
MODIFIED2 = ctypes.CFUNCTYPE(ctypes.c_bool, vp, vp, vp, vp)  # (priv, props, property, settings)
HOTKEY_FUNC = ctypes.CFUNCTYPE(None, vp, ctypes.c_size_t, vp, ctypes.c_bool)
TASK = ctypes.CFUNCTYPE(None, vp)


class obs_source_info(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_char_p),
        ("type", ctypes.c_int),
        ("output_flags", ctypes.c_uint32),
        ("get_name", GET_NAME),
        ("create", CREATE),
        ("destroy", DESTROY),
        ("get_width", vp),
        ("get_height", vp),
        ("get_defaults", GET_DEFAULTS),
        ("get_properties", GET_PROPERTIES),
        ("update", UPDATE),
        ("activate", DATA_CB),
        ("deactivate", DATA_CB),
        ("show", DATA_CB),
        ("hide", DATA_CB),
        ("video_tick", vp),
        ("video_render", vp),
        ("filter_video", vp),
        ("filter_audio", vp),
        ("enum_active_sources", vp),
        ("save", SAVE),
        ("load", vp),
        ("mouse_click", vp),
        ("mouse_move", vp),
        ("mouse_wheel", vp),
        ("focus", vp),
        ("key_click", vp),
        ("filter_remove", vp),
        ("type_data", vp),
        ("free_type_data", vp),
        ("audio_render", vp),
        ("enum_all_sources", vp),
        ("transition_start", vp),
        ("transition_stop", vp),
        ("get_defaults2", vp),
        ("get_properties2", vp),
        ("audio_mix", vp),
        ("icon_type", ctypes.c_int),
        ("media_play_pause", vp),
        ("media_restart", vp),
        ("media_stop", vp),
        ("media_next", vp),
        ("media_previous", vp),
        ("media_get_duration", vp),
        ("media_get_time", vp),
        ("media_set_time", vp),
        ("media_get_state", vp),
        ("version", ctypes.c_uint32),
        ("unversioned_id", ctypes.c_char_p),
        ("missing_files", vp),
        ("video_get_color_space", vp),
    ]


MAX_AV_PLANES = 8


class obs_source_frame(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint8) * MAX_AV_PLANES),
        ("linesize", ctypes.c_uint32 * MAX_AV_PLANES),
        ("width", ctypes.c_uint32),
        ("height", ctypes.c_uint32),
        ("timestamp", ctypes.c_uint64),
        ("format", ctypes.c_int),
        ("color_matrix", ctypes.c_float * 16),
        ("full_range", ctypes.c_bool),
        ("max_luminance", ctypes.c_uint16),
        ("color_range_min", ctypes.c_float * 3),
        ("color_range_max", ctypes.c_float * 3),
        ("flip", ctypes.c_bool),
        ("flags", ctypes.c_uint8),
        ("trc", ctypes.c_uint8),
        ("refs", ctypes.c_long),
        ("prev_frame", ctypes.c_bool),
    ]


STRUCTS: dict[str, type[ctypes.Structure]] = {
    "obs_source_info": obs_source_info,
    "obs_source_frame": obs_source_frame,
}


def ctypes_layout() -> dict[str, Any]:
    """This module's layouts in the shape ``layout.c`` prints (sizeof + field offsets)."""
    out: dict[str, Any] = {}
    for name, struct in STRUCTS.items():
        fields = {f[0]: getattr(struct, f[0]).offset for f in struct._fields_}
        out[name] = {"sizeof": ctypes.sizeof(struct), "fields": fields}
    return out


def layout_mismatches(reference: dict[str, Any]) -> list[str]:
    """Differences between ``reference`` (layout.c output) and the ctypes definitions."""
    problems: list[str] = []
    mine = ctypes_layout()
    for name, ours in mine.items():
        theirs = reference.get(name)
        if theirs is None:
            problems.append(f"{name}: not in the reference")
            continue
        for field, offset in ours["fields"].items():
            if theirs["fields"].get(field) != offset:
                problems.append(f"{name}.{field}: ours at {offset}, C at {theirs['fields'].get(field)}")
        # a longer C struct is fine for obs_source_info (we pass our size); the frame must match
        if name == "obs_source_frame" and theirs["sizeof"] != ours["sizeof"]:
            problems.append(f"{name}: sizeof ours {ours['sizeof']}, C {theirs['sizeof']}")
        if name == "obs_source_info" and theirs["sizeof"] < ours["sizeof"]:
            problems.append(f"{name}: C struct shorter ({theirs['sizeof']}) than ours ({ours['sizeof']})")
    for cname, value in reference.get("constants", {}).items():
        if CONSTANTS.get(cname) != value:
            problems.append(f"constant {cname}: ours {CONSTANTS.get(cname)}, C {value}")
    return problems


def verified_majors() -> dict[int, str]:
    """Major versions whose headers were checked against these declarations: {major: version}.

    ``layouts/<major>.json`` is layout.c's output against that version's headers on Linux
    x86-64, where the test suite compares every offset with ctypes. On other platforms ctypes
    applies that platform's C rules to the same (verified) declarations, so the offsets are not
    compared at run time, only the version."""
    ok: dict[int, str] = {}
    for path in sorted(LAYOUT_DIR.glob("*.json")):
        try:
            ref = json.loads(path.read_text())
            ok[int(str(ref["version"]).split(".")[0])] = str(ref["version"])
        except (OSError, ValueError, KeyError):
            continue
    return ok


def check_version(version: int) -> str | None:
    """None if libobs ``version`` (obs_get_version(): major<<24|minor<<16|patch) has a verified
    layout, else a one-line reason to refuse."""
    major = (version >> 24) & 0xFF
    known = verified_majors()
    if major in known:
        return None
    listed = ", ".join(str(m) for m in sorted(known)) or "none"
    return (
        f"OBS {major}.{(version >> 16) & 0xFF}.{version & 0xFFFF} is not verified for bgreplace "
        f"(struct layouts checked for OBS {listed}); not registering the source. Check its headers "
        f"with bgobs/layout.c and add bgobs/layouts/{major}.json"
    )
