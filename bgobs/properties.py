"""The source's settings in OBS: their defaults, reading them, and the properties dialog
(the filter's is the same without the camera ones).

Threads: libobs calls ``get_defaults`` and ``get_properties`` on the UI thread, the
properties' modified callbacks on the UI thread, the recapture button on the UI or a
websocket thread. Every callback is guarded (:func:`bgobs.handles.guard`): nothing escapes
into OBS, and :func:`get_properties` never returns NULL.
"""

from __future__ import annotations

import traceback
from typing import Any

from bgcore.settings import Spec

from . import cameras, config
from . import structs as S
from .handles import find, guard, lib, log_once, process, recapture

_INFO_TYPES = {
    "normal": S.OBS_TEXT_INFO_NORMAL,
    "warning": S.OBS_TEXT_INFO_WARNING,
    "error": S.OBS_TEXT_INFO_ERROR,
}


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


@guard(None)
def get_defaults(settings: int) -> None:
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


@guard(False)
def _button_recapture(props: int | None, prop: int | None, data: int | None) -> bool:
    recapture(data)
    return False


@guard(True)
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


def get_properties(data: int | None) -> int:
    """The source's properties dialog for the handle ``data`` (None: no source yet); never
    raises and never returns NULL: on an error, a dialog that says so."""
    try:
        return build_properties(data)
    except BaseException as exc:
        log_once("error", f"get_properties failed: {exc!r}\n{traceback.format_exc()}")
        return _fallback_properties(f"Properties unavailable ({exc}); see the OBS log")

MEDIA_FILTER = (
    b"Images and videos (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.mp4 *.mov *.mkv *.webm *.avi *.gif);;"
    b"All files (*.*)"
)


def build_properties(data: int | None) -> int:
    """The dialog itself (raises on an error: :func:`get_properties` is what libobs calls)."""
    L = lib()
    props = L.obs_properties_create()
    handle = find(data)
    level = handle.status.level.word if handle else "normal"

    def add_text_info(key: bytes, desc: bytes, info: int) -> None:
        p = L.obs_properties_add_text(props, key, desc, S.OBS_TEXT_INFO)
        if p:
            L.obs_property_text_set_info_type(p, info)
            L.obs_property_text_set_info_word_wrap(p, True)

    add_text_info(b"status", b"Status", _INFO_TYPES.get(level, S.OBS_TEXT_INFO_NORMAL))
    if process.version_warning:
        add_text_info(b"version_warning", process.version_warning.encode(), S.OBS_TEXT_INFO_WARNING)

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
        add_setting_property(props, spec)
    return int(props)


def add_setting_property(props: int, spec: Spec) -> None:
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


# -- ctypes callback objects (module globals: kept alive for the process) ----------------------
_BUTTON_CB = S.BUTTON_CLICKED(_button_recapture)
_MODIFIED_CB = S.MODIFIED2(_modified)
