"""Frame sources: cameras, video files, image sequences, still images and streams.

:func:`open_source` opens a source from the CLI's INPUT / the OBS source's *camera* setting::

    0, 1, "0"              camera index (cv2.VideoCapture(index)); width/height/fps are requests
    camera:0               the same, explicitly
    clip.mp4               a video file (loop=True plays it forever, like a camera)
    frames/%05d.png        an image sequence (printf pattern, numbered from 0 or 1)
    photo.png              a still image: read() returns the same picture every call
    rtsp://... http://...  a network stream (anything OpenCV/FFmpeg opens); live

Every frame is an HxWx3 uint8 BGR array (grey and BGRA inputs are converted). For files,
sequences and stills, ``width``/``height`` resize every frame (one of them keeps the aspect)
and ``fps`` overrides the rate the file says; for cameras they are requests the driver may
round or ignore (the frames are the size the camera delivers).

Threading and lifetime contract of a :class:`FrameSource`: one thread at a time calls
``read()`` and ``close()``; ``close()`` is idempotent and releases the device or file.
``read()`` returns an array the caller may keep: a source never writes into an array it
has returned (a still image returns the same read-only array every time). ``read()``
returns None at the end of a file (never for live sources); a live source that is lost
(camera unplugged, stream dropped) raises SourceError, and the caller reopens it (as
:class:`LatestFrameReader` and the OBS worker do).

:class:`LatestFrameReader` reads a source on its own thread and hands over only the newest
frame; what a consumer reads from it is :class:`FrameMailbox` (the OBS filter reads its
frames from OBS through one of its own). New kinds plug in with :func:`register_source`;
:class:`SequenceSource` serves in-memory frames (a synthetic source for tests and demos).

Layout: :mod:`~bgcore.capture.source` (the protocol, the options, the registry),
:mod:`~bgcore.capture.files` (memory, stills, videos, sequences, streams),
:mod:`~bgcore.capture.camera`, :mod:`~bgcore.capture.opening` (:func:`open_source`) and
:mod:`~bgcore.capture.reader` (:class:`LatestFrameReader`). Import from ``bgcore.capture``:
the names below are the public ones.
"""

from __future__ import annotations

from ..frames import IMAGE_EXTENSIONS
from .camera import CameraSource
from .files import SequenceSource, StillImageSource, VideoSource
from .opening import is_camera_number, open_source
from .reader import RECONNECT_SECONDS, FrameMailbox, LatestFrameReader
from .source import DEFAULT_FPS, SOURCE_KINDS, FrameSource, SourceFactory, SourceOptions, register_source

__all__ = [
    "DEFAULT_FPS",
    "IMAGE_EXTENSIONS",
    "RECONNECT_SECONDS",
    "SOURCE_KINDS",
    "CameraSource",
    "FrameMailbox",
    "FrameSource",
    "LatestFrameReader",
    "SequenceSource",
    "SourceFactory",
    "SourceOptions",
    "StillImageSource",
    "VideoSource",
    "is_camera_number",
    "open_source",
    "register_source",
]
