from __future__ import annotations

import numpy as np
import pytest
from helpers import noisy, textured_room

from bgcore import Plate, PlateBuilder, PlateError
from bgcore.plate import PLATE_FORMAT_VERSION, Downscaler, estimate_noise, work_size


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
