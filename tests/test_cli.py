"""The command line on real files: what it writes, and how it refuses bad input (exit 2, one line)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import Xvfb

from bgcore.cli import main
from bgcore.evaluate import f1
from bgcore.settings import SETTINGS
from bgcore.synth import CASES, make_scene, write_scene


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], object]:
    scene = make_scene("exposure", width=320, height=240, n_frames=12, plate_frames=12, seed=101)
    paths = write_scene(scene, tmp_path_factory.mktemp("scene"))
    return paths, scene


def process_argv(input_: str, plate: str, out: str, *extra: str, background: str = "blur") -> list[str]:
    return ["process", input_, "--plate", plate, "--background", background, "--out", out, *extra]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def masks_f1(folder: Path, truth: list[np.ndarray]) -> float:
    scores = []
    for k, t in enumerate(truth):
        m = cv2.imread(str(folder / f"{k:05d}.png"), cv2.IMREAD_UNCHANGED)
        assert m is not None and m.dtype == np.uint8 and m.shape == t.shape
        assert set(np.unique(m)) <= {0, 255}
        scores.append(f1(m, t))
    return float(np.mean(scores))


def test_process_writes_video_masks_and_beats_classic(
    scene_files: tuple[dict[str, str], object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, scene = scene_files
    truth = scene.truth  # type: ignore[attr-defined]
    results = {}
    for mode in ("default", "classic"):
        out = tmp_path / mode / "out.mp4"
        code, stdout, err = run(
            capsys,
            "process",
            paths["frames"],
            "--plate",
            paths["plate"],
            "--background",
            "color:#00b140",
            "--out",
            str(out),
            "--mask-out",
            str(tmp_path / mode / "masks"),
            "--mode",
            mode,
        )
        assert code == 0, err
        assert "wrote 12 frame(s)" in stdout
        cap = cv2.VideoCapture(str(out))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, first = cap.read()
        cap.release()
        assert ok and n == 12 and first.shape == (240, 320, 3)
        results[mode] = masks_f1(tmp_path / mode / "masks", truth)
    # exposure drift: the tutorial's fixed threshold on one reference frame falls apart
    assert results["default"] > 0.85
    assert results["default"] > results["classic"] + 0.1


def test_transparent_png_sequence_has_the_mask_as_alpha(
    scene_files: tuple[dict[str, str], object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _scene = scene_files
    code, _, err = run(
        capsys,
        "process",
        paths["frames"],
        "--plate",
        paths["plate"],
        "--background",
        "transparent",
        "--out",
        str(tmp_path / "o" / "%05d.png"),
        "--feather",
        "0",
        "--mask-out",
        str(tmp_path / "m"),
        "--max-frames",
        "3",
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    for k in range(3):
        out = cv2.imread(str(tmp_path / "o" / f"{k:05d}.png"), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(tmp_path / "m" / f"{k:05d}.png"), cv2.IMREAD_UNCHANGED)
        frame = cv2.imread(paths["frames"] % k, cv2.IMREAD_COLOR)
        assert out.shape == (240, 320, 4)
        # hard edge: alpha is the mask exactly, and the person's pixels are the camera's
        assert np.array_equal(out[..., 3], mask)
        fg = mask > 0
        assert fg.any() and np.array_equal(out[..., :3][fg], frame[fg])


def test_still_image_input_and_plate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = make_scene("clean", width=160, height=120, n_frames=4, plate_frames=1, seed=7)
    cv2.imwrite(str(tmp_path / "plate.png"), scene.plate[0])
    cv2.imwrite(str(tmp_path / "frame.png"), scene.frames[-1])
    code, _out, err = run(
        capsys,
        "process",
        str(tmp_path / "frame.png"),
        "--plate",
        str(tmp_path / "plate.png"),
        "--background",
        "color:#ffffff",
        "--out",
        str(tmp_path / "r_%03d.png"),
        "--mask-out",
        str(tmp_path / "masks"),
    )
    assert code == 0, err
    assert (tmp_path / "r_000.png").exists() and not (tmp_path / "r_001.png").exists()
    mask = cv2.imread(str(tmp_path / "masks" / "00000.png"), cv2.IMREAD_GRAYSCALE)
    assert f1(mask, scene.truth[-1]) > 0.8


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--threshold", "300"], "threshold"),
        (["--threshold", "abc"], "threshold"),
        (["--background", "nosuchkind:1"], "background"),
        (["--background", "missing.png"], "missing.png"),
        (["--plate", "nowhere/%05d.png"], "nowhere"),
        (["--out", "out.xyz"], ".xyz"),
        (["--feather", "99"], "feather"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    scene_files: tuple[dict[str, str], object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    paths, _ = scene_files
    base = {"--plate": paths["plate"], "--background": "blur", "--out": str(tmp_path / "x.mp4")}
    extra: list[str] = []
    it = iter(args)
    for flag, value in zip(it, it, strict=True):
        if flag in base:
            base[flag] = value
        else:
            extra += [flag, value]
    argv = ["process", paths["frames"]] + [a for kv in base.items() for a in kv] + extra
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("source", ["²", "97"])
def test_an_input_that_cannot_be_opened_exits_2_with_one_line(
    scene_files: tuple[dict[str, str], object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
) -> None:
    """A camera that is not there, and "²" (a digit to str.isdigit, not to int()): a file
    name that is not found, said in one line."""
    paths, _ = scene_files
    out = str(tmp_path / "x.mp4")
    argv = ["process", source, "--plate", paths["plate"], "--background", "blur", "--out", out]
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert (f"video '{source}' not found" if source == "²" else "cannot open camera 97") in lines[0]


def test_engine_flags_keep_their_names_and_each_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    """The flags come from the table of settings: the ones scripts already use keep their
    names, --absorb-seconds is there, and docs/command-line.md names every one."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "command-line.md").read_text()
    for command in ("process", "preview"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        for flag in (
            "--mode", "--threshold", "--sensitivity", "--feather", "--work-width", "--no-cleanup",
            "--no-shadows", "--no-adapt", "--no-temporal", "--absorb-seconds",
        ):
            assert flag in out
        assert "(0-3600; default: 0)" in out  # --absorb-seconds
    for spec in SETTINGS:
        if spec.cli:
            assert f"`{spec.flag}" in docs, f"{spec.flag} is not in docs/command-line.md"


def test_quality_names_a_bad_case_and_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "quality", "--cases", "clean,nope")
    assert code == 2 and not out and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and "unknown case 'nope'" in lines[0]
    valid = lines[0].split("valid cases: ")[1].split(";")[0].split(", ")
    assert set(CASES) <= set(valid) and "moved_object" in valid and "nope" not in valid
    code, _, err = run(capsys, "quality", "--seeds", "1,x")
    assert code == 2 and err.count("\n") == 1 and "'1,x'" in err


def test_missing_input_and_size_mismatch(
    scene_files: tuple[dict[str, str], object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _ = scene_files
    code, _, err = run(
        capsys, *process_argv(str(tmp_path / "none.mp4"), paths["plate"], str(tmp_path / "o.mp4"))
    )
    assert code == 2 and "none.mp4" in err and err.count("\n") == 1
    small = make_scene("clean", width=160, height=120, n_frames=2, plate_frames=2, seed=3)
    small_paths = write_scene(small, tmp_path / "small")
    code, _, err = run(capsys, *process_argv(small_paths["frames"], paths["plate"], str(tmp_path / "o2.mp4")))
    assert code == 2 and "160x120" in err and "320x240" in err and err.count("\n") == 1


def test_unwritable_output_fails_before_processing(
    scene_files: tuple[dict[str, str], object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _ = scene_files
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for out in (str(blocker / "o.mp4"), str(blocker / "%05d.png")):
        code, _, err = run(capsys, *process_argv(paths["frames"], paths["plate"], out))
        assert code == 2 and "file" in err and err.count("\n") == 1
    code, _, err = run(
        capsys,
        *process_argv(
            paths["frames"], paths["plate"], str(tmp_path / "ok.mp4"), "--mask-out", str(blocker / "masks")
        ),
    )
    assert code == 2 and "masks" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no video, no partial file


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_process_refuses_to_overwrite_its_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = make_scene("clean", width=160, height=120, n_frames=4, plate_frames=4, seed=7)
    paths = write_scene(scene, tmp_path / "in")
    video = tmp_path / "in" / "clip.mp4"
    code, _, err = run(capsys, *process_argv(paths["frames"], paths["plate"], str(video)))
    assert code == 0, err
    before = _snapshot(tmp_path / "in")
    frames_dir = str(Path(paths["frames"]).parent)
    cases = [
        (paths["frames"], ["--out", paths["frames"]], "the output"),  # the same pattern
        (paths["frames"], ["--out", frames_dir + "/./%05d.png"], "the output"),  # spelled differently
        (str(video), ["--out", str(video)], "the output"),  # a video onto itself
        (paths["frames"], ["--mask-out", frames_dir], "the mask folder"),
        (str(video), ["--save-plate", str(video)], "the saved plate"),
    ]
    for input_, extra, what in cases:
        argv = process_argv(input_, paths["plate"], str(tmp_path / "o.mp4"))
        for flag, value in zip(extra[::2], extra[1::2], strict=True):
            if flag in argv:
                argv[argv.index(flag) + 1] = value
            else:
                argv += [flag, value]
        code, _, err = run(capsys, *argv)
        assert code == 2 and what in err and "would overwrite the input" in err, (argv, err)
        assert err.count("\n") == 1
        assert _snapshot(tmp_path / "in") == before  # not one byte of the input changed
    assert not (tmp_path / "o.mp4").exists()


def test_an_error_mid_run_leaves_no_partial_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = make_scene("clean", width=160, height=120, n_frames=8, plate_frames=4, seed=8)
    paths = write_scene(scene, tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.png").write_bytes(b"the user's own file")
    # frame 5 cannot be written (a folder holds its name): the run stops there with an error
    (out / "m" / "00005.png").mkdir(parents=True)  # the 6th mask, for the video run
    (out / "seq_005.png").mkdir()  # the 6th image, for the sequence run
    for target, blocked in ((out / "o.mp4", "00005.png"), (out / "seq_%03d.png", "seq_005.png")):
        code, _, err = run(
            capsys, *process_argv(paths["frames"], paths["plate"], str(target), "--mask-out", str(out / "m"))
        )
        assert code == 2 and blocked in err and err.count("\n") == 1, err
        left = sorted(p.name for p in out.rglob("*") if p.is_file())
        assert left == ["keep.png"], left  # the frames and masks written before the error are gone


@pytest.mark.slow
def test_truncated_video_input_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    av = pytest.importorskip("av")  # a dependency of bgreplace; the importorskip only names it
    scene = make_scene("clean", width=160, height=120, n_frames=90, plate_frames=4, seed=9)
    paths = write_scene(scene, tmp_path / "in")
    full = tmp_path / "full.mp4"
    # moov at the front ("faststart", as cameras and phones write it): a cut file still opens
    container = av.open(str(full), "w", options={"movflags": "faststart"})
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    stream.options = {"crf": "10"}
    for frame in scene.frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    half = tmp_path / "half.mp4"
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    out = tmp_path / "o.mp4"
    code, stdout, err = run(capsys, *process_argv(str(half), paths["plate"], str(out)))
    written = int(stdout.split("wrote ")[1].split(" ")[0])
    assert 10 < written < 80, stdout
    assert code == 1 and f"ended after {written} of the 90 frames" in err and err.count("\n") == 1
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == written  # what was read is kept
    cap.release()
    code, stdout, err = run(capsys, *process_argv(str(full), paths["plate"], str(out)))
    assert code == 0 and "wrote 90 frame(s)" in stdout and err == ""


def test_transparent_needs_an_output_with_alpha(
    scene_files: tuple[dict[str, str], object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _ = scene_files
    for out in ("o.mp4", "o.avi", "seq_%03d.jpg"):
        code, _, err = run(
            capsys,
            *process_argv(paths["frames"], paths["plate"], str(tmp_path / out), background="transparent"),
        )
        assert code == 2 and "keeps alpha" in err and "%05d.png" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_videos_are_h264_where_pyav_is_installed(
    scene_files: tuple[dict[str, str], object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    av = pytest.importorskip("av")
    paths, _ = scene_files
    for name in ("o.mp4", "o.mov", "o.mkv"):
        code, stdout, err = run(capsys, *process_argv(paths["frames"], paths["plate"], str(tmp_path / name)))
        assert code == 0 and "(H.264)" in stdout, err
        with av.open(str(tmp_path / name)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.frames in (0, 12)
            assert sum(1 for _ in container.decode(stream)) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mkv", "o.mov", "o.mp4"]  # no temp files


def test_ffmpeg_and_numpy_messages_stay_out_of_the_terminal(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))  # no moov atom
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    r = subprocess.run(
        [sys.executable, "-m", "bgcore", *process_argv(str(broken), str(broken), str(tmp_path / "o.mp4"))],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert r.returncode == 2 and "moov" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("bgreplace process: error:")


@pytest.mark.slow
def test_demo_writes_video_and_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--out-dir", str(tmp_path / "demo"))
    assert code == 0, err
    video, picture = tmp_path / "demo" / "demo.mp4", tmp_path / "demo" / "before_after.png"
    assert str(video) in out and str(picture) in out
    cap = cv2.VideoCapture(str(video))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and frames >= 30
    img = cv2.imread(str(picture))
    assert img is not None and img.shape[1] == 3 * first.shape[1] + 8


def test_entry_point_and_preview_without_display(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    help_run = subprocess.run(
        [sys.executable, "-m", "bgcore", "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert help_run.returncode == 0
    for command in ("demo", "process", "preview", "quality", "bench"):
        assert command in help_run.stdout
    prev = subprocess.run(
        [sys.executable, "-m", "bgcore", "preview", "0"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert prev.returncode == 2 and "display" in prev.stderr.lower() and "Traceback" not in prev.stderr


def test_preview_on_a_dead_display_names_the_display_not_tk(tmp_path: Path) -> None:
    pytest.importorskip("tkinter")  # with Tk installed, python3-tk is the wrong advice
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    env = {**os.environ, "DISPLAY": ":4999"}  # nothing listens there
    env.pop("WAYLAND_DISPLAY", None)
    r = subprocess.run(
        [sys.executable, "-m", "bgcore", "preview", str(clip)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert r.returncode == 2 and ":4999" in r.stderr and "python3-tk" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.fixture
def xdisplay() -> Iterator[str]:
    """A real X server (Xvfb, on a display number it picks itself) for the preview window; a
    missing Xvfb or xdotool fails the test (./test installs them): never a silent skip."""
    assert shutil.which("xdotool"), "xdotool is not installed (./test installs it)"
    server = Xvfb(screen="800x600x24", extra=("-noreset",))
    try:
        yield f":{server.display}"
    finally:
        server.stop()


@pytest.mark.slow
def test_preview_window_keys_and_quit(xdisplay: str, tmp_path: Path) -> None:
    scene = make_scene("clean", width=160, height=120, n_frames=10, plate_frames=10, seed=5)
    clip = tmp_path / "clip.mkv"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"FFV1"), 30.0, (160, 120))
    for frame in [*scene.plate, *scene.frames] * 30:  # about 20 s: long enough to be quit
        writer.write(frame)
    writer.release()
    env = {**os.environ, "DISPLAY": xdisplay}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bgcore", "preview", str(clip), "--delay", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        window = ""
        while not window and time.monotonic() < deadline and proc.poll() is None:
            found = subprocess.run(
                ["xdotool", "search", "--name", "bgreplace preview"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            window = found.stdout.split()[0] if found.stdout.split() else ""
            time.sleep(0.2)
        assert window, f"no preview window appeared: {proc.stderr.read() if proc.poll() is not None else ''}"
        time.sleep(1.0)  # countdown and plate capture run on the clip
        # no window manager on Xvfb: give the window the focus, then type (XTEST, real key events)
        subprocess.run(["xdotool", "windowfocus", window], env=env, check=False, capture_output=True)
        for key in ("m", "m", "r", "q"):
            subprocess.run(["xdotool", "key", key], env=env, check=False, capture_output=True)
            time.sleep(0.3)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
