"""``bgreplace preview``: the tutorial's live loop in a window, with the engine done well.

Camera (or file) in, composite out, in a window: a countdown, then the plate is captured
while the user is out of frame; keys ``r`` recapture, ``m`` mask view, ``q``/Esc quit. The
frame rate shows in a corner.

The pip wheel ``opencv-python-headless`` has no windows (``cv2.imshow`` is not implemented),
so the preview falls back to Tk (Python's standard library), which shows a frame through a
PPM image: no extra dependency. Threading: everything runs on the calling thread.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from . import overlay
from .errors import SettingsError
from .settings import Settings

BGRA = npt.NDArray[np.uint8]
TITLE = "bgreplace preview (r: recapture, m: mask, q: quit)"


class _Window(Protocol):
    def show(self, frame: BGRA) -> None: ...

    def key(self) -> str | None:
        """The key pressed since the last call (``"q"`` also when the window was closed)."""
        ...

    def close(self) -> None: ...


class _CvWindow:
    def __init__(self) -> None:
        cv2.namedWindow(TITLE, cv2.WINDOW_AUTOSIZE)

    def show(self, frame: BGRA) -> None:
        cv2.imshow(TITLE, frame)

    def key(self) -> str | None:
        code = cv2.waitKey(1) & 0xFF
        if code == 27:
            return "q"
        if cv2.getWindowProperty(TITLE, cv2.WND_PROP_VISIBLE) < 1:
            return "q"
        return chr(code) if code != 255 else None

    def close(self) -> None:
        cv2.destroyWindow(TITLE)


class _TkWindow:
    def __init__(self) -> None:
        import tkinter

        self._tk = tkinter
        self.root = tkinter.Tk()
        self.root.title(TITLE)
        self.label = tkinter.Label(self.root)
        self.label.pack()
        self._keys: list[str] = []
        self._photo: Any = None
        self.root.bind("<Key>", lambda e: self._keys.append("q" if e.keysym == "Escape" else e.char))
        self.root.protocol("WM_DELETE_WINDOW", lambda: self._keys.append("q"))

    def show(self, frame: BGRA) -> None:
        h, w = frame.shape[:2]
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        ppm = b"P6 %d %d 255\n" % (w, h) + rgb.tobytes()
        self._photo = self._tk.PhotoImage(data=ppm, format="PPM")
        self.label.configure(image=self._photo)
        self.root.update()

    def key(self) -> str | None:
        self.root.update()
        return self._keys.pop(0) if self._keys else None

    def close(self) -> None:
        with contextlib.suppress(self._tk.TclError):
            self.root.destroy()


def open_window() -> _Window:
    """An OpenCV window where OpenCV has a GUI, else a Tk window; SettingsError if neither.

    The advice depends on what failed: no tkinter module means Tk is not installed for this
    Python; a Tk that cannot connect means the display itself is missing or dead."""
    try:
        return _CvWindow()
    except cv2.error:
        pass
    try:
        import tkinter
    except ImportError:
        raise SettingsError(
            "cannot open a preview window: this Python has no Tk (tkinter); install it "
            "(Debian/Ubuntu: sudo apt install python3-tk) or use 'process' to write a video"
        ) from None
    try:
        return _TkWindow()
    except tkinter.TclError as exc:
        display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "(none)"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(
            f"cannot open a preview window on the display {display} ({first}); is a desktop "
            "session running there? Otherwise use 'process' to write a video"
        ) from None


def run_preview(
    camera: str, *, background: str, settings: Settings, fit: str = "cover", delay: float = 3.0
) -> int:
    """Run until the user quits or a file source ends. Returns the exit code (0)."""
    from .backgrounds import open_background
    from .capture import open_source
    from .pipeline import BackgroundReplacer

    source = open_source(camera)  # (a camera number is a camera: see open_source)
    replacer = BackgroundReplacer(open_background(background, fit=fit), settings=settings)
    window = open_window()
    countdown_end: float | None = time.monotonic() + delay
    show_mask = settings.show_mask
    times: list[float] = []
    note = ""
    try:
        while True:
            frame = source.read()
            if frame is None:
                break
            now = time.monotonic()
            if countdown_end is not None and now >= countdown_end:
                countdown_end = None
                replacer.start_capture(retry=True)
            out = replacer.process(frame)
            if replacer.capture_error:
                note = f"Capture refused: {replacer.capture_error}. Press r to retry"
                replacer.capture_error = None
            progress = replacer.capture_progress
            if countdown_end is not None:
                overlay.countdown(out, countdown_end - now)
            elif progress is not None:
                overlay.capture_progress(out, *progress)
            elif note:
                overlay.banner(out, note)
            times = [*times[-29:], now]
            if len(times) > 1:
                fps = (len(times) - 1) / max(times[-1] - times[0], 1e-6)
                cv2.putText(
                    out,
                    f"{fps:.1f} fps",
                    (10, 24),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.6,
                    (255, 255, 255, 255),
                    2,
                    cv2.LINE_AA,
                )
            replacer.output_touched()  # the text above was drawn into the output
            window.show(out)
            key = window.key()
            if key in ("q", "Q"):
                break
            if key in ("r", "R"):
                replacer.cancel_capture()
                countdown_end, note = time.monotonic() + delay, ""
            elif key in ("m", "M"):
                show_mask = not show_mask
                replacer.update(replacer.settings.replace(show_mask=show_mask))
            if not source.live:
                time.sleep(max(0.0, 1.0 / max(source.fps, 1.0) - (time.monotonic() - now)))
    finally:
        window.close()
        replacer.close()
        source.close()
    return 0
