"""BackgroundReplacer: the engine's front object (plate -> mask -> alpha -> composite).

Threading: not thread-safe. One thread (the CLI loop, the preview loop, or the OBS source's
worker thread) calls every method. Lifetime: create, feed frames, ``close()`` (idempotent)
closes the background (a video decoder, a screen grabber).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from . import composite, mask
from .engine import MaskEngine
from .frames import BGR, check_bgr
from .job_thread import JobThread
from .plate import Downscaler, Plate, Region, work_size
from .plate_capture import PlateCapture
from .plate_health import PlateHealth
from .settings import CLASSIC_THRESHOLD, Settings

if TYPE_CHECKING:
    from .backgrounds import Background

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]


CAPTURE_TRIES = 3
"""A live capture (:meth:`BackgroundReplacer.start_capture` with ``retry=True``) that is
refused starts again by itself until it has been tried this many times: someone still
leaving the picture, or a screen in the room cutting to a new scene, has passed a second
later. Only the last refusal is reported."""


def _open_background(spec: str | Background) -> Background:
    if not isinstance(spec, str):
        return spec
    from .backgrounds import open_background

    return open_background(spec)


class BackgroundReplacer:
    """Replaces the background of live frames using a captured plate.

    ``background`` takes the CLI's syntax (``color:#00b140``, ``blur``, ``transparent``,
    ``screen:1``, an image or video path) or a Background object. Settings come as a
    :class:`Settings` and/or keyword overrides of its fields.
    """

    def __init__(
        self,
        background: str | Background = "transparent",
        *,
        settings: Settings | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or Settings()
        self.settings = base.replace(**overrides) if overrides else base
        self._background: Background = _open_background(background)
        self._plate: Plate | None = None
        self._capture: PlateCapture | None = None
        # every threaded capture of this replacer runs on this one thread (bgcore.job_thread)
        self._capture_thread: JobThread | None = None
        self.capture_error: str | None = None
        self.capture_try = 0
        """Which try of the capture under way or last finished this is (1 = the first; see
        CAPTURE_TRIES)."""
        self.capture_retried: str | None = None
        """Why the last try was refused when the capture started again by itself (None
        otherwise): for the caller's log."""
        self._capture_tries = 1
        self._out: npt.NDArray[np.uint8] | None = None
        self._state: MaskEngine | None = None
        self._downscale: Downscaler | None = None
        self._compositor = composite.Compositor()
        self._mask_work: U8 | None = None
        self._alpha_work: U8 | None = None
        self._alpha_scratch: U8 | None = None
        self._alpha_full: U8 | None = None
        # the box of _alpha_full outside which it is all 0, when that is known (transparent)
        self._alpha_clean: tuple[int, int, int, int] | None = None
        self._mask_full: U8 | None = None
        self._frame_size: tuple[int, int] | None = None
        self._health: PlateHealth | None = None
        self.absorbed = 0
        """Changes of the background taken into the plate (see ``Settings.absorb_seconds``)."""
        self._closed = False

    # -- plate -----------------------------------------------------------------------------
    @property
    def plate(self) -> Plate | None:
        return self._plate

    def set_plate(self, frames: Iterable[BGR] | Plate) -> Plate:
        """Use ``frames`` of the empty scene (or a ready Plate); PlateError if unusable."""
        if isinstance(frames, Plate):
            plate = frames
        else:
            plate = Plate.from_frames(frames, work_width=self.settings.work_width)
        self._plate = plate
        self._state = None
        self._health = None
        self.cancel_capture()
        self.capture_error = None
        return plate

    def start_capture(self, n: int | None = None, *, threaded: bool = False, retry: bool = False) -> None:
        """Build a new plate from the next ``n`` (default settings.plate_frames) processed
        frames; meanwhile process() passes the camera through. The old plate stays in use
        if the capture is refused (see capture_error). ``retry`` (a live camera): a refused
        capture starts again by itself with the next frames, up to CAPTURE_TRIES tries in
        all (:attr:`capture_try`, :attr:`capture_retried`), before capture_error is set.

        ``threaded``: the plate is tested and built on a thread of its own (see
        :class:`~bgcore.plate_capture.PlateCapture`), so no call of process() waits for it;
        the camera passes through until the plate is ready (:attr:`capture_computing` while
        its last step runs). Otherwise the call that takes the last frame builds it."""
        self._capture_tries = CAPTURE_TRIES if retry else 1
        self.capture_try = 1
        self.capture_retried = None
        self._begin_capture(n or self.settings.plate_frames, threaded)

    def _begin_capture(self, n: int, threaded: bool) -> None:
        """A new PlateCapture for the capture started by :meth:`start_capture` (its callers
        count the tries)."""
        self.cancel_capture()
        if threaded and self._capture_thread is None:
            self._capture_thread = JobThread("bgreplace plate")
        self._capture = PlateCapture(
            n,
            work_width=self.settings.work_width,
            threaded=threaded,
            runner=self._capture_thread if threaded else None,
        )
        self.capture_error = None

    def cancel_capture(self) -> None:
        """Drop a running capture (returns at once; its thread ends by itself)."""
        if self._capture is not None:
            self._capture.cancel()
            self._capture = None

    @property
    def capture_progress(self) -> tuple[int, int] | None:
        """(frames captured, frames wanted) while a capture runs, else None."""
        return None if self._capture is None else self._capture.progress

    @property
    def capture_computing(self) -> bool:
        """A threaded capture has all its frames and is computing the plate."""
        return self._capture is not None and self._capture.computing

    @property
    def background_changes(self) -> tuple[Region, ...]:
        """Where the background itself changed and stayed (a chair moved, the camera bumped),
        as of the last check (see :mod:`bgcore.plate_health`); () in classic mode."""
        return () if self._health is None else self._health.changes

    @property
    def background_changed_at(self) -> float | None:
        """When (the frames' ``t``) a change of the background was first noticed since the
        plate was set, or None."""
        return None if self._health is None else self._health.first_seen

    @property
    def background(self) -> Background:
        """The background in use (e.g. to read its ``error``, where its kind keeps one)."""
        return self._background

    # -- settings ----------------------------------------------------------------------------
    def update(self, settings: Settings | None = None, background: str | Background | None = None) -> None:
        """Apply new settings and/or background; rebuilds only what they change."""
        if settings is not None and settings != self.settings:
            old = self.settings
            self.settings = settings
            if settings.work_width != old.work_width:
                self._state = None
        if background is not None:
            new_bg = _open_background(background)
            old_bg, self._background = self._background, new_bg
            if old_bg is not new_bg:
                old_bg.close()

    # -- frames ------------------------------------------------------------------------------
    @property
    def mask(self) -> U8:
        """HxW uint8 foreground mask of the last processed frame (255 = foreground)."""
        if self._mask_full is None:
            if self._frame_size is None:
                raise RuntimeError("no frame processed yet")
            w, h = self._frame_size
            if self._mask_work is None:
                self._mask_full = np.zeros((h, w), np.uint8)
            elif self._mask_work.shape == (h, w):
                self._mask_full = self._mask_work
            else:
                up = cv2.resize(self._mask_work, (w, h), interpolation=cv2.INTER_LINEAR)
                self._mask_full = np.where(up >= 128, np.uint8(255), np.uint8(0)).astype(np.uint8)
        return self._mask_full

    @property
    def work_mask(self) -> U8 | None:
        """The last frame's mask at the working resolution, the one the composite feathers
        and upscales (None before a frame was processed with a plate). Owned by the
        replacer: the next :meth:`process` rewrites it in place; copy it to keep it."""
        return self._mask_work

    def process(self, frame: BGR, *, t: float | None = None) -> npt.NDArray[np.uint8]:
        """Composite one HxWx3 BGR frame; returns HxWx4 BGRA (a buffer reused by the next call).

        Without a plate (or with a plate of another size) the frame passes through opaque.
        Whoever draws into the returned buffer calls :meth:`output_touched` afterwards.
        """
        check_bgr(frame)
        h, w = frame.shape[:2]
        if self._out is None or self._out.shape[:2] != (h, w):
            self._out = np.empty((h, w, 4), np.uint8)
        self._frame_size = (w, h)
        self._mask_full = None
        when = time.monotonic() if t is None else t

        if self._capture is not None:
            self._feed_capture(frame)
        if self._capture is not None:
            self._mask_work = None
            self._compositor.forget()
            return composite.passthrough(frame, out=self._out)
        plate = self._plate
        if plate is None or plate.size != (w, h):
            self._mask_work = None
            self._compositor.forget()
            return composite.passthrough(frame, out=self._out)

        s = self.settings
        bg = self._background.render(w, h, t=when, plate=plate.image)
        if s.mode == "classic" or s.show_mask:
            self._compositor.forget()
        if s.mode == "classic":
            thr = CLASSIC_THRESHOLD if s.threshold is None else s.threshold
            fg = mask.classic_mask(frame, plate.reference, thr)
            self._mask_work = fg
            if s.show_mask:
                return composite.mask_view(fg, out=self._out)
            return composite.classic_composite(frame, fg, bg, out=self._out)

        if self._state is None or self._state.plate is not plate:
            size = work_size(w, h, s.work_width)
            self._state = MaskEngine(plate, size)
            self._downscale = Downscaler(size)
            if self._health is None or self._health.frame_size != (w, h):
                self._health = PlateHealth(plate.sigma_at(size), (w, h))
        assert self._downscale is not None and self._health is not None
        small = self._downscale(frame)
        m = self._state.step(small, s)
        self._mask_work = m
        absorb = self._health.update(small, m, when, s.absorb_seconds, due=self._state.periodic)
        if absorb is not None:
            # (the engine starts afresh from the new plate on the next frame)
            self._plate = plate.absorb(frame, absorb)
            self.absorbed += 1
        if s.show_mask:
            return composite.mask_view(self.mask, out=self._out)
        if self._alpha_work is None or self._alpha_work.shape != m.shape:
            self._alpha_work, self._alpha_scratch = np.empty_like(m), np.empty_like(m)
        if self._alpha_full is None or self._alpha_full.shape != (h, w):
            self._alpha_full = np.empty((h, w), np.uint8)
            self._alpha_clean = None
        small = composite.feather_alpha(m, s.feather, out=self._alpha_work, scratch=self._alpha_scratch)
        roi = composite.upscaled_roi(small, (w, h))
        if bg is None:
            # Transparent needs the whole alpha plane: it stays 0 outside the last box
            # (cleared before the next upscale), so only the box is upscaled.
            clean = self._alpha_clean
            if clean is None:
                self._alpha_full.fill(0)
            else:
                x, y, rw, rh = clean
                self._alpha_full[y : y + rh, x : x + rw] = 0
            alpha = composite.upscale_box(small, (w, h), out=self._alpha_full)
            self._alpha_clean = roi
            return self._compositor(frame, alpha, None, out=self._out)
        self._alpha_clean = None  # (the box upscale below leaves stale values around the box)
        alpha = composite.upscale_box(small, (w, h), out=self._alpha_full)
        static = bool(getattr(self._background, "static", False))
        return self._compositor(frame, alpha, bg, out=self._out, roi=roi, small=small, static=static)

    def output_touched(self) -> None:
        """Call after drawing into the buffer :meth:`process` returned (an overlay, text):
        behind a still background the next call redraws only where the person was, so it
        must know that the rest changed too."""
        self._compositor.forget()

    def _feed_capture(self, frame: BGR) -> None:
        capture = self._capture
        assert capture is not None
        if capture.wants_frames:
            size = capture.size
            if size is not None and (frame.shape[1], frame.shape[0]) != size:
                # the camera changed size mid-capture: a plate is of one size, start again
                # (the same try)
                self._begin_capture(capture.target, capture.threaded)
                capture = self._capture
                assert capture is not None
            capture.add(frame)
        result = capture.result()
        if isinstance(result, Plate):
            self.set_plate(result)
        elif result is not None:
            self._capture = None
            if self.capture_try < self._capture_tries:
                self.capture_try += 1
                self.capture_retried = result
                self._begin_capture(capture.target, capture.threaded)
            else:
                self.capture_error = result

    def close(self) -> None:
        """Release the background and stop a capture's thread (idempotent)."""
        if not self._closed:
            self._closed = True
            if self._capture is not None:
                self._capture.close()
                self._capture = None
            if self._capture_thread is not None:
                self._capture_thread.close()
            self._background.close()

    def __enter__(self) -> BackgroundReplacer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
