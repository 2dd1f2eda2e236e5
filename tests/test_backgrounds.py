"""bgcore.backgrounds against real files written with OpenCV (no mocks)."""

from __future__ import annotations

import os
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import Xvfb
from helpers import textured_room, write_flat_video

from bgcore import BackgroundError, BackgroundReplacer
from bgcore.backgrounds import (
    BACKGROUND_KINDS,
    Background,
    ColorBackground,
    FollowedFile,
    ImageBackground,
    ScreenBackground,
    VideoBackground,
    fit_into,
    open_background,
    parse_color,
    register_background,
)

RED, GREEN, BLUE = (0, 0, 255), (0, 255, 0), (255, 0, 0)


def three_bands(w: int = 200, h: int = 100) -> np.ndarray:
    """Left quarter red, middle half green, right quarter blue."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 4] = RED
    img[:, w // 4 : 3 * w // 4] = GREEN
    img[:, 3 * w // 4 :] = BLUE
    return img


def write_png(path: Path, img: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), img)
    return path


def level(img: np.ndarray | None) -> int:
    assert img is not None
    assert img.min() == img.max(), "expected a flat frame"
    return int(img[0, 0, 0])


def steady_state_allocations(render: Callable[[], object], n: int = 200) -> int:
    """Peak bytes allocated (numpy and Python) while calling ``render`` n times after a warm-up."""
    render()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(n):
            render()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def high_frequency_energy(img: np.ndarray, cutoff: float = 0.05) -> float:
    """Spectral power of the grey picture above ``cutoff`` cycles per pixel."""
    g = img.astype(np.float64).mean(2)
    power = np.abs(np.fft.fft2(g - g.mean())) ** 2
    fy = np.fft.fftfreq(g.shape[0])[:, None]
    fx = np.fft.fftfreq(g.shape[1])[None, :]
    return float(power[np.hypot(fx, fy) > cutoff].sum() / g.size)


# -- colours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bgr"),
    [
        ("#00b140", (0x40, 0xB1, 0x00)),
        ("00B140", (0x40, 0xB1, 0x00)),
        ("#123456", (0x56, 0x34, 0x12)),
        ("#0f0", (0, 255, 0)),
        ("green", (0, 128, 0)),
        ("White", (255, 255, 255)),
    ],
)
def test_parse_color_gives_exact_bgr(text: str, bgr: tuple[int, int, int]) -> None:
    assert parse_color(text) == bgr


@pytest.mark.parametrize("spec", ["color:#00b140", "color:00b140", "#00b140", "COLOR: #00B140"])
def test_color_background_renders_exact_bgr_and_reuses_its_buffer(spec: str) -> None:
    bg = open_background(spec)
    assert not bg.transparent
    out = bg.render(64, 36, t=0.0, plate=None)
    assert out is not None and out.shape == (36, 64, 3) and out.dtype == np.uint8
    assert (out == np.array([0x40, 0xB1, 0x00], np.uint8)).all()
    assert bg.render(64, 36, t=5.0, plate=None) is out
    assert steady_state_allocations(lambda: bg.render(64, 36, t=1.0, plate=None)) < 2000


@pytest.mark.parametrize("spec", ["color:#12345", "color:#gg0000", "color:", "color:chartreuse-ish"])
def test_bad_colour_is_a_helpful_background_error(spec: str) -> None:
    with pytest.raises(BackgroundError, match=r"color:#RRGGBB"):
        open_background(spec)


# -- images ----------------------------------------------------------------------------------------


def test_cover_of_a_wide_image_into_a_square_keeps_the_centre(tmp_path: Path) -> None:
    bg = open_background(str(write_png(tmp_path / "bands.png", three_bands())))
    out = bg.render(50, 50, t=0.0, plate=None)
    assert out is not None and out.shape == (50, 50, 3)
    assert (out == GREEN).all()  # the centre square of a 2:1 picture is exactly the green half


def test_cover_of_a_tall_image_crops_top_and_bottom(tmp_path: Path) -> None:
    img = np.rot90(three_bands()).copy()  # 100 wide, 200 tall: bands top to bottom
    out = open_background(str(write_png(tmp_path / "tall.png", img))).render(80, 80, t=0, plate=None)
    assert out is not None and (out == img[100, 50]).all()


def test_contain_letterboxes_with_exact_black_bars(tmp_path: Path) -> None:
    bg = open_background(str(write_png(tmp_path / "bands.png", three_bands())), fit="contain")
    out = bg.render(100, 100, t=0.0, plate=None)
    assert out is not None and out.shape == (100, 100, 3)
    assert (out[:25] == 0).all() and (out[75:] == 0).all()  # 100x50 picture centred
    picture = out[25:75]
    assert (picture[:, :25] == RED).all()
    assert (picture[:, 25:75] == GREEN).all()
    assert (picture[:, 75:] == BLUE).all()


def test_contain_pillarboxes_a_tall_image(tmp_path: Path) -> None:
    img = np.full((100, 50, 3), 200, np.uint8)
    out = open_background(str(write_png(tmp_path / "t.png", img)), fit="contain").render(
        100, 50, t=0, plate=None
    )
    assert out is not None
    assert (out[:, :37] == 0).all() and (out[:, 63:] == 0).all()  # 25x50 in the middle
    assert (out[:, 38:62] == 200).all()


def test_stretch_fills_without_bars_or_crop(tmp_path: Path) -> None:
    bg = open_background(str(write_png(tmp_path / "bands.png", three_bands())), fit="stretch")
    out = bg.render(100, 100, t=0.0, plate=None)
    assert out is not None
    assert (out[:, :25] == RED).all() and (out[:, 25:75] == GREEN).all() and (out[:, 75:] == BLUE).all()


def test_image_is_resized_once_per_size(tmp_path: Path) -> None:
    bg = open_background(str(write_png(tmp_path / "bands.png", three_bands())))
    a = bg.render(64, 48, t=0.0, plate=None)
    assert bg.render(64, 48, t=1.0, plate=None) is a
    b = bg.render(32, 32, t=2.0, plate=None)
    assert b is not a and b is not None and b.shape == (32, 32, 3)
    assert bg.render(64, 48, t=3.0, plate=None) is a  # a few sizes are kept
    assert steady_state_allocations(lambda: bg.render(64, 48, t=4.0, plate=None)) < 2000


def test_grey_alpha_and_16_bit_images_become_bgr(tmp_path: Path) -> None:
    grey = np.full((20, 30), 77, np.uint8)
    out = open_background(str(write_png(tmp_path / "g.png", grey))).render(30, 20, t=0, plate=None)
    assert out is not None and out.shape == (20, 30, 3) and (out == 77).all()

    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[:, :15] = (10, 20, 30, 255)  # opaque left half keeps its colour
    bgra[:, 15:] = (200, 200, 200, 0)  # transparent right half becomes black
    out = open_background(str(write_png(tmp_path / "a.png", bgra))).render(30, 20, t=0, plate=None)
    assert out is not None
    assert (out[:, :15] == (10, 20, 30)).all() and (out[:, 15:] == 0).all()

    deep = np.full((20, 30, 3), 0x8000, np.uint16)
    out = open_background(str(write_png(tmp_path / "d.png", deep))).render(30, 20, t=0, plate=None)
    assert out is not None and (out == 0x80).all()


def test_fit_into_writes_into_the_given_buffer() -> None:
    out = np.full((40, 40, 3), 9, np.uint8)
    for fit in ("cover", "contain", "stretch"):
        assert fit_into(three_bands(), out, fit) is out
    with pytest.raises(BackgroundError, match="cover, contain, stretch"):
        fit_into(three_bands(), out, "zoom")


def test_file_without_a_known_extension_is_tried_as_image_then_video(tmp_path: Path) -> None:
    img_path = tmp_path / "picture.data"
    img_path.write_bytes(cv2.imencode(".png", three_bands())[1].tobytes())
    assert isinstance(open_background(str(img_path)), ImageBackground)
    vid = write_flat_video(tmp_path / "clip.avi")
    renamed = vid.rename(tmp_path / "clip.data")
    assert isinstance(open_background(str(renamed)), VideoBackground)
    assert isinstance(open_background(f"video:{renamed}"), VideoBackground)


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.png", r"^background image 'missing.png' not found; check the path$"),
        ("missing.mp4", r"^background video 'missing.mp4' not found; check the path$"),
        ("foo", r"^unknown background 'foo'; use an image or video path, color:#RRGGBB, blur, "
                r"transparent or screen\[:N\]$"),
        ("", r"empty background"),
        ("blur:lots", r"bad blur strength 'lots'"),
        ("blur:0", r"between 1 and 500"),
        ("transparent:yes", r"takes no argument"),
        ("screen:one", r"screen:N"),
        ("screen:1:0,0,100", r"screen:N:x,y,w,h"),
    ],
)
def test_user_errors_are_one_line_background_errors(spec: str, message: str) -> None:
    with pytest.raises(BackgroundError, match=message) as info:
        open_background(spec)
    assert "\n" not in str(info.value)


def test_unreadable_files_are_background_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png at all" * 10)
    with pytest.raises(BackgroundError, match=r"cannot decode background image '.*broken.png'"):
        open_background(str(tmp_path / "broken.png"))
    (tmp_path / "broken.mp4").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(BackgroundError, match=r"cannot open background video '.*broken.mp4'"):
        open_background(str(tmp_path / "broken.mp4"))
    (tmp_path / "mystery.dat").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(BackgroundError, match=r"neither an image nor a video"):
        open_background(str(tmp_path / "mystery.dat"))
    with pytest.raises(BackgroundError, match=r"is a folder"):
        open_background(f"image:{tmp_path}")
    with pytest.raises(BackgroundError, match=r"unknown fit 'zoom'"):
        open_background("color:#000000", fit="zoom")


# -- blur ------------------------------------------------------------------------------------------


def test_blur_of_the_plate_keeps_its_mean_and_removes_fine_detail() -> None:
    plate = np.rint(textured_room(180, 320)).astype(np.uint8)
    bg = open_background("blur")
    out = bg.render(320, 180, t=0.0, plate=plate)
    assert out is not None and out.shape == plate.shape
    means = out.reshape(-1, 3).mean(0) - plate.reshape(-1, 3).mean(0)
    assert np.abs(means).max() < 2.0, means
    # detail finer than 20 px (the default sigma is 7.5 px at this width) is gone: under 2%
    # of the plate's energy there is left (a Gaussian keeps 0.4% at 20 px, plus rounding)
    ratio = high_frequency_energy(out) / high_frequency_energy(plate)
    assert ratio < 0.02, ratio
    # and a stronger blur is smoother still
    stronger = open_background("blur:80").render(320, 180, t=0.0, plate=plate)
    assert stronger is not None and stronger.std() < out.std()


def test_blur_is_computed_once_per_plate_and_grey_without_plate() -> None:
    bg = open_background("blur:20")
    grey = bg.render(64, 48, t=0.0, plate=None)
    assert grey is not None and (grey == 128).all()
    plate_a = np.full((48, 64, 3), 50, np.uint8)
    a = bg.render(64, 48, t=0.0, plate=plate_a)
    assert a is not None and (a == 50).all()
    assert bg.render(64, 48, t=1.0, plate=plate_a) is a
    assert steady_state_allocations(lambda: bg.render(64, 48, t=2.0, plate=plate_a)) < 2000
    plate_b = np.full((48, 64, 3), 200, np.uint8)  # a new plate (recapture): recomputed
    b = bg.render(64, 48, t=3.0, plate=plate_b)
    assert b is not None and (b == 200).all()


def test_blur_used_by_the_engine_is_the_blurred_plate() -> None:
    plate = np.rint(textured_room(120, 160, seed=3)).astype(np.uint8)
    with BackgroundReplacer("blur") as r:
        r.set_plate([plate] * 5)
        out = r.process(plate, t=0.0)  # nobody in the picture: all background
    expected = open_background("blur").render(160, 120, t=0.0, plate=r.plate.image if r.plate else None)
    assert expected is not None
    assert np.abs(out[:, :, :3].astype(int) - expected).max() <= 2


# -- transparent -----------------------------------------------------------------------------------


def test_transparent_renders_none() -> None:
    bg = open_background("transparent")
    assert bg.transparent is True
    assert bg.render(64, 48, t=0.0, plate=None) is None
    bg.close()
    bg.close()


# -- video -----------------------------------------------------------------------------------------


def test_video_is_paced_to_t_and_loops(tmp_path: Path) -> None:
    bg = open_background(str(write_flat_video(tmp_path / "clip.avi", n=10, fps=10.0)))
    assert isinstance(bg, VideoBackground) and bg.fps == 10.0
    t0 = 1000.0
    expected = {0.0: 0, 0.05: 0, 0.1: 1, 0.35: 3, 0.99: 9, 1.0: 0, 1.25: 2, 3.71: 7}
    for dt, frame in expected.items():
        assert level(bg.render(32, 24, t=t0 + dt, plate=None)) == 20 * frame, dt


def test_video_decodes_only_the_frames_it_needs(tmp_path: Path) -> None:
    bg = open_background(str(write_flat_video(tmp_path / "clip.avi", n=10, fps=10.0)))
    assert isinstance(bg, VideoBackground)
    assert bg.frames_decoded == 1  # the first frame, read at open time to check the file
    t0 = 50.0
    bg.render(32, 24, t=t0, plate=None)
    bg.render(32, 24, t=t0 + 0.09, plate=None)
    assert bg.frames_decoded == 1  # still frame 0: nothing decoded
    bg.render(32, 24, t=t0 + 0.1, plate=None)
    assert bg.frames_decoded == 2  # frame 1: one decode
    assert level(bg.render(32, 24, t=t0 + 0.5, plate=None)) == 100
    assert bg.frames_decoded == 6  # jump to frame 5: grab 2, 3, 4, read 5
    assert level(bg.render(32, 24, t=t0 + 1.2, plate=None)) == 40
    assert bg.frames_decoded == 9  # looped to frame 2: rewind, grab 0, 1, read 2
    # a 60 fps caller over 1 s of a 10 fps video decodes about 10 frames, not 60
    before = bg.frames_decoded
    for i in range(60):
        bg.render(32, 24, t=t0 + 2.0 + i / 60, plate=None)
    assert bg.frames_decoded - before <= 11


def test_video_whose_container_does_not_say_its_length_learns_it_at_the_end(tmp_path: Path) -> None:
    bg = open_background(str(write_flat_video(tmp_path / "clip.avi", n=6, fps=10.0)))
    assert isinstance(bg, VideoBackground) and bg.frame_count == 6
    bg.frame_count = None  # as for a stream-like container without a frame count
    assert level(bg.render(16, 16, t=0.0, plate=None)) == 0
    assert level(bg.render(16, 16, t=0.5, plate=None)) == 100
    assert level(bg.render(16, 16, t=0.8, plate=None)) == 40  # frame 8 = frame 2 of the loop
    assert bg.frame_count == 6 and bg.error is None
    assert level(bg.render(16, 16, t=1.3, plate=None)) == 20  # 13 mod 6


def test_video_reuses_one_buffer_per_size_and_allocates_nothing_when_idle(tmp_path: Path) -> None:
    bg = open_background(str(write_flat_video(tmp_path / "clip.avi", n=10, fps=10.0)))
    a = bg.render(40, 30, t=0.0, plate=None)
    b = bg.render(40, 30, t=0.3, plate=None)  # a new frame, the same buffer
    assert a is b and level(b) == 60
    assert steady_state_allocations(lambda: bg.render(40, 30, t=0.35, plate=None)) < 2000
    # decoding a new frame each call reuses the decode and output buffers too
    ts = iter(np.arange(0.4, 100.0, 0.1))
    assert steady_state_allocations(lambda: bg.render(40, 30, t=float(next(ts)), plate=None), 50) < 50_000


def test_video_close_is_idempotent_and_keeps_the_last_frame(tmp_path: Path) -> None:
    bg = open_background(str(write_flat_video(tmp_path / "clip.avi")))
    assert level(bg.render(16, 16, t=0.0, plate=None)) == 0
    assert level(bg.render(16, 16, t=0.4, plate=None)) == 80
    bg.close()
    bg.close()
    assert level(bg.render(16, 16, t=0.7, plate=None)) == 80


# -- following the file ----------------------------------------------------------------------------


def rewrite(path: Path, data: bytes | np.ndarray, stamp: int) -> None:
    """Overwrite ``path`` in place (same inode) and give it modification time ``stamp`` s, as
    an editor saving over the file would (an explicit time: two writes within one tick of the
    file system's clock would otherwise share one)."""
    payload = data if isinstance(data, bytes) else cv2.imencode(".png", data)[1].tobytes()
    with open(path, "r+b" if path.exists() else "wb") as fh:
        fh.write(payload)
        fh.truncate()
    os.utime(path, ns=(stamp * 10**9, stamp * 10**9))


def flat(value: int) -> np.ndarray:
    return np.full((30, 40, 3), value, np.uint8)


def followed(spec: str) -> FollowedFile:
    bg = open_background(spec, follow_file=True)
    assert isinstance(bg, FollowedFile)
    return bg


def test_followed_image_picks_up_a_file_changed_in_place(tmp_path: Path) -> None:
    path = tmp_path / "bg.png"
    rewrite(path, flat(10), 1000)
    bg = followed(str(path))
    assert bg.error is None and bg.static and not bg.transparent
    assert level(bg.render(16, 16, t=0.0, plate=None)) == 10
    rewrite(path, flat(200), 2000)
    assert level(bg.render(16, 16, t=0.5, plate=None)) == 10  # not looked at again yet
    assert level(bg.render(16, 16, t=1.0, plate=None)) == 10  # changed: seen once
    assert level(bg.render(16, 16, t=2.0, plate=None)) == 200  # the same on the next look: read
    assert bg.reloads == 1 and bg.error is None
    for t in (3.0, 4.0, 5.0):
        bg.render(16, 16, t=t, plate=None)
    assert bg.reloads == 1  # an unchanged file is never read again
    # replaced by another file (a new inode) with the same size and time: still a change
    other = tmp_path / "new.png"
    rewrite(other, flat(90), 2000)
    os.replace(other, path)
    bg.refresh()  # (the source's settings were sent again: look now)
    bg.render(16, 16, t=5.1, plate=None)
    assert level(bg.render(16, 16, t=6.1, plate=None)) == 90
    bg.close()


def test_followed_image_corrupt_then_fixed_and_gone_then_back(tmp_path: Path) -> None:
    path = tmp_path / "bg.png"
    rewrite(path, flat(50), 1000)
    bg = followed(str(path))
    assert level(bg.render(16, 16, t=0.0, plate=None)) == 50
    rewrite(path, b"\x89PNG but not really", 2000)
    for t in (1.0, 2.0):
        assert level(bg.render(16, 16, t=t, plate=None)) == 50  # the last good picture stays
    assert bg.error is not None and "cannot decode background image" in bg.error
    assert "last good picture" in bg.error and "\n" not in bg.error
    rewrite(path, flat(120), 3000)  # fixed
    for t in (3.0, 4.0):
        bg.render(16, 16, t=t, plate=None)
    assert level(bg.render(16, 16, t=4.5, plate=None)) == 120 and bg.error is None
    path.unlink()
    assert level(bg.render(16, 16, t=5.0, plate=None)) == 120
    assert bg.error is not None and "is gone" in bg.error and "last good picture" in bg.error
    rewrite(path, flat(33), 4000)  # back
    for t in (6.0, 7.0):
        bg.render(16, 16, t=t, plate=None)
    assert level(bg.render(16, 16, t=7.5, plate=None)) == 33 and bg.error is None
    bg.close()


def test_followed_file_missing_or_corrupt_at_first_is_transparent_until_readable(tmp_path: Path) -> None:
    later = tmp_path / "later.jpg"
    bg = followed(str(later))
    assert bg.transparent and bg.render(16, 16, t=0.0, plate=None) is None
    assert bg.error is not None and "not found" in bg.error and "transparent" in bg.error
    rewrite(later, cv2.imencode(".jpg", flat(128))[1].tobytes(), 1000)
    bg.render(16, 16, t=1.0, plate=None)
    img = bg.render(16, 16, t=2.0, plate=None)
    assert img is not None and abs(int(img.mean()) - 128) <= 1 and bg.error is None and not bg.transparent
    bg.close()

    broken = tmp_path / "broken.png"
    rewrite(broken, b"junk", 1000)
    bg = followed(f"image:{broken}")
    assert bg.render(16, 16, t=0.0, plate=None) is None and "cannot decode" in (bg.error or "")
    rewrite(broken, flat(77), 2000)
    bg.render(16, 16, t=1.0, plate=None)
    assert level(bg.render(16, 16, t=2.0, plate=None)) == 77 and bg.error is None
    bg.close()


def test_followed_video_is_replaced_by_the_new_file(tmp_path: Path) -> None:
    path = write_flat_video(tmp_path / "clip.avi", n=5, fps=10.0)  # levels 0, 20, 40, ...
    bg = followed(str(path))
    assert not bg.static
    assert level(bg.render(16, 16, t=0.0, plate=None)) == 0
    assert level(bg.render(16, 16, t=0.2, plate=None)) == 40
    new = tmp_path / "new.avi"
    w = cv2.VideoWriter(str(new), cv2.VideoWriter.fourcc(*"FFV1"), 10.0, (64, 48))
    for _ in range(3):
        w.write(np.full((48, 64, 3), 222, np.uint8))
    w.release()
    os.replace(new, path)
    bg.render(16, 16, t=1.2, plate=None)
    assert level(bg.render(16, 16, t=2.2, plate=None)) == 222
    bg.close()


def test_follow_applies_to_files_only(tmp_path: Path) -> None:
    assert isinstance(open_background("color:#00b140", follow_file=True), ColorBackground)
    assert not isinstance(open_background("blur", follow_file=True), FollowedFile)
    with pytest.raises(BackgroundError, match="is a folder"):
        open_background(str(tmp_path), follow_file=True)
    with pytest.raises(BackgroundError, match="unknown background"):
        open_background(str(tmp_path / "no-such-thing"), follow_file=True)


def test_the_engine_shows_the_new_picture_of_a_followed_file(tmp_path: Path) -> None:
    """Behind a still background the compositor redraws only where the person was: a new
    picture from the file must still replace the whole background."""
    from bgcore import bench

    plate, frames = bench.make_scene(320, 180, n_frames=4, seed=3)
    path = tmp_path / "bg.png"
    rewrite(path, three_bands(320, 180), 1000)
    followed = BackgroundReplacer(open_background(str(path), follow_file=True))
    followed.set_plate(plate)
    for i, frame in enumerate(frames[:2]):
        followed.process(frame, t=float(i))
    rewrite(path, three_bands(320, 180)[:, ::-1].copy(), 2000)
    followed.process(frames[2], t=2.0)  # seen once
    out = followed.process(frames[3], t=3.0)  # read
    fresh = BackgroundReplacer(ImageBackground(three_bands(320, 180)[:, ::-1].copy()))
    fresh.set_plate(plate)
    for frame in frames:
        expected = fresh.process(frame)
    assert np.array_equal(out, expected)
    followed.close()
    fresh.close()


# -- registry --------------------------------------------------------------------------------------


def test_new_kinds_plug_into_the_registry() -> None:
    made: list[tuple[str | None, str]] = []

    def factory(arg: str | None, fit: str) -> Background:
        made.append((arg, fit))
        return ColorBackground((int(arg or 0), 0, 0))

    register_background("bluelevel", factory)
    try:
        bg = open_background("bluelevel:99", fit="contain")
        assert made == [("99", "contain")]
        out = bg.render(8, 8, t=0.0, plate=None)
        assert out is not None and (out[:, :, 0] == 99).all()
    finally:
        del BACKGROUND_KINDS["bluelevel"]
    with pytest.raises(ValueError):
        register_background("c", factory)  # would shadow C:\ paths


# -- screen ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="no-display check is for X11")
def test_screen_without_a_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(BackgroundError, match=r"^cannot capture the screen: no display .*choose another "):
        open_background("screen")


@pytest.fixture
def xvfb_white(monkeypatch: pytest.MonkeyPatch) -> Iterator[Xvfb]:
    """A real X server (Xvfb, 320x240, on a display number it picks itself) whose root window is
    white. -noreset: otherwise Xvfb resets when its last client leaves and refuses connections
    for a moment. A missing Xvfb fails the test (./test installs it): never a silent skip."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Xvfb screen tests run on Linux")
    server = Xvfb(screen="320x240x24", extra=("-wr", "-noreset"))
    try:
        monkeypatch.setenv("DISPLAY", f":{server.display}")
        yield server
    finally:
        server.stop()


def test_screen_grabs_a_real_display_at_a_limited_rate(xvfb_white: Xvfb) -> None:
    bg = open_background("screen:1")
    assert isinstance(bg, ScreenBackground)
    assert bg.area == {"left": 0, "top": 0, "width": 320, "height": 240}
    out = bg.render(64, 48, t=10.0, plate=None)
    assert out is not None and out.shape == (48, 64, 3) and (out == 255).all()
    assert bg.grabs == 1
    for i in range(1, 30):  # 30 frames at 300 fps = 0.1 s: at most 30 grabs per second
        assert bg.render(64, 48, t=10.0 + i / 300, plate=None) is out
    assert bg.grabs == 3
    done = threading.Event()

    def other_thread() -> None:  # mss is thread-affine: another thread gets its own grabber
        bg.render(64, 48, t=20.0, plate=None)
        done.set()

    threading.Thread(target=other_thread).start()
    assert done.wait(5) and bg.grabs == 4 and bg.error is None
    bg.close()
    bg.close()


def test_screen_region_and_bad_monitor(xvfb_white: Xvfb) -> None:
    bg = open_background("screen:1:10,20,100,50")
    assert isinstance(bg, ScreenBackground)
    assert bg.area == {"left": 10, "top": 20, "width": 100, "height": 50}
    out = bg.render(100, 50, t=0.0, plate=None)
    assert out is not None and (out == 255).all()
    bg.close()
    assert isinstance(open_background("screen:0"), ScreenBackground)  # all monitors
    with pytest.raises(BackgroundError, match=r"^no monitor 3: this display has 1 monitor; use screen:1"):
        open_background("screen:3")
    with pytest.raises(BackgroundError, match=r"not inside monitor 1 \(320x240\)"):
        open_background("screen:1:300,0,100,100")


def test_screen_keeps_the_last_picture_when_the_display_goes_away(
    xvfb_white: Xvfb,
) -> None:
    bg = open_background("screen")
    assert isinstance(bg, ScreenBackground)
    out = bg.render(32, 32, t=0.0, plate=None)
    assert out is not None and (out == 255).all() and bg.error is None
    xvfb_white.proc.terminate()
    xvfb_white.proc.wait(5)
    assert bg.render(32, 32, t=1.0, plate=None) is out  # no exception into the engine
    assert (out == 255).all()
    assert bg.error is not None and bg.error.startswith("screen capture failed")
    grabs = bg.grabs
    assert bg.render(32, 32, t=1.1, plate=None) is out and bg.grabs == grabs  # retries after 1 s
    bg.close()
    bg.close()
    assert bg.render(32, 32, t=5.0, plate=None) is out
