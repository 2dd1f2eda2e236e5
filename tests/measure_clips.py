"""What the default mode costs a frame on the quality clips, against another checkout.

    .venv/bin/python tests/measure_clips.py --against ../before
    .venv/bin/python tests/measure_clips.py --clips shadow:100,combo:100 --rounds 5 --against ../before

The benchmark's scene (bgcore.workload) has no light for the light tests to explain; the
quality clips (bgcore.synth, 320x240) have shadows, lamps and sun patches, where the light
tests, the contact rule and the coarse texture test run in every frame. Each round times
every clip in a fresh process per checkout (this one, then the other: the order alternates
per round), a fresh replacer per clip, 30 frames after its plate; it prints each
checkout's mean ms a frame per clip and the median over rounds of their ratio. One thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = "shadow:100,shadow:101,shadow_jpeg:102,combo:100,local_light:101"

_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
import cv2
cv2.setNumThreads(1)
from bgcore import synth
from bgcore.pipeline import BackgroundReplacer
out = []
for case, seed in {clips!r}:
    scene = synth.make_scene(case, seed=seed)
    replacer = BackgroundReplacer("color:#000000")
    replacer.set_plate(scene.plate)
    replacer.process(scene.frames[0], t=0.0)  # (compiles and warms)
    replacer = BackgroundReplacer("color:#000000")
    replacer.set_plate(scene.plate)
    spent = 0.0
    for i, frame in enumerate(scene.frames):
        start = time.perf_counter()
        replacer.process(frame, t=i / 30.0)
        spent += time.perf_counter() - start
    out.append(1e3 * spent / len(scene.frames))
print(json.dumps(out))
"""


def _time(root: Path, clips: list[tuple[str, int]]) -> list[float]:
    code = _CHILD.format(root=str(root), clips=clips)
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return [float(v) for v in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", type=Path, required=True, help="another checkout (its bgcore)")
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="case:seed,... (bgcore.synth cases)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    clips = [(c, int(s)) for c, s in (item.split(":") for item in args.clips.split(","))]
    other = args.against.resolve()
    if not (other / "bgcore").is_dir():
        sys.exit(f"--against {args.against}: no bgcore folder there; give a checkout of this repo")
    mine, theirs = [], []
    for k in range(args.rounds):
        order = [(HERE, mine), (other, theirs)]
        for root, into in order if k % 2 == 0 else order[::-1]:
            into.append(_time(root, clips))
    for i, (case, seed) in enumerate(clips):
        a = statistics.mean(r[i] for r in mine)
        b = statistics.mean(r[i] for r in theirs)
        print(f"{f'{case}:{seed}':20s} this {a:6.2f} ms   other {b:6.2f} ms")
    ratios = [sum(m) / sum(t) for m, t in zip(mine, theirs, strict=True)]
    median = statistics.median(ratios)
    print(f"this checkout / the other, all clips: {median:.3f}x (median over {args.rounds} rounds)")


if __name__ == "__main__":
    main()
