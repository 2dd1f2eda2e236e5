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
are called from one thread (the one that runs the engine); the capture's thread only reads
the queue and writes the result. That thread is a :class:`~bgcore.job_thread.JobThread`: the
caller's long-lived one when it passes ``runner`` (the OBS source does, so that recaptures do
not leave glibc arenas behind), else one of the capture's own. Lifetime: ``cancel`` returns at
once (the job stops after the frame it is on); ``close`` also waits for the job to end (and
ends the capture's own thread); both are idempotent.
A :class:`PlateBuilder` is fed from one thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading

import cv2
import numpy as np
import numpy.typing as npt

from . import jpeg_noise
from .errors import PlateError
from .frames import BGR, check_bgr
from .job_thread import JobThread
from .plate import SIGMA_FLOOR, Downscaler, Plate, Region, estimate_noise, place_of, work_size

F32 = npt.NDArray[np.float32]

# A pixel "moved" in a frame when it differs from the capture's median frame by more than
# this many noise sigmas (and at least MOTION_MIN_LEVELS grey levels): far beyond sensor noise.
MOTION_SIGMAS = 6.0
MOTION_MIN_LEVELS = 18.0
# What is refused and what is modelled. A pixel that left its usual value and came back at
# least REPEAT_TOGGLES / 2 times during the capture belongs to something that changes by
# nature (a screen playing video, leaves, a blinking light): it is modelled, not refused.
# Someone walking through, or a thing moved, leaves a pixel's usual value once and comes
# back once. A frame is refused when the moved pixels outside the repeating ones form one
# connected region of at least OBJECT_FRACTION of the picture (a person, or a hand, at
# webcam distance covers far more), or cover SCATTERED_FRACTION of it in all (the camera
# moved: every edge shifts).
REPEAT_TOGGLES = 4
OBJECT_FRACTION = 0.01
SCATTERED_FRACTION = 0.05
# The camera moved: the whole picture shifted by at least CAMERA_SHIFT working pixels against
# the median frame (phase correlation at half the working size: 1-2 ms a frame). A camera on
# a desk trembles by a fraction of a pixel, which the engine's 3x3 range absorbs.
CAMERA_SHIFT = 1.5
# Restless parts of the picture: in a grid of ZONE_CELLS cells across, the cells in which
# pixels came or went in at least ZONE_EVENTS frames. What arrives suddenly in a cell that was
# already restless is a screen's new scene, not someone arriving: a person walking in
# disturbs a cell first on arrival. (Judged as the frames come: a cell restless only after
# something arrived there, a person swaying where they stand, forgives nothing.)
ZONE_CELLS = 40
ZONE_EVENTS = 4
# The frames with the most moved pixels outside what repeated so far are kept (as bit masks
# at the working size) until the capture ends, when the repeating pixels are known.
CANDIDATE_FRAMES = 8
# The JPEG floor is pooled over POOL x POOL working pixels: a block's rounding errors go
# together (a flat block errs by its DC step alone, the same at every pixel of it).
POOL = 9
# A channel clipped where its mean is within CEILING_MARGIN of its brightest level, when at
# least CEILING_SHARE of the picture is there and that level is at least CEILING_MIN_LEVEL.
CEILING_SHARE = 0.002
CEILING_MIN_LEVEL = 180.0
CEILING_MARGIN = 3.0
# Dynamic pixels (the plate's ``dynamic`` map): moved repeatedly, or a spread over the capture
# of more than DYNAMIC_SIGMAS x the picture's typical noise and at least DYNAMIC_MIN_LEVELS.
DYNAMIC_SIGMAS = 4.0
DYNAMIC_MIN_LEVELS = 5.0
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
        self._history: _MotionHistory | None = None

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
        """Build the plate; PlateError if there were no frames, or someone or something moved
        through, or the camera moved (see REPEAT_TOGGLES)."""
        if self._sum is None or self._reference is None or self._small_sum is None or not self._count:
            raise PlateError("no frames for the background plate; is the camera delivering pictures?")
        n = self._count
        dynamic = None
        if n < 3:
            first = self._first[0]
            var = np.full(first.shape, max(estimate_noise(first), SIGMA_FLOOR) ** 2, np.float32)
        else:
            if self._motion is None:
                self._form_reference()
            assert self._motion is not None and self._moments is not None and self._history is not None
            repeating = self._history.repeating()
            self._refuse_motion(self._history.worst(repeating), n)
            moment_var = self._moments.variance()
            # Shrink the per-pixel variance (n-1 degrees of freedom) towards the global noise,
            # weighted as if the global estimate were worth 4 frames: few frames are noisy.
            prior = 4.0
            noise = self._motion.global_noise
            var = (((n - 1) * moment_var + prior * noise**2) / (n - 1 + prior)).astype(np.float32)
            var = cv2.blur(var, (3, 3))
            dynamic = _dynamic_map(self._history.excess_spread(), np.sqrt(var.max(axis=2)), repeating)
        # JPEG: where the frames were rounded alike, the rounding a live frame gets afresh
        quality = jpeg_noise.detect_quality(self._reference)
        if quality is not None:
            assert self._downscale is not None
            mean = self._sum.astype(np.float32) / np.float32(n)
            floor = jpeg_noise.requantisation_variance(mean, quality, Downscaler(self._downscale.size))
            floor = 2.0 * np.maximum(cv2.blur(floor, (POOL, POOL)), jpeg_noise.dc_variance(quality))
            # (where the sensor clipped, every frame reads the ceiling, compressed or not: its
            # silence is what tells the engine a pixel is clipped)
            floor[_at_the_ceiling(self._small_sum.astype(np.float32) / np.float32(n))] = 0.0
            np.maximum(var, floor, out=var)
        sigma = np.maximum(np.sqrt(var), SIGMA_FLOOR).astype(np.float16).astype(np.float32)
        return Plate(
            frame_sum=self._sum,
            n_frames=n,
            reference=self._reference,
            sigma=sigma,
            small_sum=self._small_sum,
            dynamic=dynamic,
            jpeg_quality=quality,
        )

    def _refuse_motion(self, worst: _Motion | None, n: int) -> None:
        if worst is None:
            return
        assert self._size is not None
        frame = f"frame {worst.index + 1} of {n}"
        if worst.shift:
            assert self._downscale is not None
            pixels = worst.shift * self._size[0] / self._downscale.size[0]
            raise PlateError(
                f"the camera moved during background capture (the picture shifted by {pixels:.0f} "
                f"pixels in {frame}): keep the camera still and recapture"
            )
        if worst.region is None:
            raise PlateError(
                f"something moved during background capture ({worst.share:.0%} of the picture changed "
                f"in {frame}): step out of frame, keep the camera still and recapture"
            )
        raise PlateError(
            f"something moved during background capture ({worst.share:.0%} of the picture changed "
            f"in {frame}, at the {worst.region.place}): step out of frame, keep the camera still "
            "and recapture"
        )

    def _form_reference(self) -> None:
        """The motion reference from the kept first frames; test and accumulate them."""
        first, self._first = self._first, []
        self._motion = _MotionReference(first)
        self._moments = _Moments(self._motion.median)
        self._history = _MotionHistory(self._motion)
        for index, (small, gains) in enumerate(zip(first, self._motion.first_gains, strict=True)):
            self._test_and_accumulate(small, index, gains)

    def _test_and_accumulate(self, small: BGR, index: int, gains: F32 | None = None) -> None:
        """Every frame once, in order, at the working size. Per-pixel statistics over the
        whole capture belong here, as streaming sums or counts, so that memory stays
        independent of the frame count."""
        assert self._motion is not None and self._moments is not None and self._history is not None
        normalised = self._motion.normalise(small, gains)
        self._history.add(normalised, index)
        self._moments.add(normalised)


def _at_the_ceiling(mean: F32) -> npt.NDArray[np.bool_]:
    """Per pixel and channel, whether ``mean`` sits on its channel's ceiling: within
    CEILING_MARGIN of the channel's brightest level, where at least CEILING_SHARE of the
    picture sits (a plateau, a window burnt out: the sensor clipped), if bright."""
    at = np.zeros(mean.shape, np.bool_)
    for c in range(3):
        channel = mean[..., c]
        top = float(channel.max())
        near = channel >= top - CEILING_MARGIN
        if top >= CEILING_MIN_LEVEL and np.count_nonzero(near) >= CEILING_SHARE * near.size:
            at[..., c] = near
    return at


def _dynamic_map(excess: F32, noise: F32, repeating: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """The plate's dynamic map (0/255): pixels that moved repeatedly, or whose values fell
    outside the median frame's 3x3 range (``excess``, RMS) by far more than the picture's
    typical ``noise``; small specks dropped, holes closed (a screen is one region)."""
    typical = float(np.median(noise))
    wide = excess > max(DYNAMIC_SIGMAS * typical, DYNAMIC_MIN_LEVELS)
    dynamic = np.where(wide | repeating, np.uint8(255), np.uint8(0)).astype(np.uint8)
    dynamic = cv2.morphologyEx(dynamic, cv2.MORPH_OPEN, _RECT3)
    return cv2.morphologyEx(dynamic, cv2.MORPH_CLOSE, _RECT5)


_RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_RECT5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))


class _Motion:
    """The worst motion of a capture: in frame ``index``, ``share`` of the picture moved, as
    one region (``region``) or scattered over it (``region`` None), or the whole picture
    shifted by ``shift`` working pixels (the camera moved; ``share`` 1)."""

    def __init__(self, index: int, share: float, region: Region | None, shift: float = 0.0) -> None:
        self.index, self.share, self.region, self.shift = index, share, region, shift


class _MotionHistory:
    """Per pixel, how often it left or regained its usual value (``toggles``); and the
    CANDIDATE_FRAMES frames with the most moved pixels outside those that repeated so far,
    as bit masks, to be judged once the capture's repeating pixels are known."""

    def __init__(self, reference: _MotionReference) -> None:
        self.reference = reference
        shape = reference.median.shape[:2]
        self.shape = (int(shape[0]), int(shape[1]))
        self.frames = 0
        self.excess_sq = np.zeros(reference.median.shape, np.float32)
        self._excess = np.empty(reference.median.shape, np.float32)
        self.toggles = np.zeros(shape, np.uint16)
        self._last = np.zeros(shape, np.bool_)
        self._flipped = np.zeros(shape, np.bool_)
        # per cell of the picture, the frames in which part of it came or went (ZONE_CELLS)
        cell = max(2, round(shape[1] / ZONE_CELLS))
        self._cells = (max(1, shape[1] // cell), max(1, shape[0] // cell))
        self.events = np.zeros((self._cells[1], self._cells[0]), np.uint16)
        self._restless_cells = np.zeros(self.events.shape, np.uint8)
        self._restless_near = np.zeros(self.events.shape, np.uint8)
        self._previous: F32 | None = None  # the last frame, gain-matched
        self._half = (max(8, shape[1] // 2), max(8, shape[0] // 2))
        self._half_median = cv2.resize(
            cv2.cvtColor(reference.median, cv2.COLOR_BGR2GRAY), self._half, interpolation=cv2.INTER_AREA
        )
        self._window = cv2.createHanningWindow(self._half, cv2.CV_32F)
        self._quarter_window = cv2.createHanningWindow((self._half[0] // 2, self._half[1] // 2), cv2.CV_32F)
        self._shift = (0.0, 0)  # the first shift of the whole picture (working pixels), its frame
        self._step = np.empty(reference.median.shape, np.float32)
        # moved, and it got there in one step (not by a fade or a slow change of light), in a
        # part of the picture where nothing came and went before (not a screen's new scene)
        self._sudden = np.zeros(shape, np.bool_)
        self._candidates: list[tuple[int, int, npt.NDArray[np.uint8]]] = []  # (moved, index, bits)

    def add(self, normalised: F32, index: int) -> None:
        """One gain-matched frame (its ``index`` in the capture)."""
        ref = self.reference
        # how far the value lies outside the median frame's 3x3 range (a tremor stays inside)
        excess = np.subtract(normalised, ref.highest, out=self._excess)
        np.maximum(excess, ref.lowest - normalised, out=excess)
        np.maximum(excess, 0.0, out=excess)
        self.excess_sq += np.square(excess, out=excess)
        self.frames += 1
        self._measure_shift(normalised, index)
        moved = ref.moved(normalised)
        np.not_equal(moved, self._last, out=self._flipped)
        self.toggles += self._flipped
        np.copyto(self._last, moved)
        # the restless cells, as of the frames before this one
        size = (self.shape[1], self.shape[0])
        restless = cv2.resize(self._restless_near, size, interpolation=cv2.INTER_NEAREST)
        flipped_share = cv2.resize(self._flipped.view(np.uint8), self._cells, interpolation=cv2.INTER_AREA)
        self.events += flipped_share > 0  # (INTER_AREA of 0/1: any flip in the cell rounds up)
        np.greater_equal(self.events, ZONE_EVENTS, out=self._restless_cells, casting="unsafe")
        cv2.dilate(self._restless_cells, _RECT3, dst=self._restless_near)  # (a screen is one piece)
        # A person, a thing put down, the camera bumped: a pixel leaves its usual value in one
        # step. A screen fading, light drifting: by small steps (never refused).
        if self._previous is None:
            jumped = moved
            self._previous = normalised.copy()
        else:
            step = np.subtract(normalised, self._previous, out=self._step)
            np.abs(step, out=step)
            jumped = np.any(step > ref.limit, axis=2)
            np.copyto(self._previous, normalised)
        arrived = self._flipped & moved
        self._sudden &= moved
        self._sudden |= arrived & jumped & (restless == 0)
        unexplained = int(np.count_nonzero(self._sudden & (self.toggles < REPEAT_TOGGLES)))
        if unexplained < OBJECT_FRACTION * moved.size:
            return
        candidates = self._candidates
        if len(candidates) == CANDIDATE_FRAMES:
            weakest = min(range(len(candidates)), key=lambda i: candidates[i][0])
            if candidates[weakest][0] >= unexplained:
                return
            del candidates[weakest]
        candidates.append((unexplained, index, np.packbits(self._sudden)))

    def _measure_shift(self, normalised: F32, index: int) -> None:
        """The shift of the whole frame against the median (the camera moving), at half size."""
        gray = cv2.cvtColor(normalised, cv2.COLOR_BGR2GRAY)
        half = cv2.resize(gray, self._half, interpolation=cv2.INTER_AREA)
        if self._shift[0] >= CAMERA_SHIFT:
            return  # (the first frame the camera had moved in is the one reported)
        (dx, dy), response = cv2.phaseCorrelate(self._half_median, half, self._window)
        shift = 2.0 * float(np.hypot(dx, dy))
        if response < 0.05 or shift < CAMERA_SHIFT:
            return
        # A large person moving also shifts the correlation's peak: the camera moves every
        # quarter of the picture alike.
        hw, hh = self._half[0] // 2, self._half[1] // 2
        agree = 0
        for y in (0, hh):
            for x in (0, hw):
                quarter = (slice(y, y + hh), slice(x, x + hw))
                window = self._quarter_window
                (qx, qy), _ = cv2.phaseCorrelate(self._half_median[quarter], half[quarter], window)
                agree += int(np.hypot(qx - dx, qy - dy) < 0.5)
        if agree >= 3:
            self._shift = (shift, index)

    def repeating(self) -> npt.NDArray[np.bool_]:
        """The pixels that changed back and forth (see REPEAT_TOGGLES), widened by a pixel
        (the edge of a screen or a leaf moves with it)."""
        mask = np.where(self.toggles >= REPEAT_TOGGLES, np.uint8(255), np.uint8(0)).astype(np.uint8)
        return cv2.dilate(mask, _RECT3) > 0

    def excess_spread(self) -> F32:
        """Per pixel (HxW), the root mean square of how far its values fell outside the median
        frame's 3x3 range (the largest channel): what changed, and not by a tremor."""
        return np.sqrt(self.excess_sq.max(axis=2) / np.float32(max(1, self.frames)))

    def worst(self, repeating: npt.NDArray[np.bool_]) -> _Motion | None:
        """The worst candidate frame's sudden motion outside the ``repeating`` pixels, if it
        is to be refused (see OBJECT_FRACTION, SCATTERED_FRACTION), else None."""
        h, w = self.shape
        shift, shifted_at = self._shift
        if shift >= CAMERA_SHIFT:
            return _Motion(shifted_at, 1.0, None, shift)
        worst: _Motion | None = None
        for _, index, bits in sorted(self._candidates, key=lambda c: c[1]):
            moved = np.unpackbits(bits, count=h * w).reshape(h, w).astype(np.bool_)
            outside = np.where(moved & ~repeating, np.uint8(255), np.uint8(0)).astype(np.uint8)
            outside = cv2.morphologyEx(outside, cv2.MORPH_CLOSE, _RECT3)  # (a body's texture is one body)
            total = cv2.countNonZero(outside) / float(h * w)
            count, _, stats, _ = cv2.connectedComponentsWithStats(outside, connectivity=8)
            if count > 1:
                largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
                x, y, bw, bh, area = (int(v) for v in stats[largest])
                share = area / float(h * w)
            else:
                share, (x, y, bw, bh) = 0.0, (0, 0, 0, 0)
            motion: _Motion | None = None
            if share >= OBJECT_FRACTION:
                box = (x, y, bw, bh)
                motion = _Motion(index, share, Region(box=box, share=share, place=place_of(box, (w, h))))
            elif total >= SCATTERED_FRACTION:
                motion = _Motion(index, total, None)
            if motion is not None and (worst is None or motion.share > worst.share):
                worst = motion
        return worst


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
        self.highest: F32 = cv2.dilate(self.median, rect)  # the median frame's 3x3 range
        self.lowest: F32 = cv2.erode(self.median, rect)
        self.limit = pixel_limit
        self._above: F32 = self.highest + pixel_limit
        self._below: F32 = self.lowest - pixel_limit

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

    def moved(self, normalised: F32) -> npt.NDArray[np.bool_]:
        """Where the frame is outside the median's range by more than the noise (HxW)."""
        moved = (normalised > self._above) | (normalised < self._below)
        return np.any(moved, axis=2)  # type: ignore[no-any-return]


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

    def __init__(
        self,
        target: int,
        *,
        work_width: int = 480,
        threaded: bool = False,
        runner: JobThread | None = None,
    ) -> None:
        """``runner``: the long-lived thread a threaded capture runs on (a caller that
        captures again and again passes the same one, see :mod:`bgcore.job_thread`); without
        it a threaded capture has a thread of its own."""
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
        self._ended = threading.Event()  # the job is over (finished, cancelled or failed)
        self._cancelled = False
        self._queue: queue.Queue[BGR | None] | None = None
        self._runner: JobThread | None = None
        self._own_runner = False
        if threaded:
            self._queue = queue.Queue(maxsize=QUEUE_FRAMES)
            self._own_runner = runner is None
            self._runner = runner or JobThread("bgreplace plate")
            self._runner.submit(self._run)

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
        if self._runner is not None and not self._runner.on_thread:
            self._ended.wait(timeout)
            if self._own_runner:
                self._runner.close(timeout)  # (joins it: it ends after its job)

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
        finally:
            if self._cancelled:
                self._builder = PlateBuilder(None)  # frees the sums now, not at the next capture
            with contextlib.suppress(queue.Empty):
                while True:  # frames still queued (a cancelled capture): freed now
                    self._queue.get_nowait()
            self._ended.set()
            if self._own_runner and self._runner is not None:
                self._runner.close()  # a thread of its own ends with its one job, as before
