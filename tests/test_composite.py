"""The soft alpha and the composite (bgcore.composite)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgcore import composite


def test_feather_stays_inside_and_keeps_thin_parts() -> None:
    m = np.zeros((60, 60), np.uint8)
    m[10:50, 10:50] = 255
    m[0:10, 30] = 255  # thin
    a = composite.feather_alpha(m, 2.0)
    outside = cv2.dilate(m, np.ones((3, 3), np.uint8)) == 0
    assert a[outside].max() == 0  # no halo: nothing beyond one pixel outside the mask
    assert a[25:35, 25:35].min() == 255
    assert a[2:8, 30].min() >= 127
    assert np.array_equal(composite.feather_alpha(m, 0), m)


def test_composite_blends_exactly(rng: np.random.Generator) -> None:
    frame = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    alpha = np.zeros((10, 12), np.uint8)
    alpha[:, 4:8] = 255
    alpha[:, 8:] = 128
    out = composite.composite(frame, alpha, bg)
    assert out.shape == (10, 12, 4) and (out[..., 3] == 255).all()
    assert np.array_equal(out[:, :4, :3], bg[:, :4])
    assert np.array_equal(out[:, 4:8, :3], frame[:, 4:8])
    ref = (frame[:, 8:].astype(float) * 128 + bg[:, 8:].astype(float) * 127) / 255
    assert np.abs(out[:, 8:, :3] - ref).max() <= 1.0
    t = composite.composite(frame, alpha, None)
    assert np.array_equal(t[..., :3], frame) and np.array_equal(t[..., 3], alpha)


@pytest.mark.parametrize("feather", [0.7, 2.0, 4.5])
def test_feather_around_the_mask_equals_blurring_the_whole_frame(feather: float) -> None:
    """feather_alpha blurs only the mask's bounding box plus the kernel's reach: the same
    bytes as blurring the whole frame (masks in the middle, at the edges, and empty)."""
    rng = np.random.default_rng(int(feather * 10))
    scale = 1.0 / (composite.ALPHA_HI - composite.ALPHA_LO)
    for _ in range(6):
        m = np.zeros((90, 160), np.uint8)
        for _ in range(int(rng.integers(0, 3))):
            c = (int(rng.integers(-10, 170)), int(rng.integers(-10, 100)))
            cv2.ellipse(m, c, (int(rng.integers(2, 40)), int(rng.integers(2, 30))), 0, 0, 360, 255, -1)
        k = cv2.getGaussianKernel(2 * int(np.ceil(3 * feather)) + 1, feather, cv2.CV_32F)
        whole = cv2.sepFilter2D(m, -1, k, k)
        whole = cv2.addWeighted(whole, scale, whole, 0.0, -255.0 * composite.ALPHA_LO * scale)
        whole = np.maximum(whole, m >> 1)
        stale = np.full_like(m, 77)  # whatever a reused buffer held before
        assert np.array_equal(composite.feather_alpha(m, feather, out=stale), whole)
