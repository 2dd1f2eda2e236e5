"""The outline decided by coverage (bgcore.engine.edges): a disc mixed into a plain room in
linear light, as a lens and a sensor mix it, then through the sRGB curve; the truth is
exactly coverage >= 1/2 (as bgcore.synth's)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from bgcore import kernels
from bgcore.engine.edges import LINEAR, EdgeUnmix

H, W, SS = 60, 80, 8


def _coverage(cx: float, cy: float, r: float) -> npt.NDArray[np.float32]:
    ys, xs = np.mgrid[0 : H * SS, 0 : W * SS]
    inside = ((xs + 0.5) / SS - cx) ** 2 + ((ys + 0.5) / SS - cy) ** 2 <= r * r
    return inside.reshape(H, SS, W, SS).mean(axis=(1, 3)).astype(np.float32)


def _render(
    coverage: npt.NDArray[np.float32], person: tuple[int, int, int], room: tuple[int, int, int]
) -> npt.NDArray[np.uint8]:
    a = coverage[..., None]
    linear = a * LINEAR[np.array(person)] + (1 - a) * LINEAR[np.array(room)]
    levels = np.searchsorted(LINEAR, linear)  # the level at or above: within a level
    return np.clip(levels, 0, 255).astype(np.uint8)


def _unmix(
    frame: npt.NDArray[np.uint8], room: tuple[int, int, int], mask: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    out = mask.copy()
    expected = np.empty((H, W, 3), np.float32)
    expected[:] = room
    EdgeUnmix(H, W)(out, frame, expected, (slice(0, H), slice(0, W)), lit=np.zeros((H, W), np.uint8))
    return out


def test_outline_pixels_follow_coverage_not_difference() -> None:
    room = (200, 190, 180)
    for person in ((40, 60, 90), (120, 150, 60), (250, 250, 250)):
        cov = _coverage(40.3, 29.7, 17.2)
        frame = _render(cov, person, room)
        truth = cov >= 0.5
        touched = (cov > 0.05).astype(np.uint8) * 255  # what a difference threshold keeps
        before = int(((touched > 0) != truth).sum())
        after = int(((_unmix(frame, room, touched) > 0) != truth).sum())
        assert before > 40, before  # (the ring of pixels the person covers a little)
        assert after <= 0.1 * before, (person, before, after)
        # a mask one pixel short (a dark strand lost in the tone curve) grows back
        short = ((cov >= 0.95) * 255).astype(np.uint8)
        after_short = int(((_unmix(frame, room, short) > 0) != truth).sum())
        assert after_short <= 0.1 * int(((short > 0) != truth).sum()), (person, after_short)


def test_a_person_like_the_room_or_light_keeps_the_mask() -> None:
    room = (120, 120, 120)
    cov = _coverage(40.0, 30.0, 15.0)
    frame = _render(cov, (128, 126, 124), room)  # 10 levels off: coverage is noise there
    touched = ((cov > 0.05) * 255).astype(np.uint8)
    assert np.array_equal(_unmix(frame, room, touched), touched)
    frame = _render(cov, (20, 20, 20), room)
    out = touched.copy()
    expected = np.full((H, W, 3), room, np.float32)
    lit = np.full((H, W), 255, np.uint8)  # all explained as light: the room is not the plate
    EdgeUnmix(H, W)(out, frame, expected, (slice(0, H), slice(0, W)), lit=lit)
    assert np.array_equal(out, touched)


def test_the_kernel_and_the_opencv_passes_decide_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact integer arithmetic on both paths: the same mask, bit for bit, on noisy frames of
    several people's colours (the kernel's own path is also the engine's, tests/test_kernels.py)."""
    if not kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(5)
    room = (170, 160, 140)
    changed = 0
    for person in ((40, 60, 90), (150, 170, 120), (235, 230, 225), (160, 150, 135)):
        cov = _coverage(40.6 + rng.uniform(-2, 2), 30.2, 16.7)
        frame = np.clip(_render(cov, person, room) + rng.normal(0, 3, (H, W, 3)), 0, 255).astype(np.uint8)
        expected = np.full((H, W, 3), room, np.float32) + rng.normal(0, 0.7, (H, W, 3)).astype(np.float32)
        touched = ((cov > rng.uniform(0.02, 0.3)) * 255).astype(np.uint8)
        lit = np.zeros((H, W), np.uint8)
        lit[:8] = 255
        roi = (slice(2, H - 1), slice(3, W))
        outs = []
        for on in (True, False):
            monkeypatch.setattr(kernels, "enabled", on)
            out = touched.copy()
            EdgeUnmix(H, W)(out, frame, expected, roi, lit=lit)
            outs.append(out)
        assert np.array_equal(outs[0], outs[1]), (person, int((outs[0] != outs[1]).sum()))
        changed += int((outs[0] != touched).sum())
    assert changed > 100  # (the decisions did something)
