"""OBS's memory over repeated recaptures and camera switches, each on its own.

A measurement script, not a test (pytest does not collect it). In one headless OBS (the
soak's setup: ``soak.Soak``, canvas 640x360, a Background Replacer over an image background),
after the first capture, it repeats one action ``--times`` times and prints OBS's RSS after
each (3 s after the action, when its threads are done):

- ``capture``: Recapture background by the properties button, waiting for the plate's save;
- ``camera``: the camera switched to another clip and back (a reader is opened each time);
- ``both``: the two, as the soak does at every recapture.

Run from the repository root::

    .venv/bin/python tests/obs/measure_memory.py capture --times 10

What it showed (OBS 29): 10 recaptures 405 -> 421 MB with the capture and the saving on
long-lived threads, 403 -> 485 MB when each capture and save had a new thread (glibc arenas;
``bgcore/job_thread.py``); 10 camera switches about +30 MB, flat after the seventh.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import Obs, missing_prerequisites
from soak import NAME, Soak, make_media, proc_status_mb
from util import press, wait_log

SETTLE_SECONDS = 3.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("action", choices=("capture", "camera", "both"))
    ap.add_argument("--times", type=int, default=10, help="how many times (default 10)")
    args = ap.parse_args(argv)
    logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
    problem = missing_prerequisites()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="bgreplace-memory-"))
    (home / "media").mkdir()
    media = make_media(home / "media")
    obs = Obs(home)
    soak = Soak(obs, media, big_frames=0)
    try:
        obs.start(timeout=60)
        assert obs.proc is not None
        pid = obs.proc.pid
        soak.setup()
        time.sleep(2 * SETTLE_SECONDS)
        soak.set_camera(media.still)
        first = proc_status_mb(pid, "VmRSS")
        print(f"after the first capture: {first:.0f} MB", flush=True)
        for i in range(1, args.times + 1):
            if args.action in ("capture", "both"):
                saved = soak.log_count(f"{NAME}: saved the background plate")
                press(obs, NAME)
                wait_log(obs, f"{NAME}: saved the background plate", saved + 1, timeout=60)
            if args.action in ("camera", "both"):
                soak.set_camera(media.walk)
                time.sleep(1.0)
                soak.set_camera(media.still)
            time.sleep(SETTLE_SECONDS)
            print(f"{args.action} {i}: {proc_status_mb(pid, 'VmRSS'):.0f} MB", flush=True)
        last = proc_status_mb(pid, "VmRSS")
        assert first is not None and last is not None
        print(f"{args.action} x{args.times}: {first:.0f} -> {last:.0f} MB ({last - first:+.0f})")
    finally:
        obs.kill()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
