"""Engine settings: one frozen dataclass, validated once where settings come in.

The OBS script builds it from the source's settings, the CLI from argparse; both go through
:meth:`Settings.from_mapping`, so a value is checked in exactly one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from .errors import SettingsError

Mode = Literal["default", "classic"]
MODES: tuple[str, ...] = ("default", "classic")

CLASSIC_THRESHOLD = 13
"""The tutorial's per-channel difference threshold, used by ``classic`` mode when auto."""


def parse_threshold(value: Any) -> int | None:
    """``'auto'``/None -> None (derived from the measured noise); 0-255 -> int; else SettingsError."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return None
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(
                f"threshold must be 'auto' or a whole number from 0 to 255, got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"threshold must be 'auto' or a whole number from 0 to 255, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise SettingsError(f"threshold must be a whole number from 0 to 255, got {value!r}")
        value = int(value)
    if not 0 <= value <= 255:
        raise SettingsError(f"threshold must be from 0 to 255 (or 'auto'), got {value}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that changes how a frame is processed.

    Immutable: to change a value, build a new one with :meth:`replace`; the engine rebuilds
    only the state whose inputs changed.
    """

    mode: Mode = "default"
    threshold: int | None = None
    """None = auto (from the plate's measured noise); 0-255 = manual difference threshold."""
    sensitivity: float = 1.0
    """Scales the auto threshold: >1 catches fainter foreground, <1 ignores more noise (0.25-4)."""
    feather: float = 2.0
    """Edge softness in working-resolution pixels; 0 = hard edge (0-20)."""
    cleanup: bool = True
    """Remove speckles and small blobs, fill holes inside the person."""
    min_blob: float = 0.002
    """Foreground blobs smaller than this fraction of the frame are dropped (0-0.5)."""
    shadows: bool = True
    """Treat cast shadows (darker, same colour and texture as the plate) as background."""
    adapt: bool = True
    """Follow exposure, white balance and slow light changes on confident background."""
    adapt_rate: float = 0.02
    """How fast the plate follows slow light changes per frame (0-1)."""
    temporal: bool = True
    """Temporal hysteresis: a foreground pixel needs less evidence to stay foreground."""
    work_width: int = 480
    """The mask is computed at most this wide: the frame is halved (exact 2x2 averages) until
    it fits, so 1920x1080 works at 480x270 and 1280x720 or 640x360 at 320x180; 0 = full
    resolution."""
    plate_frames: int = 30
    """Frames averaged into a background plate (about one second)."""
    show_mask: bool = False
    """Output the mask (white = foreground) instead of the composite, for tuning."""
    absorb_seconds: float = 0.0
    """A change of the background (a chair moved, a lamp switched on for good) that stayed
    still, apart from the moving foreground, this many seconds is taken into the plate; 0 =
    never (the default: it is reported instead, and a person sitting still never fades).
    Changes are noticed after 3 s still at the earliest (bgcore.plate_health)."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        object.__setattr__(self, "threshold", parse_threshold(self.threshold))
        _check_range("sensitivity", self.sensitivity, 0.25, 4.0)
        _check_range("feather", self.feather, 0.0, 20.0)
        _check_range("min_blob", self.min_blob, 0.0, 0.5)
        _check_range("adapt_rate", self.adapt_rate, 0.0, 1.0)
        _check_range("absorb_seconds", self.absorb_seconds, 0.0, 3600.0)
        if not isinstance(self.work_width, int) or isinstance(self.work_width, bool):
            raise SettingsError(f"work_width must be a whole number, got {self.work_width!r}")
        if self.work_width != 0 and not 64 <= self.work_width <= 7680:
            raise SettingsError(
                f"work_width must be 0 (full resolution) or 64-7680 pixels, got {self.work_width}"
            )
        if not isinstance(self.plate_frames, int) or not 1 <= self.plate_frames <= 600:
            raise SettingsError(f"plate_frames must be 1-600, got {self.plate_frames!r}")
        for name in ("cleanup", "shadows", "adapt", "temporal", "show_mask"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build from a mapping of field names (unknown keys are an error, None = default)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SettingsError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return cls(**{k: v for k, v in values.items() if v is not None})


def _check_range(name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}")
    if not lo <= float(value) <= hi:
        raise SettingsError(f"{name} must be from {lo:g} to {hi:g}, got {value!r}")
