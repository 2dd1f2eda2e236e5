"""The tutorial's live loop on the public API: camera in, replaced background out, no window.

    python examples/live_camera.py [--background BG] [--seconds N] [CAMERA]

CAMERA is a camera index (default 0), a video file or a URL. Step out of the frame when asked:
the first 30 frames become the plate. Each second it prints the frame rate and how much of the
picture is foreground. Ctrl-C stops (exit 0); a video file stops at its end (exit 0); a camera
that sends nothing for 5 s, a refused capture or a bad argument exits 2 with one line on stderr.
For a window, use `python -m bgcore preview`; inside OBS, use the Background Replacer source.
"""

from __future__ import annotations

import argparse
import sys
import time

from bgcore import BackgroundReplacer, BgError
from bgcore.capture import LatestFrameReader

PLATE_FRAMES = 30
NO_FRAME_SECONDS = 5.0


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="live_camera.py", description="Replace a camera's background live (prints statistics)."
    )
    ap.add_argument("camera", nargs="?", default="0", help="camera index, video file or URL (default 0)")
    ap.add_argument("--background", default="blur", help="picture, video, color:#RRGGBB or blur (default)")
    ap.add_argument("--delay", type=float, default=3.0, help="seconds to step out before the capture")
    ap.add_argument("--seconds", type=float, default=None, help="stop after this long (default: never)")
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    camera = int(args.camera) if args.camera.isdigit() else args.camera
    try:
        with (
            LatestFrameReader(camera) as reader,
            BackgroundReplacer(background=args.background) as replacer,
        ):
            print(f"Step out of the frame: capturing the background in {args.delay:g} s")
            time.sleep(args.delay)
            replacer.start_capture(PLATE_FRAMES)
            started = shown = time.monotonic()
            count = 0
            while args.seconds is None or time.monotonic() - started < args.seconds:
                got = reader.latest(timeout=NO_FRAME_SECONDS)
                if got is None:
                    if reader.state == "ended":  # a video file played to its end
                        print("the video ended")
                        return 0
                    why = (
                        reader.status if reader.state != "running" else f"nothing for {NO_FRAME_SECONDS:g} s"
                    )
                    print(f"live_camera.py: error: no frame from {args.camera}: {why}", file=sys.stderr)
                    return 2
                frame, _captured_at, _seq = got
                replacer.process(frame)  # the BGRA result: hand it to your output here
                if replacer.capture_error:
                    print(
                        f"live_camera.py: error: capture refused: {replacer.capture_error}", file=sys.stderr
                    )
                    return 2
                count += 1
                if time.monotonic() - shown >= 1.0:
                    progress = replacer.capture_progress
                    state = (
                        f"capturing {progress[0]}/{progress[1]}"
                        if progress
                        else f"foreground {100 * (replacer.mask > 0).mean():.1f}%"
                    )
                    print(f"{count / (time.monotonic() - shown):.1f} fps, {state}", flush=True)
                    shown, count = time.monotonic(), 0
    except BgError as exc:
        print(f"live_camera.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
