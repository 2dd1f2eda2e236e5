"""The one exception family of bgcore.

Every error a user can cause (a bad setting, an unreadable file, a frame of the wrong shape)
raises a subclass of :class:`BgError` whose message is one line: what is wrong and what to do.
The CLI prints ``str(err)`` and exits 2; the OBS script shows it in the status line.
"""

from __future__ import annotations


class BgError(Exception):
    """Base class: a problem the user can fix. ``str(err)`` is a one-line message."""


class SettingsError(BgError, ValueError):
    """A setting is out of range or of the wrong kind."""


class FrameTypeError(BgError, TypeError):
    """A frame is not a numpy uint8 array."""


class FrameShapeError(BgError, ValueError):
    """A frame has the wrong number of dimensions, channels or size."""


class PlateError(BgError, ValueError):
    """The background plate cannot be built, loaded or used (e.g. someone moved during capture)."""


class SourceError(BgError, OSError):
    """A frame source (camera, video, image, URL) cannot be opened or read."""


class BackgroundError(BgError, ValueError):
    """A background spec is invalid or its file cannot be read."""


class OutputError(BgError, OSError):
    """An output (video, image sequence, mask folder) cannot be written."""
