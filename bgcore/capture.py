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
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from .errors import BgError, SourceError
from .frames import BGR, check_bgr, read_image_file

__all__ = [
    "IMAGE_EXTENSIONS",
    "SOURCE_KINDS",
    "CameraSource",
    "FrameMailbox",
    "FrameSource",
    "LatestFrameReader",
    "SequenceSource",
    "SourceOptions",
    "StillImageSource",
    "VideoSource",
    "open_source",
    "register_source",
]

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
     ".pnm", ".sr", ".ras", ".jp2", ".exr", ".hdr", ".pic", ".avif"}
)
DEFAULT_FPS = 30.0
RECONNECT_SECONDS = 2.0
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+://")
_PATTERN = re.compile(r"%0?\d*d")


@runtime_checkable
class FrameSource(Protocol):
    """A stream of HxWx3 uint8 BGR frames (see the module docstring for the contract)."""

    name: str
    fps: float
    live: bool

    def read(self) -> BGR | None:
        """The next frame; None at the end of a file; SourceError if a live source is lost."""
        ...

    def close(self) -> None:
        """Release the device or file; idempotent."""
        ...


@dataclasses.dataclass(frozen=True)
class SourceOptions:
    """What :func:`open_source` passes to a source factory."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    loop: bool = False


SourceFactory = Callable[[str, SourceOptions], FrameSource]
"""``factory(argument, options)``: argument is the spec after ``kind:`` (or the whole spec
for the built-in dispatch to camera, url, sequence, image and video)."""

SOURCE_KINDS: dict[str, SourceFactory] = {}
"""Registered kinds (lower case). Use :func:`register_source` to add one."""


def register_source(kind: str, factory: SourceFactory) -> None:
    """Make ``kind:ARG`` specs open ``factory(ARG, options)``; replaces an existing kind.

    A kind is a word of two letters or more (one letter would shadow Windows drive paths).
    """
    key = kind.strip().lower()
    if len(key) < 2 or not key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"source kind must be a word of 2+ letters, got {kind!r}")
    SOURCE_KINDS[key] = factory


# -- frames ----------------------------------------------------------------------------------------


def _to_bgr(frame: Any) -> BGR:
    """A decoded frame (grey, BGRA, 16-bit) as HxWx3 uint8 BGR; BGR uint8 passes untouched."""
    a = np.asarray(frame)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3:
        return a
    from .backgrounds import to_bgr

    return to_bgr(a)


def _target_size(w: int, h: int, opts: SourceOptions) -> tuple[int, int] | None:
    """The size to resize (w, h) frames to, or None to keep them."""
    tw, th = opts.width, opts.height
    if tw and th:
        size = (tw, th)
    elif tw:
        size = (tw, max(1, round(h * tw / w)))
    elif th:
        size = (max(1, round(w * th / h)), th)
    else:
        return None
    return None if size == (w, h) else size


def _resized(frame: BGR, size: tuple[int, int] | None) -> BGR:
    if size is None:
        return frame
    interp = cv2.INTER_AREA if size[0] < frame.shape[1] and size[1] < frame.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(frame, size, interpolation=interp)


def _rate(value: Any, default: float = DEFAULT_FPS) -> float:
    try:
        fps = float(value or 0.0)
    except (TypeError, ValueError):
        return default
    return fps if math.isfinite(fps) and 0.1 <= fps <= 1000 else default


def _check_options(opts: SourceOptions) -> None:
    for what, v in (("width", opts.width), ("height", opts.height)):
        if v is not None and not 8 <= v <= 16384:
            raise SourceError(f"requested {what} {v} is out of range; use 8 to 16384 (or leave it unset)")
    if opts.fps is not None and not (math.isfinite(opts.fps) and 0.1 <= opts.fps <= 1000):
        raise SourceError(f"requested fps {opts.fps:g} is out of range; use 0.1 to 1000 (or leave it unset)")


# -- sources ---------------------------------------------------------------------------------------


class SequenceSource:
    """In-memory frames, for tests and demos: returns ``frames`` in order, then None (or
    starts again with ``loop``). ``live=True`` makes it look like a camera (it then never
    ends: it loops). Frames are checked once here and returned as given (not copied)."""

    def __init__(
        self,
        frames: Sequence[BGR],
        fps: float = DEFAULT_FPS,
        *,
        loop: bool = False,
        live: bool = False,
        name: str = "sequence",
    ) -> None:
        if len(frames) == 0:
            raise SourceError("a frame sequence needs at least one frame")
        self.frames = [check_bgr(f, what=f"frame {i} of {name}") for i, f in enumerate(frames)]
        self.fps = float(fps)
        self.loop = loop or live
        self.live = live
        self.name = name
        self.index = 0
        self.closed = False

    def read(self) -> BGR | None:
        if self.closed:
            raise SourceError(f"{self.name} is closed")
        if self.index >= len(self.frames):
            if not self.loop:
                return None
            self.index = 0
        frame = self.frames[self.index]
        self.index += 1
        return frame

    def close(self) -> None:
        self.closed = True


class StillImageSource:
    """A still image: ``read()`` returns the same read-only picture every call (``live`` is
    False; a consumer that wants one frame, like the CLI, reads once)."""

    live = False

    def __init__(self, path: str | os.PathLike[str], opts: SourceOptions = SourceOptions()) -> None:
        self.name = str(path)
        try:
            decoded = read_image_file(path)
        except FileNotFoundError:
            raise SourceError(f"image '{path}' not found; check the path") from None
        except OSError as exc:
            raise SourceError(f"cannot read image '{path}': {exc.strerror or exc}") from None
        if decoded is None:
            raise SourceError(f"cannot decode image '{path}'; use a PNG, JPEG, WebP or BMP file")
        image = _to_bgr(decoded)
        image = np.ascontiguousarray(_resized(image, _target_size(image.shape[1], image.shape[0], opts)))
        image.flags.writeable = False
        self.image: BGR = image
        self.fps = _rate(opts.fps)
        self.closed = False

    def read(self) -> BGR | None:
        if self.closed:
            raise SourceError(f"image '{self.name}' is closed")
        return self.image

    def close(self) -> None:
        self.closed = True


class VideoSource:
    """Anything cv2.VideoCapture opens by name: a video file, an image-sequence pattern or a
    network stream (``live=True``). A file returns None at its end (or starts again with
    ``loop``); a live stream raises SourceError when it stops."""

    def __init__(self, target: str, opts: SourceOptions = SourceOptions(), *, live: bool = False,
                 what: str = "video") -> None:
        self.name = target
        self.live = live
        self.loop = opts.loop and not live
        self.what = what
        self._opts = opts
        self.frames_read = 0
        self._cap: Any = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            self._cap.release()
            if live:
                raise SourceError(
                    f"cannot open stream '{target}'; check the address and that the stream is running"
                )
            raise SourceError(f"cannot decode {what} '{target}'; it is not a format OpenCV can read "
                              "(try an MP4 with H.264)")
        self.fps = _rate(opts.fps or self._cap.get(cv2.CAP_PROP_FPS))
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 and not live else None
        self._first: BGR | None = self._next_frame()
        if self._first is None:
            self._cap.release()
            self._cap = None
            if live:
                raise SourceError(f"stream '{target}' opened but sends no picture; check the stream")
            raise SourceError(f"cannot decode {what} '{target}': it has no readable frame")
        h, w = self._first.shape[:2]
        self._size = _target_size(w, h, opts)
        self._ended = False

    def _next_frame(self) -> BGR | None:
        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        return _to_bgr(frame)

    def _rewind(self) -> bool:
        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return True
        self._cap.release()
        self._cap = cv2.VideoCapture(self.name)
        return bool(self._cap.isOpened())

    def read(self) -> BGR | None:
        if self._cap is None:
            if self._ended:
                return None
            raise SourceError(f"{self.what} '{self.name}' is closed")
        if self._first is not None:
            frame: BGR | None = self._first
            self._first = None
        else:
            frame = self._next_frame()
            if frame is None and self.live:
                raise SourceError(f"stream '{self.name}' stopped sending frames; reconnecting may help")
            if frame is None and self.loop and self.frames_read > 0:
                if not self._rewind():
                    raise SourceError(f"cannot restart {self.what} '{self.name}' for looping")
                frame = self._next_frame()
                if frame is None:  # the seek was accepted but lands nowhere (seen on 1-frame mp4)
                    self._cap.release()
                    self._cap = cv2.VideoCapture(self.name)
                    frame = self._next_frame() if self._cap.isOpened() else None
            if frame is None:
                self._ended = True
                self.close()
                return None
        assert frame is not None
        self.frames_read += 1
        return _resized(frame, self._size)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CameraSource:
    """A camera by index (``cv2.VideoCapture(index)``); ``live=True``. Width, height and fps
    are requests to the driver; frames come at the size the camera delivers. Reading raises
    SourceError once the camera stops giving frames (unplugged, taken by another program)."""

    live = True
    OPEN_TRIES = 10
    """Reads tried at open time before giving up (cameras can take a moment to start)."""

    def __init__(
        self, index: int, opts: SourceOptions = SourceOptions(), *, backend: int | None = None
    ) -> None:
        self.index = index
        self.name = f"camera {index}"
        self._cap: Any = cv2.VideoCapture(index) if backend is None else cv2.VideoCapture(index, backend)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(
                f"cannot open camera {index}: no such device; check it is plugged in and not used "
                "by another program"
            )
        if opts.width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, opts.width)
        if opts.height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, opts.height)
        if opts.fps:
            self._cap.set(cv2.CAP_PROP_FPS, opts.fps)
        self.fps = _rate(self._cap.get(cv2.CAP_PROP_FPS), _rate(opts.fps))
        self._first: BGR | None = None
        for _ in range(self.OPEN_TRIES):
            ok, frame = self._cap.read()
            if ok and frame is not None:
                self._first = _to_bgr(frame)
                break
            time.sleep(0.05)
        if self._first is None:
            self._cap.release()
            self._cap = None
            raise SourceError(
                f"camera {index} opened but gives no picture; close other programs using it "
                "(OBS's own camera source too) and check its privacy switch"
            )

    def read(self) -> BGR | None:
        if self._cap is None:
            raise SourceError(f"camera {self.index} is closed")
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceError(f"camera {self.index} stopped giving frames; is it still plugged in?")
        return _to_bgr(frame)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# -- opening ---------------------------------------------------------------------------------------


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
    _check_options(opts)
    if isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise SourceError(f"source must be a camera number or a path/URL, got {type(spec).__name__}")
    if isinstance(spec, int):
        return SOURCE_KINDS["camera"](str(spec), opts)
    text = spec.strip()
    if not text:
        raise SourceError("no input given; use a camera number (0), a video or image file, or a URL")
    if text.isdigit():
        return SOURCE_KINDS["camera"](text, opts)
    if _URL.match(text):
        return SOURCE_KINDS["url"](text, opts)
    kind, sep, arg = text.partition(":")
    factory = SOURCE_KINDS.get(kind.strip().lower()) if sep else None
    if factory is not None:
        return factory(arg.strip(), opts)
    return SOURCE_KINDS["file"](text, opts)


# -- the reader thread -----------------------------------------------------------------------------


@runtime_checkable
class FrameMailbox(Protocol):
    """What a consumer of the newest frame reads (:class:`LatestFrameReader`, the OBS filter's
    frames).

    ``state`` is "starting", "running", "reconnecting", "ended", "failed" or "closed";
    ``error`` the last problem (or None); ``reconnects`` how often the source came back."""

    state: str
    error: str | None
    reconnects: int

    def latest(self, timeout: float | None = None) -> tuple[BGR, float, int] | None:
        """The newest frame not yet handed over: ``(frame, time, seq)``, or None (see
        :meth:`LatestFrameReader.latest`)."""
        ...

    def close(self) -> None:
        """Stop handing frames over; idempotent."""
        ...


class LatestFrameReader:
    """Reads a source on a background thread and keeps only its newest frame.

    ``source`` is a spec for :func:`open_source` (with ``width``, ``height``, ``fps``, ``loop``)
    or a zero-argument function returning a FrameSource. The first open happens in the
    constructor, so a bad spec raises SourceError there (unless ``wait_for_source``: then the
    thread keeps trying, as for a lost camera).

    Threading contract: the reader thread is the only one that touches the source (open,
    read, close). Any thread may call :meth:`latest`, read the counters and ``status``, and
    call :meth:`close`. Frames go through a one-slot mailbox: a new frame replaces one the
    consumer has not taken (counted in ``frames_dropped``); nothing queues, so a slow consumer
    always gets the newest frame. A frame is handed over once and never written to again.

    Live sources that fail are closed and reopened every ``reconnect_seconds`` until they
    come back (``state`` is "reconnecting" and ``status`` gives the last error). Files are
    paced to their fps (a file behaves like a camera at that rate; ``pace=False`` reads
    as fast as the consumer could want) and end with state "ended" (or loop, with loop=True).

    Lifetime: :meth:`close` stops and joins the thread and closes the source; idempotent;
    also a context manager.
    """

    def __init__(
        self,
        source: str | int | Callable[[], FrameSource],
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        loop: bool = False,
        pace: bool = True,
        reconnect_seconds: float = RECONNECT_SECONDS,
        wait_for_source: bool = False,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] | None = None,
    ) -> None:
        """``clock`` stamps the frames and paces files; ``pause(seconds)`` is how the reader
        waits between paced frames (default: on the stop event, so that close wakes it). Both
        are there for tests, which pace a file on a clock of their own."""
        if callable(source):
            self._open: Callable[[], FrameSource] = source
            self.name = getattr(source, "__name__", "source")
        else:
            spec = source

            def _open() -> FrameSource:
                return open_source(spec, width=width, height=height, fps=fps, loop=loop)

            self._open = _open
            self.name = f"camera {spec}" if isinstance(spec, int) or str(spec).isdigit() else str(spec)
        self.pace = pace
        self.reconnect_seconds = reconnect_seconds
        self._clock = clock
        self._pause = pause
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._slot: tuple[BGR, float, int] | None = None
        self.frames_read = 0
        self.frames_dropped = 0
        self.reconnects = 0
        self.state = "starting"
        self.error: str | None = None
        self.fps = DEFAULT_FPS
        self.live = True
        self._source: FrameSource | None = None
        try:
            self._set_source(self._open())
        except BgError as exc:
            if not wait_for_source:
                raise
            self._failed(str(exc))
        self._thread = threading.Thread(target=self._run, name=f"bgreplace reader {self.name}", daemon=True)
        self._thread.start()

    # -- any thread --------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """One line for people: "running", "reconnecting (<error>): retrying every 2 s", ..."""
        if self.state == "reconnecting":
            return f"reconnecting ({self.error}): retrying every {self.reconnect_seconds:g} s"
        if self.error and self.state in ("ended", "failed"):
            return f"{self.state} ({self.error})"
        return self.state

    def latest(self, timeout: float | None = None) -> tuple[BGR, float, int] | None:
        """Take the newest frame not yet handed over: ``(frame, capture_time, seq)``.

        ``capture_time`` is the reader's clock (time.monotonic()) when the frame was read,
        ``seq`` counts frames read from 1 (gaps are dropped frames). Waits up to ``timeout``
        seconds (None: until a frame comes, the stream ends or the reader closes; 0: do not
        wait); returns None if no new frame came.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._slot is None:
                if self.state in ("ended", "failed", "closed"):
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            item, self._slot = self._slot, None
            return item

    def __iter__(self) -> Iterator[tuple[BGR, float, int]]:
        """Frames until the stream ends or the reader closes (slow consumers skip frames)."""
        while True:
            item = self.latest()
            if item is None:
                return
            yield item

    def close(self, timeout: float = 5.0) -> None:
        """Stop and join the reader thread, close the source; idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._cond:
            if self.state not in ("ended", "failed"):
                self.state = "closed"
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> LatestFrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reader thread -------------------------------------------------------------------------------
    def _set_source(self, src: FrameSource) -> None:
        self._source = src
        self.fps = float(src.fps) if src.fps and src.fps > 0 else DEFAULT_FPS
        self.live = bool(src.live)
        self.error = None
        self.state = "running"

    def _failed(self, message: str) -> None:
        with self._cond:
            self.error = message
            self.state = "reconnecting"
            self._cond.notify_all()

    def _close_source(self) -> None:
        src, self._source = self._source, None
        if src is not None:
            try:
                src.close()
            except Exception as exc:  # a broken driver must not kill the reader
                self.error = f"{self.error or ''} (closing failed: {exc})".strip()

    def _finish(self, state: str, error: str | None = None) -> None:
        self._close_source()
        with self._cond:
            self.state = state
            if error:
                self.error = error
            self._cond.notify_all()

    def _wait(self, seconds: float) -> bool:
        """Wait between paced frames; True if the reader was closed meanwhile."""
        if self._pause is None:
            return self._stop.wait(seconds)
        self._pause(seconds)
        return self._stop.is_set()

    def _run(self) -> None:
        clock = self._clock
        due = clock()
        try:
            while not self._stop.is_set():
                src = self._source
                if src is None:
                    if self._stop.wait(self.reconnect_seconds):
                        break
                    try:
                        self._set_source(self._open())
                        self.reconnects += 1
                        due = clock()
                    except Exception as exc:
                        self._failed(str(exc))
                    continue
                try:
                    frame = src.read()
                except Exception as exc:
                    if not src.live:
                        self._finish("failed", str(exc))
                        return
                    self._close_source()
                    self._failed(str(exc))
                    continue
                now = clock()
                if frame is None:
                    self._finish("ended")
                    return
                with self._cond:
                    self.frames_read += 1
                    if self._slot is not None:
                        self.frames_dropped += 1
                    self._slot = (frame, now, self.frames_read)
                    self._cond.notify_all()
                if self.pace and not src.live:
                    due += 1.0 / self.fps
                    if due < now - 1.0 / self.fps:  # fell behind: do not burst to catch up
                        due = now + 1.0 / self.fps  # (the next frame one interval after this one)
                    if self._wait(max(0.0, due - clock())):
                        break
        finally:
            self._close_source()

