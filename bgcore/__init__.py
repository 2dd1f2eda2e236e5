"""bgcore: the background-replacement engine of bgreplace (pure Python + numpy/OpenCV).

Never imports OBS. The public API::

    from bgcore import BackgroundReplacer
    r = BackgroundReplacer(background="color:#00b140")
    r.set_plate(frames)       # iterable of HxWx3 uint8 BGR frames of the empty scene
    out = r.process(frame)    # HxWx4 uint8 BGRA composite
    mask = r.mask             # HxW uint8, 255 = foreground
"""

from __future__ import annotations

from .errors import (
    BackgroundError,
    BgError,
    FrameShapeError,
    FrameTypeError,
    OutputError,
    PlateError,
    SettingsError,
    SourceError,
)
from .pipeline import BackgroundReplacer
from .plate import Plate
from .plate_capture import PlateBuilder
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "BackgroundError",
    "BackgroundReplacer",
    "BgError",
    "FrameShapeError",
    "FrameTypeError",
    "OutputError",
    "Plate",
    "PlateBuilder",
    "PlateError",
    "Settings",
    "SettingsError",
    "SourceError",
    "__version__",
]
