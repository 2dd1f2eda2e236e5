"""A source's status as data, and the words for it.

The worker (:mod:`bgobs.worker`) says what is going on as a :class:`Status`: a
:class:`State`, the :class:`Problem` s that stand beside it (a setting ignored, a background
file that cannot be read, a refused capture), and numbers (capture progress, frame rate).
No layer parses another's English: the worker decides on states and problems, this module
turns them into the status line (:func:`status_line`, shown in the source's properties) and
into log lines (:func:`log_line` for a new state; a problem's ``message`` for a new
problem), and :mod:`bgobs.plugin` only shows and logs what it is given. A problem's message
is one line that says what is wrong and what to do (bgcore's error messages are written so).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

from bgcore.plate import Region


class Level(enum.IntEnum):
    """How the status line is shown (OBS's info, warning and error styles)."""

    NORMAL = 0
    WARNING = 1
    ERROR = 2

    @property
    def word(self) -> str:
        """``normal``, ``warning`` or ``error`` (also the log level of a problem)."""
        return self.name.lower()


class State(enum.Enum):
    """What the source is doing."""

    STARTING = "starting"
    HIDDEN = "hidden"
    NO_CAMERA = "no camera"  # the camera never opened: retrying
    CAMERA_LOST = "camera lost"  # it gave frames, then stopped: reconnecting
    CAMERA_STOPPED = "camera stopped"  # a file ended or failed: opening it again
    COUNTDOWN = "countdown"  # before a capture
    CAPTURING = "capturing"  # collecting the frames of a plate
    COMPUTING = "computing"  # the plate's last step, on its own thread
    NO_PLATE = "no plate"  # running, the camera shown as is: nothing captured yet
    OTHER_SIZE = "other size"  # running, the camera shown as is: the plate is of another size
    RUNNING = "running"
    FAILED = "failed"  # the worker stopped on an internal error


_STATE_LEVELS = {
    State.NO_CAMERA: Level.ERROR,
    State.CAMERA_LOST: Level.ERROR,
    State.CAMERA_STOPPED: Level.ERROR,
    State.COUNTDOWN: Level.WARNING,
    State.CAPTURING: Level.WARNING,
    State.NO_PLATE: Level.WARNING,
    State.OTHER_SIZE: Level.WARNING,
    State.FAILED: Level.ERROR,
}


class Topic(enum.Enum):
    """What a problem is about; a status holds at most one problem per topic."""

    SETTINGS = "settings"
    BACKGROUND = "background"
    CAPTURE = "capture"  # the last capture was refused, or its plate not saved
    PLATE = "plate"  # the plate in use: not restored, or from another camera


@dataclasses.dataclass(frozen=True)
class Problem:
    """Something the user should fix, beside the state; ``message`` is one line."""

    topic: Topic
    message: str
    level: Level = Level.WARNING


@dataclasses.dataclass(frozen=True)
class Status:
    """A source's status (see the module docstring). Fields beyond ``state`` and
    ``problems`` are filled where the state uses them."""

    state: State
    problems: tuple[Problem, ...] = ()
    detail: str | None = None
    """The camera's error (NO_CAMERA, CAMERA_LOST, CAMERA_STOPPED) or the internal error."""
    retry_seconds: float | None = None
    """When the camera is tried again (NO_CAMERA, CAMERA_STOPPED)."""
    seconds_left: int | None = None
    """COUNTDOWN."""
    progress: tuple[int, int] | None = None
    """(frames taken, frames wanted): CAPTURING and COMPUTING."""
    camera_size: tuple[int, int] | None = None
    """(width, height) of the camera's frames: RUNNING, NO_PLATE, OTHER_SIZE."""
    plate_size: tuple[int, int] | None = None
    """(width, height) the plate was captured at: OTHER_SIZE."""
    fps: float | None = None
    """Frames per second over the last seconds; None until measured since the camera opened."""
    ms_per_frame: float | None = None
    dynamic_regions: tuple[Region, ...] = ()
    """RUNNING: where the plate saw the picture change by nature (a screen, leaves, a light):
    the mask is less sensitive there."""
    background_changes: tuple[Region, ...] = ()
    """RUNNING: where the background itself changed and stayed (a chair moved, the camera
    bumped): shown as foreground until recaptured."""

    @property
    def level(self) -> Level:
        changed = Level.WARNING if self.background_changes else Level.NORMAL
        return max([_STATE_LEVELS.get(self.state, Level.NORMAL), changed, *(p.level for p in self.problems)])

    @property
    def kind(self) -> tuple[object, ...]:
        """What makes a status a new one for the user (not the numbers that move)."""
        return (
            self.state, self.problems, self.detail, self.camera_size, self.plate_size,
            _where(self.dynamic_regions), _where(self.background_changes),
        )


def _size(size: tuple[int, int] | None) -> str:
    return f"{size[0]}x{size[1]}" if size else "?"


def _rate(s: Status) -> str:
    if s.fps is None:
        return "measuring the frame rate"
    ms = f", {s.ms_per_frame:.1f} ms per frame" if s.ms_per_frame is not None else ""
    return f"{s.fps:.0f} fps{ms}"


def _problems(s: Status) -> str:
    return "".join(f"; {p.message}" for p in s.problems)


def _where(regions: Sequence[Region]) -> str:
    """``the top left and the right``: where the (largest three) regions are ("" for none)."""
    places = list(dict.fromkeys(f"the {r.place}" for r in regions[:3]))
    if len(places) < 2:
        return "".join(places)
    return ", ".join(places[:-1]) + " and " + places[-1]


def plate_notes(s: Status) -> str:
    """What the plate and its health say beside a running source ("" when nothing)."""
    notes = []
    if s.background_changes:
        notes.append(f"The background changed at {_where(s.background_changes)}: recapture")
    if s.dynamic_regions:
        notes.append(
            f"the picture at {_where(s.dynamic_regions)} changes all the time (a screen, leaves, "
            "a light?): less sensitive there"
        )
    return "".join(f"; {note}" for note in notes)


def status_line(s: Status) -> str:
    """The status line shown in the source's properties."""
    st = s.state
    if st is State.STARTING:
        return "Starting"
    if st is State.HIDDEN:
        return "Hidden: the camera opens when the source is shown"
    if st is State.NO_CAMERA:
        return f"No camera: {s.detail}. Retrying every {s.retry_seconds:g} s"
    if st is State.CAMERA_LOST:
        return "Camera disconnected: reconnecting by itself"
    if st is State.CAMERA_STOPPED:
        return f"Camera stopped: {s.detail}. Opening it again in {s.retry_seconds:g} s"
    if st is State.COUNTDOWN:
        return f"Recapture in {s.seconds_left} s: step out of the frame"
    if st is State.CAPTURING:
        done, total = s.progress or (0, 0)
        return f"Capturing background {done}/{total}: keep out of the frame"
    if st is State.COMPUTING:
        return f"Computing the background from {(s.progress or (0, 0))[1]} frames"
    if st is State.NO_PLATE:
        return (
            "Running, no background captured yet: step out of the frame and press Recapture "
            f"background ({_rate(s)})" + _problems(s)
        )
    if st is State.OTHER_SIZE:
        return (
            f"Background was captured at {_size(s.plate_size)} but the camera gives "
            f"{_size(s.camera_size)}: showing the camera as is; press Recapture background" + _problems(s)
        )
    if st is State.RUNNING:
        notes = _problems(s) + plate_notes(s)
        return f"Running ({_rate(s)}){notes}" if notes else f"Running: {_rate(s)}"
    return f"Internal error: {s.detail}. Remove and re-add the source; see the OBS log"


def banner(s: Status) -> str:
    """The few words drawn over the last picture while there is no new one."""
    return {
        State.NO_CAMERA: "No camera",
        State.CAMERA_LOST: "Camera disconnected",
        State.CAMERA_STOPPED: "Camera stopped",
        State.FAILED: "Internal error",
    }.get(s.state, status_line(s))


def log_line(s: Status) -> str | None:
    """The log line for entering this state (None: the worker logs the event itself, or it
    is not worth a line). Never carries the moving numbers (frame rate, progress)."""
    st = s.state
    if st is State.NO_CAMERA:
        return f"no camera: {s.detail}; retrying every {s.retry_seconds:g} s"
    if st is State.CAMERA_LOST:
        return f"camera lost ({s.detail}): reconnecting by itself"
    if st is State.CAMERA_STOPPED:
        return f"camera stopped: {s.detail}; opening it again in {s.retry_seconds:g} s"
    if st is State.NO_PLATE:
        return (
            f"running at {_size(s.camera_size)}, no background captured yet: step out of the "
            "frame and press Recapture background"
        )
    if st is State.OTHER_SIZE:
        return (
            f"the background was captured at {_size(s.plate_size)} but the camera gives "
            f"{_size(s.camera_size)}: showing the camera as is; press Recapture background"
        )
    if st is State.RUNNING:
        return f"running at {_size(s.camera_size)}{plate_notes(s)}"
    if st is State.FAILED:
        return status_line(s)
    # starting; hidden, countdown, capturing, computing: the worker logs their start as events
    # ("source hidden", "recapture requested", "capturing the background"), once each
    return None
