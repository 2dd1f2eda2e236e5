"""The command line: ``python -m bgcore`` (installed as ``bgreplace``).

Commands: ``demo`` (the main job on a bundled sample, no webcam needed), ``process`` (files or a
camera in, a video or image sequence out), ``preview`` (the tutorial's live loop in a window),
``quality`` (the F1 table against exact ground truth) and ``bench`` (speed against the floor).

Every user mistake ends with exit code 2 and one line on stderr that says what is wrong and
what to do; never a traceback. :func:`main` takes ``argv`` and returns the exit code, so tests
call it directly.

This module is the commands' argparse and what they print; the work is elsewhere:
:mod:`bgcore.file_processing` (``process``, and ``demo`` through it), :mod:`bgcore.preview`,
:mod:`bgcore.evaluate` (``quality``), :mod:`bgcore.bench_cli`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import cv2
import numpy as np
import numpy.typing as npt

from .argtypes import positive_int
from .errors import BgError, OutputError, SettingsError
from .file_processing import (
    PROGRESS_MIN_FRAMES,
    SHORT_INPUT_SLACK,
    ProcessResult,
    Progress,
    open_input,
    process,
    read_frames,
    refuse_overwriting_inputs,
)
from .frames import BGR
from .settings import SETTINGS, Settings, Spec

if TYPE_CHECKING:
    from .plate import Region

__all__ = [
    "DATA",
    "DEMO_BACKGROUND",
    "EXIT_OK",
    "EXIT_SHORT_INPUT",
    "EXIT_USAGE",
    "PROGRESS_MIN_FRAMES",
    "SHORT_INPUT_SLACK",
    "ProcessResult",
    "Progress",
    "add_settings_arguments",
    "before_after",
    "build_parser",
    "main",
    "open_input",
    "process",
    "read_frames",
    "refuse_overwriting_inputs",
    "settings_from_args",
]

EXIT_OK = 0
# process finished, but the input ended before the frame count its header gives (a truncated
# or damaged file): the output holds every frame that could be read.
EXIT_SHORT_INPUT = 1
EXIT_USAGE = 2
DATA = Path(__file__).resolve().parent / "data"
DEMO_BACKGROUND = DATA / "background.jpg"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (the usage is one ``--help`` away) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


# -- settings from argparse -----------------------------------------------------------------
def _parser_of(spec: Spec) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return spec.parse(text)
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = spec.name  # argparse names the type in some messages
    return parse


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """Engine options shared by process and preview: one flag per setting of the table
    (:data:`bgcore.settings.SETTINGS`), with its range and default."""
    g = p.add_argument_group("engine")
    for spec in SETTINGS:
        if not spec.cli:
            continue
        dest = spec.name
        if spec.kind is bool:
            g.add_argument(spec.flag, dest=dest, action="store_const", const=not spec.default, help=spec.help)
        elif spec.choices:
            help = f"{spec.help} (default: {spec.default})"
            g.add_argument(spec.flag, dest=dest, choices=spec.choices, help=help)
        else:
            default = "auto" if spec.default is None else f"{spec.default:g}"
            g.add_argument(
                spec.flag,
                dest=dest,
                type=_parser_of(spec),
                metavar=("auto|" if spec.auto else "") + f"{spec.lo:g}-{spec.hi:g}" + "|0" * bool(spec.zero),
                help=f"{spec.help} ({spec.range_text()}; default: {default})",
            )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The one place argparse values become a validated :class:`Settings` (a flag not given
    leaves the setting's default)."""
    return Settings.from_mapping({spec.name: getattr(args, spec.name) for spec in SETTINGS if spec.cli})


def _cmd_process(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    result = process(
        args.input,
        args.plate,
        args.background,
        args.out,
        settings=settings,
        mask_out=args.mask_out,
        fit=args.fit,
        max_frames=args.max_frames,
        save_plate=args.save_plate,
        progress=args.progress,
    )
    extra = f", masks in {args.mask_out}" if args.mask_out else ""
    print(f"bgreplace: wrote {result.frames} frame(s) to {args.out} ({result.codec}){extra}")
    if result.dynamic:
        print(
            f"bgreplace: the picture changes all the time at {_places(result.dynamic)} "
            f"({sum(r.share for r in result.dynamic):.0%} of it: a screen, leaves, a light?): "
            "less sensitive there"
        )
    if result.changes:
        since = f" from {result.changed_at:.1f} s on" if result.changed_at is not None else ""
        print(
            f"bgreplace: the background changed at {_places(result.changes)}{since} and stayed "
            f"({sum(r.share for r in result.changes):.0%} of the picture shown as foreground): "
            "capture a new plate"
        )
    if result.short:
        print(
            f"bgreplace process: warning: {args.input!r} ended after {result.frames} of the "
            f"{result.expected} frames its header announces (a truncated or damaged file?); "
            "the output holds the frames that could be read",
            file=sys.stderr,
        )
        return EXIT_SHORT_INPUT
    return EXIT_OK


def _places(regions: Sequence[Region]) -> str:
    """``the top left and the right``: where the (largest three) regions are."""
    places = list(dict.fromkeys(f"the {r.place}" for r in regions[:3]))
    return places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]


# -- demo -----------------------------------------------------------------------------------
def before_after(before: BGR, after: npt.NDArray[np.uint8], mask: npt.NDArray[np.uint8]) -> BGR:
    """Side by side: the camera, the mask, the result (with labels)."""
    h, _w = before.shape[:2]
    panels = [before.copy(), cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR), cv2.cvtColor(after, cv2.COLOR_BGRA2BGR)]
    for panel, label in zip(panels, ("camera", "mask", "result"), strict=True):
        cv2.rectangle(panel, (0, 0), (len(label) * 11 + 16, 26), (32, 32, 32), -1)
        cv2.putText(panel, label, (8, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    gap = np.full((h, 4, 3), 255, np.uint8)
    return np.hstack([panels[0], gap, panels[1], gap, panels[2]])


def _cmd_demo(args: argparse.Namespace) -> int:
    from .synth import demo_scene, write_scene

    out_dir = Path(args.out_dir)
    scene = demo_scene()
    try:
        paths = write_scene(scene, out_dir / "input")
    except OSError as exc:
        raise OutputError(
            f"cannot write the demo to {str(out_dir)!r} ({exc.strerror}); use --out-dir"
        ) from None
    video = str(out_dir / "demo.mp4")
    background = args.background or str(DEMO_BACKGROUND)
    picked: dict[str, Any] = {}
    best_index = _busiest_frame([int(np.count_nonzero(t)) for t in scene.truth])

    def keep(n: int, frame: BGR, result: npt.NDArray[np.uint8]) -> None:
        if n == best_index:
            picked["frame"], picked["result"] = frame.copy(), result.copy()

    settings = Settings()
    result = process(
        paths["frames"],
        paths["plate"],
        background,
        video,
        settings=settings,
        mask_out=str(out_dir / "masks"),
        on_frame=keep,
        progress=args.progress,
    )
    mask = cv2.imread(str(out_dir / "masks" / f"{best_index:05d}.png"), cv2.IMREAD_GRAYSCALE)
    if mask is None or "frame" not in picked:
        raise OutputError(f"the demo masks in {str(out_dir)!r} could not be read back; is the disk full?")
    picture = str(out_dir / "before_after.png")
    cv2.imwrite(picture, before_after(picked["frame"], picked["result"], mask))
    print(
        f"bgreplace demo: replaced the background of a {result.frames}-frame sample clip "
        f"({scene.frames[0].shape[1]}x{scene.frames[0].shape[0]})"
    )
    print(f"  video:        {video} ({result.codec})")
    print(f"  before/after: {picture}")
    print(f"  masks:        {out_dir / 'masks'}/00000.png ...")
    print(f"  input clip:   {paths['frames']} (plate: {paths['plate']})")
    return EXIT_OK


def _busiest_frame(areas: Sequence[int]) -> int:
    """The frame where the person is most in view (the demo's before/after picture)."""
    return int(np.argmax(np.asarray(areas))) if areas else 0


# -- preview --------------------------------------------------------------------------------
def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _cmd_preview(args: argparse.Namespace) -> int:
    from .preview import run_preview

    if not _has_display():
        raise SettingsError(
            "preview needs a screen and none is available (DISPLAY is not set); "
            "run it in a desktop session, or use 'process' to write a video"
        )
    return run_preview(
        args.camera,
        background=args.background,
        settings=settings_from_args(args),
        fit=args.fit,
        delay=args.delay,
    )


# -- quality and bench ----------------------------------------------------------------------
def _case_names(text: str) -> tuple[str, ...]:
    """``--cases``: comma-separated names of synthetic cases, each one bgcore.synth renders."""
    from .synth import CASES
    from .synth_rooms import ALL_CASES

    valid = tuple(dict.fromkeys(CASES + ALL_CASES))
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if name not in valid:
            raise argparse.ArgumentTypeError(f"unknown case {name!r}; valid cases: {', '.join(valid)}")
    return names


def _seed_list(text: str) -> tuple[int, ...]:
    """``--seeds``: comma-separated whole numbers."""
    try:
        return tuple(int(word) for word in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds are whole numbers separated by commas, got {text!r}"
        ) from None


def _cmd_quality(args: argparse.Namespace) -> int:
    from . import evaluate

    kwargs: dict[str, Any] = {}
    if args.cases:
        kwargs["cases"] = args.cases
    if args.seeds:
        kwargs["seeds"] = args.seeds
    rows = evaluate.quality_table(**kwargs)
    print(evaluate.format_table(rows))
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench_cli import run

    return int(run(args))


# -- the parser -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bgreplace", description="Live background removal and replacement (plate method).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run on a bundled sample clip (no webcam needed)",
        description="Replace the background of a bundled sample clip and write a video "
        "and a before/after picture.",
    )
    demo.add_argument("--out-dir", default="out/demo", help="where to write (default: out/demo)")
    demo.add_argument("--background", default=None, help="background spec (default: the bundled picture)")
    demo.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    demo.set_defaults(func=_cmd_demo)

    proc = sub.add_parser(
        "process",
        help="replace the background of a video, sequence, image or camera",
        description="INPUT and PLATE: a video file, an image sequence such as "
        "frames/%05d.png, a still image, a camera index or a URL (PLATE may also be a saved "
        ".npz plate). OUT: a video file (.mp4 .avi .mkv .mov) or a pattern (out/%05d.png).",
    )
    proc.add_argument("input", metavar="INPUT", help="the frames to process (see above)")
    proc.add_argument("--plate", required=True, metavar="PLATE", help="frames of the empty scene")
    proc.add_argument(
        "--background",
        required=True,
        metavar="BG",
        help="image or video path, color:#RRGGBB, blur, transparent, screen or screen:N",
    )
    proc.add_argument(
        "--out",
        required=True,
        metavar="OUT",
        help="a video file (.mp4 .mov .mkv: H.264; .avi: Motion JPEG) or an image pattern such as "
        "out/%%05d.png (PNG, TIFF and WebP keep the alpha of a transparent background)",
    )
    proc.add_argument("--mask-out", metavar="DIR", help="also write DIR/00000.png ... (255 = foreground)")
    proc.add_argument(
        "--fit",
        choices=("cover", "contain", "stretch"),
        default="cover",
        help="how an image or video background fits the frame (default cover)",
    )
    proc.add_argument("--max-frames", type=positive_int, default=None, help="stop after N frames")
    proc.add_argument("--save-plate", metavar="FILE.npz", help="save the plate for later runs")
    proc.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when stderr is a terminal)",
    )
    add_settings_arguments(proc)
    proc.set_defaults(func=_cmd_process)

    prev = sub.add_parser("preview", help="live preview in a window (keys: r recapture, m mask, q quit)")
    prev.add_argument("camera", nargs="?", default="0", help="camera index, video file or URL (default 0)")
    prev.add_argument("--background", default=str(DEMO_BACKGROUND), metavar="BG")
    prev.add_argument("--fit", choices=("cover", "contain", "stretch"), default="cover")
    prev.add_argument("--delay", type=float, default=3.0, help="seconds to step out before a capture")
    add_settings_arguments(prev)
    prev.set_defaults(func=_cmd_preview)

    qual = sub.add_parser("quality", help="F1 against exact ground truth, default vs classic")
    qual.add_argument(
        "--cases", type=_case_names, default=None, help="comma-separated case names (default: all)"
    )
    qual.add_argument("--seeds", type=_seed_list, default=None, help="comma-separated seeds")
    qual.set_defaults(func=_cmd_quality)

    bench_p = sub.add_parser("bench", help="speed and memory against the floor (a BGR->BGRA copy)")
    try:
        from .bench_cli import add_arguments

        add_arguments(bench_p)
    except ImportError:
        pass
    bench_p.set_defaults(func=_cmd_bench)
    return parser


def _quiet_opencv() -> None:
    """OpenCV's own warnings (e.g. probing a missing camera) and FFmpeg's messages (e.g. "moov
    atom not found" for a truncated MP4, printed when the file is opened) would come before our
    one-line errors. OpenCV reads OPENCV_FFMPEG_LOGLEVEL when it first opens a file; -8 is
    FFmpeg's AV_LOG_QUIET. A value the user set is kept (for debugging)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    _quiet_opencv()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args))
    except BgError as exc:
        print(f"bgreplace {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"bgreplace {args.command}: interrupted", file=sys.stderr)
        return 130
