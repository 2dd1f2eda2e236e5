"""Replace the background of a video file with the public API.

    python examples/replace_video.py INPUT EMPTY_ROOM BACKGROUND OUT
    python examples/replace_video.py --sample      (a generated clip -> out/example.mp4)

INPUT and EMPTY_ROOM are videos, image patterns (frames/%05d.png) or pictures of the same camera
view; EMPTY_ROOM has nobody in it. BACKGROUND is a picture, a video, color:#RRGGBB or blur. OUT
is a video (.mp4 is H.264 where PyAV is installed) or an image pattern. Exit code 0 when every
frame was written, 2 with one line on stderr when something cannot be read or written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bgcore import BackgroundReplacer, BgError
from bgcore.capture import StillImageSource, open_source
from bgcore.frames import BGR
from bgcore.writers import open_writer

SAMPLE_BACKGROUND = Path(__file__).resolve().parent.parent / "bgcore" / "data" / "background.jpg"
MAX_FRAMES = 10_000  # this example holds the clip in memory; the CLI (`process`) streams


def frames_of(spec: str) -> list[BGR]:
    """Every frame of a file (one for a picture), read through bgcore's frame sources."""
    source = open_source(spec)
    try:
        frames: list[BGR] = []
        while len(frames) < MAX_FRAMES and (frame := source.read()) is not None:
            frames.append(frame)
            if isinstance(source, StillImageSource):
                break  # a still image is one frame
        if not frames:
            raise BgError(f"no frames could be read from {spec!r}; is it an empty or broken file?")
        return frames
    finally:
        source.close()


def replace(plate: list[BGR], frames: list[BGR], background: str, out: str) -> int:
    """Write the composites of ``frames`` to ``out``; returns how many were written."""
    writer = open_writer(out)
    try:
        with BackgroundReplacer(background=background) as replacer:
            replacer.set_plate(plate)
            for frame in frames:
                writer.write(replacer.process(frame))
        writer.close()
    except BaseException:
        writer.abort()  # nothing half-written stays behind
        raise
    return len(frames)


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="replace_video.py",
        description="Replace the background of a video with bgreplace's public API.",
    )
    ap.add_argument("files", nargs="*", metavar="INPUT EMPTY_ROOM BACKGROUND OUT")
    ap.add_argument("--sample", action="store_true", help="run on a generated clip, write out/example.mp4")
    args = ap.parse_args(argv)
    if args.sample == bool(args.files) or (args.files and len(args.files) != 4):
        ap.error("give INPUT EMPTY_ROOM BACKGROUND OUT, or --sample")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        if args.sample:
            from bgcore.synth import demo_scene

            scene = demo_scene(n_frames=60)
            plate, frames = list(scene.plate), list(scene.frames)
            background, out = str(SAMPLE_BACKGROUND), "out/example.mp4"
        else:
            video, room, background, out = args.files
            plate, frames = frames_of(room), frames_of(video)
        written = replace(plate, frames, background, out)
    except BgError as exc:  # bad input: one line, no traceback
        print(f"replace_video.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written} frames to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
