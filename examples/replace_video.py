"""Replace the background of a video file with the public API.

    python examples/replace_video.py INPUT.mp4 EMPTY_ROOM.mp4 BACKGROUND.jpg OUT.mp4

EMPTY_ROOM is a clip (or picture) of the same camera view with nobody in it.
Without arguments it runs on a generated sample clip and writes out/example.mp4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from bgcore import BackgroundReplacer, BgError
from bgcore.capture import StillImageSource, open_source


def frames_of(spec: str) -> list:  # type: ignore[type-arg]
    source = open_source(spec)
    try:
        frames = []
        while (frame := source.read()) is not None:
            frames.append(frame)
            if not source.live and len(frames) > 10_000:
                break
            if isinstance(source, StillImageSource):
                break  # a still image is one frame
        return frames
    finally:
        source.close()


def main(argv: list[str]) -> int:
    if len(argv) == 4:
        video, room, background, out = argv
        plate, frames = frames_of(room), frames_of(video)
    else:
        from bgcore.synth import demo_scene

        scene = demo_scene(n_frames=60)
        plate, frames = scene.plate, scene.frames
        background = str(Path(__file__).resolve().parent.parent / "bgcore" / "data" / "background.jpg")
        out = "out/example.mp4"
        Path("out").mkdir(exist_ok=True)
    try:
        with BackgroundReplacer(background=background) as replacer:
            replacer.set_plate(plate)
            h, w = frames[0].shape[:2]
            writer = cv2.VideoWriter(out, cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (w, h))
            for frame in frames:
                bgra = replacer.process(frame)
                writer.write(cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR))
            writer.release()
    except BgError as exc:  # bad input: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(frames)} frames to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
