"""The background plate: a per-pixel model of the empty scene.

A plate is built from N frames of the empty scene (default about one second). It keeps

* the exact per-pixel sum of the frames (so the mean is exact and a saved plate reloads
  bit-identically),
* the first frame (``reference``: what the tutorial's ``classic`` mode differences against),
* a per-pixel, per-channel noise estimate ``sigma`` at the working resolution, measured from
  the frames themselves (shrunk towards the frame's global noise where few frames were given).

Lifetime: a :class:`Plate` is immutable once built; the engine keeps its own adapted copy of
the mean for slow light changes. :class:`PlateBuilder` is fed from one thread.
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

# A pixel "moved" during capture when it differs from the capture's median frame by more than
# this many noise sigmas (and at least MOTION_MIN_LEVELS grey levels): far beyond sensor noise.
MOTION_SIGMAS = 6.0
MOTION_MIN_LEVELS = 18.0
# Refuse the plate when this fraction of the picture moved in some frame: a person walking
# through covers far more; flickering monitors or leaves cover less.
MOTION_MAX_FRACTION = 0.01
# The noise floor in grey levels: quantisation (1/sqrt(12)) plus compression residue.
SIGMA_FLOOR = 0.6
# A capture's motion reference is the median of its first REFERENCE_FRAMES frames (the whole
# capture for plates up to this size), fewer where REFERENCE_FRAMES float32 working frames
# would take more than REFERENCE_BYTES (full-resolution work on big frames). Later frames
# are compared with it one by one, so memory does not grow with the number of frames.
REFERENCE_FRAMES = 30
REFERENCE_BYTES = 48_000_000


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
        return cls(frame_sum=frame_sum, n_frames=n, reference=reference, sigma=sigma, small_sum=small_sum)

    @classmethod
    def from_frames(cls, frames: Iterable[BGR], *, work_width: int = 480) -> Plate:
        """Build a plate from all ``frames`` (raises PlateError if something moved)."""
        builder = PlateBuilder(None, work_width=work_width)
        for frame in frames:
            builder.add(frame)
        return builder.finish()


class PlateBuilder:
    """Accumulates plate frames as they arrive; :meth:`finish` checks for motion and builds
    the :class:`Plate`.

    ``target`` frames (None = as many as are added). Not thread-safe: feed from one thread.

    Memory does not grow with the number of frames: each frame is added into the exact sums
    (full and working size) and, at the working size, into streaming moments of its
    gain-matched values; only the first :data:`REFERENCE_FRAMES` (fewer where a working frame
    is large, see :data:`REFERENCE_BYTES`) are kept, 8-bit at the working size, until their
    median becomes the capture's reference. Every frame is tested for motion against that
    reference: the first ones when the reference is formed, later ones as they arrive. Peak:
    about one plate plus the reference frames and, for the moment the reference is formed,
    one float32 working frame per reference frame (measured per frame count by
    ``tests/measure_plate.py``).

    Where the work happens: :meth:`add` costs a downscale and a few sums until the reference
    frames are in; the frame after them forms the reference (the costliest call, bounded by
    :data:`REFERENCE_FRAMES`); each later frame costs one motion test. :meth:`finish` forms
    the reference if no frame after it came (plates of up to :data:`REFERENCE_FRAMES` frames),
    else it only turns the moments into the noise estimate.
    """

    def __init__(self, target: int | None, *, work_width: int = 480) -> None:
        self.target = target
        self.work_width = work_width
        self._size: tuple[int, int] | None = None
        self._count = 0
        self._sum: npt.NDArray[np.uint32] | None = None
        self._reference: BGR | None = None
        self._downscale: Downscaler | None = None
        self._small_sum: npt.NDArray[np.uint32] | None = None
        self._first: list[BGR] = []  # working-size frames until the motion reference exists
        self._keep_first = REFERENCE_FRAMES
        self._motion: _MotionReference | None = None
        self._moments: _Moments | None = None
        self._worst = (0.0, 0)  # (fraction of the picture that moved, frame index)

    @property
    def count(self) -> int:
        return self._count

    @property
    def done(self) -> bool:
        return self.target is not None and self.count >= self.target

    @property
    def progress(self) -> tuple[int, int]:
        return self.count, self.target if self.target is not None else self.count

    def add(self, frame: BGR) -> None:
        """Add one frame of the empty scene (same size as the first)."""
        check_bgr(frame, size=self._size, what="plate frame")
        if self._sum is None:
            h, w = frame.shape[:2]
            self._size = (w, h)
            self._sum = np.zeros(frame.shape, np.uint32)
            self._reference = frame.copy()
            work = work_size(w, h, self.work_width)
            self._downscale = Downscaler(work)
            self._small_sum = np.zeros((work[1], work[0], 3), np.uint32)
            per_frame = work[0] * work[1] * 3 * np.dtype(np.float32).itemsize
            self._keep_first = int(np.clip(REFERENCE_BYTES // per_frame, 5, REFERENCE_FRAMES))
        assert self._downscale is not None and self._small_sum is not None
        self._sum += frame
        small = self._downscale(frame)  # (the downscaler's buffer: copied where it is kept)
        self._small_sum += small
        index = self._count
        self._count += 1
        if self._motion is None:
            if len(self._first) < self._keep_first:
                self._first.append(small.copy())
                return
            self._form_reference()
        self._test_and_accumulate(small, index)

    def finish(self) -> Plate:
        """Build the plate; PlateError if there were no frames or something moved."""
        if self._sum is None or self._reference is None or self._small_sum is None or not self._count:
            raise PlateError("no frames for the background plate; is the camera delivering pictures?")
        n = self._count
        if n < 3:
            first = self._first[0]
            sigma = np.full(first.shape, max(estimate_noise(first), SIGMA_FLOOR), np.float32)
        else:
            if self._motion is None:
                self._form_reference()
            assert self._motion is not None and self._moments is not None
            moved, worst = self._worst
            if moved > MOTION_MAX_FRACTION:
                raise PlateError(
                    f"something moved during background capture ({moved:.0%} of the picture "
                    f"changed in frame {worst + 1} of {n}): step out of frame, keep the camera still "
                    "and recapture"
                )
            var = self._moments.variance()
            # Shrink the per-pixel variance (n-1 degrees of freedom) towards the global noise,
            # weighted as if the global estimate were worth 4 frames: few frames are noisy.
            prior = 4.0
            noise = self._motion.global_noise
            var = (((n - 1) * var + prior * noise**2) / (n - 1 + prior)).astype(np.float32)
            sigma = np.sqrt(cv2.blur(var, (3, 3)))
        sigma = np.maximum(sigma, SIGMA_FLOOR).astype(np.float16).astype(np.float32)
        return Plate(
            frame_sum=self._sum, n_frames=n, reference=self._reference, sigma=sigma, small_sum=self._small_sum
        )

    def _form_reference(self) -> None:
        """The motion reference from the kept first frames; test and accumulate them."""
        first, self._first = self._first, []
        self._motion = _MotionReference(first)
        self._moments = _Moments(self._motion.median)
        for index, (small, gains) in enumerate(zip(first, self._motion.first_gains, strict=True)):
            self._test_and_accumulate(small, index, gains)

    def _test_and_accumulate(self, small: BGR, index: int, gains: F32 | None = None) -> None:
        """Every frame once, in order, at the working size. Per-pixel statistics over the
        whole capture (a model of pixels that move by nature, a screen or leaves) belong here,
        as streaming sums or counts, so that memory stays independent of the frame count."""
        assert self._motion is not None and self._moments is not None
        normalised = self._motion.normalise(small, gains)
        moved = self._motion.moved_fraction(normalised)
        if moved > self._worst[0]:
            self._worst = (moved, index)
        self._moments.add(normalised)


class _MotionReference:
    """What a capture's frames are tested against, from its first frames (see PlateBuilder).

    The median frame; each frame's per-channel gain against it (auto-exposure may still
    settle during capture: a global gain is not motion); the noise (a robust spread over the
    first frames, per pixel and for the whole picture) that sets how far a gain-matched value
    may fall outside the median frame's 3x3 range before it counts as moved.
    """

    def __init__(self, frames: list[BGR]) -> None:
        self.global_noise = max(estimate_noise(frames[0]), SIGMA_FLOOR)
        self.median = _median_in_place(np.stack(frames).astype(np.float32))
        # the pixels the gains are measured on, per channel (dark ones say little)
        valid = self.median > 20.0
        self._gain_pixels = [
            (np.flatnonzero(valid[..., c]), self.median[..., c][valid[..., c]]) for c in range(3)
        ]
        self.first_gains = [self.gains(frame) for frame in frames]
        """The gains of ``frames``, in order (the costly part of :meth:`normalise`)."""
        devs = np.empty((len(frames), *self.median.shape), np.float32)
        for i, frame in enumerate(frames):
            np.abs(self.normalise(frame, self.first_gains[i]) - self.median, out=devs[i])
        # (the median over time sorts devs in place: the values stay the same set, so the
        # median of all of them is still right afterwards)
        pixel_sigma = 1.4826 * _median_in_place(devs)
        mad_sigma = 1.4826 * float(_median_in_place(devs.reshape(-1))) + 1e-3
        del devs
        limit = max(MOTION_SIGMAS * max(mad_sigma, self.global_noise), MOTION_MIN_LEVELS)
        # A camera on a desk or monitor trembles by a fraction of a pixel: that shifts
        # edges, it is not something moving. Motion is a value outside the range of the
        # median frame's 3x3 neighbourhood (the same tolerance the mask engine uses).
        rect = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        # Sensor noise grows with the signal (shot noise): in low light a bright wall is
        # several times noisier than the picture's median, so each pixel's limit also
        # scales with its own robust spread over time (a person passing through is an
        # outlier in few frames and leaves that spread alone).
        pixel_limit = np.maximum(limit, MOTION_SIGMAS * pixel_sigma).astype(np.float32)
        self._above: F32 = cv2.dilate(self.median, rect) + pixel_limit
        self._below: F32 = cv2.erode(self.median, rect) - pixel_limit

    def gains(self, frame: BGR) -> F32:
        """The frame's per-channel gain against the median frame (3 values)."""
        gains = np.ones(3, np.float32)
        for c, (where, ref) in enumerate(self._gain_pixels):
            if where.size < 100:
                continue
            gains[c] = float(_median_in_place(np.divide(frame[..., c].ravel()[where], ref, dtype=np.float32)))
        return np.clip(gains, 0.2, 5.0)

    def normalise(self, frame: BGR, gains: F32 | None = None) -> F32:
        """The frame divided by its gains (float32; measured here unless given)."""
        return frame.astype(np.float32) / (self.gains(frame) if gains is None else gains)

    def moved_fraction(self, normalised: F32) -> float:
        """The fraction of the picture outside the median's range by more than the noise."""
        moved = (normalised > self._above) | (normalised < self._below)
        return float(moved.any(axis=2).mean())


class _Moments:
    """Streaming per-pixel mean and variance of gain-matched frames, as sums of their
    differences from a fixed shift near the mean (the median frame): float64 sums of small
    numbers, so no cancellation, whatever the number of frames."""

    def __init__(self, shift: F32) -> None:
        self._shift = shift
        self._n = 0
        self._sum = np.zeros(shift.shape, np.float64)
        self._sum_sq = np.zeros(shift.shape, np.float64)

    def add(self, values: F32) -> None:
        d = (values - self._shift).astype(np.float64)
        self._sum += d
        d *= d
        self._sum_sq += d
        self._n += 1

    def variance(self) -> npt.NDArray[np.float64]:
        """The per-pixel sample variance (n - 1 degrees of freedom; needs 2 or more)."""
        n = self._n
        return np.maximum(self._sum_sq - self._sum * self._sum / n, 0.0) / (n - 1)


def _median_in_place(values: F32) -> F32:
    """``np.median(values, axis=0)``, the same float32 values, by sorting ``values`` in
    place along axis 0 (numpy's vectorised sort is several times faster than the partition
    np.median uses with two middle elements; ``values`` is scratch afterwards)."""
    n = values.shape[0]
    if values.ndim == 1:
        k = n // 2
        values.partition(k)
        middle = values[k]
        if n % 2:
            return middle  # type: ignore[no-any-return]
        return (values[:k].max() + middle) / np.float32(2.0)  # type: ignore[no-any-return]
    values.sort(axis=0)
    if n % 2:
        return values[n // 2].copy()
    return (values[n // 2 - 1] + values[n // 2]) / np.float32(2.0)  # type: ignore[no-any-return]
