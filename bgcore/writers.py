"""Where processed frames go: a video file or an image sequence (and mask folders).

Outputs are checked when they are opened, before any frame is processed, so a typo in a
path costs the user nothing: :func:`open_writer` raises :class:`OutputError` with a one-line
message when the folder cannot be created or the container cannot be written.

Nothing half-written is left behind: a video is written to a hidden temporary file beside the
final name and renamed onto it by ``close()``; ``abort()`` (an error during processing) deletes
it, and an image sequence's ``abort()`` deletes the images this writer created.

Videos are H.264 (``.mp4``, ``.mov``, ``.mkv``; what browsers and players read) through PyAV's
FFmpeg where PyAV is installed and the frame size is even, else MPEG-4 Part 2 through OpenCV
(OpenCV's pip wheels carry no H.264 encoder); ``.avi`` is Motion JPEG. ``codec`` says which.

Threading and lifetime: a writer is used by one thread; ``close()`` and ``abort()`` are
idempotent, and after either the other does nothing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from .errors import OutputError

BGRA = npt.NDArray[np.uint8]

# Container -> the FourCC OpenCV's bundled FFmpeg writes when H.264 through PyAV is not possible.
OPENCV_CODECS: dict[str, str] = {
    ".mp4": "mp4v",
    ".m4v": "mp4v",
    ".mov": "mp4v",
    ".avi": "MJPG",
    ".mkv": "XVID",
}
# Containers that get H.264 when PyAV is there (Motion JPEG AVI stays what it is).
H264_CONTAINERS = (".mp4", ".m4v", ".mov", ".mkv")
CODEC_NAMES = {"mp4v": "MPEG-4 Part 2", "MJPG": "Motion JPEG", "XVID": "MPEG-4 Part 2 (XviD)"}
# Constant quality for H.264: visually lossless for camera footage at modest sizes.
H264_OPTIONS = {"crf": "18", "preset": "fast"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Formats that keep the alpha channel of a BGRA frame.
ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")


class FrameWriter(Protocol):
    """Receives HxWx4 BGRA (or HxW grey) frames in order. ``path`` is what the user asked for;
    ``keeps_alpha`` says whether the alpha channel survives; ``codec`` names the format."""

    path: str
    keeps_alpha: bool
    codec: str

    def write(self, frame: BGRA) -> None: ...

    def close(self) -> None:
        """Finish the output (a video only becomes playable here)."""
        ...

    def abort(self) -> None:
        """Processing failed: remove what this writer wrote."""
        ...


def is_pattern(spec: str) -> bool:
    """True for a printf-style image-sequence pattern such as ``out/%05d.png``."""
    try:
        return (spec % 0) != spec
    except (TypeError, ValueError):
        return False


def _ensure_folder(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder {str(folder)!r} for {what} ({exc.strerror}); "
            "choose a writable location"
        ) from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"the folder {str(folder)!r} for {what} is not writable; choose another location")


class ImageSequenceWriter:
    """Writes frame k to ``pattern % k`` (k from 0). PNG/TIFF/WebP keep alpha; others get BGR."""

    def __init__(self, pattern: str) -> None:
        self.path = pattern
        suffix = Path(pattern).suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            raise OutputError(
                f"cannot write images of type {suffix or '(none)'!r} in {pattern!r}; "
                f"use one of {', '.join(IMAGE_SUFFIXES)}"
            )
        _ensure_folder(Path(pattern % 0).parent, "the output images")
        self.keeps_alpha = suffix in ALPHA_SUFFIXES
        self.codec = f"{suffix[1:].upper()} images"
        self._index = 0
        self._created: list[str] = []  # files that did not exist before: abort() removes them
        self._done = False

    def write(self, frame: BGRA) -> None:
        name = self.path % self._index
        image = frame if self.keeps_alpha or frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        existed = os.path.lexists(name)
        try:
            ok = cv2.imwrite(name, image)
        except cv2.error:
            ok = False
        if not ok:
            raise OutputError(f"cannot write {name!r}; check the disk is not full and the folder is writable")
        if not existed:
            self._created.append(name)
        self._index += 1

    def close(self) -> None:
        self._done = True

    def abort(self) -> None:
        if not self._done:
            self._done = True
            for name in self._created:
                with contextlib.suppress(OSError):
                    os.remove(name)


class _H264Encoder:
    """H.264 in an MP4/MOV/MKV container through PyAV (libx264, yuv420p: even sizes only)."""

    def __init__(self, av: Any, path: str, fps: float, size: tuple[int, int]) -> None:
        from fractions import Fraction

        self._container = av.open(path, mode="w")
        try:
            stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.options = dict(H264_OPTIONS)
        except BaseException:
            self._container.close()
            raise
        self._stream = stream
        self._frame_type = av.VideoFrame

    def write(self, bgr: npt.NDArray[np.uint8]) -> None:
        frame = self._frame_type.from_ndarray(bgr, format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def release(self) -> None:
        try:
            for packet in self._stream.encode():  # flush the encoder's delayed frames
                self._container.mux(packet)
        finally:
            self._container.close()


def _pyav() -> Any:
    """PyAV if it is installed with an H.264 encoder, else None (OpenCV writes the video)."""
    try:
        import av
    except ImportError:
        return None
    return av if "libx264" in getattr(av, "codecs_available", ()) else None


class VideoWriter:
    """A video file. Opened on the first frame (the size comes from it); alpha is dropped.

    Frames go to a hidden temporary file in the same folder, renamed onto ``path`` by
    :meth:`close`, so an error or an interruption never leaves a broken or empty video."""

    keeps_alpha = False

    def __init__(self, path: str, fps: float) -> None:
        self.path = path
        suffix = Path(path).suffix.lower()
        if suffix not in OPENCV_CODECS:
            raise OutputError(
                f"cannot write video of type {suffix or '(none)'!r} ({path!r}); use "
                f"{', '.join(OPENCV_CODECS)} or an image sequence such as out/%05d.png"
            )
        folder = Path(path).parent
        _ensure_folder(folder, "the output video")
        self._temp = str(folder / f".{Path(path).stem}.partial-{os.getpid()}{suffix}")
        try:
            with open(self._temp, "wb"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write {path!r} ({exc.strerror}); choose a writable location") from None
        self._suffix = suffix
        self._av = _pyav() if suffix in H264_CONTAINERS else None
        self.codec = "H.264" if self._av is not None else CODEC_NAMES[OPENCV_CODECS[suffix]]
        self._fps = fps if fps and 0 < fps <= 240 else 30.0
        self._encoder: Any = None
        self._bgr: npt.NDArray[np.uint8] | None = None
        self._done = False

    def _open(self, w: int, h: int) -> None:
        if self._av is not None and w % 2 == 0 and h % 2 == 0:
            try:
                self._encoder = _H264Encoder(self._av, self._temp, self._fps, (w, h))
                return
            except Exception:  # an FFmpeg without a working libx264: OpenCV below
                pass
        self.codec = CODEC_NAMES[OPENCV_CODECS[self._suffix]]
        writer = cv2.VideoWriter(
            self._temp, cv2.VideoWriter.fourcc(*OPENCV_CODECS[self._suffix]), self._fps, (w, h)
        )
        if not writer.isOpened():
            raise OutputError(f"cannot open {self.path!r} for writing video; try an .avi or .mp4 name")
        self._encoder = writer

    def write(self, frame: BGRA) -> None:
        h, w = frame.shape[:2]
        if self._encoder is None:
            self._open(w, h)
            self._bgr = np.empty((h, w, 3), np.uint8)
        assert self._bgr is not None
        if frame.ndim == 2:
            cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR, dst=self._bgr)
        else:
            cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR, dst=self._bgr)
        self._encoder.write(self._bgr)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._encoder is not None:
                self._encoder.release()
        except BaseException:
            self._remove_temp()
            raise
        if self._encoder is None:  # no frame came: no video to keep
            self._remove_temp()
            return
        try:
            os.replace(self._temp, self.path)
        except OSError as exc:
            self._remove_temp()
            raise OutputError(
                f"cannot write {self.path!r} ({exc.strerror}); choose a writable location"
            ) from None

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            if self._encoder is not None:
                self._encoder.release()
        self._remove_temp()

    def _remove_temp(self) -> None:
        with contextlib.suppress(OSError):
            os.remove(self._temp)


def open_writer(spec: str, *, fps: float = 30.0) -> FrameWriter:
    """An image-sequence writer for a ``%d`` pattern or a single image name, else a video writer."""
    if is_pattern(spec):
        return ImageSequenceWriter(spec)
    if Path(spec).suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(
            f"{spec!r} names one image but the output has many frames; "
            f"use a pattern such as {Path(spec).with_suffix('')!s}_%05d{Path(spec).suffix}"
        )
    return VideoWriter(spec, fps)


def output_names(spec: str, count: int) -> list[str]:
    """The absolute file names ``spec`` writes for ``count`` frames (one name for a video)."""
    if is_pattern(spec):
        return [os.path.abspath(spec % k) for k in range(count)]
    return [os.path.abspath(spec)]


def mask_pattern(folder: str) -> str:
    """The file pattern of a mask folder: ``DIR/00000.png``, ``DIR/00001.png``, ..."""
    return str(Path(folder) / "%05d.png")


class MaskFolderWriter:
    """``DIR/00000.png``, ``DIR/00001.png``, ...: one 8-bit mask per input frame."""

    def __init__(self, folder: str) -> None:
        self.path = folder
        _ensure_folder(Path(folder), "the masks")
        self._writer = ImageSequenceWriter(mask_pattern(folder))

    def write(self, mask: npt.NDArray[np.uint8]) -> None:
        self._writer.write(mask)

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.abort()
