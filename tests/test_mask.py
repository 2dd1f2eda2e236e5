"""The classic mode's mask (bgcore.mask) against the tutorial, re-derived without OpenCV."""

from __future__ import annotations

import numpy as np

from bgcore import mask


def _tutorial_reference(frame: np.ndarray, ref: np.ndarray, thr: int) -> np.ndarray:
    """The tutorial's mask re-derived in integer numpy (no OpenCV)."""
    d = np.abs(frame.astype(np.int16) - ref.astype(np.int16))
    d[d < thr] = 0
    b, g, r = (d[..., i].astype(np.int32) for i in range(3))
    gray = (b * 1868 + g * 9617 + r * 4899 + (1 << 13)) >> 14  # OpenCV's fixed-point BGR2GRAY
    return np.where(gray >= mask.GRAY_THRESHOLD, 255, 0).astype(np.uint8)


def test_classic_mask_matches_the_tutorial_exactly(rng: np.random.Generator) -> None:
    ref = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    frame = np.clip(ref.astype(np.int16) + rng.integers(-40, 41, ref.shape), 0, 255).astype(np.uint8)
    for thr in (0, 13, 30):
        assert np.array_equal(mask.classic_mask(frame, ref, thr), _tutorial_reference(frame, ref, thr))
