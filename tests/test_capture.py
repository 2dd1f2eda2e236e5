"""bgcore.capture against real files written with OpenCV; the only fake is a camera (no
hardware here), plugged in through the source registry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import write_flat_video

from bgcore import SourceError
from bgcore.capture import (
    SOURCE_KINDS,
    FrameMailbox,
    FrameSource,
    LatestFrameReader,
    SequenceSource,
    SourceOptions,
    StillImageSource,
    VideoSource,
    open_source,
    register_source,
)


def level(frame: np.ndarray | None) -> int:
    assert frame is not None and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.min() == frame.max(), "expected a flat frame"
    return int(frame[0, 0, 0])


def read_all(src: FrameSource, limit: int = 1000) -> list[np.ndarray]:
    frames = []
    while len(frames) < limit:
        f = src.read()
        if f is None:
            break
        frames.append(f)
    return frames


@pytest.fixture
def sequence(tmp_path: Path, rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
    """Five random 32x24 PNGs frames/00000.png .. 00004.png (PNG is lossless)."""
    (tmp_path / "frames").mkdir()
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(5)]
    for i, f in enumerate(frames):
        assert cv2.imwrite(str(tmp_path / "frames" / f"{i:05d}.png"), f)
    return str(tmp_path / "frames" / "%05d.png"), frames


# -- files -----------------------------------------------------------------------------------------


def test_image_sequence_is_read_in_order_with_exact_pixels(sequence: tuple[str, list[np.ndarray]]) -> None:
    pattern, frames = sequence
    src = open_source(pattern)
    assert isinstance(src, VideoSource) and not src.live
    got = read_all(src)
    assert len(got) == 5
    for want, have in zip(frames, got, strict=True):
        np.testing.assert_array_equal(have, want)
    assert src.read() is None  # and it stays ended
    src.close()
    src.close()


def test_image_sequence_numbered_from_one_and_its_fps(tmp_path: Path) -> None:
    for i in (1, 2, 3):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((16, 16, 3), 10 * i, np.uint8))
    src = open_source(str(tmp_path / "img%d.png"), fps=12)
    assert src.fps == 12.0
    assert [level(f) for f in read_all(src)] == [10, 20, 30]


def test_image_sequence_loops(sequence: tuple[str, list[np.ndarray]]) -> None:
    pattern, frames = sequence
    got = read_all(open_source(pattern, loop=True), limit=12)
    for i, f in enumerate(got):
        np.testing.assert_array_equal(f, frames[i % 5])


def test_video_file_frames_count_and_end_of_stream(tmp_path: Path) -> None:
    src = open_source(str(write_flat_video(tmp_path / "clip.avi", n=10, fps=15.0)))
    assert src.fps == 15.0 and not src.live and src.name.endswith("clip.avi")
    assert [level(f) for f in read_all(src)] == [20 * k for k in range(10)]
    assert src.read() is None
    assert src.read() is None


def test_video_file_loops_as_an_endless_camera(tmp_path: Path) -> None:
    src = open_source(str(write_flat_video(tmp_path / "clip.avi", n=4)), loop=True)
    assert [level(f) for f in read_all(src, limit=11)] == [0, 20, 40, 60, 0, 20, 40, 60, 0, 20, 40]
    src.close()


def test_frames_are_resized_to_the_requested_size(tmp_path: Path) -> None:
    path = str(write_flat_video(tmp_path / "clip.avi", n=3, size=(64, 48)))
    f = open_source(path, width=32, height=32).read()
    assert f is not None and f.shape == (32, 32, 3)
    f = open_source(path, width=32).read()  # one side keeps the aspect
    assert f is not None and f.shape == (24, 32, 3)
    f = open_source(path, height=96).read()
    assert f is not None and f.shape == (96, 128, 3)


def test_still_image_returns_the_same_read_only_picture(tmp_path: Path) -> None:
    img = np.zeros((30, 40, 3), np.uint8)
    img[:, 20:] = (1, 2, 3)
    cv2.imwrite(str(tmp_path / "still.png"), img)
    src = open_source(str(tmp_path / "still.png"))
    assert isinstance(src, StillImageSource) and not src.live and src.fps == 30.0
    a, b = src.read(), src.read()
    assert a is b and a is not None
    np.testing.assert_array_equal(a, img)
    with pytest.raises(ValueError):
        a[0, 0] = 9  # the consumer cannot spoil the next read
    src.close()
    with pytest.raises(SourceError, match="closed"):
        src.read()


def test_grey_and_bgra_images_become_bgr(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "g.png"), np.full((16, 24), 99, np.uint8))
    f = open_source(str(tmp_path / "g.png")).read()
    assert f is not None and f.shape == (16, 24, 3) and (f == 99).all()
    cv2.imwrite(str(tmp_path / "a.png"), np.full((16, 24, 4), (5, 6, 7, 255), np.uint8))
    f = open_source(str(tmp_path / "a.png"), width=48).read()
    assert f is not None and f.shape == (32, 48, 3) and (f == (5, 6, 7)).all()


# -- errors ----------------------------------------------------------------------------------------


def test_missing_camera_is_a_clear_error() -> None:
    with pytest.raises(
        SourceError,
        match=r"^cannot open camera 97: no such device; check it is plugged in and not used by "
        r"another program$",
    ):
        open_source(97)
    with pytest.raises(SourceError, match=r"^cannot open camera 97"):
        open_source("97")
    with pytest.raises(SourceError, match=r"bad camera 'x'"):
        open_source("camera:x")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mp4", None, r"^video '.*missing.mp4' not found; check the path$"),
        ("missing.png", None, r"^image '.*missing.png' not found; check the path$"),
        ("nothing/%04d.png", None, r"^image sequence '.*nothing/%04d.png' not found: neither .*0000.png"),
        ("broken.mp4", b"\x00garbage" * 100, r"^cannot decode video '.*broken.mp4'"),
        ("broken.png", b"\x00garbage" * 100, r"^cannot decode image '.*broken.png'"),
    ],
)
def test_file_errors_say_what_is_wrong(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=message) as info:
        open_source(str(tmp_path / name))
    assert "\n" not in str(info.value)


def test_bad_requests_and_specs(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder"):
        open_source(str(tmp_path))
    with pytest.raises(SourceError, match="requested width 3 is out of range"):
        open_source("clip.mp4", width=3)
    with pytest.raises(SourceError, match="no input given"):
        open_source("  ")
    with pytest.raises(SourceError, match=r"^cannot open stream 'rtsp://127.0.0.1:1/cam'"):
        open_source("rtsp://127.0.0.1:1/cam")
    # a Unicode digit is no camera number (int() refuses it): the name of a file
    with pytest.raises(SourceError, match=r"^video '²' not found; check the path$"):
        open_source("²")


# -- the synthetic source and the registry ---------------------------------------------------------


def test_sequence_source_serves_frames_and_loops() -> None:
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (1, 2, 3)]
    src = SequenceSource(frames, fps=5)
    assert [level(f) for f in read_all(src)] == [1, 2, 3]
    src = SequenceSource(frames, loop=True)
    assert [level(f) for f in read_all(src, limit=7)] == [1, 2, 3, 1, 2, 3, 1]
    with pytest.raises(SourceError, match="at least one frame"):
        SequenceSource([])
    with pytest.raises(Exception, match="HxWx3"):
        SequenceSource([np.zeros((8, 8), np.uint8)])


class FakeCamera:
    """Stands in for a physical camera: gives ``fail_after`` frames at ``fps``, then raises
    like an unplugged camera; ``plug`` (shared) says whether opening works."""

    live = True

    def __init__(self, plug: dict[str, int], fail_after: int, fps: float = 200.0) -> None:
        self.plug, self.fail_after, self.fps = plug, fail_after, fps
        self.name = "fake camera"
        self.count = 0
        self.closed = False
        plug["opens"] += 1
        plug["open"] += 1

    def read(self) -> np.ndarray | None:
        time.sleep(1.0 / self.fps)  # a camera blocks until its next frame
        if self.count >= self.fail_after:
            raise SourceError("fake camera unplugged")
        self.count += 1
        self.plug["frames"] += 1
        return np.full((8, 8, 3), self.plug["frames"] % 256, np.uint8)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.plug["open"] -= 1


@pytest.fixture
def fake_camera() -> Iterator[dict[str, int]]:
    """Registers the 'fakecam' kind; ``fakecam:N`` fails after N frames; opening fails while
    plug['refuse'] > 0 (each refusal counts down)."""
    plug = {"opens": 0, "open": 0, "frames": 0, "refuse": 0}

    def factory(arg: str, opts: SourceOptions) -> FrameSource:
        if plug["refuse"] > 0:
            plug["refuse"] -= 1
            raise SourceError("cannot open fake camera: no such device")
        return FakeCamera(plug, int(arg))

    register_source("fakecam", factory)
    yield plug
    del SOURCE_KINDS["fakecam"]


def test_registered_kinds_are_opened_by_prefix(fake_camera: dict[str, int]) -> None:
    src = open_source("fakecam:3")
    assert isinstance(src, FakeCamera) and src.fail_after == 3
    with pytest.raises(ValueError):
        register_source("c", lambda arg, opts: src)  # would shadow C:\ paths


# -- LatestFrameReader -----------------------------------------------------------------------------


def test_reader_drops_frames_for_a_slow_consumer_and_hands_over_the_newest(tmp_path: Path) -> None:
    path = write_flat_video(tmp_path / "clip.avi", n=12)
    with LatestFrameReader(str(path), pace=False) as reader:
        deadline = time.monotonic() + 10
        while reader.state != "ended" and time.monotonic() < deadline:
            time.sleep(0.01)  # a consumer that does not look for a while
        assert reader.state == "ended" and reader.frames_read == 12
        item = reader.latest(0)
        assert item is not None
        frame, when, seq = item
        assert seq == 12 and level(frame) == 220  # the newest frame, not the oldest
        assert reader.frames_dropped == 11  # nothing queued
        assert when <= time.monotonic()
        assert reader.latest(0) is None and reader.latest() is None  # ended: no waiting
    assert not reader.alive


class StepClock:
    """A clock that only moves when the reader pauses (and by a little per read: decoding
    takes time), so pacing is checked exactly, whatever the machine's load. A pause returns
    once the consumer (iterating :meth:`frames`) has taken the frame just read: in the real
    pause of a frame interval a fast consumer does, and without the handshake a busy machine
    could leave the consumer's thread unscheduled while the reader's pauses return at once."""

    def __init__(self, per_read: float = 0.004) -> None:
        self.now = 100.0
        self.per_read = per_read
        self.pauses: list[float] = []
        self.taken = 0

    def __call__(self) -> float:
        self.now += self.per_read / 2  # two readings per frame
        return self.now

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        deadline = time.monotonic() + 10.0  # (a consumer that never comes fails the test)
        while self.taken < len(self.pauses) and time.monotonic() < deadline:
            time.sleep(0.0005)

    def frames(self, reader: LatestFrameReader) -> Iterator[tuple[np.ndarray, float, int]]:
        """The reader's frames, counted as taken for :meth:`pause`."""
        for item in reader:
            self.taken += 1
            yield item


def test_reader_paces_a_file_like_a_camera_at_its_fps(tmp_path: Path) -> None:
    path = write_flat_video(tmp_path / "clip.avi", n=10, fps=25.0)
    clock = StepClock()
    with LatestFrameReader(str(path), clock=clock, pause=clock.pause) as reader:
        got = list(clock.frames(reader))  # a fast consumer gets every frame, at the file's rate
    seqs = [s for _, _, s in got]
    times = np.array([t for _, t, _ in got])
    assert seqs == list(range(1, 11)) and reader.frames_dropped == 0
    assert [level(f) for f, _, _ in got] == [20 * k for k in range(10)]
    # one frame every 40 ms of the reader's clock: the time spent reading is not added on top
    assert np.allclose(np.diff(times), 1 / 25, atol=clock.per_read), np.diff(times)
    assert all(0 < p < 1 / 25 for p in clock.pauses[:9]), clock.pauses


def test_reader_does_not_burst_to_catch_up_after_a_stall(tmp_path: Path) -> None:
    """A file read late (the machine was busy) goes on at its rate from there: it does not
    hand over the frames it "owes" in a burst, which a consumer would drop."""
    path = write_flat_video(tmp_path / "clip.avi", n=6, fps=25.0)
    clock = StepClock()
    stalled = False

    def pause(seconds: float) -> None:
        nonlocal stalled
        clock.pause(seconds)
        if not stalled:  # the first pause overruns by a whole second
            stalled = True
            clock.now += 1.0

    with LatestFrameReader(str(path), clock=clock, pause=pause) as reader:
        times = np.array([t for _, t, _ in clock.frames(reader)])
    gaps = np.diff(times)
    assert gaps[0] > 1.0 and np.allclose(gaps[1:], 1 / 25, atol=clock.per_read), gaps


def test_reader_latest_waits_and_times_out(tmp_path: Path) -> None:
    path = write_flat_video(tmp_path / "clip.avi", n=3, fps=2.0)
    with LatestFrameReader(str(path)) as reader:
        first = reader.latest(timeout=2)
        assert first is not None and first[2] == 1
        t0 = time.monotonic()
        # None: it gave up before the next frame, 0.5 s away (no upper bound on the wait: a
        # busy machine may wake it late, and a late wake-up would have found that frame)
        assert reader.latest(timeout=0.1) is None
        assert time.monotonic() - t0 >= 0.1
        second = reader.latest(timeout=2)
        assert second is not None and second[2] == 2 and second[1] - first[1] >= 0.4


def test_close_joins_the_thread_and_wakes_a_waiting_consumer(fake_camera: dict[str, int]) -> None:
    reader = LatestFrameReader("fakecam:1000000")
    got: list[object] = []
    reader.latest(timeout=2)

    def consumer() -> None:
        while True:
            item = reader.latest()
            if item is None:
                got.append(None)
                return

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.05)
    reader.close()
    t.join(2)
    assert not t.is_alive() and got == [None]
    assert not reader.alive and reader.state == "closed"
    assert fake_camera["open"] == 0  # the source was closed by the reader thread
    reader.close()  # idempotent


def test_reader_reconnects_a_lost_live_source(fake_camera: dict[str, int]) -> None:
    with LatestFrameReader("fakecam:5", reconnect_seconds=0.1) as reader:
        fake_camera["refuse"] = 2  # after the unplug, the camera is away for two attempts
        deadline = time.monotonic() + 5
        saw_reconnecting = ""
        while reader.reconnects < 1 and time.monotonic() < deadline:
            if reader.state == "reconnecting":
                saw_reconnecting = reader.status
            time.sleep(0.005)
        assert saw_reconnecting.startswith("reconnecting (")
        assert "every 0.1 s" in saw_reconnecting
        assert reader.reconnects == 1 and fake_camera["opens"] == 2
        # frames flow again after it came back
        seq_before = reader.frames_read
        item = reader.latest(timeout=2)
        assert item is not None and reader.state == "running" and reader.error is None
        assert item[2] >= seq_before
        assert fake_camera["open"] == 1  # the lost one was closed before reopening
    assert fake_camera["open"] == 0


def test_reader_can_wait_for_a_source_that_is_not_there_yet(fake_camera: dict[str, int]) -> None:
    fake_camera["refuse"] = 2
    with pytest.raises(SourceError, match="no such device"):
        LatestFrameReader("fakecam:100")
    with LatestFrameReader("fakecam:100", wait_for_source=True, reconnect_seconds=0.05) as reader:
        assert reader.state == "reconnecting" and "no such device" in reader.status
        item = reader.latest(timeout=3)
        assert item is not None and reader.state == "running"


def test_reader_accepts_an_open_function() -> None:
    frames = [np.full((8, 8, 3), v, np.uint8) for v in range(4)]
    with LatestFrameReader(lambda: SequenceSource(frames, fps=100)) as reader:
        assert [level(f) for f, _, _ in reader] == [0, 1, 2, 3]
        assert reader.status == "ended"


def test_reader_constructor_raises_for_a_bad_spec(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        LatestFrameReader(str(tmp_path / "missing.mp4"))


def test_one_frame_mp4_loops_as_a_camera(tmp_path: Path) -> None:
    path = tmp_path / "one.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (64, 48))
    assert w.isOpened()
    w.write(np.full((48, 64, 3), 120, np.uint8))
    w.release()
    src = open_source(str(path), loop=True)
    try:
        frames = [src.read() for _ in range(5)]
    finally:
        src.close()
    assert all(f is not None and f.shape == (48, 64, 3) and abs(int(f.mean()) - 120) <= 3 for f in frames)


def test_latest_frame_reader_is_a_frame_mailbox() -> None:
    with LatestFrameReader(lambda: SequenceSource([np.zeros((8, 8, 3), np.uint8)], live=True)) as reader:
        assert isinstance(reader, FrameMailbox)
