"""The tutorial's live loop on the public API: camera in, replaced background out, no window.

    python examples/live_camera.py [CAMERA] [BACKGROUND]

Step out of the frame when asked: the first 30 frames become the plate. Each second it
prints the frame rate and how much of the picture is foreground. Ctrl-C stops. For a window,
use `python -m bgcore preview`; inside OBS, use the Background Replacer source.
"""

from __future__ import annotations

import sys
import time

from bgcore import BackgroundReplacer, BgError
from bgcore.capture import LatestFrameReader


def main(argv: list[str]) -> int:
    camera = argv[0] if argv else "0"
    background = argv[1] if len(argv) > 1 else "blur"
    try:
        with (
            LatestFrameReader(int(camera) if camera.isdigit() else camera) as reader,
            BackgroundReplacer(background=background) as replacer,
        ):
            print("Step out of the frame: capturing the background in 3 s")
            time.sleep(3)
            replacer.start_capture(30)
            shown, count = time.monotonic(), 0
            while True:
                got = reader.latest(timeout=5.0)
                if got is None:
                    print("no frame from the camera for 5 s", file=sys.stderr)
                    return 2
                frame, _captured_at, _seq = got
                replacer.process(frame)  # the BGRA result: hand it to your output here
                if replacer.capture_error:
                    print(f"capture refused: {replacer.capture_error}", file=sys.stderr)
                    return 2
                count += 1
                if time.monotonic() - shown >= 1.0:
                    progress = replacer.capture_progress
                    state = (
                        f"capturing {progress[0]}/{progress[1]}"
                        if progress
                        else (f"foreground {100 * (replacer.mask > 0).mean():.1f}%")
                    )
                    print(f"{count / (time.monotonic() - shown):.1f} fps, {state}")
                    shown, count = time.monotonic(), 0
    except BgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
