"""Backgrounds: what the engine paints behind the person.

A background is opened from a spec string (the CLI's ``--background``, the OBS source's
settings) by :func:`open_background`::

    photo.jpg | clip.mp4          an image (fit: cover, contain, stretch) or a looping video
    color:#00b140 | #00b140       a solid colour (also color:RRGGBB, color:#RGB, color:green)
    blur | blur:N                 the captured empty room (the plate), strongly blurred
    transparent                   no background: the output's alpha channel shows the person
    screen | screen:N             a monitor grabbed with mss (1 = first, 0 = all monitors)
    screen:N:x,y,w,h              a region of monitor N (x, y relative to the monitor)
    image:PATH | video:PATH       force the kind of a file whose extension says nothing

Threading and lifetime contract (every kind): :meth:`Background.render` is called from one
thread at a time (the thread that runs the engine), once per output frame, so it is cheap:
the picture for a given output size is computed once and the *same buffer* is returned until
something changes (a new video frame, a new screen grab, a new plate). The caller must not
write into the returned array and must copy it if it keeps it past the next ``render``.
:meth:`Background.close` releases decoders and screen grabbers; it is idempotent, and a closed
background keeps returning its last picture without decoding or grabbing again. Opening
(:func:`open_background`) reads files and may be slow; render never raises for a problem in
the medium (an unreadable video frame, a lost display): it keeps the last good picture and
records the problem in the object's ``error`` attribute.

A kind may set ``static = True`` when a buffer it returned never changes afterwards (a new
picture always comes in a new buffer): the compositor then redraws only where the person was.

``open_background(spec, follow_file=True)`` makes an image or video file follow its file
(:class:`~bgcore.followed_file.FollowedFile`): replaced, fixed, vanished or back, looked at
about once a second of the caller's ``t`` in ``render``.

New kinds plug in with :func:`register_background`.

Layout: :mod:`~bgcore.backgrounds.base` (the protocol, the registry, fitting), one module per
family of kinds (:mod:`~bgcore.backgrounds.still`: transparent, colour, image, blur;
:mod:`~bgcore.backgrounds.video`; :mod:`~bgcore.backgrounds.screen`) and
:mod:`~bgcore.backgrounds.specs` (parsing a spec, :func:`open_background`). Import from
``bgcore.backgrounds``: the names below are the public ones.
"""

from __future__ import annotations

from ..followed_file import FollowedFile
from ..frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, to_bgr
from .base import BACKGROUND_KINDS, FITS, Background, BackgroundFactory, fit_into, register_background
from .screen import SCREEN_MAX_RATE, ScreenBackground
from .specs import open_background, parse_color
from .still import MID_GREY, BlurBackground, ColorBackground, ImageBackground, TransparentBackground
from .video import VideoBackground

__all__ = [
    "BACKGROUND_KINDS",
    "FITS",
    "IMAGE_EXTENSIONS",
    "MID_GREY",
    "SCREEN_MAX_RATE",
    "VIDEO_EXTENSIONS",
    "Background",
    "BackgroundFactory",
    "BlurBackground",
    "ColorBackground",
    "FollowedFile",
    "ImageBackground",
    "ScreenBackground",
    "TransparentBackground",
    "VideoBackground",
    "fit_into",
    "open_background",
    "parse_color",
    "register_background",
    "to_bgr",
]
