"""The noise a JPEG (MJPEG) camera adds that a plate's frames cannot show.

A JPEG encoder rounds each 8x8 block's DCT coefficients to multiples of a step that grows as
the quality falls. When the sensor's noise is smaller than those steps, every plate frame
rounds to the same values: the frames are identical, their measured noise collapses to
almost zero, and the plate's mean carries one fixed rounding error. A live frame whose input
moved a little (the person entering the block, the exposure reacting, the noise re-rolled)
is rounded afresh: it differs from the plate by two independent rounding errors, far outside
the collapsed noise. Averaging more plate frames does not help: they are the same frame.

So the floor comes from the encoder, measured on the plate itself: :func:`detect_quality`
finds the quality the frames were encoded at (a decoded JPEG re-encoded at its own quality
barely changes; at any other quality it changes more: the "JPEG ghost" of Farid 2009);
:func:`requantisation_variance` re-encodes the plate's mean, nudged by the exposure steps a
camera takes, at that quality (the spread of those re-encodings is the rounding a live frame
may carry at each pixel), and :func:`dc_variance` is what a flat block's rounding alone
gives at that quality. Twice the larger (the plate's frozen error and the live frame's
fresh one) is the variance the plate's noise may not fall below. On real photographs seen
through JPEG at qualities 30-95 (sensor noise 1 level, the exposure moving by up to 6%), the
default mode's false foreground on the still room falls from 3.1% of the picture at quality
30 and 0.3-0.4% at 45-75 to none at every quality
(``tests/test_footage.py::test_jpeg_camera_on_real_rooms_shows_no_false_foreground``).

Frames that are not JPEG output at their own resolution (a raw camera, H.264 video, a
picture scaled after decoding) show no such quality: no floor then.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR

F32 = npt.NDArray[np.float32]

QUALITIES = range(20, 99)
"""The JPEG qualities probed (libjpeg's scale; above 98 the rounding is below a level)."""
PROBE_SIZE = 256
"""The side of the square, aligned to the encoder's 16x16 blocks, that the quality is probed on."""
GHOST_RATIO = 0.8
"""A quality is detected when re-encoding at it changes the probe less than this share of
what the nearest other qualities change it (measured: 0.0-0.6 for JPEG frames at 30-97,
1.02-1.14 for frames never compressed)."""
GHOST_MIN_LEVELS = 0.05
"""...and the qualities around change it by a median of at least this mean level (a flat
probe rounds the same at every quality and tells nothing)."""
EXPOSURE_NUDGES = (0.97, 0.99, 1.01, 1.03)
"""Exposure steps the re-encodings of the mean are nudged by: the smallest change of input
that re-rolls every rounding."""


def _encode(image: BGR, quality: int) -> BGR:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:  # (OpenCV always has its JPEG codec; a failure here is a broken install)
        raise RuntimeError("OpenCV could not encode and decode a JPEG")
    return decoded


def _probe(frame: BGR) -> BGR:
    """The most detailed PROBE_SIZE square of the frame, aligned to 16 pixels (a flat one
    rounds the same at every quality)."""
    h, w = frame.shape[:2]
    side = min(PROBE_SIZE, h // 16 * 16, w // 16 * 16)
    best, best_detail = frame[:side, :side], -1.0
    for fy in (0.0, 0.5, 1.0):
        for fx in (0.0, 0.5, 1.0):
            y = int(fy * (h - side)) // 16 * 16
            x = int(fx * (w - side)) // 16 * 16
            tile = frame[y : y + side, x : x + side]
            detail = float(np.mean(np.abs(cv2.Laplacian(cv2.cvtColor(tile, cv2.COLOR_BGR2GRAY), cv2.CV_16S))))
            if detail > best_detail:
                best, best_detail = tile, detail
    return np.ascontiguousarray(best)


def detect_quality(frame: BGR) -> int | None:
    """The JPEG quality ``frame`` was encoded at (libjpeg's scale), or None when it shows
    none (not JPEG output at this resolution, or too flat to tell)."""
    if min(frame.shape[:2]) < 32:
        return None
    probe = _probe(frame)
    as_float = probe.astype(np.float32)
    changes = np.array(
        [float(np.mean(np.abs(as_float - _encode(probe, q).astype(np.float32)))) for q in QUALITIES]
    )
    i = int(np.argmin(changes[:-1]))  # (the highest quality always changes least: not a ghost)
    # neighbouring qualities can share their rounding steps: compare with the nearest ones
    # that change the probe differently
    others = [c for c in changes[max(0, i - 4) : i + 5] if c > changes[i] * 1.0001]
    if not others:
        return None
    if float(np.median(others)) < GHOST_MIN_LEVELS or changes[i] > GHOST_RATIO * min(others):
        return None
    return int(QUALITIES[i])


def _ijg_step(base: int, quality: int) -> float:
    """libjpeg's quantisation step for a table entry ``base`` at ``quality``."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return float(min(255, max(1, (base * scale + 50) // 100)))


def dc_variance(quality: int) -> F32:
    """Per channel (B, G, R), the variance of a flat block's rounding error at ``quality``:
    its mean is the DC coefficient / 8, rounded to steps of libjpeg's DC entry (16 for luma,
    17 for chroma) scaled by the quality; uniform within a step, mixed into B, G and R by
    the YCbCr conversion. The floor of flat parts, where re-encoding a few samples of the
    mean may happen to round alike."""
    luma = (_ijg_step(16, quality) / 8.0) ** 2 / 12.0
    chroma = (_ijg_step(17, quality) / 8.0) ** 2 / 12.0
    mixing = np.array([1.772**2, 0.344**2 + 0.714**2, 1.402**2], np.float32)  # Cb/Cr into B, G, R
    return (luma + mixing * np.float32(chroma)).astype(np.float32)


def requantisation_variance(mean: F32, quality: int, downscale: Callable[[F32], F32]) -> F32:
    """Per pixel and channel, the variance of the rounding error of ``quality`` on the
    plate's full-size ``mean`` (re-encoded at each of EXPOSURE_NUDGES), seen through
    ``downscale`` (the working size's filter: the error is averaged like the frames are)."""
    total: F32 | None = None
    for gain in EXPOSURE_NUDGES:
        nudged = np.clip(mean * np.float32(gain), 0.0, 255.0)
        encoded = _encode(np.rint(nudged).astype(np.uint8), quality).astype(np.float32)
        error = downscale(encoded - nudged)
        squared = np.square(error, dtype=np.float32)
        total = squared if total is None else total + squared
    assert total is not None
    return (total / np.float32(len(EXPOSURE_NUDGES))).astype(np.float32)
