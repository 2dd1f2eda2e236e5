"""Opening a frame source from its spec: the built-in kinds and :func:`open_source` (the
syntax is in :mod:`bgcore.capture`)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SourceError
from ..frames import IMAGE_EXTENSIONS
from .camera import CameraSource
from .files import StillImageSource, VideoSource
from .source import SOURCE_KINDS, FrameSource, SourceOptions, check_options, register_source

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+://")
_PATTERN = re.compile(r"%0?\d*d")


def is_camera_number(text: str) -> bool:
    """Whether ``text`` (stripped) is a camera number: ASCII digits only ("²" and other
    Unicode digits pass str.isdigit, and int() refuses them: they are names of files)."""
    text = text.strip()
    return text.isascii() and text.isdecimal()


def _camera(arg: str, opts: SourceOptions) -> FrameSource:
    try:
        index = int(arg.strip())
    except ValueError:
        raise SourceError(f"bad camera '{arg}'; use a number: 0 is the first camera") from None
    if index < 0:
        raise SourceError(f"bad camera {index}; use a number from 0 (the first camera)")
    return CameraSource(index, opts)


def _url(arg: str, opts: SourceOptions) -> FrameSource:
    return VideoSource(arg, opts, live=True, what="stream")


def _sequence(arg: str, opts: SourceOptions) -> FrameSource:
    firsts = []
    for start in (0, 1):
        try:
            firsts.append(arg % start)
        except (TypeError, ValueError):
            raise SourceError(
                f"bad image sequence pattern '{arg}'; use one number field like frames/%05d.png"
            ) from None
    if not any(Path(f).is_file() for f in firsts):
        raise SourceError(
            f"image sequence '{arg}' not found: neither {firsts[0]} nor {firsts[1]} exists; check the pattern"
        )
    return VideoSource(arg, opts, what="image sequence")


def _image(arg: str, opts: SourceOptions) -> FrameSource:
    return StillImageSource(arg, opts)


def _video(arg: str, opts: SourceOptions) -> FrameSource:
    p = Path(arg)
    if not p.exists():
        raise SourceError(f"video '{arg}' not found; check the path")
    if p.is_dir():
        raise SourceError(f"'{arg}' is a folder; give a video file or an image pattern like {arg}/%05d.png")
    return VideoSource(arg, opts)


def _file(arg: str, opts: SourceOptions) -> FrameSource:
    if _PATTERN.search(arg):
        return _sequence(arg, opts)
    if Path(arg).suffix.lower() in IMAGE_EXTENSIONS:
        return _image(arg, opts)
    return _video(arg, opts)


for _kind, _factory in (
    ("camera", _camera),
    ("url", _url),
    ("sequence", _sequence),
    ("image", _image),
    ("video", _video),
    ("file", _file),
):
    register_source(_kind, _factory)


def open_source(
    spec: str | int,
    *,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    loop: bool = False,
) -> FrameSource:
    """Open a frame source (see the module docstring for the spec syntax).

    Dispatch: an int or digit string is a camera; ``kind:ARG`` a registered kind; ``x://``
    a stream; a ``%d`` pattern an image sequence; an image extension a still image; anything
    else a video file. ``loop`` makes a video file or sequence start again at its end (an
    endless "camera"). Raises SourceError with a one-line message.
    """
    opts = SourceOptions(width=width or None, height=height or None, fps=fps or None, loop=loop)
    check_options(opts)
    if isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise SourceError(f"source must be a camera number or a path/URL, got {type(spec).__name__}")
    if isinstance(spec, int):
        return SOURCE_KINDS["camera"](str(spec), opts)
    text = spec.strip()
    if not text:
        raise SourceError("no input given; use a camera number (0), a video or image file, or a URL")
    if is_camera_number(text):
        return SOURCE_KINDS["camera"](text, opts)
    if _URL.match(text):
        return SOURCE_KINDS["url"](text, opts)
    kind, sep, arg = text.partition(":")
    factory = SOURCE_KINDS.get(kind.strip().lower()) if sep else None
    if factory is not None:
        return factory(arg.strip(), opts)
    return SOURCE_KINDS["file"](text, opts)
