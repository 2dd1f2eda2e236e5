"""One Background Replacer source's state and its worker thread.

Threading contract: OBS calls :meth:`SourceWorker.configure`, :meth:`set_visible`,
:meth:`recapture` and :meth:`status` from its UI, render, hotkey and websocket threads; they
only store a value and wake the worker, never block and never touch files or the camera.
Everything slow runs off OBS's threads: the camera (or file) is opened, read and reopened by
a :class:`bgcore.capture.LatestFrameReader` thread that hands over only the newest frame;
loading backgrounds and plates and the engine run on the worker thread, the only thread that
calls the engine. Work that would hold up the picture runs on threads of its own: a plate's
motion test and statistics (:class:`bgcore.plate_capture.PlateCapture`; the camera passes
through meanwhile) and saving a plate to disk.
:meth:`stop` (called from the source's ``destroy``) asks the thread to finish and joins it
(and the plate threads); it is idempotent.

No OBS here: frames go to ``sink(bgra)``, the status as data (:class:`bgobs.status.Status`)
to ``on_status(status)`` and log lines to ``log(level, message)``, all given by
:mod:`bgobs.plugin`; tests drive the worker with plain callables. The worker logs each new
state once (:func:`bgobs.status.log_line`) and each new problem once (repeated only after
:data:`REPEAT_LOG_SECONDS`), never the moving numbers (frame rate, capture progress).

Why one module of about 600 lines: :class:`SourceWorker` (what OBS's threads call) and
:class:`_Loop` (its state machine, on the worker thread) are the two halves of one object
and share its fields; the words are in :mod:`bgobs.status`, the plate files in
:mod:`bgobs.plate_files`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bgcore import BackgroundReplacer, BgError, Plate, kernels, overlay
from bgcore.backgrounds import FollowedFile, open_background
from bgcore.capture import RECONNECT_SECONDS, FrameMailbox, FrameSource, LatestFrameReader, open_source
from bgcore.pipeline import CAPTURE_TRIES

from .config import SourceConfig
from .plate_files import PlateSaver
from .status import Level, Problem, State, Status, Topic, banner, log_line

BGRA = npt.NDArray[np.uint8]
Sink = Callable[[BGRA], None]
StatusCallback = Callable[[Status], None]
Log = Callable[[str, str], None]  # (level: "info" | "warning" | "error", message)

PLACEHOLDER_SIZE = (1280, 720)
REPEAT_LOG_SECONDS = 60.0
"""A problem that comes back (a setting flipped back and forth) is logged again only after
this long: the log says what is wrong, not how often it was toggled."""
FPS_WINDOW_SECONDS = 2.0
FPS_MIN_SPAN_SECONDS = 1.0
"""The frame rate is shown once frames since the camera (re)opened span this long."""


def _describe_camera(camera: str | int) -> str:
    return f"camera {camera}" if isinstance(camera, int) else str(camera)


def _capture_changes(old: SourceConfig, new: SourceConfig) -> str:
    """What changed in the capture settings of the same camera, for the log."""

    def size(cfg: SourceConfig) -> str:
        return f"{cfg.width or 'default'}x{cfg.height or 'default'}"

    changes = []
    if (old.width, old.height) != (new.width, new.height):
        changes.append(f"size {size(old)} -> {size(new)}")
    if old.fps != new.fps:
        changes.append(f"fps {old.fps or 'default'} -> {new.fps or 'default'}")
    return ", ".join(changes)


def _open_camera(config: SourceConfig) -> FrameSource:
    """Open the configured camera (runs on the reader thread). Video files and image sequences
    loop, so a file plays forever like a camera; a still image repeats."""
    return open_source(config.camera, width=config.width, height=config.height, fps=config.fps, loop=True)


class SourceWorker:
    """The worker thread of one source (see the module docstring for the threading rules)."""

    def __init__(
        self,
        name: str,
        *,
        sink: Sink,
        on_status: StatusCallback,
        log: Log,
        plate_dir: Path | None,
        open_camera: Callable[[SourceConfig], FrameSource] = _open_camera,
        clock: Callable[[], float] = time.monotonic,
        frames: FrameMailbox | None = None,
    ) -> None:
        """``frames``: for the filter, where it reads the filtered source's frames from OBS (a
        :class:`bgcore.capture.FrameMailbox`, :class:`bgobs.filter.FilterFrames`); the worker
        then opens no camera and takes the frames from it. The caller owns it (and closes it)."""
        self.name = name
        self._frames = frames
        self._sink = sink
        self._on_status = on_status
        self._log = log
        self._plate_dir = plate_dir
        self._open_camera = open_camera
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: SourceConfig | None = None
        self._visible = False
        self._recapture = False
        self._stopping = False
        self._status = Status(State.STARTING)
        self._logged: set[str] = set()
        self._problem_logged_at: dict[Problem, float] = {}
        self._thread = threading.Thread(target=self._main, name=f"bgreplace {name}", daemon=True)
        self._started = False

    # -- called from OBS threads (cheap, non-blocking) ------------------------------------
    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def configure(self, config: SourceConfig) -> None:
        with self._lock:
            self._pending = config
        self._wake.set()

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        self._wake.set()

    def recapture(self) -> None:
        self._recapture = True
        self._wake.set()

    def status(self) -> Status:
        return self._status

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and join the thread (idempotent). False if it did not finish in time."""
        self._stopping = True
        self._wake.set()
        if self._started and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._log_once("warning", f"{self.name}: worker thread still busy after {timeout:g} s")
                return False
        return True

    # -- worker thread (and the plate saver's thread for _say) -------------------------------
    def _publish(self, status: Status) -> None:
        """Hand a new status to OBS; log a new state and each new problem once."""
        old, self._status = self._status, status
        if status == old:
            return
        line = log_line(status)
        if line is not None and line != log_line(old):
            level = "info" if status.level is Level.NORMAL else status.level.word
            self._say(level, f"{self.name}: {line}")
        now = self._clock()
        for problem in status.problems:
            if problem in old.problems:
                continue
            last = self._problem_logged_at.get(problem)
            if last is None or now - last >= REPEAT_LOG_SECONDS:
                logged = self._problem_logged_at
                for stale in [p for p, at in logged.items() if now - at >= REPEAT_LOG_SECONDS]:
                    del logged[stale]  # (keeps the memory of logged problems small)
                logged[problem] = now
                self._say(problem.level.word, f"{self.name}: {problem.message}")
        self._hand_over(status)

    def _hand_over(self, status: Status) -> None:
        try:
            self._on_status(status)
        except Exception:
            self._log_once("error", f"{self.name}: status update failed: {traceback.format_exc(limit=3)}")

    def _say(self, level: str, message: str) -> None:
        with contextlib.suppress(Exception):
            self._log(level, message)

    def _log_once(self, level: str, message: str) -> None:
        if message not in self._logged:
            self._logged.add(message)
            self._say(level, message)

    def _emit(self, frame: BGRA) -> None:
        try:
            self._sink(frame)
        except Exception:
            self._log_once(
                "error", f"{self.name}: handing the frame to OBS failed: {traceback.format_exc(limit=3)}"
            )

    def _main(self) -> None:
        try:
            _Loop(self).run()
        except Exception as exc:
            self._log_once(
                "error", f"{self.name}: worker stopped by an internal error: {traceback.format_exc()}"
            )
            self._publish(Status(State.FAILED, detail=str(exc)))


class _Loop:
    """The worker's state machine; lives only on the worker thread."""

    def __init__(self, w: SourceWorker) -> None:
        self.w = w
        self.cfg: SourceConfig | None = None
        self.replacer: BackgroundReplacer | None = None
        self.reader: FrameMailbox | None = None
        self.reader_frames = 0  # frames taken from the current reader
        self.lost = False  # the current reader lost its camera after giving frames
        self.camera_key: tuple[Any, ...] | None = None
        self.next_open = 0.0
        self.last_out: BGRA | None = None
        self.countdown_end: float | None = None
        self.capturing = False
        self.plate_camera: str | None = None  # camera the plate was captured with
        self.plate_loaded_for: str | None = None
        self.background_error: str | None = None  # why the chosen background is not shown
        self.capture_refused: str | None = None
        self.capture_try = 0  # the capture's try the log has told of
        self.plate_problem: str | None = None  # the saved plate could not be restored
        self.saver = PlateSaver(w.name, w._say)
        self.frame_times: list[float] = []
        self.ms_per_frame: float | None = None
        self.shown_placeholder: Status | None = None

    # -- helpers ---------------------------------------------------------------------------
    def plate_paths(self) -> tuple[Path, Path] | None:
        cfg = self.cfg
        if self.w._plate_dir is None or cfg is None or not cfg.plate_id:
            return None
        base = self.w._plate_dir / cfg.plate_id
        return base.with_suffix(".npz"), base.with_suffix(".json")

    def load_plate(self) -> None:
        paths = self.plate_paths()
        assert self.replacer is not None
        if paths is None or self.plate_loaded_for == str(paths[0]):
            return
        self.plate_loaded_for = str(paths[0])
        if not paths[0].exists():
            return
        try:
            plate = Plate.load(paths[0])
            self.replacer.set_plate(plate)
            try:
                meta = json.loads(paths[1].read_text())
                self.plate_camera = str(meta.get("camera"))
            except (OSError, ValueError):
                self.plate_camera = None
            self.plate_problem = None
            self.w._say("info", f"{self.w.name}: restored the background plate {paths[0]}")
        except BgError as exc:
            self.plate_problem = str(exc)

    def save_plate(self) -> None:
        paths = self.plate_paths()
        assert self.replacer is not None and self.cfg is not None
        plate = self.replacer.plate
        if paths is None or plate is None:
            return
        self.plate_loaded_for = str(paths[0])
        self.saver.save(plate, paths, str(self.cfg.camera))

    def close_camera(self) -> None:
        """Stop the reader thread and close the camera (joins the reader)."""
        if self.reader is not None and self.reader is self.w._frames:
            self.reader = None  # the filter's mailbox: its owner closes it
            return
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:
                self.w._log_once(
                    "warning", f"{self.w.name}: closing the camera failed: {traceback.format_exc(limit=2)}"
                )
            self.reader = None

    def apply(self, cfg: SourceConfig) -> None:
        old = self.cfg
        self.cfg = cfg
        if self.replacer is None:
            self.replacer = BackgroundReplacer(open_background("transparent"), settings=cfg.settings)
        else:
            self.replacer.update(settings=cfg.settings)
        if old is None or old.background != cfg.background or old.background_error != cfg.background_error:
            self.open_background(cfg)
        else:
            background = self.replacer.background
            if isinstance(background, FollowedFile):
                background.refresh()  # (the same file sent again: look at it now)
        if old is None or old.plate_id != cfg.plate_id:
            self.load_plate()
        if cfg.camera_key != self.camera_key:
            if old is not None and self.camera_key is not None:
                if old.camera != cfg.camera:
                    self.w._say("info", f"{self.w.name}: camera changed to {_describe_camera(cfg.camera)}")
                else:
                    self.w._say(
                        "info",
                        f"{self.w.name}: capture {_capture_changes(old, cfg)}: reopening "
                        f"{_describe_camera(cfg.camera)}",
                    )
            self.close_camera()
            self.camera_key = cfg.camera_key
            self.next_open = 0.0
            if self.capturing:
                # a plate must come from one camera: capture again from the new one's frames
                # (OBS defers update to the next video tick, so a Recapture pressed right after
                # changing the camera can arrive first)
                self.replacer.cancel_capture()
                self.capturing = False
                self.countdown_end = self.w._clock()
                self.w._say("info", f"{self.w.name}: camera changed during the capture: capturing again")

    def open_background(self, cfg: SourceConfig) -> None:
        assert self.replacer is not None
        self.background_error = cfg.background_error
        spec = cfg.background  # (with an error, config gives what its message says: transparent, blur)
        try:
            self.replacer.update(background=open_background(spec, follow_file=True))
        except BgError as exc:
            self.background_error = f"{exc} (showing a transparent background)"
            self.replacer.update(background=open_background("transparent"))
        except Exception as exc:
            self.background_error = f"Background unavailable: {exc}"
            self.w._log_once("error", f"{self.w.name}: background {spec!r}: {traceback.format_exc(limit=3)}")

    def problems(self) -> tuple[Problem, ...]:
        """The problems beside the state, one per topic (see bgobs.status)."""
        cfg, replacer = self.cfg, self.replacer
        assert cfg is not None and replacer is not None
        found = []
        if cfg.settings_error:
            found.append(Problem(Topic.SETTINGS, cfg.settings_error))
        background = self.background_error or getattr(replacer.background, "error", None)
        if background:
            found.append(Problem(Topic.BACKGROUND, str(background)))
        if self.capture_refused:
            found.append(Problem(Topic.CAPTURE, f"Capture refused: {self.capture_refused}", Level.ERROR))
        elif self.saver.error:
            found.append(Problem(Topic.CAPTURE, self.saver.error))
        if self.plate_problem:
            found.append(Problem(Topic.PLATE, self.plate_problem))
        elif replacer.plate is not None and self.plate_camera not in (None, str(cfg.camera)):
            found.append(
                Problem(
                    Topic.PLATE,
                    "the background was captured with another camera and may be stale: "
                    "recapture if edges look wrong",
                )
            )
        return tuple(found)

    def no_picture(self, status: Status) -> None:
        """No new camera frame: keep the last frame with a banner, or show a placeholder."""
        self.w._publish(status)
        if self.shown_placeholder == status:
            return
        self.shown_placeholder = status
        words = banner(status)
        if self.last_out is not None:
            frame = self.last_out.copy()
            overlay.banner(frame, words)
        else:
            cfg = self.cfg
            size = (
                (cfg.width or PLACEHOLDER_SIZE[0], cfg.height or PLACEHOLDER_SIZE[1])
                if cfg
                else PLACEHOLDER_SIZE
            )
            frame = overlay.placeholder(size[0], size[1], "Background Replacer\n" + words)
        self.w._emit(frame)

    # -- main loop -------------------------------------------------------------------------------
    def run(self) -> None:
        w = self.w
        try:
            while not w._stopping:
                with w._lock:
                    pending, w._pending = w._pending, None
                if pending is not None:
                    self.apply(pending)
                if self.cfg is None:
                    w._wake.wait(0.5)
                    w._wake.clear()
                    continue
                if not (w._visible or self.cfg.keep_open):
                    if self.reader is not None:
                        self.close_camera()
                        w._say("info", f"{w.name}: source hidden, camera closed")
                    w._publish(Status(State.HIDDEN))
                    w._wake.wait(0.5)
                    w._wake.clear()
                    continue
                if self.reader is None and not self.open_camera():
                    continue
                assert self.reader is not None
                item = self.reader.latest(timeout=0.1)
                if item is None:
                    self.no_frame()
                else:
                    self.step(item[0])
        finally:
            self.close_camera()
            if self.replacer is not None:
                self.replacer.close()
            self.saver.join()

    def open_camera(self) -> bool:
        """Start a reader for the configured camera. The reader opens it on its own thread
        and, while it cannot (missing file, camera unplugged or busy), retries every
        RECONNECT_SECONDS by itself: the one reconnect mechanism."""
        w, cfg = self.w, self.cfg
        assert cfg is not None
        if w._frames is not None:  # the filter: frames come from OBS, there is no camera to open
            self.reader = w._frames
            self.reader_frames = 0
            self.lost = False
            self.frame_times.clear()
            self.ms_per_frame = None
            return True
        now = w._clock()
        if now < self.next_open:
            w._wake.wait(min(0.5, self.next_open - now))
            w._wake.clear()
            return False
        opener = w._open_camera

        def open_configured() -> FrameSource:
            return opener(cfg)

        open_configured.__name__ = _describe_camera(cfg.camera)
        try:
            self.reader = LatestFrameReader(
                open_configured, reconnect_seconds=RECONNECT_SECONDS, wait_for_source=True
            )
        except Exception as exc:  # LatestFrameReader keeps BgErrors to itself: this is a bug
            w._log_once("error", f"{w.name}: opening {cfg.camera!r}: {traceback.format_exc(limit=3)}")
            self.next_open = w._clock() + RECONNECT_SECONDS
            self.no_picture(Status(State.NO_CAMERA, detail=str(exc), retry_seconds=RECONNECT_SECONDS))
            return False
        self.reader_frames = 0
        self.lost = False
        self.frame_times.clear()  # the frame rate is measured anew for this camera
        self.ms_per_frame = None
        if self.reader.state == "running":
            w._say("info", f"{w.name}: opened {_describe_camera(cfg.camera)}")
        return True

    def no_frame(self) -> None:
        """No new frame within the wait: say why if the reader is not simply between frames."""
        reader = self.reader
        assert reader is not None
        state, error = reader.state, reader.error
        if state == "reconnecting":
            if self.reader_frames:
                self.lost = True
                self.no_picture(Status(State.CAMERA_LOST, detail=error))
            else:
                self.no_picture(Status(State.NO_CAMERA, detail=error, retry_seconds=RECONNECT_SECONDS))
        elif state in ("ended", "failed"):
            # only a file can end (files loop) or fail: start a new reader after a pause
            self.close_camera()
            self.next_open = self.w._clock() + RECONNECT_SECONDS
            reason = error or "the file ended"
            self.no_picture(Status(State.CAMERA_STOPPED, detail=reason, retry_seconds=RECONNECT_SECONDS))

    def step(self, frame: Any) -> None:
        w, cfg, replacer = self.w, self.cfg, self.replacer
        assert cfg is not None and replacer is not None
        if self.lost:
            self.lost = False
            w._say("info", f"{w.name}: camera back")
        elif not self.reader_frames and self.reader is not None and self.reader.reconnects:
            w._say("info", f"{w.name}: opened {_describe_camera(cfg.camera)}")
        self.reader_frames += 1
        self.shown_placeholder = None
        now = w._clock()
        if w._recapture:
            w._recapture = False
            replacer.cancel_capture()
            self.capturing = False
            self.capture_refused = None
            self.countdown_end = now + cfg.recapture_delay
            w._say("info", f"{w.name}: recapture requested (delay {cfg.recapture_delay:g} s)")
        if self.countdown_end is not None and now >= self.countdown_end:
            self.countdown_end = None
            replacer.start_capture(cfg.settings.plate_frames, threaded=True, retry=True)
            self.capturing = True
            self.capture_try = replacer.capture_try
            w._say("info", f"{w.name}: capturing the background ({cfg.settings.plate_frames} frames)")

        t0 = time.perf_counter()
        out = replacer.process(frame, t=now)
        background = replacer.background
        if isinstance(background, FollowedFile):
            background.follow(now)  # (also while nothing is composited: no plate, a capture)
        if kernels.failure is not None:  # (then the OpenCV paths run: same mask, slower)
            w._log_once("warning", f"compiled kernels off, running slower: {kernels.failure}")
        if self.capturing and replacer.capture_try > self.capture_try:  # refused, tried again
            self.capture_try = replacer.capture_try
            w._say(
                "info",
                f"{w.name}: capture refused ({replacer.capture_retried}): capturing again, "
                f"try {replacer.capture_try} of {CAPTURE_TRIES}",
            )
        progress = replacer.capture_progress
        if self.countdown_end is not None or progress is not None:
            replacer.output_touched()  # the overlay below draws into the output
        status: Status | None = None
        if self.countdown_end is not None:
            left = self.countdown_end - now
            overlay.countdown(out, left)
            status = Status(State.COUNTDOWN, seconds_left=max(1, int(np.ceil(left))))
        elif progress is not None:
            overlay.capture_progress(out, *progress)
            state = State.COMPUTING if replacer.capture_computing else State.CAPTURING
            status = Status(state, progress=progress)
        elif self.capturing:
            self.capturing = False
            if replacer.capture_error:
                self.capture_refused = replacer.capture_error
            else:
                self.plate_camera = str(cfg.camera)
                self.capture_refused = None
                self.plate_problem = None
                self.save_plate()
        self.timing(now, (time.perf_counter() - t0) * 1000)
        self.last_out = out
        w._emit(out)
        w._publish(status or self.running_status(frame.shape[1], frame.shape[0]))

    def timing(self, now: float, ms: float) -> None:
        self.ms_per_frame = ms if self.ms_per_frame is None else 0.9 * self.ms_per_frame + 0.1 * ms
        self.frame_times.append(now)
        while self.frame_times and self.frame_times[0] < now - FPS_WINDOW_SECONDS:
            self.frame_times.pop(0)

    def fps(self) -> float | None:
        """Frames per second over the last seconds; None until they span long enough."""
        ft = self.frame_times
        if len(ft) < 2 or ft[-1] - ft[0] < FPS_MIN_SPAN_SECONDS:
            return None
        return (len(ft) - 1) / (ft[-1] - ft[0])

    def running_status(self, width: int, height: int) -> Status:
        replacer = self.replacer
        assert replacer is not None
        measured = self.fps()
        fps = None if measured is None else float(round(measured))
        ms = None if fps is None or self.ms_per_frame is None else round(self.ms_per_frame, 1)
        plate = replacer.plate
        state = State.RUNNING
        if plate is None:
            state = State.NO_PLATE
        elif plate.size != (width, height):
            state = State.OTHER_SIZE
        running = state is State.RUNNING and plate is not None
        return Status(
            state,
            self.problems(),
            camera_size=(width, height),
            plate_size=plate.size if state is State.OTHER_SIZE and plate is not None else None,
            fps=fps,
            ms_per_frame=ms,
            dynamic_regions=plate.dynamic_regions if running and plate is not None else (),
            background_changes=replacer.background_changes if running else (),
        )
