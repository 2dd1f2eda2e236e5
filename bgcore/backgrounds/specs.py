"""Opening a background from its spec: colours, the built-in kinds and files (the syntax is in
:mod:`bgcore.backgrounds`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackgroundError
from ..followed_file import FollowedFile
from ..frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .base import BACKGROUND_KINDS, Background, check_fit, register_background
from .screen import ScreenBackground
from .still import BlurBackground, ColorBackground, ImageBackground, TransparentBackground
from .video import VideoBackground

_UNKNOWN = (
    "use an image or video path, color:#RRGGBB, blur, transparent or screen[:N]"
)

_NAMED_COLORS: dict[str, str] = {
    "black": "000000", "white": "ffffff", "grey": "808080", "gray": "808080", "red": "ff0000",
    "green": "008000", "lime": "00ff00", "blue": "0000ff", "yellow": "ffff00", "cyan": "00ffff",
    "magenta": "ff00ff", "orange": "ffa500", "purple": "800080", "navy": "000080",
    "chroma": "00b140", "chromagreen": "00b140", "chromablue": "0047bb",
}


def parse_color(text: str) -> tuple[int, int, int]:
    """``#RRGGBB``, ``RRGGBB``, ``#RGB`` or a basic colour name -> (blue, green, red).

    >>> parse_color("#00b140")
    (64, 177, 0)
    """
    t = text.strip().lower().replace(" ", "")
    t = _NAMED_COLORS.get(t, t).removeprefix("#")
    if len(t) == 3:
        t = "".join(c * 2 for c in t)
    if len(t) != 6 or any(c not in "0123456789abcdef" for c in t):
        raise BackgroundError(
            f"bad colour {text!r}; use color:#RRGGBB (e.g. color:#00b140) or a name like color:green"
        )
    r, g, b = int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16)
    return (b, g, r)


def _no_argument(kind: str, arg: str | None) -> None:
    if arg:
        raise BackgroundError(f"'{kind}' takes no argument, got '{kind}:{arg}'")


def _transparent(arg: str | None, fit: str) -> Background:
    _no_argument("transparent", arg)
    return TransparentBackground()


def _color(arg: str | None, fit: str) -> Background:
    if not arg:
        raise BackgroundError("color needs a value; use color:#RRGGBB (e.g. color:#00b140)")
    return ColorBackground(parse_color(arg))


def _blur(arg: str | None, fit: str) -> Background:
    if not arg:
        return BlurBackground()
    try:
        strength = float(arg)
    except ValueError:
        raise BackgroundError(f"bad blur strength {arg!r}; use blur or blur:N with N from 1 to 500") from None
    return BlurBackground(strength)


def _screen(arg: str | None, fit: str) -> Background:
    usage = "use screen, screen:N (1 = first monitor, 0 = all) or screen:N:x,y,w,h"
    monitor, region = 1, None
    if arg:
        head, _, rest = arg.partition(":")
        try:
            monitor = int(head)
            if rest:
                parts = [int(v) for v in rest.split(",")]
                if len(parts) != 4:
                    raise ValueError
                region = (parts[0], parts[1], parts[2], parts[3])
        except ValueError:
            raise BackgroundError(f"bad screen background 'screen:{arg}'; {usage}") from None
    return ScreenBackground(monitor, region, fit=fit)


def _image(arg: str | None, fit: str) -> Background:
    if not arg:
        raise BackgroundError("image needs a path; use image:PATH or just the path")
    return ImageBackground.open(arg, fit=fit)


def _video(arg: str | None, fit: str) -> Background:
    if not arg:
        raise BackgroundError("video needs a path; use video:PATH or just the path")
    return VideoBackground(arg, fit=fit)


for _kind, _factory in (
    ("transparent", _transparent),
    ("color", _color),
    ("colour", _color),
    ("blur", _blur),
    ("screen", _screen),
    ("image", _image),
    ("video", _video),
):
    register_background(_kind, _factory)


def _file(path: str, fit: str) -> Background:
    p = Path(path)
    ext = p.suffix.lower()
    if not p.exists():
        if ext in IMAGE_EXTENSIONS:
            raise BackgroundError(f"background image '{path}' not found; check the path")
        if ext in VIDEO_EXTENSIONS:
            raise BackgroundError(f"background video '{path}' not found; check the path")
        raise BackgroundError(f"unknown background '{path}'; {_UNKNOWN}")
    if ext in VIDEO_EXTENSIONS:
        return VideoBackground(path, fit=fit)
    if ext in IMAGE_EXTENSIONS:
        return ImageBackground.open(path, fit=fit)
    try:  # an extension that says nothing: a picture, else a video
        return ImageBackground.open(path, fit=fit)
    except BackgroundError as as_image:
        if p.is_dir():
            raise
        try:
            return VideoBackground(path, fit=fit)
        except BackgroundError:
            raise BackgroundError(
                f"cannot read background '{path}': neither an image nor a video OpenCV can decode"
            ) from as_image


def open_background(spec: str, *, fit: str = "cover", follow_file: bool = False) -> Background:
    """Open a background from its spec (see the module docstring for the syntax).

    Dispatch: ``#RRGGBB``; then a registered ``kind`` or ``kind:ARG``; then a file, by
    extension (images, videos), else by trying an image then a video. Raises BackgroundError
    with a one-line message for anything a user can get wrong.

    ``follow_file``: an image or video file (a path, ``image:PATH``, ``video:PATH``) comes as
    a :class:`FollowedFile`, which follows changes of the file; a file that is missing or
    unreadable now is then not an error but the FollowedFile's ``error`` (transparent until
    the file can be read). A folder, or a missing path that names no image or video, still
    raises.
    """
    check_fit(fit)
    if not isinstance(spec, str):
        raise BackgroundError(f"background must be a string spec, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise BackgroundError(f"empty background; {_UNKNOWN}")
    if text.startswith("#"):
        return ColorBackground(parse_color(text))
    kind, sep, arg = text.partition(":")
    factory = BACKGROUND_KINDS.get(kind.strip().lower())
    if follow_file and factory in (_image, _video) and sep and arg.strip():
        path = arg.strip()
        _check_followable(path)
        return FollowedFile(path, lambda: factory(path, fit))
    if factory is not None:
        return factory(arg.strip() if sep else None, fit)
    if follow_file:
        _check_followable(text)
        if Path(text).exists() or Path(text).suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS:
            return FollowedFile(text, lambda: _file(text, fit))
    return _file(text, fit)


def _check_followable(path: str) -> None:
    if Path(path).is_dir():
        raise BackgroundError(f"background '{path}' is a folder; give an image or video file")
