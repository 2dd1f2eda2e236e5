"""The source's settings: keys, types and defaults, and their mapping to the engine.

Setting keys are an interface (saved in users' scene collections, used over obs-websocket):
never rename one. Pure Python: the plugin reads an ``obs_data_t`` into a plain dict with
:data:`KEYS`, and :func:`from_values` turns that dict into a :class:`SourceConfig`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bgcore import Settings, SettingsError
from bgcore.capture import is_camera_number
from bgcore.settings import SETTINGS, Spec

BACKGROUND_TYPES: dict[str, str] = {
    "blur": "Blurred room (the captured background, blurred)",
    "image": "Image file",
    "video": "Video file (loops)",
    "color": "Solid colour",
    "screen": "Screen capture",
    "transparent": "Transparent (layers behind show through)",
}

SHOWN: tuple[Spec, ...] = tuple(spec for spec in SETTINGS if spec.obs is not None)
"""The engine settings in the source's dialog (each under its own name as key)."""


def auto_key(spec: Spec) -> str:
    """The tick box of a setting that may be auto (``auto_threshold``)."""
    return f"auto_{spec.name}"


def _setting_keys() -> dict[str, tuple[type, Any]]:
    keys: dict[str, tuple[type, Any]] = {}
    for spec in SHOWN:
        assert spec.obs is not None
        if spec.auto:
            keys[auto_key(spec)] = (bool, spec.default is None)
            keys[spec.name] = (int, spec.obs.manual_default)
        elif spec.obs.whole:
            keys[spec.name] = (int, int(spec.default))
        else:
            keys[spec.name] = (spec.kind, spec.default)
    return keys


# key: (kind, default). kind is how the value is read from obs_data: str, int, float, bool.
KEYS: dict[str, tuple[type, Any]] = {
    "camera": (str, "0"),
    "camera_width": (int, 0),
    "camera_height": (int, 0),
    "camera_fps": (int, 0),
    "keep_open": (bool, False),
    "background_type": (str, "blur"),
    "background_path": (str, ""),
    "background_color": (int, 0xFF40B100),  # OBS colour 0xAABBGGRR: #00b140, a chroma green
    "screen_monitor": (int, 1),
    "recapture_delay": (int, 3),
    **_setting_keys(),
    "plate_id": (str, ""),
    "status": (str, ""),
}


@dataclasses.dataclass(frozen=True)
class SourceConfig:
    """What one source should do, derived from its OBS settings."""

    camera: str | int = 0
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    keep_open: bool = False
    background: str = "blur"
    background_error: str | None = None
    """Why the background settings are unusable (the source then shows a transparent one)."""
    recapture_delay: float = 3.0
    settings: Settings = dataclasses.field(default_factory=Settings)
    settings_error: str | None = None
    plate_id: str = ""

    @property
    def camera_key(self) -> tuple[Any, ...]:
        """What requires reopening the camera when it changes."""
        return (self.camera, self.width, self.height, self.fps)


def obs_color_to_hex(value: int) -> str:
    """OBS colour int (0xAABBGGRR) -> ``#rrggbb``."""
    value = int(value) & 0xFFFFFFFF
    r, g, b = value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF
    return f"#{r:02x}{g:02x}{b:02x}"


def parse_camera(text: str) -> str | int:
    """A device index ("0", "1") becomes an int; anything else (path, URL, pattern) stays."""
    text = (text or "").strip()
    if is_camera_number(text):
        return int(text)
    # the dialog lists cameras as "0: Integrated Camera"
    head, sep, _ = text.partition(":")
    if sep and is_camera_number(head) and not text.startswith(("/", "\\")):
        return int(head.strip())
    return text


def background_spec(values: Mapping[str, Any]) -> tuple[str, str | None]:
    """(spec for bgcore.backgrounds.open_background, error or None)."""
    kind = str(values.get("background_type") or "blur")
    if kind in ("image", "video"):
        path = str(values.get("background_path") or "").strip()
        if not path:
            return "transparent", f"Choose a background {kind} file (Background file)"
        return path, None
    if kind == "color":
        return "color:" + obs_color_to_hex(
            int(values.get("background_color", KEYS["background_color"][1]))
        ), None
    if kind == "screen":
        return f"screen:{max(1, int(values.get('screen_monitor') or 1))}", None
    if kind in ("blur", "transparent"):
        return kind, None
    return "blur", f"Unknown background type {kind!r}: using blur; choose one under Background"


def engine_settings(values: Mapping[str, Any]) -> tuple[Settings, str | None]:
    """The engine's Settings (through Settings.from_mapping), or the defaults and an error.

    The settings not in the dialog keep their defaults."""
    mapping: dict[str, Any] = {}
    for spec in SHOWN:
        value = values.get(spec.name, KEYS[spec.name][1])
        if spec.auto and values.get(auto_key(spec), True):
            value = None
        elif spec.choices:
            value = value or spec.default  # an empty string: never set
        mapping[spec.name] = value
    try:
        return Settings.from_mapping(mapping), None
    except SettingsError as exc:
        return Settings(), f"Setting ignored: {exc}"


def from_values(values: Mapping[str, Any]) -> SourceConfig:
    """Build the config from a settings dict (missing keys take their defaults)."""
    full = {k: values.get(k, default) for k, (_, default) in KEYS.items()}
    settings, settings_error = engine_settings(full)
    background, background_error = background_spec(full)

    def positive(key: str) -> int | None:
        v = int(full[key] or 0)
        return v if v > 0 else None

    return SourceConfig(
        camera=parse_camera(str(full["camera"])),
        width=positive("camera_width"),
        height=positive("camera_height"),
        fps=positive("camera_fps"),
        keep_open=bool(full["keep_open"]),
        background=background,
        background_error=background_error,
        recapture_delay=max(0.0, float(full["recapture_delay"] or 0)),
        settings=settings,
        settings_error=settings_error,
        plate_id=str(full["plate_id"] or ""),
    )
