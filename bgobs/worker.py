"""One Background Replacer source's state and its worker thread.

Threading contract: OBS calls :meth:`SourceWorker.configure`, :meth:`set_visible`,
:meth:`recapture` and :meth:`status` from its UI, render, hotkey and websocket threads; they
only store a value and wake the worker, never block and never touch files or the camera.
Everything slow runs off OBS's threads: the camera (or file) is opened, read and reopened by
a :class:`bgcore.capture.LatestFrameReader` thread that hands over only the newest frame;
loading backgrounds and plates, the engine and saving plates run on the worker thread, the
only thread that calls the engine.
:meth:`stop` (called from the source's ``destroy``) asks the thread to finish and joins it;
it is idempotent.

No OBS here: frames go to ``sink(bgra)`` and status lines to ``on_status(text, level)``,
both given by :mod:`bgobs.plugin`; tests drive the worker with plain callables.
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
from bgcore.backgrounds import open_background
from bgcore.capture import FrameSource, LatestFrameReader, open_source

from .config import SourceConfig

BGRA = npt.NDArray[np.uint8]
Sink = Callable[[BGRA], None]
StatusCallback = Callable[[str, str], None]  # (text, level: "normal" | "warning" | "error")
Log = Callable[[str, str], None]  # (level: "info" | "warning" | "error", message)

RECONNECT_SECONDS = 2.0
PLACEHOLDER_SIZE = (1280, 720)


def _describe_camera(camera: str | int) -> str:
    return f"camera {camera}" if isinstance(camera, int) else str(camera)


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
    ) -> None:
        self.name = name
        self._sink = sink
        self._on_status = on_status
        self._log = log
        self._plate_dir = plate_dir
        self._open_camera = open_camera
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: SourceConfig | None = None
        self._visible = False
        self._recapture = False
        self._stopping = False
        self._status = ("Starting", "normal")
        self._logged: set[str] = set()
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

    def status(self) -> tuple[str, str]:
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

    # -- worker thread -------------------------------------------------------------------------
    def _set_status(self, text: str, level: str = "normal") -> None:
        if (text, level) != self._status:
            self._status = (text, level)
            try:
                self._on_status(text, level)
            except Exception:
                self._log_once("error", f"{self.name}: status update failed: {traceback.format_exc(limit=3)}")

    def _log_once(self, level: str, message: str) -> None:
        if message not in self._logged:
            self._logged.add(message)
            with contextlib.suppress(Exception):
                self._log(level, message)

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
            self._set_status(f"Internal error: {exc}. Remove and re-add the source; see the OBS log", "error")


class _Loop:
    """The worker's state machine; lives only on the worker thread."""

    def __init__(self, w: SourceWorker) -> None:
        self.w = w
        self.cfg: SourceConfig | None = None
        self.replacer: BackgroundReplacer | None = None
        self.reader: LatestFrameReader | None = None
        self.reader_frames = 0  # frames taken from the current reader
        self.lost = False  # the current reader lost its camera after giving frames
        self.camera_key: tuple[Any, ...] | None = None
        self.next_open = 0.0
        self.last_out: BGRA | None = None
        self.countdown_end: float | None = None
        self.capturing = False
        self.plate_camera: str | None = None  # camera the plate was captured with
        self.plate_loaded_for: str | None = None
        self.background_error: str | None = None
        self.frame_times: list[float] = []
        self.ms_per_frame = 0.0
        self.capture_note: str | None = None
        self.shown_placeholder: str | None = None

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
            self.w._log("info", f"{self.w.name}: restored the background plate {paths[0]}")
        except BgError as exc:
            self.capture_note = str(exc)
            self.w._log_once("warning", f"{self.w.name}: {exc}")

    def save_plate(self) -> None:
        paths = self.plate_paths()
        assert self.replacer is not None and self.cfg is not None
        plate = self.replacer.plate
        if paths is None or plate is None:
            return
        try:
            plate.save(paths[0])
            paths[1].write_text(json.dumps({"camera": str(self.cfg.camera), "size": list(plate.size)}))
            self.plate_loaded_for = str(paths[0])
            self.w._log("info", f"{self.w.name}: saved the background plate to {paths[0]}")
        except (BgError, OSError) as exc:
            self.capture_note = f"Background captured but not saved: {exc}"
            self.w._log_once("warning", f"{self.w.name}: {exc}")

    def close_camera(self) -> None:
        """Stop the reader thread and close the camera (joins the reader)."""
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
        if cfg.settings_error:
            self.w._log_once("warning", f"{self.w.name}: {cfg.settings_error}")
        if old is None or old.background != cfg.background or old.background_error != cfg.background_error:
            self.background_error = cfg.background_error
            spec = cfg.background if not cfg.background_error else "transparent"
            try:
                self.replacer.update(background=open_background(spec))
            except BgError as exc:
                self.background_error = f"{exc} (showing a transparent background)"
                self.replacer.update(background=open_background("transparent"))
            except Exception as exc:
                self.background_error = f"Background unavailable: {exc}"
                self.w._log_once(
                    "error", f"{self.w.name}: background {spec!r}: {traceback.format_exc(limit=3)}"
                )
        if old is None or old.plate_id != cfg.plate_id:
            self.load_plate()
        if cfg.camera_key != self.camera_key:
            if self.camera_key is not None:
                self.w._log("info", f"{self.w.name}: camera changed to {_describe_camera(cfg.camera)}")
            self.close_camera()
            self.camera_key = cfg.camera_key
            self.next_open = 0.0
            if self.capturing:
                # a plate must come from one camera: capture again from the new one's frames
                # (OBS defers update to the next video tick, so a Recapture pressed right after
                # changing the camera can arrive first)
                self.replacer.cancel_capture()
                self.capturing = False
                self.countdown_end = time.monotonic()
                self.w._log("info", f"{self.w.name}: camera changed during the capture: capturing again")

    def no_picture(self, text: str, level: str) -> None:
        """No new camera frame: keep the last frame with a banner, or show a placeholder."""
        self.w._set_status(text, level)
        if self.shown_placeholder == text:
            return
        self.shown_placeholder = text
        if self.last_out is not None:
            frame = self.last_out.copy()
            overlay.banner(frame, text.split(":")[0])
        else:
            cfg = self.cfg
            size = (
                (cfg.width or PLACEHOLDER_SIZE[0], cfg.height or PLACEHOLDER_SIZE[1])
                if cfg
                else PLACEHOLDER_SIZE
            )
            frame = overlay.placeholder(size[0], size[1], "Background Replacer\n" + text.split(":")[0])
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
                        w._log("info", f"{w.name}: source hidden, camera closed")
                    w._set_status("Hidden: the camera opens when the source is shown", "normal")
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

    def open_camera(self) -> bool:
        """Start a reader for the configured camera. The reader opens it on its own thread
        and, while it cannot (missing file, camera unplugged or busy), retries every
        RECONNECT_SECONDS by itself: the one reconnect mechanism."""
        w, cfg = self.w, self.cfg
        assert cfg is not None
        now = time.monotonic()
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
            self.next_open = time.monotonic() + RECONNECT_SECONDS
            self.no_picture(f"No camera: {exc}. Retrying every {RECONNECT_SECONDS:g} s", "error")
            return False
        self.reader_frames = 0
        self.lost = False
        if self.reader.state == "running":
            w._log("info", f"{w.name}: opened {_describe_camera(cfg.camera)}")
        return True

    def no_frame(self) -> None:
        """No new frame within the wait: say why if the reader is not simply between frames."""
        w, reader = self.w, self.reader
        assert reader is not None
        state, error = reader.state, reader.error
        if state == "reconnecting":
            if self.reader_frames:
                if not self.lost:
                    self.lost = True
                    w._log("warning", f"{w.name}: camera lost ({error}); reconnecting")
                self.no_picture("Camera disconnected: reconnecting by itself", "error")
            else:
                self.no_picture(f"No camera: {error}. Retrying every {RECONNECT_SECONDS:g} s", "error")
        elif state in ("ended", "failed"):
            # only a file can end (files loop) or fail: start a new reader after a pause
            self.close_camera()
            self.next_open = time.monotonic() + RECONNECT_SECONDS
            reason = error or "the file ended"
            w._log_once("warning", f"{w.name}: camera stopped: {reason}")
            self.no_picture(f"Camera stopped: {reason}. Opening it again in {RECONNECT_SECONDS:g} s", "error")

    def step(self, frame: Any) -> None:
        w, cfg, replacer = self.w, self.cfg, self.replacer
        assert cfg is not None and replacer is not None
        t0 = time.monotonic()
        if self.lost:
            self.lost = False
            w._log("info", f"{w.name}: camera back")
        elif not self.reader_frames and self.reader is not None and self.reader.reconnects:
            w._log("info", f"{w.name}: opened {_describe_camera(cfg.camera)}")
        self.reader_frames += 1
        self.shown_placeholder = None
        now = t0
        if w._recapture:
            w._recapture = False
            replacer.cancel_capture()
            self.capturing = False
            self.capture_note = None
            self.countdown_end = now + cfg.recapture_delay
            w._log("info", f"{w.name}: recapture requested (delay {cfg.recapture_delay:g} s)")
        if self.countdown_end is not None and now >= self.countdown_end:
            self.countdown_end = None
            replacer.start_capture(cfg.settings.plate_frames)
            self.capturing = True

        out = replacer.process(frame, t=now)
        if kernels.failure is not None:  # (then the OpenCV paths run: same mask, slower)
            w._log_once("warning", f"compiled kernels off, running slower: {kernels.failure}")
        progress = replacer.capture_progress
        if self.countdown_end is not None or progress is not None:
            replacer.output_touched()  # the overlay below draws into the output
        if self.countdown_end is not None:
            left = self.countdown_end - now
            overlay.countdown(out, left)
            w._set_status(f"Recapture in {max(1, int(np.ceil(left)))} s: step out of the frame", "warning")
        elif progress is not None:
            overlay.capture_progress(out, *progress)
            w._set_status(
                f"Capturing background {progress[0]}/{progress[1]}: keep out of the frame", "warning"
            )
        elif self.capturing:
            self.capturing = False
            if replacer.capture_error:
                self.capture_note = f"Capture refused: {replacer.capture_error}"
                w._log("warning", f"{w.name}: {self.capture_note}")
            else:
                self.plate_camera = str(cfg.camera)
                self.capture_note = None
                self.save_plate()
        self.last_out = out
        w._emit(out)
        self.timing(t0)
        if self.countdown_end is None and progress is None:
            self.running_status(frame.shape[1], frame.shape[0])

    def timing(self, t0: float) -> None:
        now = time.monotonic()
        self.ms_per_frame = (
            0.9 * self.ms_per_frame + 0.1 * (now - t0) * 1000 if self.ms_per_frame else (now - t0) * 1000
        )
        self.frame_times.append(now)
        while self.frame_times and self.frame_times[0] < now - 2.0:
            self.frame_times.pop(0)

    def fps(self) -> float:
        ft = self.frame_times
        return (len(ft) - 1) / (ft[-1] - ft[0]) if len(ft) > 1 and ft[-1] > ft[0] else 0.0

    def running_status(self, width: int, height: int) -> None:
        w, cfg, replacer = self.w, self.cfg, self.replacer
        assert cfg is not None and replacer is not None
        rate = f"{self.fps():.0f} fps, {self.ms_per_frame:.1f} ms per frame"
        plate = replacer.plate
        if self.capture_note:
            w._set_status(f"{self.capture_note} ({rate})", "error")
        elif cfg.settings_error:
            w._set_status(f"Running ({rate}); {cfg.settings_error}", "warning")
        elif plate is None:
            w._set_status(
                f"Running, no background captured yet: step out of the frame and press "
                f"Recapture background ({rate})",
                "warning",
            )
        elif plate.size != (width, height):
            pw, ph = plate.size
            w._set_status(
                f"Background was captured at {pw}x{ph} but the camera gives {width}x{height}: "
                f"showing the camera as is; press Recapture background",
                "warning",
            )
        elif self.background_error:
            w._set_status(f"Running ({rate}); {self.background_error}", "warning")
        elif self.plate_camera is not None and self.plate_camera != str(cfg.camera):
            w._set_status(
                f"Running ({rate}); the background was captured with another camera and may be stale: "
                f"recapture if edges look wrong",
                "warning",
            )
        else:
            w._set_status(f"Running: {rate}", "normal")
