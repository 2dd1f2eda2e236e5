"""Text drawn onto output frames: the recapture countdown, capture progress, placeholders.

Used by the OBS source (and usable by any front end) so the person in front of the camera
sees what is happening on the output itself. Pure OpenCV on BGRA buffers; never imports OBS.
Every drawing function works in place on an HxWx4 uint8 BGRA array and makes the pixels it
draws opaque (alpha 255), so the text shows even over a transparent background.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

BGRA = npt.NDArray[np.uint8]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255, 255)
_ACCENT = (64, 200, 255, 255)  # amber (BGR order)
_PANEL = (32, 32, 32)


def _check(frame: BGRA) -> tuple[int, int]:
    if not (
        isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 4
    ):
        got = getattr(frame, "shape", type(frame).__name__)
        raise TypeError(f"overlay needs an HxWx4 uint8 BGRA frame, got {got}")
    h, w = frame.shape[:2]
    return w, h


def _fit_scale(text: str, max_width: int, max_height: int, thickness: int) -> float:
    (tw, th), _ = cv2.getTextSize(text, _FONT, 1.0, thickness)
    return max(0.3, min(max_width / max(tw, 1), max_height / max(th, 1)))


def banner(frame: BGRA, text: str, *, progress: float | None = None) -> BGRA:
    """A dark strip along the bottom with ``text`` and, if given, a progress bar (0-1)."""
    w, h = _check(frame)
    strip = max(24, h // 8)
    bar = max(4, strip // 6) if progress is not None else 0
    y0 = h - strip - bar
    region = frame[y0:h]
    region[..., :3] = (
        region[..., :3].astype(np.uint16) * 3 // 10 + np.array(_PANEL, np.uint16) * 7 // 10
    ).astype(np.uint8)
    region[..., 3] = 255
    thickness = max(1, strip // 20)
    scale = _fit_scale(text, int(w * 0.92), int(strip * 0.55), thickness)
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    org = ((w - tw) // 2, y0 + (strip + th) // 2)
    cv2.putText(frame, text, org, _FONT, scale, _WHITE, thickness, cv2.LINE_AA)
    if progress is not None:
        done = round(w * min(1.0, max(0.0, progress)))
        frame[h - bar : h, :done] = _ACCENT
    return frame


def countdown(frame: BGRA, seconds_left: float, text: str = "Step out of the frame") -> BGRA:
    """A big centred number (whole seconds, rounded up) and ``text`` in a banner."""
    w, h = _check(frame)
    number = str(max(1, int(np.ceil(seconds_left))))
    thickness = max(2, h // 60)
    scale = _fit_scale(number, w // 3, h // 3, thickness)
    (tw, th), _ = cv2.getTextSize(number, _FONT, scale, thickness)
    org = ((w - tw) // 2, (h + th) // 2 - h // 16)
    cv2.putText(
        frame, number, org, _FONT, scale, (0, 0, 0, 255), thickness + max(2, thickness // 2), cv2.LINE_AA
    )
    cv2.putText(frame, number, org, _FONT, scale, _WHITE, thickness, cv2.LINE_AA)
    return banner(frame, f"{text}: capturing the background in {number} s")


def capture_progress(frame: BGRA, done: int, total: int) -> BGRA:
    """The plate capture's progress as a banner with a bar."""
    return banner(
        frame, f"Capturing background {done}/{total}: keep out of the frame", progress=done / max(total, 1)
    )


def placeholder(width: int, height: int, text: str, *, out: BGRA | None = None) -> BGRA:
    """An opaque dark-grey frame with ``text`` centred (shown when there is no camera image)."""
    if out is None or out.shape != (height, width, 4):
        out = np.empty((height, width, 4), np.uint8)
    out[...] = (48, 48, 48, 255)
    thickness = max(1, height // 240)
    lines = text.split("\n")
    scale = min(_fit_scale(line, int(width * 0.9), max(8, height // 14), thickness) for line in lines)
    (_, th), _ = cv2.getTextSize("Ag", _FONT, scale, thickness)
    gap = th * 2
    y = (height - gap * (len(lines) - 1)) // 2 + th // 2
    for line in lines:
        (tw, _), _ = cv2.getTextSize(line, _FONT, scale, thickness)
        cv2.putText(
            out, line, ((width - tw) // 2, y), _FONT, scale, (220, 220, 220, 255), thickness, cv2.LINE_AA
        )
        y += gap
    return out
