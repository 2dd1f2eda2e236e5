"""The compiled kernels (bgcore.kernels) against exact references, and their guards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgcore import BackgroundReplacer, composite, kernels, synth
from bgcore.engine import MaskEngine
from bgcore.plate import Downscaler, Plate, work_size
from bgcore.settings import Settings

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")


def exact_blend(frame: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """round((f a + b (255 - a)) / 255) in integers (never a tie)."""
    a = alpha.astype(np.int64)[..., None]
    x = frame.astype(np.int64) * a + bg.astype(np.int64) * (255 - a)
    return ((2 * x + 255) // 510).astype(np.uint8)


@pytest.mark.parametrize("size", [(97, 61), (320, 180)])
def test_blend_box_is_the_exact_blend_rounded_inside_the_box_only(
    rng: np.random.Generator, size: tuple[int, int]
) -> None:
    w, h = size
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    alpha[: h // 3] = 0
    alpha[-h // 3 :] = 255
    want = exact_blend(frame, alpha, bg)
    for box in ((0, 0, w, h), (5, 3, w - 7, h - 2), (-4, -9, 13, 11), (w - 1, h - 1, w + 20, h + 20)):
        out = np.full((h, w, 4), 7, np.uint8)
        assert kernels.blend_box(frame, alpha, bg, out, box)
        x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
        inside = np.zeros((h, w), bool)
        inside[y0:y1, x0:x1] = True
        assert np.array_equal(out[inside][:, :3], want[inside])
        assert (out[inside][:, 3] == 255).all()
        assert (out[~inside] == 7).all()
    out = np.full((h, w, 4), 7, np.uint8)
    assert kernels.blend_box(frame, alpha, bg, out, (10, 10, 10, 30)) and (out == 7).all()  # empty box


def test_blend_box_refuses_what_it_cannot_run_on_and_writes_nothing(rng: np.random.Generator) -> None:
    h, w = 40, 60
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = np.full((h, w), 128, np.uint8)
    out = np.zeros((h, w, 4), np.uint8)
    wide = rng.integers(0, 256, (h, 2 * w, 3), dtype=np.uint8)
    refused = [
        (wide[:, ::2], alpha, frame, out),  # a strided view
        (frame, alpha, frame, np.zeros((h, w, 3), np.uint8)),  # BGR output
        (frame, alpha[:-1], frame, out),  # alpha of another size
        (frame.astype(np.uint16), alpha, frame, out),
    ]
    for args in refused:
        before = out.copy()
        assert not kernels.blend_fits(*args)  # type: ignore[arg-type]
        assert not kernels.blend_box(*args, (0, 0, w, h))  # type: ignore[arg-type]
        assert np.array_equal(out, before)


def test_blend_spans_refuses_what_it_cannot_run_on(rng: np.random.Generator) -> None:
    """Arrays the row kernel cannot read as words (a width not a multiple of 4, a factor
    that is not whole, a frame at an odd address) get False and nothing written (the box
    path runs); spans or a reach plane of the wrong form are the caller's bug: ValueError."""
    def args(w: int, h: int, sw: int, sh: int, frame: np.ndarray | None = None) -> tuple:
        f = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if frame is None else frame
        spans = np.zeros((2, h), np.int32)
        reach = np.full((sh, -(-sw // 8) * 8), 0, np.uint8)
        reach[:, :sw] = 255
        return (f, np.full((h, w), 128, np.uint8), f.copy(), np.full((h, w, 4), 7, np.uint8), reach, sw,
                spans, spans.copy())

    for refused in (args(62, 40, 31, 20), args(60, 40, 25, 20), args(64, 40, 32, 15)):
        assert not kernels.blend_spans(*refused)
        assert (refused[3] == 7).all()
    raw = np.zeros(64 * 40 * 3 + 1, np.uint8)
    odd = raw[1:].reshape(40, 64, 3)  # (C-contiguous, but its words are not aligned)
    assert not kernels.blend_spans(*args(64, 40, 32, 20, frame=odd))
    assert kernels.blend_spans(*args(64, 40, 32, 20))
    f, a, b, out, reach, sw, was, now = args(64, 40, 32, 20)
    with pytest.raises(ValueError, match="reach must be"):
        kernels.blend_spans(f, a, b, out, np.zeros((20, 40), np.uint8), sw, was, now)  # (8 too wide)
    with pytest.raises(ValueError, match="spans must be"):
        kernels.blend_spans(f, a, b, out, reach, sw, was[:, :-1].copy(), now)


def test_compositor_paths_agree_within_one_level(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel path and the OpenCV path of the Compositor: the same picture within one
    level (the OpenCV blend rounds its two products separately), exact where alpha is 0/255."""
    w, h = 1280, 720
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    m = np.zeros((180, 320), np.uint8)
    m[40:160, 100:220] = 255
    small = composite.feather_alpha(m, 2.0)
    roi = composite.upscaled_roi(small, (w, h))
    alpha = composite.upscale(small, (w, h))
    jit = composite.Compositor()(frame, alpha, bg, out=np.zeros((h, w, 4), np.uint8), roi=roi, small=small)
    monkeypatch.setattr(kernels, "enabled", False)
    ref = composite.Compositor()(frame, alpha, bg, out=np.zeros((h, w, 4), np.uint8), roi=roi, small=small)
    assert np.abs(jit.astype(int) - ref).max() <= 1
    solid = (alpha == 0) | (alpha == 255)
    assert np.array_equal(jit[solid], ref[solid])
    assert np.array_equal(jit[..., :3], exact_blend(frame, alpha, bg))


def test_row_spans_behind_a_still_background_equal_a_full_redraw_frame_after_frame(
    rng: np.random.Generator,
) -> None:
    """Behind a still background the kernel writes only each row's span where the person is
    and was: the output equals the exact blend of the whole frame after every frame of a
    sequence of people that move, shrink, grow, touch every edge of the picture, vanish
    and come back; after :meth:`forget` (something else drew) and a new background array;
    at whole factors 1, 2 and 4 (a camera at the working size, 640x360 and 1280x720)."""
    for (w, h), (sw, sh) in (((1280, 720), (320, 180)), ((640, 360), (320, 180)), ((96, 64), (96, 64))):
        comp = composite.Compositor()
        out = np.full((h, w, 4), 9, np.uint8)
        bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for i in range(24):
            frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            m = np.zeros((sh, sw), np.uint8)
            if i % 7 != 3:  # (every 7th frame from the 4th: nobody there)
                for _ in range(int(rng.integers(1, 4))):
                    x, y = int(rng.integers(-sw // 4, sw)), int(rng.integers(-sh // 4, sh))
                    x1, y1 = x + int(rng.integers(1, sw // 2)), y + int(rng.integers(1, sh))
                    m[max(y, 0) : y1, max(x, 0) : x1] = 255
            if i == 10:
                m[:, 0] = m[0, :] = m[:, -1] = m[-1, :] = 255  # the picture's very edges
            small = composite.feather_alpha(m, 1.5)
            stale = np.full((h, w), 77, np.uint8)  # (upscale_box leaves the rest untouched)
            alpha = composite.upscale_box(small, (w, h), out=stale)
            if i == 15:
                out[::7, ::5] = 3  # something else drew into the output
                comp.forget()
            if i == 18:
                bg = bg.copy()  # another background: the same pixels, a full redraw
                bg[: h // 2] = 200
            roi = composite.upscaled_roi(small, (w, h))
            got = comp(frame, alpha, bg, out=out, roi=roi, small=small, static=True)
            want = exact_blend(frame, composite.upscale(small, (w, h)), bg)
            assert got is out
            assert np.array_equal(out[..., :3], want), f"{w}x{h} frame {i}"
            assert (out[..., 3] == 255).all()


def test_no_jit_switch_turns_the_kernels_off_quietly() -> None:
    code = "from bgcore import kernels; print(kernels.AVAILABLE, kernels.warm(), kernels.failure)"
    env = {**os.environ, "BGREPLACE_NO_JIT": "1"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split() == ["False", "False", "None"], r.stderr
    assert r.stderr == ""  # asked for: nothing to warn about
    assert kernels.warm()


def test_without_numba_the_kernels_are_off_and_say_why() -> None:
    """numba that cannot be imported (here: blocked in sys.modules) is an import failure:
    the kernels are off, logged once with the exception type, and the engine runs."""
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from bgcore import BackgroundReplacer, kernels\n"
        "r = BackgroundReplacer('color:#00b140'); r.set_plate([np.full((48, 64, 3), 90, np.uint8)] * 3)\n"
        "r.process(np.full((48, 64, 3), 90, np.uint8))\n"
        "print(kernels.AVAILABLE, kernels.warm(), '|', kernels.failure)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    flags, failure = r.stdout.strip().split(" | ")
    assert flags == "False False" and failure.startswith("ModuleNotFoundError: "), r.stdout
    assert r.stderr.strip() == f"compiled kernels off, the OpenCV paths run (slower): numba: {failure}"


@pytest.mark.parametrize("case", ["shadow", "local_light", "exposure", "similar_clothing"])
def test_engine_kernels_give_the_same_masks_as_the_opencv_passes(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's fused kernels (score, light candidates, colour and texture tests) compute
    the same float32 operations in the same order as its OpenCV passes: the same masks, bit
    for bit, frame after frame (scenes with shadows, a lamp, exposure drift, a shirt of the
    wall's colour)."""
    scene = synth.make_scene(case, n_frames=16, plate_frames=12, seed=100)
    plate = Plate.from_frames(scene.plate)
    h, w = scene.frames[0].shape[:2]
    size = work_size(w, h, Settings().work_width)
    down = Downscaler(size)
    fused, passes = MaskEngine(plate, size), MaskEngine(plate, size)
    settings = Settings()
    explained = 0
    for i, frame in enumerate(scene.frames):
        small = down(frame)
        monkeypatch.setattr(kernels, "enabled", True)
        a = fused.step(small, settings).copy()
        monkeypatch.setattr(kernels, "enabled", False)
        b = passes.step(small, settings)
        assert np.array_equal(a, b), f"{case} frame {i}: {int((a != b).sum())} pixels differ"
        assert np.array_equal(fused.scorer.score, passes.scorer.score)
        assert np.array_equal(fused.light.lit, passes.light.lit)
        explained += int(np.count_nonzero(fused.light.lit))
    if case in ("shadow", "local_light"):
        assert explained > 0  # the light tests ran and explained something


@pytest.mark.parametrize("ringing_reach", [0, 2])
def test_each_stage_gives_the_same_bits_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, ringing_reach: int
) -> None:
    """The score and the light tests are one function each with one switch: with the kernels
    on and off, the score and every mask are the same, bit for bit (a shadow, a cloth of the
    wall's colour, a person, and the last frame's mask for the temporal bar); the luma ratio
    within float rounding. With and without a JPEG camera's ringing allowance."""
    from helpers import noisy, textured_room

    from bgcore.engine.expected import ExpectedBackground
    from bgcore.engine.light import LIGHT_RATIO_MAX, LIGHT_RATIO_MIN, LightTests
    from bgcore.engine.score import Scorer, auto_bars

    rng = np.random.default_rng(7)
    room = textured_room()
    stack = np.stack([noisy(room, rng) for _ in range(8)]).astype(np.float32)
    mean, sigma = stack.mean(axis=0), np.maximum(stack.std(axis=0, ddof=1), 0.6)
    frame = room.copy()
    frame[30:90, 40:140] *= 0.6  # a shadow
    frame[120:170, 200:300] = room[120:170, 200:300].mean(axis=(0, 1)) * 0.8  # a cloth
    frame[20:100, 220:300] = (40, 160, 90)  # a person
    frame = noisy(frame, rng)
    last = np.zeros(room.shape[:2], np.uint8)
    last[25:95, 215:305] = 255
    roi = (slice(10, 175), slice(30, 310))
    outputs = []
    for on in (True, False):
        monkeypatch.setattr(kernels, "enabled", on)
        background = ExpectedBackground(mean.copy(), sigma)
        scorer, light = Scorer(sigma), LightTests(background.mean, sigma, ringing_reach)
        low, high = auto_bars(1.0)
        scorer.auto(frame, *background.score_range(), low=low, high=high, prev=last)
        light.reset()
        light.explain(frame, background, roi, (LIGHT_RATIO_MIN, LIGHT_RATIO_MAX))
        explained = (light.lit.copy(), light.consistent.copy(), light.ratio[roi].copy())
        finest = (light.smooth.copy(), light.ramp.copy(), light.open_edge.copy())
        light.reset()
        light.consistency(frame, background, roi)
        outputs.append(
            (scorer.score, scorer.weak, scorer.strong, *explained, light.consistent[roi], *finest)
        )
    assert outputs[0][3].any() and outputs[0][2].any()  # light explained something; a person
    assert outputs[0][7].any() and outputs[0][8].any()  # smooth ratio; a ramp (the shadow's edge)
    names = (
        "score", "weak", "strong", "lit", "consistent", "ratio", "consistent (full tests)", "smooth",
        "ramp", "open_edge",
    )
    for name, jit, opencv in zip(names, *outputs, strict=True):
        if name == "ratio":  # (OpenCV's luma transform rounds its sum its own way: a few ulp)
            np.testing.assert_allclose(jit, opencv, rtol=1e-6)
        else:
            assert np.array_equal(jit, opencv), name


@pytest.mark.parametrize("k", [3, 5, 7, 9, 31])
def test_box_mean_is_opencvs_float_box_filter_bit_for_bit(rng: np.random.Generator, k: int) -> None:
    """The compiled box mean is cv2.blur on a float32 view, the same bits: planes of ratios,
    of 0/255 weights times levels, of squares spread over twelve decades; boxes from one
    pixel (REFLECT_101 folds the window back more than once) to wider than the filter."""
    planes = (
        (rng.random((70, 80)) * 1.4).astype(np.float32),
        ((rng.random((70, 80)) < 0.5) * 255.0 * rng.random((70, 80))).astype(np.float32),
        (rng.normal(0, 1, (70, 80)) ** 2 * 10.0 ** rng.integers(-9, 3, (70, 80))).astype(np.float32),
    )
    rows, ext = np.empty((70 + k, 80)), np.empty(80 + k)
    for _ in range(20):
        h, w = int(rng.integers(1, 60)), int(rng.integers(1, 70))
        y0, x0 = int(rng.integers(0, 70 - h)), int(rng.integers(0, 80 - w))
        box = (slice(y0, y0 + h), slice(x0, x0 + w))
        for plane in planes:
            out = np.zeros_like(plane)
            assert kernels.box_mean(plane, out, k, box=box, rows=rows, ext=ext)
            assert np.array_equal(out[box], cv2.blur(plane[box], (k, k))), (k, h, w)
            assert not out[:y0].any() and not out[y0 + h :].any()  # nothing outside the box
            assert not out[:, :x0].any() and not out[:, x0 + w :].any()


@pytest.mark.parametrize(
    "size", [(1280, 720), (1920, 1080), (3840, 2160), (1284, 724), (1282, 722), (640, 360)]
)
def test_downscaler_gives_the_same_bits_with_and_without_the_kernel(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """Two halvings in one compiled pass equal OpenCV's two halvings bit for bit (sizes that
    divide by 4, and ones that do not, which take OpenCV's path)."""
    w, h = size
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    target = work_size(w, h, 480)
    fast = Downscaler(target)(frame).copy()
    monkeypatch.setattr(kernels, "enabled", False)
    assert np.array_equal(fast, Downscaler(target)(frame))
    assert fast.shape == (target[1], target[0], 3)


Frames = list[tuple[np.ndarray, np.ndarray]]


def _uncompilable_py(*args: object) -> None:
    args[0].no_such_method()  # type: ignore[attr-defined]  # numba cannot type this


def _raising_py(*args: object) -> None:
    raise ValueError("a bug in a kernel")


def _replace_all(scene: synth.Scene, broken: str | None, fail_at: int | None) -> Frames:
    r = BackgroundReplacer("color:#00b140")
    r.set_plate(scene.plate)
    results = []
    for i, frame in enumerate(scene.frames):
        if i == 6:  # (and on to transparent)
            r.update(background="transparent")
        if i == fail_at and broken is not None:
            setattr(kernels, broken, kernels.numba.njit(_uncompilable_py))  # a real compile failure
        out = r.process(frame)
        results.append((r.mask.copy(), out.copy()))
    return results


@pytest.fixture(scope="module")
def shadow_720p() -> tuple[synth.Scene, Frames]:
    """A 1280x720 shadow scene (the mask at 320x180, so the downscale's kernel runs too) and
    what the OpenCV paths make of it."""
    scene = synth.make_scene(
        "shadow", width=1280, height=720, n_frames=8, plate_frames=8, seed=101
    )
    was = kernels.enabled
    kernels.enabled = False
    try:
        return scene, _replace_all(scene, None, None)
    finally:
        kernels.enabled = was


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken",
    [
        "_score", "_light_candidates", "_colour_kept", "_texture_weights", "_texture_detail",
        "_texture_tests", "_finest_ramps", "_pooled_colour_sums", "_pooled_colour_test",
        "_blend_spans", "_quarter", "_set_alpha",
    ],
)
def test_a_kernel_that_cannot_compile_switches_the_kernels_off_with_the_same_output(
    broken: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    shadow_720p: tuple[synth.Scene, Frames],
) -> None:
    """A kernel that fails to compile on some machine (one that numba cannot type) turns
    the kernels off for the process, logged once with the exception type and reason; every
    caller falls back to its OpenCV path from that very frame, with the same masks and
    pictures within one level."""
    scene, reference = shadow_720p
    monkeypatch.setattr(kernels, "enabled", True)
    monkeypatch.setattr(kernels, "failure", None)
    monkeypatch.setattr(kernels, broken, getattr(kernels, broken))  # (restored afterwards)
    _assert_falls_back(scene, reference, broken, caplog)


def _assert_falls_back(
    scene: synth.Scene, reference: Frames, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``broken`` made uncompilable at frame 4: the kernels go off, logged once with the
    failure, and every frame's mask and picture are the OpenCV paths' (``reference``)."""
    with caplog.at_level("WARNING", logger="bgcore.kernels"):
        broken_run = _replace_all(scene, broken, fail_at=4)
    assert kernels.enabled is False
    assert kernels.failure == "TypingError: Failed in nopython mode pipeline (step: nopython frontend)"
    assert [r.getMessage() for r in caplog.records] == [
        f"compiled kernels off, the OpenCV paths run (slower): {kernels.failure}"
    ]
    for (ref_mask, ref_out), (mask, out) in zip(reference, broken_run, strict=True):
        assert np.array_equal(mask, ref_mask)
        assert np.abs(out.astype(int) - ref_out).max() <= 1


@pytest.mark.slow
def test_the_box_blend_that_cannot_compile_falls_back_with_the_same_output(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The same for the rectangle's blend (``_blend_box``), which runs where the row spans
    cannot: a picture 322 pixels wide (not a multiple of 4)."""
    scene = synth.make_scene("shadow", width=322, height=242, n_frames=8, plate_frames=8, seed=101)
    monkeypatch.setattr(kernels, "enabled", False)
    reference = _replace_all(scene, None, None)
    monkeypatch.setattr(kernels, "enabled", True)
    monkeypatch.setattr(kernels, "failure", None)
    calls = []
    box = kernels.blend_box
    monkeypatch.setattr(kernels, "blend_box", lambda *a: calls.append(1) or box(*a))
    monkeypatch.setattr(kernels, "_blend_box", kernels._blend_box)  # (restored afterwards)
    _assert_falls_back(scene, reference, "_blend_box", caplog)
    assert calls, "the rectangle's blend ran"


@pytest.mark.parametrize("broken", ["_score", "_colour_kept", "_blend_spans"])
def test_a_kernel_that_fails_while_running_raises_and_the_kernels_stay_on(
    broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a compile failure switches to the OpenCV paths: an error of a compiled kernel
    (a bug) reaches the caller."""
    scene = synth.make_scene("shadow", width=320, height=240, n_frames=3, plate_frames=4, seed=3)
    monkeypatch.setattr(kernels, "enabled", True)
    monkeypatch.setattr(kernels, "failure", None)
    monkeypatch.setattr(kernels, broken, kernels.numba.njit(_raising_py))
    r = BackgroundReplacer("color:#00b140")
    r.set_plate(scene.plate)
    with pytest.raises(ValueError, match="a bug in a kernel"):
        for frame in scene.frames:
            r.process(frame)
    assert kernels.enabled is True and kernels.failure is None


def test_the_engines_kernels_refuse_arrays_that_do_not_fit() -> None:
    """The engine passes its own buffers: a misfit is a bug, and raises (it would otherwise
    write outside an array, or silently run the slow path)."""
    f1 = np.zeros((4, 6), np.float32)
    f4 = np.zeros((4, 6, 4), np.float32)
    u1 = np.zeros((4, 6), np.uint8)
    box = (slice(0, 4), slice(0, 6))
    with pytest.raises(ValueError, match=r"kernels.texture_weights: arrays must be f1 f1 f1 u1 f4"):
        kernels.texture_weights(u1, f1, f1[:3], f1, detail=True, sums9=f4, box=box)
    with pytest.raises(ValueError, match=r"kernels.texture_weights: arrays must be"):
        kernels.texture_weights(u1, f1, f1, f1, detail=True, sums9=f4[..., :2], box=box)
    with pytest.raises(ValueError, match=r"kernels\.texture_tests"):
        kernels.texture_tests(
            f4, 1e-3, f1, f1, f1, 2.0, 0.01, f1, detail=True, plate_energy=f1, verify_var=f1, ncc2=0.09,
            weight7=f1, ratio_energy=f1, consistent=u1[:, ::2], textured=u1, box=box,
        )
    with pytest.raises(ValueError, match="plain slices"):
        kernels.texture_weights(u1, f1, f1, f1, detail=True, sums9=f4, box=(slice(0, 4, 2), slice(0, 6)))


def test_after_warm_read_only_frames_and_pictures_compile_nothing(tmp_path: Path) -> None:
    """``./install`` warms the kernels so that OBS never compiles one (seconds with the GIL
    held, which froze a test's OBS under load): camera frames handed out read-only and a
    picture as the background must find their kernels compiled by ``warm()`` (a fresh numba
    cache: every kernel is compiled here, none loaded)."""
    picture = tmp_path / "room.png"
    cv2.imwrite(str(picture), np.full((480, 640, 3), (30, 120, 200), np.uint8))
    code = (
        "import numpy as np\n"
        "from bgcore import BackgroundReplacer, kernels, synth\n"
        "assert kernels.warm()\n"
        "jitted = {k: v for k, v in vars(kernels).items() if hasattr(v, 'signatures')}\n"
        "before = {k: len(v.signatures) for k, v in jitted.items()}\n"
        "scene = synth.make_scene('local_light', width=640, height=480, n_frames=6, plate_frames=6, seed=1)\n"
        "for f in scene.plate + scene.frames:\n"
        "    f.flags.writeable = False\n"
        f"for background in ('color:#00b140', {str(picture)!r}):\n"
        "    r = BackgroundReplacer(background)\n"
        "    r.set_plate(scene.plate)\n"
        "    for i, f in enumerate(scene.frames):\n"
        "        r.process(f, t=i / 30)\n"
        "after = {k: len(v.signatures) for k, v in jitted.items()}\n"
        "print(len(jitted), {k: (before[k], after[k]) for k in jitted if after[k] != before[k]})\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(" ", 1) == ["18", "{}\n"], r.stdout
