"""ctypes mirrors of the libobs structs bgobs uses, and the layout check.

The layouts were compared field by field with the C compiler's ``offsetof`` (``layout.c``
built against the OBS headers; ``tests/obs/test_layout.py`` repeats the check against every
header tree, the installed headers, every recorded ``layouts/<major>.json``, and the Windows
x64 and macOS ABIs). :func:`check_version` is the policy for the running libobs: the majors
with a ``layouts/<major>.json`` are verified, older ones are refused, newer ones registered
with a warning.

``obs_source_info`` only ever grows at the end and libobs copies ``min(size, its own)``
bytes, so registering with our size stays valid while the leading fields are unchanged.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
from pathlib import Path
from typing import Any

LAYOUT_DIR = Path(__file__).with_name("layouts")

# enum values (checked by layout.c, see layouts/*.json "constants")
OBS_SOURCE_TYPE_INPUT = 0
OBS_SOURCE_TYPE_FILTER = 1
OBS_SOURCE_VIDEO = 1 << 0
OBS_SOURCE_ASYNC = 1 << 2
OBS_SOURCE_ASYNC_VIDEO = OBS_SOURCE_VIDEO | OBS_SOURCE_ASYNC
OBS_SOURCE_DO_NOT_DUPLICATE = 1 << 7
OBS_SOURCE_CAP_DISABLED = 1 << 10
OBS_SOURCE_SRGB = 1 << 15
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
OBS_INVALID_HOTKEY_ID = ctypes.c_size_t(-1).value  # (size_t)-1 (obs-hotkey.h)
LOG_ERROR = 100
LOG_WARNING = 200
LOG_INFO = 300
# graphics (graphics.h): what the filter reads its source back with
GS_BGRA = 5
GS_ZS_NONE = 0
GS_CLEAR_COLOR = 1 << 0
GS_BLEND_ZERO = 0
GS_BLEND_ONE = 1

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
VIDEO_RENDER = ctypes.CFUNCTYPE(None, vp, vp)  # (data, gs_effect_t *effect)
FILTER_REMOVE = ctypes.CFUNCTYPE(None, vp, vp)  # (data, obs_source_t *source)
SIGNAL_CALLBACK = ctypes.CFUNCTYPE(None, vp, vp)  # (data, calldata_t *params)


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
        ("video_render", VIDEO_RENDER),
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
        ("filter_remove", FILTER_REMOVE),
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


def _frame_fields(c_long: type[ctypes._SimpleCData[int]]) -> list[tuple[str, Any]]:
    """``struct obs_source_frame``'s fields; ``refs`` is a C ``long``: 8 bytes on Linux and macOS
    (LP64), 4 on Windows x64 (LLP64), so its size is a parameter (see :func:`structs_for_abi`)."""
    return [
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
        ("refs", c_long),
        ("prev_frame", ctypes.c_bool),
    ]


class obs_source_frame(ctypes.Structure):
    _fields_ = _frame_fields(ctypes.c_long)


# libobs copies the frame we hand to obs_source_output_video by value with ITS sizeof
# (``struct obs_source_frame new_frame = *frame;`` in obs-source.c). If a future libobs appends
# fields, it reads past our struct: inside this zeroed buffer that reads zeros, which are the
# defaults of every field libobs has ever added. 232 bytes today; 4096 leaves room to grow.
FRAME_BUFFER_SIZE = 4096


def padded_frame() -> obs_source_frame:
    """A zeroed :class:`obs_source_frame` at the start of a ``FRAME_BUFFER_SIZE``-byte buffer
    (the frame keeps the buffer alive)."""
    buffer = ctypes.create_string_buffer(FRAME_BUFFER_SIZE)
    return obs_source_frame.from_buffer(buffer)


STRUCTS: dict[str, type[ctypes.Structure]] = {
    "obs_source_info": obs_source_info,
    "obs_source_frame": obs_source_frame,
}

_LONG_TYPES: dict[int, type[ctypes._SimpleCData[int]]] = {4: ctypes.c_int32, 8: ctypes.c_int64}


def structs_for_abi(long_size: int | None = None) -> dict[str, type[ctypes.Structure]]:
    """:data:`STRUCTS` as a C compiler lays them out where ``long`` has ``long_size`` bytes.

    None (or this platform's own ``long`` size) gives :data:`STRUCTS` itself. Every other type
    in these structs (pointers, fixed-width integers, enums = int, float, bool) has the same
    size and alignment on Linux, macOS (arm64, x86-64) and Windows x64, so ``long`` is the one
    thing that differs; tests/obs/test_layout.py checks that against cross-compiled headers."""
    if long_size is None or long_size == ctypes.sizeof(ctypes.c_long):
        return STRUCTS
    if long_size not in _LONG_TYPES:
        raise ValueError(f"long_size must be 4 or 8, got {long_size}")
    frame = type("obs_source_frame", (ctypes.Structure,), {"_fields_": _frame_fields(_LONG_TYPES[long_size])})
    return {"obs_source_info": obs_source_info, "obs_source_frame": frame}


def ctypes_layout(long_size: int | None = None) -> dict[str, Any]:
    """The ctypes layouts (for ``long_size``, see :func:`structs_for_abi`) in the shape
    ``layout.c`` prints (sizeof + field offsets)."""
    out: dict[str, Any] = {}
    for name, struct in structs_for_abi(long_size).items():
        fields = {f[0]: getattr(struct, f[0]).offset for f in struct._fields_}
        out[name] = {"sizeof": ctypes.sizeof(struct), "fields": fields}
    return out


def layout_mismatches(reference: dict[str, Any], long_size: int | None = None) -> list[str]:
    """Differences between ``reference`` (layout.c's output for an ABI whose ``long`` has
    ``long_size`` bytes; None: this platform) and the ctypes definitions."""
    problems: list[str] = []
    mine = ctypes_layout(long_size)
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
    x86-64; tests/obs/test_layout.py recompiles it against every header tree, and also for
    Windows x64 and macOS (cross-compiled), and compares every offset with ctypes."""
    ok: dict[int, str] = {}
    for path in sorted(LAYOUT_DIR.glob("*.json")):
        try:
            ref = json.loads(path.read_text())
            ok[int(str(ref["version"]).split(".")[0])] = str(ref["version"])
        except (OSError, ValueError, KeyError):
            continue
    return ok


@dataclasses.dataclass(frozen=True)
class VersionVerdict:
    """What to do on a libobs version: register or not, and the one line to show the user
    (None when there is nothing to say)."""

    register: bool
    message: str | None


def check_version(version: int) -> VersionVerdict:
    """The version policy for libobs ``version`` (obs_get_version(): major<<24|minor<<16|patch).

    - a verified major (a ``layouts/<major>.json``): register.
    - older than the oldest verified major, or a major between verified ones with no layout: refuse.
    - newer than the newest verified: register, with a warning. libobs's registration ABI is
      made for plugins built against older headers: ``obs_register_source_s(info, size)`` copies
      ``size`` bytes into a zeroed struct of its own size, and from 28 to 32 libobs only
      appended fields (to ``obs_source_info``; ``obs_source_frame`` did not change, and the frame
      we pass is padded with zeros, see :func:`padded_frame`). Refusing would make the source
      vanish at every OBS release until a new bgreplace is out."""
    major, minor, patch = (version >> 24) & 0xFF, (version >> 16) & 0xFF, version & 0xFFFF
    shown = f"OBS {major}.{minor}.{patch}"
    known = sorted(verified_majors())
    if not known:
        return VersionVerdict(False, f"{shown}: no verified layouts in {LAYOUT_DIR}; not registering it")
    tested = f"{known[0]}-{known[-1]}" if len(known) > 1 else str(known[0])
    if major in known:
        return VersionVerdict(True, None)
    if major > known[-1]:
        return VersionVerdict(
            True,
            f"{shown} is newer than the versions bgreplace was tested with ({tested}); registering the "
            f"source anyway, since libobs kept the interface bgreplace uses compatible from "
            f"{known[0]} to {known[-1]}. If it misbehaves, update bgreplace",
        )
    if major < known[0]:
        return VersionVerdict(
            False,
            f"{shown} is too old for bgreplace (needs OBS {known[0]} or later); not registering the source",
        )
    return VersionVerdict(
        False, f"{shown} was not verified for bgreplace (tested with {tested}); not registering the source"
    )
