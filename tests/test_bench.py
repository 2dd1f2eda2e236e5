"""The benchmark (bgcore.bench, its command bgcore.bench_cli) and the engine's steady-state
memory on its workload (bgcore.workload). No timing assertions (noisy machines): allocation
and growth are measured with tracemalloc, outputs against simple references."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgcore import bench, bench_cli, composite, workload
from bgcore.engine import MaskEngine
from bgcore.pipeline import BackgroundReplacer

W, H = 1280, 720
FRAME_BYTES = W * H * 3


@pytest.fixture(scope="module")
def clip() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return workload.make_scene(W, H, n_frames=8)


@pytest.fixture
def tracing() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def _cycle(fn: Callable[[np.ndarray, float], object], frames: list[np.ndarray]) -> Callable[[], None]:
    counter = iter(range(10**9))

    def step() -> None:
        i = next(counter)
        fn(frames[i % len(frames)], i / 30.0)

    return step


@pytest.mark.parametrize("background", ["color:#00b140", "transparent"])
def test_everything_around_the_mask_engine_allocates_nothing(
    clip: tuple[list[np.ndarray], list[np.ndarray]], background: str, tracing: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Downscale, feather, upscale, ROI and composite reuse their buffers: with the mask
    engine's step replaced by a fixed mask (a person at the working size, 320x180), a
    steady-state frame allocates (almost) nothing."""
    plate, frames = clip
    fixed = np.zeros((H // 4, W // 4), np.uint8)
    cv2.ellipse(fixed, (W // 8, H // 6), (W // 20, H // 10), 0, 0, 360, 255, -1)
    monkeypatch.setattr(MaskEngine, "step", lambda self, small, s: fixed)
    r = BackgroundReplacer(background)
    r.set_plate(plate)
    for f in frames:
        r.process(f)
    assert abs(np.count_nonzero(r.mask) / (16 * np.count_nonzero(fixed)) - 1) < 0.03  # (it is in use)
    step = _cycle(lambda f, t: r.process(f, t=t), frames)
    for _ in range(5):
        step()
    stats = workload.measure_allocations(step, frames=50)
    assert stats["alloc_kb_max"] * 1024 < 16 * 1024, stats  # a frame is 2700 KB
    assert abs(stats["retained_kb"]) < 16, stats
    r.close()


@pytest.mark.parametrize("background", ["color:#00b140", "transparent"])
def test_process_allocates_no_frame_buffers_in_steady_state(
    clip: tuple[list[np.ndarray], list[np.ndarray]], background: str, tracing: None, kernel_path: str
) -> None:
    """Default mode, 1280x720: over 50 steady frames, no call holds a temporary anywhere near
    a frame's size (nor a working-size image: 320x180 is 56 KB a plane), and nothing is
    retained; with the compiled kernels and on the OpenCV paths that run without numba."""
    plate, frames = clip
    r = BackgroundReplacer(background)
    r.set_plate(plate)
    step = _cycle(lambda f, t: r.process(f, t=t), frames)
    for _ in range(10):
        step()
    stats = workload.measure_allocations(step, frames=50)
    assert abs(stats["retained_kb"]) < 64, stats
    assert stats["alloc_kb_max"] * 1024 < FRAME_BYTES / 16, stats
    assert stats["alloc_kb_max"] < 32, stats
    r.close()


@pytest.mark.slow
def test_memory_stays_flat_over_a_long_run(tracing: None) -> None:
    """10,100 frames at a small size: after the warm-up the traced memory stops growing (no
    caches or histories that build up). Measured after a full collection, which also empties
    CPython's free lists: those fill up to their bound (2000 tuples of each small size) at a
    pace that depends on what ran before in the process, so without it the test passed or
    failed with the test order (+50-160 KB of cached tuples, none of them ours)."""
    plate, frames = workload.make_scene(192, 108, n_frames=16)
    r = BackgroundReplacer("color:#00b140")
    r.set_plate(plate)
    step = _cycle(lambda f, t: r.process(f, t=t), frames)
    for _ in range(500):
        step()
    held = []
    for _ in range(3):
        for _ in range(3200):
            step()
        gc.collect()
        held.append(tracemalloc.get_traced_memory()[0])
    assert held[2] - held[1] < 16 * 1024, held  # flat
    assert held[2] - held[0] < 256 * 1024, held
    r.close()


@pytest.mark.slow
def test_bench_runs_end_to_end_and_reports_the_documented_keys() -> None:
    result = bench.run_bench(sizes=((96, 64),), threads=(1, 0), frames=2, latency=False, quality=False)
    assert set(result) >= {"machine", "config", "timings", "memory", "targets", "latency", "quality"}
    names = bench.case_names(bench.DEFAULT_BACKGROUNDS)
    assert names[:4] == ["floor", "tutorial", "classic", "default"]
    assert {"default:image", "default:blur", "default:transparent", "default:video"} <= set(names)
    assert len(result["timings"]) == 2 * len(names)
    for rec in result["timings"]:
        assert set(rec) >= {"size", "threads", "case", "median_ms", "p95_ms", "ratio", "n"}
        assert rec["n"] == 2 and rec["median_ms"] > 0 and rec["p95_ms"] >= rec["median_ms"] * 0.999
    floors = [r for r in result["timings"] if r["case"] == "floor"]
    assert all(r["ratio"] == pytest.approx(1.0) for r in floors)
    for rec in result["memory"]:
        assert set(rec) >= {"size", "case", "peak_mb", "held_mb", "alloc_kb_per_frame", "retained_kb"}
    json.loads(json.dumps(result))  # plain JSON types only
    text = bench_cli.format_table(result)
    assert "floor" in text and "default:transparent" in text and "96x64" in text


def test_main_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_cli.main(
        ["--json", "--sizes", "64x48", "--frames", "1", "--threads", "1", "--backgrounds", "color",
         "--no-memory", "--no-latency", "--no-quality"]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["case"] for r in doc["timings"]] == ["floor", "tutorial", "classic", "default"]


@pytest.mark.parametrize("size", [(97, 61), (160, 96)])
def test_compositor_matches_a_float_reference(
    rng: np.random.Generator, size: tuple[int, int], kernel_path: str
) -> None:
    """The fast blend equals the float blend within one level, exactly where alpha is 0/255,
    whether or not the ROI is given, on sizes that divide by nothing."""
    w, h = size
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    small = np.zeros((h // 3, w // 3), np.uint8)
    cv2.ellipse(small, (w // 6, h // 6), (w // 10, h // 9), 0, 0, 360, 255, -1)
    small = composite.feather_alpha(small, 1.5)
    alpha = composite.upscale(small, (w, h))
    ref = (frame.astype(np.float64) * alpha[..., None] + bg * (255.0 - alpha[..., None])) / 255.0
    out = np.zeros((h, w, 4), np.uint8)
    for roi in (None, composite.upscaled_roi(small, (w, h))):
        out[:] = 7
        composite.Compositor()(frame, alpha, bg, out=out, roi=roi)
        assert np.abs(out[..., :3] - ref).max() <= 1.0
        assert np.array_equal(out[alpha == 255][:, :3], frame[alpha == 255])
        assert np.array_equal(out[alpha == 0][:, :3], bg[alpha == 0])
        assert (out[..., 3] == 255).all()
    t = composite.Compositor()(frame, alpha, None, out=out)
    assert np.array_equal(t[..., :3], frame) and np.array_equal(t[..., 3], alpha)


def test_upscaled_roi_holds_every_nonzero_pixel(rng: np.random.Generator) -> None:
    for (w, h), (sw, sh) in (((1280, 720), (480, 270)), ((1920, 1080), (480, 270)), ((101, 77), (40, 31))):
        for _ in range(5):
            small = np.zeros((sh, sw), np.uint8)
            x, y = int(rng.integers(0, sw)), int(rng.integers(0, sh))
            small[y : y + int(rng.integers(1, 6)), x : x + int(rng.integers(1, 6))] = rng.integers(1, 256)
            big = composite.upscale(small, (w, h))
            x0, y0, rw, rh = composite.upscaled_roi(small, (w, h))
            inside = np.zeros((h, w), bool)
            inside[y0 : y0 + rh, x0 : x0 + rw] = True
            assert not big[~inside].any()
    assert composite.upscaled_roi(np.zeros((9, 9), np.uint8), (30, 30)) == (0, 0, 0, 0)


def test_feather_into_buffers_equals_the_plain_call(rng: np.random.Generator) -> None:
    m = np.zeros((60, 80), np.uint8)
    m[10:50, 20:60] = 255
    m[rng.random(m.shape) < 0.02] = 255
    out, scratch = np.empty_like(m), np.empty_like(m)
    for feather in (0.0, 1.0, 2.5):
        assert np.array_equal(composite.feather_alpha(m, feather, out=out, scratch=scratch),
                              composite.feather_alpha(m, feather))


def test_floor_and_tutorial_do_what_they_claim(clip: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    plate, frames = workload.make_scene(64, 48, n_frames=2)
    floor = bench.Floor(64, 48)
    assert np.array_equal(floor(frames[0], 0.0), cv2.cvtColor(frames[0], cv2.COLOR_BGR2BGRA))
    bg = np.full((48, 64, 3), (1, 2, 3), np.uint8)
    out = bench.Tutorial(plate[0], bg)(plate[0], 0.0)
    assert out.shape == (48, 64, 4) and np.array_equal(out[..., :3], bg)  # the plate itself: all background


def test_band_composite_and_box_upscale_equal_the_whole_box_blend(rng: np.random.Generator) -> None:
    """Blending only the fractional band (runs from the working-size alpha) and upscaling only
    around its box give the same picture as upscaling everything and blending the whole box."""
    comp = composite.Compositor()
    for (w, h), (sw, sh) in (((1280, 720), (320, 180)), ((1920, 1080), (480, 270)), ((101, 77), (40, 31))):
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for k in range(4):
            m = np.zeros((sh, sw), np.uint8)
            x, y = int(rng.integers(0, sw // 2)), int(rng.integers(0, sh // 2))
            m[y : y + int(rng.integers(3, sh)), x : x + int(rng.integers(3, sw))] = 255
            m[rng.random(m.shape) < 0.01] = 255
            if k == 3:
                m[:] = 0
            small = composite.feather_alpha(m, 1.5)
            full = composite.upscale(small, (w, h))
            roi = composite.upscaled_roi(small, (w, h))
            expected = comp(frame, full, bg, out=np.empty((h, w, 4), np.uint8), roi=roi).copy()
            stale = np.full((h, w), 77, np.uint8)  # upscale_box leaves the rest untouched
            alpha = composite.upscale_box(small, (w, h), out=stale)
            got = comp(frame, alpha, bg, out=np.empty((h, w, 4), np.uint8), roi=roi, small=small)
            assert np.array_equal(got, expected)


def test_against_times_another_checkout_on_the_same_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--against FOLDER`` imports another checkout's bgcore beside this one and times its
    default mode in the same interleaved rounds: this checkout against itself makes the same
    pictures and a paired ratio near 1; a folder without bgcore is refused in one line."""
    root = Path(bench.__file__).resolve().parents[1]
    result = bench.run_bench(
        sizes=((160, 96),), threads=(1,), frames=40, backgrounds=("color",), memory=True,
        latency=False, quality=False, against=root,
    )
    assert [(c["size"], c["threads"]) for c in result["compared"]] == [("160x96", 1)]
    assert bench.AGAINST not in {rec["case"] for rec in result["memory"]}  # (this checkout's own)
    assert 0.67 < result["compared"][0]["ratio"] < 1.5
    assert bench.AGAINST in result["config"]["cases"]
    assert "default mode vs" in bench_cli.format_table(result)
    other = bench.load_replacer(root)
    assert other.__module__ == "bgcore_against.pipeline"  # (not this package's class)
    plate, frames = workload.make_scene(160, 96, n_frames=4)
    ours = bench.Engine(plate, workload.COLOR)
    theirs = bench.OtherEngine(other, plate, workload.COLOR)
    for frame in frames[:4]:
        assert np.array_equal(ours(frame, 0.0), theirs(frame, 0.0))
    with pytest.raises(ValueError, match="no bgcore package in"):
        bench.load_replacer(tmp_path)
    (tmp_path / "bgcore").mkdir()
    (tmp_path / "bgcore" / "__init__.py").write_text("")
    with pytest.raises(ValueError, match="already loaded in this process"):
        bench.load_replacer(tmp_path)  # (one other checkout per process)
    (tmp_path / "bgcore" / "__init__.py").unlink()
    with pytest.raises(SystemExit):
        bench_cli.main(["--against", str(tmp_path)])
    assert "no bgcore package in" in capsys.readouterr().err


def test_measure_stages_takes_away_stages_that_exist() -> None:
    """tests/measure_stages.py (each stage's share of a frame, by taking it away): every stage
    it names is an attribute the pipeline has (a renamed one raises instead of "measuring"
    a stage that still runs), and what it puts in a stage's place is what the engine calls."""
    import measure_stages

    rows = measure_stages.measure((320, 180), list(measure_stages.STAGES), rounds=1)
    assert [row[0] for row in rows] == list(measure_stages.STAGES)
    assert all(ms > 0 and -1.0 < share < 1.0 for _, ms, share in rows)
    plate, frames = workload.make_scene(320, 180, n_frames=2)
    r = BackgroundReplacer(background=workload.COLOR)
    r.set_plate(plate)
    r.process(frames[0])
    engine = r._state
    assert engine is not None
    calls: list[str] = []
    measure_stages._replace(engine, "edges", lambda *args, **kwargs: calls.append("edges"))
    r.process(frames[1])
    assert calls == ["edges"]
    with pytest.raises(AttributeError):
        measure_stages._replace(engine, "no_such_stage", None)
