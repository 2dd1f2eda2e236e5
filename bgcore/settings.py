"""Engine settings: one frozen dataclass whose fields carry the one table of settings.

Each field's :class:`Spec` (its type, range, default and help text, and how the OBS source's
dialog shows it) is the only place that setting is described: :class:`Settings` validates
against it, the command line builds its flags from it (:func:`bgcore.cli.add_settings_arguments`)
and the OBS source its properties and saved keys (:mod:`bgobs.config`, :mod:`bgobs.plugin`).
:data:`SETTINGS` lists the specs in field order. Settings come in through
:meth:`Settings.from_mapping` (the OBS source) or the constructor (the CLI, the API), so a
value is checked in exactly one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import field
from typing import Any, Literal

from .errors import SettingsError

Mode = Literal["default", "classic"]
MODES: tuple[str, ...] = ("default", "classic")

CLASSIC_THRESHOLD = 13
"""The tutorial's per-channel difference threshold, used by ``classic`` mode when auto."""


@dataclasses.dataclass(frozen=True)
class Shown:
    """How the OBS source's dialog shows a setting: plain data (bgcore knows nothing of OBS).

    Its property key is the setting's name; a setting without one is not in the dialog."""

    label: str
    step: float = 1.0
    slider: bool = False
    """A whole-number setting as a slider (a setting with a fraction is always one)."""
    suffix: str = ""
    description: str = ""
    """The tooltip (the property's long description)."""
    whole: bool = False
    """A number setting shown and saved as a whole number (whole seconds)."""
    choice_labels: tuple[str, ...] = ()
    """The words for :attr:`Spec.choices`, in their order."""
    auto_label: str = ""
    """For a setting that may be auto: the tick box ``auto_<name>`` that makes it so."""
    manual_default: int = 0
    """For a setting that may be auto: the value the box starts at when auto is unticked."""


@dataclasses.dataclass(frozen=True)
class Spec:
    """One row of the table of settings (see the module docstring)."""

    name: str
    kind: type
    """bool, int, float or str (a choice)."""
    default: Any
    help: str
    """One line for ``--help``, the range and default appended (for a setting on by default:
    what its ``--no-`` flag does)."""
    lo: float | None = None
    hi: float | None = None
    zero: str = ""
    """0 is also allowed (below :attr:`lo`) and means this, e.g. ``full resolution``."""
    auto: bool = False
    """None (or ``'auto'``) is also allowed: the engine derives the value."""
    choices: tuple[str, ...] = ()
    cli: bool = True
    """A flag of ``process`` and ``preview`` (``--name``; ``--no-name`` for a setting on by default)."""
    obs: Shown | None = None

    @property
    def ranged(self) -> bool:
        return self.lo is not None and self.hi is not None

    @property
    def flag(self) -> str:
        """The command line's flag: ``--work-width``, ``--no-cleanup``."""
        name = self.name.replace("_", "-")
        return f"--no-{name}" if self.kind is bool and self.default else f"--{name}"

    def range_text(self) -> str:
        """``0.25-4``, ``64-7680 or 0 = full resolution``, ``0-255 or auto``."""
        if self.choices:
            return ", ".join(self.choices)
        if not self.ranged:
            return ""
        text = f"{self.lo:g}-{self.hi:g}"
        if self.zero:
            text += f" or 0 = {self.zero}"
        return text + " or auto" if self.auto else text

    def _refuse(self, value: Any) -> SettingsError:
        if self.kind is bool:
            return SettingsError(f"{self.name} must be true or false, got {value!r}")
        if self.choices:
            return SettingsError(f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}")
        what = "a whole number" if self.kind is int else "a number"
        extra = f" (or 0: {self.zero})" if self.zero else " (or 'auto')" if self.auto else ""
        return SettingsError(
            f"{self.name} must be {what} from {self.lo:g} to {self.hi:g}{extra}, got {value!r}"
        )

    def check(self, value: Any) -> Any:
        """``value`` as this setting holds it (an int as float for a number setting, a whole
        float as int, ``'auto'`` as None), or SettingsError naming the setting and its range."""
        if self.auto and (value is None or (isinstance(value, str) and value.strip().lower() == "auto")):
            return None
        if self.kind is bool or self.choices:
            if (self.kind is bool and not isinstance(value, bool)) or (
                self.choices and value not in self.choices
            ):
                raise self._refuse(value)
            return value
        if isinstance(value, str) and self.auto:
            value = self.parse(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._refuse(value)
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise self._refuse(value)
            value = int(value)
        else:
            value = float(value)
        assert self.lo is not None and self.hi is not None  # (every number has one: _spec)
        if not (self.lo <= value <= self.hi or (self.zero and value == 0)):
            raise self._refuse(value)
        return value

    def parse(self, text: str) -> Any:
        """A command-line word -> the checked value (SettingsError when it is not one)."""
        if self.auto and text.strip().lower() == "auto":
            return None
        try:
            number: float = int(text) if self.kind is int else float(text)
        except ValueError:
            raise self._refuse(text) from None
        return self.check(number)


def _row(help: str, **spec: Any) -> dict[str, Any]:
    """A Settings field's metadata: its row of the table (completed into a :class:`Spec`)."""
    return {"spec": {"help": help, **spec}}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that changes how a frame is processed.

    Immutable: to change a value, build a new one with :meth:`replace`; the engine rebuilds
    only the state whose inputs changed.
    """

    mode: Mode = field(
        default="default",
        metadata=_row(
            "default: noise-aware engine; classic: the original tutorial exactly",
            choices=MODES,
            obs=Shown("Method", choice_labels=("Default (noise-aware)", "Classic (simple difference)")),
        ),
    )
    threshold: int | None = field(
        default=None,
        metadata=_row(
            "difference threshold; auto derives it from the plate's noise",
            kind=int, lo=0, hi=255, auto=True,
            obs=Shown(
                "Threshold", slider=True, auto_label="Automatic threshold (from the camera's noise)",
                manual_default=30,
            ),
        ),
    )
    """None = auto (from the plate's measured noise); 0-255 = manual difference threshold."""
    sensitivity: float = field(
        default=1.0,
        metadata=_row(
            "scale the auto threshold: >1 catches fainter differences",
            lo=0.25, hi=4.0, obs=Shown("Sensitivity", step=0.05),
        ),
    )
    """Scales the auto threshold: >1 catches fainter foreground, <1 ignores more noise."""
    feather: float = field(
        default=2.0,
        metadata=_row(
            "edge softness in pixels, 0 = a hard edge",
            lo=0.0, hi=20.0, obs=Shown("Edge softness", step=0.5, suffix=" px"),
        ),
    )
    """Edge softness in working-resolution pixels; 0 = hard edge."""
    cleanup: bool = field(
        default=True, metadata=_row("keep speckles and holes", obs=Shown("Clean up speckles and holes"))
    )
    """Remove speckles and small blobs, fill holes inside the person."""
    min_blob: float = field(
        default=0.002,
        metadata=_row("drop foreground blobs smaller than this fraction of the frame", lo=0.0, hi=0.5),
    )
    """Foreground blobs smaller than this fraction of the frame are dropped. Not in the OBS
    dialog: the default suits every camera measured."""
    shadows: bool = field(
        default=True, metadata=_row("treat cast shadows as foreground", obs=Shown("Remove shadows"))
    )
    """Treat cast shadows (darker, same colour and texture as the plate) as background."""
    adapt: bool = field(
        default=True,
        metadata=_row("do not follow exposure and light changes", obs=Shown("Follow light changes")),
    )
    """Follow exposure, white balance and slow light changes on confident background."""
    adapt_rate: float = field(
        default=0.02,
        metadata=_row("how fast the plate follows slow light changes, per frame", lo=0.0, hi=1.0),
    )
    """How fast the plate follows slow light changes per frame. Not in the OBS dialog
    (**Follow light changes** turns it off)."""
    temporal: bool = field(default=True, metadata=_row("no frame-to-frame hysteresis"))
    """Temporal hysteresis: a foreground pixel needs less evidence to stay foreground. Not in
    the OBS dialog: off only for measuring single frames."""
    work_width: int = field(
        default=480,
        metadata=_row("width the mask is computed at", lo=64, hi=7680, zero="full resolution"),
    )
    """The mask is computed at most this wide: the frame is halved (exact 2x2 averages) until
    it fits, so 1920x1080 works at 480x270 and 1280x720 or 640x360 at 320x180; 0 = full
    resolution. Not in the OBS dialog: the source's plates are taken at the default."""
    plate_frames: int = field(
        default=30,
        metadata=_row(
            "frames averaged into the plate when PLATE is a camera",
            lo=1, hi=600, obs=Shown("Frames averaged into the background"),
        ),
    )
    """Frames averaged into a background plate (about one second)."""
    absorb_seconds: float = field(
        default=0.0,
        metadata=_row(
            "take a change of the background that stays still this long into the plate; 0 = never",
            lo=0.0, hi=3600.0,
            obs=Shown(
                "Take a lasting change of the room into the background after", whole=True, suffix=" s",
                description="0 = never (a change is only reported). A person sitting still is never "
                "taken in.",
            ),
        ),
    )
    """A change of the background (a chair moved, a lamp switched on for good) that stayed
    still, apart from the moving foreground, this many seconds is taken into the plate; 0 =
    never (the default: it is reported instead, and a person sitting still never fades).
    Changes are noticed after 3 s still at the earliest (bgcore.plate_health)."""
    show_mask: bool = field(
        default=False,
        metadata=_row(
            "output the mask instead of the composite",
            cli=False, obs=Shown("Show the mask (white = you), for tuning"),
        ),
    )
    """Output the mask (white = foreground) instead of the composite, for tuning. Not a
    command-line flag: ``process --mask-out`` writes the masks, ``preview`` shows them on m."""

    def __post_init__(self) -> None:
        for spec in SETTINGS:
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name)))

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


def _spec(f: dataclasses.Field[Any]) -> Spec:
    row = dict(f.metadata["spec"])
    spec = Spec(name=f.name, kind=row.pop("kind", type(f.default)), default=f.default, **row)
    if spec.kind in (int, float) and not spec.ranged:
        raise TypeError(f"the setting {f.name} is a number without a range")
    return spec


SETTINGS: tuple[Spec, ...] = tuple(_spec(f) for f in dataclasses.fields(Settings))
"""The table of settings, in field order."""
SPECS: dict[str, Spec] = {spec.name: spec for spec in SETTINGS}


def parse_threshold(value: Any) -> int | None:
    """``'auto'``/None -> None (derived from the measured noise); 0-255 -> int; else SettingsError."""
    result: int | None = SPECS["threshold"].check(value)
    return result
