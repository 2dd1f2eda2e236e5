"""The background plate: a per-pixel model of the empty scene.

A plate is built from N frames of the empty scene (default about one second). It keeps

* the exact per-pixel sum of the frames (so the mean is exact and a saved plate reloads
  bit-identically),
* the first frame (``reference``: what the tutorial's ``classic`` mode differences against),
* a per-pixel, per-channel noise estimate ``sigma`` at the working resolution, measured from
  the frames themselves (shrunk towards the frame's global noise where few frames were given),
  honest about pixels that change by nature (a screen playing video, leaves, a flickering
  light: their spread over the capture, however wide) and never below what the camera's
  JPEG compression explains (:mod:`bgcore.jpeg_noise`),
* the map of those ``dynamic`` pixels, and the regions they form (:attr:`Plate.dynamic_regions`:
  where the picture will be less sensitive).

Lifetime: a :class:`Plate` is immutable once built; the engine keeps its own adapted copy of
the mean for slow light changes. Plates are built from frames in :mod:`bgcore.plate_capture`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from . import kernels
from .errors import PlateError
from .frames import BGR, check_bgr

F32 = npt.NDArray[np.float32]

PLATE_FORMAT_VERSION = 1

# The noise floor in grey levels: quantisation (1/sqrt(12)) plus compression residue.
SIGMA_FLOOR = 0.6


def work_size(width: int, height: int, work_width: int) -> tuple[int, int]:
    """The (w, h) at which masks are computed: the frame halved (exact 2x2 averages, aspect
    kept, never upscaled) until it is at most ``work_width`` wide; 0 = full resolution.

    Halvings tie the mask's cost to the camera (1920x1080 -> 480x270, 1280x720 and
    640x360 -> 320x180 for 480) and avoid a non-integer area resize, OpenCV's slow path.
    """
    if work_width <= 0 or work_width >= width:
        return width, height
    w, h = width, height
    while w > work_width and h // 2 >= 8:
        w, h = w // 2, h // 2
    return w, h


class Downscaler:
    """Box-filter downscaling to a fixed size, allocation-free after the first call.

    Halves with bilinear interpolation while the picture is at least twice the target (an
    exact 2x2 average, and much cheaper than INTER_AREA at large factors), two halvings at
    a time in one compiled pass where :mod:`bgcore.kernels` runs (the same bits), then
    finishes with INTER_AREA. The plate and the live frames go through the same filter.
    """

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self._buffers: dict[tuple[int, int, int, str], npt.NDArray[np.generic]] = {}

    def _buf(self, shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> npt.NDArray[np.generic]:
        key = (shape[0], shape[1], shape[2] if len(shape) > 2 else 1, dtype.str)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape, dtype)
        return buf

    def __call__(self, image: npt.NDArray[Any]) -> npt.NDArray[Any]:
        tw, th = self.size
        src = image
        while src.shape[1] >= 2 * tw and src.shape[0] >= 2 * th:
            sh, sw = src.shape[:2]
            if sw >= 4 * tw and sh >= 4 * th and sw % 4 == 0 and sh % 4 == 0 and src.ndim == 3:
                # two halvings in one compiled pass (the same bits), where it runs
                quarter = (sh // 4, sw // 4, *src.shape[2:])
                dst = self._buf(quarter, src.dtype)
                scratch = self._buf((2, 6 * quarter[1]), np.dtype(np.uint16))
                if kernels.quarter(src, dst, scratch):  # type: ignore[arg-type]
                    src = dst
                    continue
            half = (src.shape[0] // 2, src.shape[1] // 2, *src.shape[2:])
            dst = self._buf(half, src.dtype)
            src = cv2.resize(src, (half[1], half[0]), dst=dst, interpolation=cv2.INTER_LINEAR)
        if (src.shape[1], src.shape[0]) != (tw, th):
            dst = self._buf((th, tw, *src.shape[2:]), src.dtype)
            src = cv2.resize(src, (tw, th), dst=dst, interpolation=cv2.INTER_AREA)
        return src


def estimate_noise(image: BGR) -> float:
    """Global noise sigma (grey levels) of one image (Immerkaer 1996, fast noise variance).

    Used when a plate has too few frames to measure noise over time.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    resp = cv2.filter2D(gray, cv2.CV_32F, kernel)[1:-1, 1:-1]
    h, w = resp.shape
    return float(np.sqrt(np.pi / 2.0) * np.abs(resp).sum() / (6.0 * w * h))


@dataclass(frozen=True)
class Region:
    """A part of the picture, in the plate's full-size pixels (data: each layer words it)."""

    box: tuple[int, int, int, int]
    """(x, y, width, height)."""
    share: float
    """Of the picture's area, 0-1."""
    place: str
    """Where its centre lies, by thirds of the picture: ``top left``, ``top``, ``top right``,
    ``left``, ``centre``, ``right``, ``bottom left``, ``bottom``, ``bottom right``."""


def place_of(box: tuple[int, int, int, int], size: tuple[int, int]) -> str:
    """The place (see :attr:`Region.place`) of ``box`` = (x, y, w, h) in a picture of ``size``."""
    x, y, w, h = box
    col = min(2, int(3 * (x + w / 2) / max(1, size[0])))
    row = min(2, int(3 * (y + h / 2) / max(1, size[1])))
    vertical, horizontal = ("top", "", "bottom")[row], ("left", "", "right")[col]
    return " ".join(p for p in (vertical, horizontal) if p) or "centre"


def regions_of(mask: npt.NDArray[np.uint8], size: tuple[int, int], min_share: float) -> tuple[Region, ...]:
    """The connected regions of ``mask`` (non-zero; at any scale of a picture of ``size``)
    covering at least ``min_share`` of it, largest first, boxes in ``size``'s pixels."""
    h, w = mask.shape[:2]
    count, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).view(np.uint8), connectivity=8)
    sx, sy = size[0] / w, size[1] / h
    found = []
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        share = area / float(w * h)
        if share < min_share:
            continue
        box = (round(x * sx), round(y * sy), max(1, round(bw * sx)), max(1, round(bh * sy)))
        found.append(Region(box=box, share=share, place=place_of(box, size)))
    return tuple(sorted(found, key=lambda r: -r.share))


DYNAMIC_REGION_MIN_SHARE = 0.002
"""Dynamic regions smaller than this share of the picture are not reported (a twinkle)."""


@dataclass(frozen=True, eq=False)
class Plate:
    """An immutable background plate. See module docstring."""

    frame_sum: npt.NDArray[np.uint32]
    """HxWx3 exact sum of the plate frames at full resolution."""
    n_frames: int
    reference: BGR
    """The first plate frame (the tutorial's single reference frame)."""
    sigma: F32
    """hxwx3 per-pixel noise sigma (grey levels) at the working size ``sigma_size``."""
    small_sum: npt.NDArray[np.uint32] | None = None
    """hxwx3 exact sum of the plate frames as the engine sees them: each frame downscaled to
    ``sigma_size`` in 8 bits (the live frames' path, roundings included). None in plates
    saved before it was kept."""
    dynamic: npt.NDArray[np.uint8] | None = None
    """hxw at ``sigma_size``: 255 where the picture changed by nature during the capture (a
    screen, leaves, a flickering light), beyond what the camera's noise explains; its
    ``sigma`` there is the spread it showed. None in plates saved before it was kept."""
    jpeg_quality: int | None = None
    """The JPEG quality the camera's frames showed (its noise floor is in ``sigma``), or None."""
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames this plate was captured from."""
        return int(self.frame_sum.shape[1]), int(self.frame_sum.shape[0])

    @property
    def sigma_size(self) -> tuple[int, int]:
        return int(self.sigma.shape[1]), int(self.sigma.shape[0])

    @property
    def mean(self) -> F32:
        """HxWx3 float32 mean at full resolution (cached, read-only)."""
        cached = self._cache.get("mean")
        if cached is None:
            m = (self.frame_sum.astype(np.float32) / np.float32(self.n_frames)).astype(np.float32)
            m.flags.writeable = False
            self._cache["mean"] = cached = m
        return cached  # type: ignore[return-value]

    @property
    def image(self) -> BGR:
        """The mean as a uint8 BGR picture (for the blur background and previews)."""
        cached = self._cache.get("image")
        if cached is None:
            img = np.clip(np.rint(self.mean), 0, 255).astype(np.uint8)
            img.flags.writeable = False
            self._cache["image"] = cached = img
        return cached  # type: ignore[return-value]

    @property
    def dynamic_regions(self) -> tuple[Region, ...]:
        """The regions of the dynamic map (largest first; none below
        DYNAMIC_REGION_MIN_SHARE): where the mask will be less sensitive."""
        cached = self._cache.get("dynamic_regions")
        if cached is None:
            found = () if self.dynamic is None else regions_of(
                self.dynamic, self.size, DYNAMIC_REGION_MIN_SHARE
            )
            self._cache["dynamic_regions"] = cached = found
        return cached  # type: ignore[return-value]

    def dynamic_at(self, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """The dynamic map (0/255) at ``size`` (all 0 for plates without one)."""
        if self.dynamic is None:
            return np.zeros((size[1], size[0]), np.uint8)
        if size == self.sigma_size:
            return self.dynamic.copy()
        return cv2.resize(self.dynamic, size, interpolation=cv2.INTER_NEAREST)

    def mean_at(self, size: tuple[int, int]) -> F32:
        """The mean at ``size`` = (w, h). At the working size: the mean of the frames
        downscaled like live frames are (8-bit roundings and all: averaging first and
        rounding never would differ by up to half a level, a bias the background would
        otherwise adapt away frame by frame); else the full mean resized (area average)."""
        if self.small_sum is not None and size == self.sigma_size:
            return (self.small_sum.astype(np.float32) / np.float32(self.n_frames)).astype(np.float32)
        return np.array(Downscaler(size)(self.mean), np.float32, copy=True)

    def sigma_at(self, size: tuple[int, int]) -> F32:
        """Noise sigma at ``size``. Resampling averages k x k pixels, which divides independent
        noise by k; camera noise is partly correlated, so we divide by sqrt(k) as a middle."""
        if size == self.sigma_size:
            return self.sigma.copy()
        k = self.sigma_size[0] / size[0]
        resized = cv2.resize(self.sigma, size, interpolation=cv2.INTER_AREA)
        return np.maximum(resized / np.float32(np.sqrt(k)), SIGMA_FLOOR).astype(np.float32)

    def absorb(self, frame: BGR, where: npt.NDArray[np.uint8]) -> Plate:
        """A new plate that shows ``frame`` (a full-size camera frame) where ``where`` (0/255,
        at any size) is set, as if all its frames had shown it there; the rest, the noise and
        the dynamic map stay (see :mod:`bgcore.plate_health`)."""
        check_bgr(frame, size=self.size, what="frame to absorb")
        full = cv2.resize(where, self.size, interpolation=cv2.INTER_NEAREST) > 0
        n = np.uint32(self.n_frames)
        frame_sum = self.frame_sum.copy()
        frame_sum[full] = frame[full].astype(np.uint32) * n
        reference = self.reference.copy()
        reference[full] = frame[full]
        small_sum = None
        if self.small_sum is not None:
            small = Downscaler(self.sigma_size)(frame)
            inside = cv2.resize(where, self.sigma_size, interpolation=cv2.INTER_NEAREST) > 0
            small_sum = self.small_sum.copy()
            small_sum[inside] = small[inside].astype(np.uint32) * n
        return Plate(
            frame_sum=frame_sum, n_frames=self.n_frames, reference=reference, sigma=self.sigma,
            small_sum=small_sum, dynamic=self.dynamic, jpeg_quality=self.jpeg_quality,
        )

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the plate to ``path`` (.npz) atomically: an old file is replaced only once the
        new one is complete, so a crash never leaves a broken plate."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".plate-", suffix=".npz", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                arrays: dict[str, Any] = {
                    "version": np.int32(PLATE_FORMAT_VERSION),
                    "frame_sum": self.frame_sum,
                    "n_frames": np.int32(self.n_frames),
                    "reference": self.reference,
                    "sigma": self.sigma.astype(np.float16),
                }
                if self.small_sum is not None:  # (plates from before it was kept lack it)
                    arrays["small_sum"] = self.small_sum
                if self.dynamic is not None:
                    arrays["dynamic"] = self.dynamic
                if self.jpeg_quality is not None:
                    arrays["jpeg_quality"] = np.int32(self.jpeg_quality)
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, target)
        except OSError as exc:
            raise PlateError(f"cannot save the background plate to {target}: {exc.strerror or exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plate:
        """Read a plate written by :meth:`save`; PlateError with a clear message otherwise."""
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as data:
                version = int(data["version"])
                if version != PLATE_FORMAT_VERSION:
                    raise PlateError(f"{p} is a plate of format {version}; recapture the background")
                frame_sum = data["frame_sum"].astype(np.uint32)
                n = int(data["n_frames"])
                reference = np.ascontiguousarray(data["reference"], dtype=np.uint8)
                sigma = data["sigma"].astype(np.float32)
                small_sum = data["small_sum"].astype(np.uint32) if "small_sum" in data.files else None
                dynamic = data["dynamic"].astype(np.uint8) if "dynamic" in data.files else None
                jpeg_quality = int(data["jpeg_quality"]) if "jpeg_quality" in data.files else None
        except FileNotFoundError:
            raise PlateError(f"no background plate at {p}; capture one first") from None
        except PlateError:
            raise
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise PlateError(
                f"{p} is not a readable background plate ({exc}); recapture the background"
            ) from None
        if frame_sum.ndim != 3 or frame_sum.shape[2] != 3 or n < 1 or reference.shape != frame_sum.shape:
            raise PlateError(f"{p} is damaged (inconsistent shapes); recapture the background")
        if small_sum is not None and small_sum.shape != sigma.shape:
            raise PlateError(f"{p} is damaged (inconsistent shapes); recapture the background")
        if dynamic is not None and dynamic.shape != sigma.shape[:2]:
            raise PlateError(f"{p} is damaged (inconsistent shapes); recapture the background")
        return cls(
            frame_sum=frame_sum, n_frames=n, reference=reference, sigma=sigma, small_sum=small_sum,
            dynamic=dynamic, jpeg_quality=jpeg_quality,
        )

    @classmethod
    def from_frames(cls, frames: Iterable[BGR], *, work_width: int = 480) -> Plate:
        """Build a plate from all ``frames`` (raises PlateError if something moved through
        or the camera moved; parts that change by nature are modelled, see the module)."""
        from .plate_capture import PlateBuilder  # (it builds Plates: imported when used)

        builder = PlateBuilder(None, work_width=work_width)
        for frame in frames:
            builder.add(frame)
        return builder.finish()
