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
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from .errors import BackgroundError
from .followed_file import FollowedFile
from .frames import BGR, read_image_file

__all__ = [
    "BACKGROUND_KINDS",
    "FITS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "Background",
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

FITS = ("cover", "contain", "stretch")
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
     ".pnm", ".sr", ".ras", ".jp2", ".exr", ".hdr", ".pic", ".avif"}
)
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mkv", ".avi", ".mov", ".webm", ".gif", ".wmv", ".flv", ".mpg", ".mpeg", ".ts",
     ".m2ts", ".mts", ".ogv", ".3gp", ".mjpeg", ".mjpg"}
)
MID_GREY = 128
SCREEN_MAX_RATE = 30.0
"""Screen backgrounds grab at most this many times per second of the caller's ``t``."""
_RETRY_SECONDS = 1.0
_UNKNOWN = (
    "use an image or video path, color:#RRGGBB, blur, transparent or screen[:N]"
)


@runtime_checkable
class Background(Protocol):
    """What the engine composites behind the person (see the module docstring for the
    threading and lifetime contract)."""

    @property
    def transparent(self) -> bool:
        """True when :meth:`render` returns None (the output's alpha shows the person)."""
        ...

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR | None:
        """The HxWx3 uint8 BGR picture of exactly ``width`` x ``height`` for time ``t`` (seconds,
        the caller's monotonic clock); ``plate`` is the captured empty scene or None. Returns
        None only when ``transparent``. The buffer is owned by the background."""
        ...

    def close(self) -> None:
        """Release decoders / grabbers; idempotent."""
        ...


BackgroundFactory = Callable[[str | None, str], Background]
"""``factory(argument, fit)``: argument is the text after ``kind:`` (None for a bare kind)."""

BACKGROUND_KINDS: dict[str, BackgroundFactory] = {}
"""Registered kinds by prefix (lower case). Use :func:`register_background` to add one."""


def register_background(kind: str, factory: BackgroundFactory) -> None:
    """Make ``kind`` and ``kind:ARG`` specs open ``factory(ARG or None, fit)``.

    A kind is a word of two letters or more (one letter would shadow Windows drive paths).
    Registering an existing kind replaces it.
    """
    key = kind.strip().lower()
    if len(key) < 2 or not key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"background kind must be a word of 2+ letters, got {kind!r}")
    BACKGROUND_KINDS[key] = factory


# -- pictures --------------------------------------------------------------------------------------


def to_bgr(image: Any) -> BGR:
    """Any image cv2 decodes (grey, grey+alpha, BGR, BGRA; 8 or 16 bit; float 0..1) as HxWx3
    uint8 BGR. Alpha is composited over black, so transparent parts of a logo become black."""
    a = np.asarray(image)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.clip(np.nan_to_num(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    if a.ndim != 3 or a.shape[2] not in (2, 3, 4):
        raise ValueError(f"not an image: shape {a.shape}")
    if a.shape[2] == 3:
        return np.ascontiguousarray(a)
    if a.shape[2] == 2:  # grey + alpha
        colour, alpha = cv2.cvtColor(np.ascontiguousarray(a[:, :, 0]), cv2.COLOR_GRAY2BGR), a[:, :, 1]
    else:
        colour, alpha = a[:, :, :3], a[:, :, 3]
    if bool((alpha == 255).all()):
        return np.ascontiguousarray(colour)
    weight = alpha.astype(np.uint16)[:, :, None]
    return ((colour.astype(np.uint16) * weight + 127) // 255).astype(np.uint8)


def _interp(src_w: int, src_h: int, dst_w: int, dst_h: int) -> int:
    return cv2.INTER_AREA if dst_w < src_w and dst_h < src_h else cv2.INTER_LINEAR


def fit_into(src: BGR, out: BGR, fit: str = "cover") -> BGR:
    """Resize ``src`` into the preallocated ``out`` (HxWx3 uint8) and return ``out``.

    ``cover`` crops the centre of ``src`` to the aspect of ``out`` then scales it (fills, no
    bars); ``contain`` scales the whole of ``src`` to fit and leaves black bars; ``stretch``
    scales ``src`` to ``out`` ignoring the aspect. No allocation besides OpenCV's scratch.
    """
    h, w = out.shape[:2]
    sh, sw = src.shape[:2]
    if fit == "stretch" or (sw * h == sh * w):
        if (sw, sh) == (w, h):
            np.copyto(out, src)
        else:
            cv2.resize(src, (w, h), dst=out, interpolation=_interp(sw, sh, w, h))
        return out
    if fit == "cover":
        if sw * h > sh * w:  # source wider than the output: crop its sides
            cw = max(1, min(sw, round(sh * w / h)))
            x0 = (sw - cw) // 2
            crop = src[:, x0 : x0 + cw]
        else:
            ch = max(1, min(sh, round(sw * h / w)))
            y0 = (sh - ch) // 2
            crop = src[y0 : y0 + ch]
        cv2.resize(crop, (w, h), dst=out, interpolation=_interp(crop.shape[1], crop.shape[0], w, h))
        return out
    if fit == "contain":
        if sw * h > sh * w:
            nw, nh = w, max(1, min(h, round(sh * w / sw)))
        else:
            nw, nh = max(1, min(w, round(sw * h / sh))), h
        x0, y0 = (w - nw) // 2, (h - nh) // 2
        out[:y0] = 0
        out[y0 + nh :] = 0
        out[y0 : y0 + nh, :x0] = 0
        out[y0 : y0 + nh, x0 + nw :] = 0
        view = out[y0 : y0 + nh, x0 : x0 + nw]
        res = cv2.resize(src, (nw, nh), dst=view, interpolation=_interp(sw, sh, nw, nh))
        if not np.shares_memory(res, out):  # an OpenCV build that would not write into a view
            np.copyto(view, res)
        return out
    raise BackgroundError(f"unknown fit {fit!r}; use {', '.join(FITS)}")


class _SizeCache:
    """A few output buffers keyed by (width, height), oldest evicted first."""

    def __init__(self, keep: int = 3) -> None:
        self.keep = keep
        self.buffers: dict[tuple[int, int], BGR] = {}

    def get(self, width: int, height: int) -> BGR | None:
        return self.buffers.get((width, height))

    def put(self, width: int, height: int, buf: BGR) -> BGR:
        if len(self.buffers) >= self.keep and (width, height) not in self.buffers:
            del self.buffers[next(iter(self.buffers))]
        self.buffers[(width, height)] = buf
        return buf

    def clear(self) -> None:
        self.buffers.clear()


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise BackgroundError(f"background size must be positive, got {width}x{height}")


# -- kinds -----------------------------------------------------------------------------------------


class TransparentBackground:
    """No background: render returns None and the engine outputs alpha instead."""

    transparent = True
    static = True
    name = "transparent"

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR | None:
        return None

    def close(self) -> None:
        pass


class ColorBackground:
    """A solid colour; ``bgr`` is (blue, green, red)."""

    transparent = False
    static = True

    def __init__(self, bgr: tuple[int, int, int]) -> None:
        self.bgr = bgr
        self.name = "color:#{2:02x}{1:02x}{0:02x}".format(*bgr)
        self._cache = _SizeCache()

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        buf = self._cache.get(width, height)
        if buf is None:
            _check_size(width, height)
            buf = self._cache.put(width, height, np.empty((height, width, 3), np.uint8))
            buf[:] = self.bgr
        return buf

    def close(self) -> None:
        self._cache.clear()


class ImageBackground:
    """A still picture, fitted once per output size (``fit``: cover, contain or stretch)."""

    transparent = False
    static = True

    def __init__(self, image: BGR, *, fit: str = "cover", name: str = "image") -> None:
        _check_fit(fit)
        self.image = to_bgr(image)
        self.fit = fit
        self.name = name
        self._cache = _SizeCache()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, fit: str = "cover") -> ImageBackground:
        """Read an image file; BackgroundError if it is missing or not a picture."""
        return cls(_read_image(Path(path)), fit=fit, name=str(path))

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        buf = self._cache.get(width, height)
        if buf is None:
            _check_size(width, height)
            buf = fit_into(self.image, np.empty((height, width, 3), np.uint8), self.fit)
            self._cache.put(width, height, buf)
        return buf

    def close(self) -> None:
        self._cache.clear()


def _read_image(path: Path) -> BGR:
    try:
        image = read_image_file(path)
    except FileNotFoundError:
        raise BackgroundError(f"background image '{path}' not found; check the path") from None
    except IsADirectoryError:
        raise BackgroundError(f"background '{path}' is a folder; give an image or video file") from None
    except OSError as exc:
        raise BackgroundError(f"cannot read background image '{path}': {exc.strerror or exc}") from None
    if image is None:
        raise BackgroundError(
            f"cannot decode background image '{path}'; use a PNG, JPEG, WebP or BMP file"
        )
    try:
        return to_bgr(image)
    except ValueError:
        raise BackgroundError(f"background image '{path}' has an unsupported pixel format") from None


class BlurBackground:
    """The plate (the empty room) strongly blurred: a soft room behind the person with no halo,
    since the plate never contains the person. ``strength`` is the Gaussian sigma in pixels
    for a 1280-wide picture, scaled with the width. Computed once per plate object and size;
    mid grey while there is no plate."""

    transparent = False
    static = True
    DEFAULT_STRENGTH = 30.0

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not (math.isfinite(strength) and 0 < strength <= 500):
            raise BackgroundError(f"blur strength must be between 1 and 500, got {strength:g}; e.g. blur:30")
        self.strength = float(strength)
        self.name = f"blur:{strength:g}"
        self._plate: BGR | None = None
        self._cache = _SizeCache()
        self._grey = _SizeCache()

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        if plate is None:
            buf = self._grey.get(width, height)
            if buf is None:
                _check_size(width, height)
                buf = self._grey.put(width, height, np.full((height, width, 3), MID_GREY, np.uint8))
            return buf
        if plate is not self._plate:
            self._plate = plate
            self._cache.clear()
        buf = self._cache.get(width, height)
        if buf is None:
            _check_size(width, height)
            buf = self._cache.put(width, height, self.blurred(plate, width, height))
        return buf

    def blurred(self, plate: BGR, width: int, height: int) -> BGR:
        """The blurred plate at ``width`` x ``height`` (a new array)."""
        sigma = self.strength * width / 1280.0
        # Blur a small copy (sigma ~4 px there) and scale it up: the same picture as blurring
        # the full size, in a fraction of the time, since nothing fine survives the blur.
        f = min(1.0, 4.0 / sigma) if sigma > 0 else 1.0
        sw, sh = max(8, round(width * f)), max(8, round(height * f))
        small = cv2.resize(plate, (sw, sh), interpolation=cv2.INTER_AREA)
        s = sigma * sw / width
        small = cv2.GaussianBlur(small, (0, 0), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_REFLECT)
        if (sw, sh) == (width, height):
            return np.ascontiguousarray(small)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)

    def close(self) -> None:
        self._plate = None
        self._cache.clear()
        self._grey.clear()


class VideoBackground:
    """A video file that loops forever, paced to the caller's clock.

    The first ``render`` sets ``t0``; afterwards the frame shown is number
    ``floor((t - t0) * fps) mod frame_count``. A frame is decoded only when that number
    advances; frames skipped over (``t`` jumped) are passed with ``grab()`` (demuxed but not
    converted); going back (the loop, or ``t`` moving backwards) rewinds to the start. Each
    decoded frame is fitted into a buffer reused per output size. ``frames_decoded`` counts
    read and grab calls (for tests and benchmarks). If the file stops decoding, the last frame
    stays and ``error`` says why.
    """

    transparent = False
    static = False  # (one buffer per size, refilled with each new picture)

    def __init__(self, path: str | os.PathLike[str], *, fit: str = "cover") -> None:
        _check_fit(fit)
        self.path = str(path)
        self.name = self.path
        self.fit = fit
        self.error: str | None = None
        p = Path(path)
        if not p.exists():
            raise BackgroundError(f"background video '{path}' not found; check the path")
        if p.is_dir():
            raise BackgroundError(f"background '{path}' is a folder; give an image or video file")
        self._cap: Any = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            self._cap.release()
            raise BackgroundError(
                f"cannot open background video '{path}'; it is not a video OpenCV can decode "
                "(try an MP4 with H.264)"
            )
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0.1 <= fps <= 1000 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 else None
        """Frames in the file; None until known (some containers do not say)."""
        self._frame: BGR | None = None
        self._decode_buf: Any = None
        self.frames_decoded = 0
        if not self._read():
            self._cap.release()
            raise BackgroundError(f"cannot decode background video '{path}': it has no readable frame")
        self._pos = 0  # index of the frame in self._frame
        self._next = 1  # index the decoder reads next
        self._t0: float | None = None
        self._cache = _SizeCache()
        self._cache_pos: dict[tuple[int, int], int] = {}

    def _read(self) -> bool:
        self.frames_decoded += 1
        ok, frame = self._cap.read(self._decode_buf)
        if not ok or frame is None:
            return False
        self._decode_buf = frame
        self._frame = frame if frame.ndim == 3 and frame.shape[2] == 3 else to_bgr(frame)
        return True

    def _grab(self) -> bool:
        self.frames_decoded += 1
        return bool(self._cap.grab())

    def _rewind(self) -> bool:
        if not self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            self._cap.release()
            self._cap = cv2.VideoCapture(self.path)
            if not self._cap.isOpened():
                return False
        self._next = 0
        return True

    def frame_index(self, t: float) -> int:
        """The frame number shown at ``t`` (the first render fixes ``t0``)."""
        if self._t0 is None:
            self._t0 = t
        index = max(0, math.floor((t - self._t0) * self.fps + 1e-6))
        return index % self.frame_count if self.frame_count else index

    def _seek(self, index: int) -> None:
        """Decode frame ``index`` into self._frame (reading at most what is needed)."""
        for _ in range(2):  # a second pass after learning the real frame count
            if index < self._next and not self._rewind():
                self.error = f"background video '{self.path}' cannot be reopened; showing its last frame"
                self.close()
                return
            while self._next < index:
                if not self._grab():
                    break
                self._next += 1
            if self._next == index and self._read():
                self._pos = index
                self._next = index + 1
                return
            # the file ended before `index`: now we know its length
            if self._next == 0:
                self.error = f"background video '{self.path}' stopped decoding; showing its last frame"
                self.close()
                return
            self.frame_count = self._next
            index %= self._next
            if index == self._pos:
                return

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        index = self.frame_index(t)
        if index != self._pos and self._cap is not None:
            self._seek(index)
        key = (width, height)
        buf = self._cache.get(width, height)
        if buf is None:
            _check_size(width, height)
            buf = self._cache.put(width, height, np.empty((height, width, 3), np.uint8))
            self._cache_pos.pop(key, None)
        if self._cache_pos.get(key) != self._pos:
            assert self._frame is not None
            fit_into(self._frame, buf, self.fit)
            self._cache_pos[key] = self._pos
        return buf

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _mss_class() -> Any:
    import mss

    return getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 renamed the factory


def _screen_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


class ScreenBackground:
    """A monitor (or a region of it) grabbed with mss, at most SCREEN_MAX_RATE times per second
    of ``t``; the picture in between is the last grab. ``monitor``: 1 = first monitor, 0 = all
    of them; ``region``: (x, y, w, h) relative to the monitor's top-left corner.

    The mss object used for rendering is created lazily by the first ``render`` in the thread
    that renders (mss objects are thread-affine on some platforms); if render is later called
    from another thread, a new one is created there. Opening checks that a display and the
    monitor exist (with a temporary mss object) so that errors show at open time.
    """

    transparent = False
    static = False  # (one buffer per size, refilled with each new picture)

    def __init__(
        self,
        monitor: int = 1,
        region: tuple[int, int, int, int] | None = None,
        *,
        fit: str = "cover",
        max_rate: float = SCREEN_MAX_RATE,
    ) -> None:
        _check_fit(fit)
        self.monitor_index = monitor
        self.region = region
        self.fit = fit
        self.min_interval = 1.0 / max_rate
        self.error: str | None = None
        self.name = f"screen:{monitor}" + (":{},{},{},{}".format(*region) if region else "")
        self.grabs = 0
        try:
            sct = _mss_class()()
        except ImportError:
            raise BackgroundError("screen backgrounds need the mss package; pip install mss") from None
        except Exception as exc:
            raise BackgroundError(
                f"cannot capture the screen: no display ({_screen_error(exc)}); run inside a desktop "
                "session or choose another background"
            ) from None
        try:
            self.area = self._area(list(sct.monitors))
        finally:
            sct.close()
        self._sct: Any = None
        self._sct_thread: int | None = None
        self._last_grab: float | None = None
        self._shot: BGR | None = None
        self._shot_id = 0
        self._cache = _SizeCache()
        self._cache_id: dict[tuple[int, int], int] = {}
        self._closed = False

    def _area(self, monitors: list[dict[str, int]]) -> dict[str, int]:
        n = self.monitor_index
        if not 0 <= n < len(monitors):
            have = len(monitors) - 1
            raise BackgroundError(
                f"no monitor {n}: this display has {have} monitor{'s' if have != 1 else ''}; "
                f"use screen:1{f' to screen:{have}' if have > 1 else ''} (or screen:0 for all)"
            )
        mon = monitors[n]
        if self.region is None:
            return {k: int(mon[k]) for k in ("left", "top", "width", "height")}
        x, y, w, h = self.region
        if w < 8 or h < 8 or x < 0 or y < 0 or x + w > mon["width"] or y + h > mon["height"]:
            raise BackgroundError(
                f"screen region {x},{y},{w},{h} is not inside monitor {n} "
                f"({mon['width']}x{mon['height']}); give x,y,w,h within it, at least 8x8"
            )
        return {"left": mon["left"] + x, "top": mon["top"] + y, "width": w, "height": h}

    def _grab(self) -> None:
        me = threading.get_ident()
        if self._sct is None or self._sct_thread != me:
            if self._sct is not None:
                self._sct_close()
            self._sct = _mss_class()()
            self._sct_thread = me
        shot = self._sct.grab(self.area)
        h, w = int(shot.height), int(shot.width)
        bgra = np.frombuffer(shot.bgra, np.uint8).reshape(h, w, 4)
        if self._shot is None or self._shot.shape[:2] != (h, w):
            self._shot = np.empty((h, w, 3), np.uint8)
        cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR, dst=self._shot)
        self._shot_id += 1
        self.grabs += 1
        self.error = None

    def render(self, width: int, height: int, *, t: float, plate: BGR | None) -> BGR:
        due = self._last_grab is None or t < self._last_grab or t - self._last_grab >= self.min_interval
        if due and not self._closed:
            self._last_grab = t
            try:
                self._grab()
            except Exception as exc:  # a lost display must not stop the engine
                self.error = f"screen capture failed: {_screen_error(exc)}"
                self._last_grab = t + _RETRY_SECONDS - self.min_interval
                self._sct_close()
        key = (width, height)
        buf = self._cache.get(width, height)
        if buf is None:
            _check_size(width, height)
            buf = self._cache.put(width, height, np.zeros((height, width, 3), np.uint8))
            self._cache_id.pop(key, None)
        if self._shot is not None and self._cache_id.get(key) != self._shot_id:
            fit_into(self._shot, buf, self.fit)
            self._cache_id[key] = self._shot_id
        return buf

    def _sct_close(self) -> None:
        sct, self._sct = self._sct, None
        if sct is not None:
            with contextlib.suppress(Exception):  # closing from another thread may fail somewhere
                sct.close()

    def close(self) -> None:
        self._closed = True
        self._sct_close()


# -- parsing and the registry ----------------------------------------------------------------------

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


def _check_fit(fit: str) -> None:
    if fit not in FITS:
        raise BackgroundError(f"unknown fit {fit!r}; use {', '.join(FITS)}")


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
    _check_fit(fit)
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
