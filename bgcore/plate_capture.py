"""Capturing a background plate: camera frames in, a :class:`~bgcore.plate.Plate` out.

:class:`PlateBuilder` keeps the statistics of one capture as the frames arrive (its memory
does not grow with the number of frames) and tests every frame for motion.
:class:`PlateCapture` feeds a PlateBuilder either in the caller's thread (``threaded=False``:
the call that adds the last frame builds the plate, as a script or a test expects) or on a
thread of its own (``threaded=True``), so that a live loop that must keep showing frames (the
OBS source) never waits for the plate: :meth:`PlateCapture.add` then only copies the frame
into a small queue and returns, and the thread tests and accumulates the frames and builds
the plate.

Threading contract of :class:`PlateCapture`: ``add``, ``result``, ``cancel`` and ``close``
are called from one thread (the one that runs the engine); the capture's own thread only
reads the queue and writes the result. Lifetime: ``cancel`` returns at once (the thread stops
after the frame it is on); ``close`` also joins the thread; both are idempotent.
A :class:`PlateBuilder` is fed from one thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading

import cv2
import numpy as np
import numpy.typing as npt

from .errors import PlateError
from .frames import BGR, check_bgr
from .plate import SIGMA_FLOOR, Downscaler, Plate, estimate_noise, work_size

F32 = npt.NDArray[np.float32]

# A pixel "moved" during capture when it differs from the capture's median frame by more than
# this many noise sigmas (and at least MOTION_MIN_LEVELS grey levels): far beyond sensor noise.
MOTION_SIGMAS = 6.0
MOTION_MIN_LEVELS = 18.0
# Refuse the plate when this fraction of the picture moved in some frame: a person walking
# through covers far more; flickering monitors or leaves cover less.
MOTION_MAX_FRACTION = 0.01
# A capture's motion reference is the median of its first REFERENCE_FRAMES frames (the whole
# capture for plates up to this size), fewer where REFERENCE_FRAMES float32 working frames
# would take more than REFERENCE_BYTES (full-resolution work on big frames). Later frames
# are compared with it one by one, so memory does not grow with the number of frames.
REFERENCE_FRAMES = 30
REFERENCE_BYTES = 48_000_000
QUEUE_FRAMES = 3
"""Frames waiting for the capture's thread at most; a frame that finds the queue full is not
taken (the capture then takes a few camera frames longer), so memory stays bounded even when
the thread falls behind the camera."""


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


class PlateCapture:
    """Collects ``target`` frames for a plate (see the module docstring)."""

    def __init__(self, target: int, *, work_width: int = 480, threaded: bool = False) -> None:
        if target < 1:
            raise ValueError(f"a plate needs at least one frame, got {target}")
        self.target = target
        self.threaded = threaded
        self._builder = PlateBuilder(target, work_width=work_width)
        self._size: tuple[int, int] | None = None
        self._taken = 0
        self._plate: Plate | None = None
        self._error: str | None = None
        self._finished = threading.Event()
        self._cancelled = False
        self._queue: queue.Queue[BGR | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=QUEUE_FRAMES)
            self._thread = threading.Thread(target=self._run, name="bgreplace plate", daemon=True)
            self._thread.start()

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the frames taken (None before the first)."""
        return self._size

    @property
    def progress(self) -> tuple[int, int]:
        """(frames taken, frames wanted)."""
        return self._taken, self.target

    @property
    def wants_frames(self) -> bool:
        return self._taken < self.target and not self._cancelled

    @property
    def computing(self) -> bool:
        """Every frame is taken and the plate is not ready yet (threaded captures only)."""
        return not self.wants_frames and not self._finished.is_set() and not self._cancelled

    def add(self, frame: BGR) -> bool:
        """Offer one frame of the empty scene (same size as the first); True if taken."""
        if not self.wants_frames:
            return False
        check_bgr(frame, size=self._size, what="plate frame")
        if self._queue is None:
            self._builder.add(frame)
            if self._builder.done:
                self._finish()
        else:
            try:
                self._queue.put_nowait(frame.copy())
            except queue.Full:
                return False
        self._size = (frame.shape[1], frame.shape[0])
        self._taken += 1
        return True

    def result(self) -> Plate | str | None:
        """The plate, or why it was refused (one line), once finished; None until then."""
        if not self._finished.is_set():
            return None
        return self._plate if self._plate is not None else self._error

    def cancel(self) -> None:
        """Stop without a result; returns at once (idempotent)."""
        if self._cancelled:
            return
        self._cancelled = True
        if self._queue is not None:
            # wakes the thread if it waits for a frame (a full queue: it checks the flag next)
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)

    def close(self, timeout: float = 10.0) -> None:
        """Cancel unless finished, and join the thread (idempotent)."""
        if not self._finished.is_set():
            self.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the result is there (for scripts and tests); False on timeout."""
        return self._finished.wait(timeout)

    # -- the capture's thread (threaded) or the caller's (not threaded) --------------------
    def _finish(self) -> None:
        try:
            plate = self._builder.finish()
            if self.threaded:
                plate.image  # noqa: B018 - cached: the first composite needs it (~0.1 s at 720p)
            self._plate = plate
        except PlateError as exc:
            self._error = str(exc)
        self._builder = PlateBuilder(None)  # (drops the sums: the plate holds what it needs)
        self._finished.set()

    def _run(self) -> None:
        assert self._queue is not None
        try:
            while not self._cancelled:
                frame = self._queue.get()
                if frame is None or self._cancelled:
                    return
                self._builder.add(frame)
                if self._builder.done:
                    self._finish()
                    return
        except Exception as exc:  # a bug must not leave the caller waiting for ever
            self._error = f"building the background plate failed: {type(exc).__name__}: {exc}"
            self._finished.set()
