from __future__ import annotations

import re
import threading
import time
import tracemalloc

import cv2
import numpy as np
import pytest
from helpers import jpeg, noisy, textured_room

from bgcore import Plate, PlateBuilder, PlateError, jpeg_noise, synth, synth_rooms
from bgcore.job_thread import JobThread
from bgcore.plate import PLATE_FORMAT_VERSION, Downscaler, estimate_noise, place_of, work_size
from bgcore.plate_capture import REFERENCE_FRAMES, PlateCapture, _median_in_place


def test_mean_is_exact_and_noise_is_measured(rng: np.random.Generator) -> None:
    room = textured_room()
    frames = [noisy(room, rng, 3.0) for _ in range(30)]
    plate = Plate.from_frames(frames, work_width=0)
    expected = np.sum([f.astype(np.uint32) for f in frames], axis=0) / 30
    np.testing.assert_allclose(plate.mean, expected, atol=1e-4)
    assert plate.size == (320, 180) and plate.n_frames == 30
    assert np.array_equal(plate.reference, frames[0])
    # Per-pixel noise: the median of the estimate is the true sigma within 15%.
    assert abs(float(np.median(plate.sigma)) - 3.0) < 0.45


def test_single_frame_plate_estimates_noise_spatially(rng: np.random.Generator) -> None:
    flat = np.full((180, 320, 3), 120.0, np.float32)
    frame = noisy(flat, rng, 4.0)
    assert abs(estimate_noise(frame) - 4.0 * 0.85) < 1.2  # grey averages the 3 channels a bit
    plate = Plate.from_frames([frame], work_width=0)
    assert plate.n_frames == 1 and float(plate.sigma.min()) > 1.0


def test_someone_in_frame_during_capture_is_refused(rng: np.random.Generator) -> None:
    room = textured_room()
    frames = [noisy(room, rng) for _ in range(20)]
    frames[7][40:140, 100:180] = (40, 60, 200)  # a person walking through
    with pytest.raises(PlateError, match=r"moved during background capture.*frame 8 of 20"):
        Plate.from_frames(frames)


def test_auto_exposure_settling_during_capture_is_not_motion(rng: np.random.Generator) -> None:
    room = textured_room()
    frames = [noisy(room * (0.85 + 0.01 * i), rng) for i in range(20)]
    plate = Plate.from_frames(frames)
    assert plate.n_frames == 20


def test_save_load_roundtrip_is_exact(tmp_path, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    plate = Plate.from_frames([noisy(textured_room(), rng) for _ in range(10)])
    path = tmp_path / "sub" / "plate.npz"
    plate.save(path)
    back = Plate.load(path)
    assert np.array_equal(back.mean, plate.mean)
    assert np.array_equal(back.sigma, plate.sigma)
    assert np.array_equal(back.reference, plate.reference)
    assert np.array_equal(back.mean_at(back.sigma_size), plate.mean_at(plate.sigma_size))
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temp file left


def test_working_size_mean_is_what_the_engine_sees_of_each_frame(tmp_path, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    """At the working size the plate's mean is the mean of the frames downscaled in 8 bits,
    as live frames are (not the full mean downscaled: up to half a level apart per pixel,
    a bias the background would adapt away, differently for every history). A plate file
    from before this was kept loads with the resized full mean."""
    frames = [noisy(textured_room(720, 1280), rng) for _ in range(4)]
    plate = Plate.from_frames(frames, work_width=480)
    size = plate.sigma_size
    assert size == (320, 180)
    seen = np.mean([Downscaler(size)(f).astype(np.float64) for f in frames], axis=0)
    assert np.abs(plate.mean_at(size) - seen).max() < 1e-4
    resized = Downscaler(size)(plate.mean)
    assert np.abs(resized - seen).max() > 0.25  # what the rounding makes of the other way
    old = tmp_path / "old.npz"
    np.savez_compressed(old, version=np.int32(PLATE_FORMAT_VERSION), frame_sum=plate.frame_sum,
                        n_frames=np.int32(4), reference=plate.reference, sigma=plate.sigma.astype(np.float16))
    assert np.array_equal(Plate.load(old).mean_at(size), resized)


def test_load_errors_are_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlateError, match="no background plate at"):
        Plate.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a plate")
    with pytest.raises(PlateError, match="not a readable background plate") as err:
        Plate.load(junk)
    assert "\n" not in str(err.value)


def test_builder_progress_and_size_check(rng: np.random.Generator) -> None:
    b = PlateBuilder(3)
    assert b.progress == (0, 3) and not b.done
    room = textured_room()
    for _ in range(3):
        b.add(noisy(room, rng))
    assert b.done and b.progress == (3, 3)
    with pytest.raises(ValueError, match="recapture"):
        b.add(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(PlateError, match="no frames"):
        PlateBuilder(3).finish()


def test_work_size_keeps_aspect_and_never_upscales() -> None:
    assert work_size(1920, 1080, 480) == (480, 270)
    assert work_size(320, 180, 480) == (320, 180)
    assert work_size(640, 480, 0) == (640, 480)


def test_long_capture_refuses_someone_walking_through_after_the_reference_frames(
    rng: np.random.Generator,
) -> None:
    """Frames after the first REFERENCE_FRAMES are tested one by one as they arrive."""
    room = textured_room()
    builder = PlateBuilder(None)
    for i in range(3 * REFERENCE_FRAMES):
        frame = noisy(room, rng)
        if i == 2 * REFERENCE_FRAMES + 4:
            frame[40:140, 100:180] = (40, 60, 200)
        builder.add(frame)
    walked_in = 2 * REFERENCE_FRAMES + 5
    with pytest.raises(PlateError, match=rf"moved during background capture.*frame {walked_in} of 90"):
        builder.finish()


def test_long_capture_measures_noise_and_follows_exposure(rng: np.random.Generator) -> None:
    """A capture four times longer than the reference frames, with the exposure rising by
    40% along it: accepted (a global gain is not motion), exact mean, noise within 15%."""
    room = textured_room()
    frames = [noisy(room * (0.8 + 0.0035 * i), rng, 3.0) for i in range(4 * REFERENCE_FRAMES)]
    plate = Plate.from_frames(frames, work_width=0)
    expected = np.sum([f.astype(np.uint32) for f in frames], axis=0) / len(frames)
    np.testing.assert_allclose(plate.mean, expected, atol=1e-4)
    assert abs(float(np.median(plate.sigma)) - 3.0) < 0.45


def _peak_bytes(n_frames: int, pool: list[np.ndarray]) -> int:
    tracemalloc.start()
    try:
        builder = PlateBuilder(n_frames)
        for i in range(n_frames):
            builder.add(pool[i % len(pool)])
        builder.finish()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_number_of_frames(rng: np.random.Generator) -> None:
    """600 frames take no more memory than 30 (give or take a plate): frames are summed as
    they come, only the first ones are kept (8-bit, working size) for the motion reference."""
    room = textured_room()
    pool = [noisy(room, rng) for _ in range(7)]
    plate = Plate.from_frames(pool)
    plate_bytes = plate.frame_sum.nbytes + plate.reference.nbytes + plate.sigma.nbytes
    peak_30, peak_600 = _peak_bytes(30, pool), _peak_bytes(600, pool)
    assert peak_600 < 1.5 * peak_30 + 3 * plate_bytes, (peak_30, peak_600, plate_bytes)
    # the reference costs one float32 copy of its frames at a time (it once took seven)
    assert peak_30 < 2 * 30 * pool[0].nbytes * 4, peak_30


def test_median_in_place_equals_numpy_median(rng: np.random.Generator) -> None:
    for shape in ((31, 5, 7, 3), (30, 5, 7, 3), (1001,), (1000,)):
        values = rng.normal(100, 20, shape).astype(np.float32)
        expected = np.median(values, axis=0)
        got = _median_in_place(values.copy())
        assert got.dtype == np.float32 and np.array_equal(got, expected)


def _feed(capture: PlateCapture, frames: list[np.ndarray]) -> None:
    """Offer each frame until the capture takes it (a full queue refuses a frame)."""
    for frame in frames:
        while not capture.add(frame):
            time.sleep(0.005)


def test_threaded_capture_builds_the_same_plate_on_its_own_thread(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real_add, real_finish = PlateBuilder.add, PlateBuilder.finish

    def add(self: PlateBuilder, frame: np.ndarray) -> None:
        threads.append(threading.current_thread().name)
        real_add(self, frame)

    def finish(self: PlateBuilder) -> Plate:
        threads.append(threading.current_thread().name)
        return real_finish(self)

    room = textured_room()
    frames = [noisy(room, rng) for _ in range(REFERENCE_FRAMES + 10)]
    expected = Plate.from_frames(frames)
    monkeypatch.setattr(PlateBuilder, "add", add)
    monkeypatch.setattr(PlateBuilder, "finish", finish)
    capture = PlateCapture(len(frames), threaded=True)
    _feed(capture, frames)
    assert not capture.wants_frames and capture.progress == (len(frames), len(frames))
    assert capture.wait(60)
    plate = capture.result()
    assert isinstance(plate, Plate)
    assert np.array_equal(plate.frame_sum, expected.frame_sum) and np.array_equal(plate.sigma, expected.sigma)
    assert len(threads) == len(frames) + 1 and set(threads) == {"bgreplace plate"}
    capture.close()


def test_threaded_capture_refusal_and_cancel(rng: np.random.Generator) -> None:
    room = textured_room()
    frames = [noisy(room, rng) for _ in range(12)]
    frames[5][40:140, 100:180] = (40, 60, 200)
    capture = PlateCapture(12, threaded=True)
    _feed(capture, frames)
    assert capture.wait(60)
    result = capture.result()
    assert isinstance(result, str) and "frame 6 of 12" in result
    capture.close()

    stopped = PlateCapture(100, threaded=True)
    _feed(stopped, frames[:3])
    stopped.cancel()
    assert not stopped.wants_frames and not stopped.add(frames[0])
    stopped.close()
    assert stopped.result() is None
    assert "bgreplace plate" not in {t.name for t in threading.enumerate()}


# -- rooms that live: screens, leaves, lights; what is still refused ---------------------------


def _screen(frames: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Where the frames change by nature: a temporal spread above 10 levels (working size)."""
    stack = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float32)
    return stack.std(axis=0).max(axis=2) > 10.0


@pytest.mark.parametrize("seed", [0, 2, 3, 4])
def test_a_playing_screen_makes_a_plate_that_says_where_it_changes(seed: int) -> None:
    """A room whose screen plays video (a cut to a new scene included in some seeds) makes a
    plate: the dynamic map covers the screen and little else, and its one region says where;
    the noise there is the spread the screen showed (tens of levels), elsewhere the sensor's."""
    scene = synth_rooms.make_scene("monitor", seed=seed, n_frames=1, plate_frames=30)
    plate = Plate.from_frames(scene.plate)
    screen = _screen(scene.plate, plate.sigma_size)
    dynamic = plate.dynamic_at(plate.sigma_size) > 0
    assert np.count_nonzero(dynamic & screen) > 0.8 * np.count_nonzero(screen)
    near = cv2.dilate(screen.view(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.count_nonzero(dynamic & ~near) < 0.005 * dynamic.size
    (region,) = plate.dynamic_regions[:1]
    xs = np.nonzero(screen)[1]
    col = ("left", "", "right")[min(2, int(3 * xs.mean() / screen.shape[1]))]
    assert col in region.place and 0.04 < region.share < 0.15, region
    sigma = plate.sigma.max(axis=2)
    assert np.median(sigma[screen]) > 10 and np.median(sigma[~near]) < 2


def test_leaves_and_blinking_lights_are_not_motion() -> None:
    for case in ("leaves", "blinking"):
        for seed in range(4):
            scene = synth_rooms.make_scene(case, seed=seed, n_frames=1, plate_frames=30)
            Plate.from_frames(scene.plate)  # (raises if refused)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_someone_walking_in_is_refused_and_told_where(seed: int) -> None:
    """The person walks in and stays (the live frames of a scene as plate frames): refused,
    and the place named is the side of the picture the person is on, in that frame or (the
    capture's median shows them) in the last."""
    scene = synth.make_scene("clean", seed=seed, n_frames=30, plate_frames=1)
    with pytest.raises(PlateError) as err:
        Plate.from_frames(scene.frames)
    message = str(err.value)
    found = re.search(
        r"something moved during background capture \((\d+)% of the picture changed in frame (\d+) "
        r"of 30, at the ([a-z ]+)\): step out of frame",
        message,
    )
    assert found, message
    share, frame, place = int(found[1]), int(found[2]), found[3]
    assert share >= 1
    width = scene.truth[0].shape[1]
    columns = {("left", "", "right")[min(2, int(3 * np.nonzero(scene.truth[k])[1].mean() / width))]
               for k in (frame - 1, -1)}
    assert any(c in place if c else place in ("top", "centre", "bottom") for c in columns), (message, columns)


def test_the_camera_moving_is_refused_as_such(rng: np.random.Generator) -> None:
    room = textured_room()
    frames = [noisy(room, rng) for _ in range(30)]
    frames[17:] = [np.roll(f, (2, 3), axis=(0, 1)) for f in frames[17:]]  # bumped by (3, 2) pixels
    with pytest.raises(PlateError, match=r"the camera moved during background capture \(the picture shifted "
                       r"by [34] pixels in frame 1[89] of 30\): keep the camera still"):
        Plate.from_frames(frames)
    # a tremor of a third of a pixel (the synthetic shake case's plate) is not a move
    for seed in range(3):
        Plate.from_frames(synth.make_scene("shake", seed=seed, n_frames=1, plate_frames=30).plate)


# -- JPEG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("quality", [30, 60, 75])
def test_jpeg_frames_show_their_quality_and_keep_a_rounding_floor(
    rng: np.random.Generator, quality: int
) -> None:
    """A camera sending JPEG at ``quality`` with little sensor noise (0.5 levels, so that
    many pixels read the same in every frame): the plate finds the quality, and its noise
    never falls below a flat block's DC rounding at that quality (twice: the plate's frozen
    error and a live frame's fresh one), where the frames' own spread is far lower; frames
    that were never compressed show no quality. (What it does to the mask: test_footage.py.)"""
    room = textured_room(240, 320)
    frames = [jpeg(noisy(room, rng, 0.5), quality) for _ in range(20)]
    plate = Plate.from_frames(frames, work_width=0)
    assert plate.jpeg_quality == quality
    assert jpeg_noise.detect_quality(noisy(room, rng, 0.5)) is None
    own = np.stack(frames).astype(np.float32).std(axis=0, ddof=1)
    floor = np.sqrt(2 * jpeg_noise.dc_variance(quality))
    assert np.all(plate.sigma >= floor * 0.999)
    assert float(np.mean(own < 0.5 * floor)) > 0.02  # (the collapse the floor is for)


# -- the plate's new data -----------------------------------------------------------------------


def test_dynamic_map_and_quality_survive_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    scene = synth_rooms.make_scene("monitor", seed=0, n_frames=1, plate_frames=20)
    plate = Plate.from_frames([jpeg(f, 70) for f in scene.plate])
    assert plate.jpeg_quality == 70 and plate.dynamic is not None
    plate.save(tmp_path / "p.npz")
    back = Plate.load(tmp_path / "p.npz")
    assert back.jpeg_quality == 70 and np.array_equal(back.dynamic, plate.dynamic)
    assert back.dynamic_regions == plate.dynamic_regions and back.dynamic_regions


def test_absorb_changes_the_plate_only_where_asked(rng: np.random.Generator) -> None:
    room = textured_room()
    plate = Plate.from_frames([noisy(room, rng) for _ in range(10)])
    frame = noisy(room, rng)
    frame[100:150, 20:80] = (30, 90, 160)  # a chair pushed into view
    where = np.zeros((180, 320), np.uint8)
    where[95:155, 15:85] = 255
    after = plate.absorb(frame, where)
    assert np.array_equal(after.mean[100:150, 20:80], frame[100:150, 20:80].astype(np.float32))
    outside = where == 0
    assert np.array_equal(after.frame_sum[outside], plate.frame_sum[outside])
    size = plate.sigma_size
    small = Downscaler(size)(frame).astype(np.float32)
    assert np.array_equal(after.mean_at(size)[100:150, 20:80], small[100:150, 20:80])
    assert after.sigma is plate.sigma and after.n_frames == plate.n_frames


@pytest.mark.parametrize("box,place", [((0, 0, 10, 10), "top left"), ((150, 80, 20, 20), "centre"),
                                       ((300, 60, 20, 60), "right"), ((100, 170, 120, 10), "bottom")])
def test_places_are_thirds_of_the_picture(box: tuple[int, int, int, int], place: str) -> None:
    assert place_of(box, (320, 180)) == place


def test_captures_sharing_a_runner_run_on_one_long_lived_thread(rng: np.random.Generator) -> None:
    """Recaptures must not start a thread each (glibc keeps a dead thread's arena: OBS grew
    ~13 MB per recapture): every capture given the same runner runs on its one thread, a
    cancelled one frees the way for the next, and the thread ends only at close."""
    room = textured_room()
    frames = [noisy(room, rng) for _ in range(12)]
    runner = JobThread("bgreplace plate test")
    threads: list[threading.Thread] = []
    try:
        cancelled = PlateCapture(100, threaded=True, runner=runner)
        _feed(cancelled, frames[:3])
        cancelled.cancel()
        for _ in range(3):
            capture = PlateCapture(len(frames), threaded=True, runner=runner)
            _feed(capture, frames)
            assert capture.wait(60)
            assert isinstance(capture.result(), Plate)
            capture.close()
            threads += [t for t in threading.enumerate() if t.name == "bgreplace plate test"]
        assert cancelled.result() is None
        assert len(threads) == 3 and all(t is threads[0] for t in threads)  # alive, the same
    finally:
        runner.close()
    assert "bgreplace plate test" not in {t.name for t in threading.enumerate()}


def test_job_thread_runs_jobs_in_order_survives_a_failing_job_and_drains_at_close() -> None:
    seen: list[object] = []
    errors: list[BaseException] = []
    jobs = JobThread("bgreplace jobs test", on_error=errors.append)
    jobs.submit(lambda: seen.append(threading.current_thread().name))
    jobs.submit(lambda: 1 / 0 and None)
    for i in range(5):
        jobs.submit(lambda i=i: seen.append(i))
    jobs.close()
    assert seen == ["bgreplace jobs test", 0, 1, 2, 3, 4]
    assert [type(e) for e in errors] == [ZeroDivisionError]
    with pytest.raises(RuntimeError, match="closed"):
        jobs.submit(lambda: None)
    jobs.close()  # idempotent
