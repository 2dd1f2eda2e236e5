"""Running the engine over files (the ``process`` command's work, without its argparse):
frames in from a file, a sequence or a camera, a plate, a background, a video or image
sequence out (and the masks). Everything checkable is checked before the first frame, and
an error leaves nothing half-written.

Threading: :func:`process` runs on the caller's thread and returns when the input ends (or
``max_frames``); the engine may use threads of its own meanwhile. The sources it opens are
closed when it returns or raises.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import numpy.typing as npt

from .errors import OutputError, SourceError
from .frames import BGR
from .settings import Settings
from .writers import MaskFolderWriter, is_pattern, mask_pattern, open_writer, output_names

if TYPE_CHECKING:
    from .capture import FrameSource
    from .plate import Region

# Frames a container may announce beyond what it holds without being damaged (counts taken
# from headers are estimates for some formats).
SHORT_INPUT_SLACK = 0.02
# The progress bar shows once this many frames are done or a second has passed (short runs
# print nothing).
PROGRESS_MIN_FRAMES = 30


# -- frames in ------------------------------------------------------------------------------
def open_input(spec: str) -> FrameSource:
    """``spec`` opened once through :func:`bgcore.capture.open_source` (a digit string is a
    camera index). Raises SourceError if it cannot be opened."""
    from .capture import open_source

    return open_source(spec)


def read_frames(source: FrameSource, *, limit: int | None = None) -> Iterator[BGR]:
    """Frames of ``source``: a still image is one frame; a file or sequence to its end; a camera
    or stream up to ``limit`` frames (forever if None). Closes the source when done."""
    from .capture import StillImageSource

    if isinstance(source, StillImageSource):
        limit = 1 if limit is None else min(limit, 1)
    try:
        count = 0
        while limit is None or count < limit:
            frame = source.read()
            if frame is None:
                break
            yield frame
            count += 1
    finally:
        source.close()


def _frame_count(source: FrameSource) -> int | None:
    """Frames a file holds (1 for a still image), None when unknown (cameras, streams)."""
    from .capture import StillImageSource

    if isinstance(source, StillImageSource):
        return 1
    count = getattr(source, "frame_count", None)
    return count if isinstance(count, int) and count > 0 else None


# -- progress -------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on a terminal (nothing when stderr is not one, or for short runs)."""

    def __init__(
        self, total: int | None, *, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.count = 0

    def step(self) -> None:
        self.count += 1
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        if self.count < PROGRESS_MIN_FRAMES and now - self.start < 1.0:
            return
        self.last = now
        fps = self.count / max(now - self.start, 1e-6)
        if self.total:
            done = min(1.0, self.count / self.total)
            bar = "#" * int(done * 30)
            self.stream.write(f"\r[{bar:<30}] {self.count}/{self.total} frames, {fps:.1f} fps ")
        else:
            self.stream.write(f"\r{self.count} frames, {fps:.1f} fps ")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\n")
            self.stream.flush()


# -- process --------------------------------------------------------------------------------
def _load_plate(spec: str, settings: Settings) -> Any:
    from .plate import Plate

    if spec.lower().endswith(".npz"):
        return Plate.load(spec)
    source = open_input(spec)
    limit = settings.plate_frames if source.live else None
    return Plate.from_frames(read_frames(source, limit=limit), work_width=settings.work_width)


@dataclass(frozen=True)
class ProcessResult:
    """What :func:`process` wrote: ``frames`` written, ``expected`` from the input's header
    (None when unknown: cameras, streams, sequences of unknown length)."""

    frames: int
    expected: int | None
    codec: str
    dynamic: tuple[Region, ...] = ()
    """Where the plate saw the picture change by nature (a screen, leaves): less sensitive there."""
    changes: tuple[Region, ...] = ()
    """Where the background itself changed and stayed, as of the last frame."""
    changed_at: float | None = None
    """When (seconds into the input) a change of the background was first noticed."""

    @property
    def short(self) -> bool:
        """The input ended clearly before the frame count its header announced."""
        return self.expected is not None and self.frames < self.expected * (1 - SHORT_INPUT_SLACK)


def _existing_files(spec: str) -> set[str]:
    """The files a file spec reads (every image of a ``%d`` pattern), as real paths."""
    if is_pattern(spec):
        found: set[str] = set()
        k = 0
        while True:
            try:
                name = spec % k
            except (TypeError, ValueError):
                return found
            if os.path.isfile(name):
                found.add(os.path.realpath(name))
            elif k > 1:  # sequences start at 0 or 1 and have no gaps
                return found
            k += 1
    return {os.path.realpath(spec)} if os.path.isfile(spec) else set()


def refuse_overwriting_inputs(inputs: Sequence[str], outputs: Sequence[tuple[str, str]]) -> None:
    """OutputError if an output would overwrite one of the ``inputs`` (file specs).

    ``outputs`` are (what, spec) pairs; patterns are expanded as far as the inputs reach."""
    read: set[str] = set()
    for spec in inputs:
        read |= _existing_files(spec)
    if not read:
        return
    for what, spec in outputs:
        for name in output_names(spec, len(read) + 2):
            if os.path.realpath(name) in read:
                raise OutputError(
                    f"{what} {spec!r} would overwrite the input {name!r}; write to another file or folder"
                )


def process(
    input_spec: str,
    plate_spec: str,
    background: str,
    out: str,
    *,
    settings: Settings,
    mask_out: str | None = None,
    fit: str = "cover",
    max_frames: int | None = None,
    save_plate: str | None = None,
    progress: bool | None = None,
    on_frame: Callable[[int, BGR, npt.NDArray[np.uint8]], None] | None = None,
) -> ProcessResult:
    """Run the engine over ``input_spec`` into ``out`` (and masks into ``mask_out``).

    Everything that can be checked is checked before the first frame: the inputs open, no
    output overwrites an input, the outputs can be written, a transparent background goes to a
    format that keeps alpha. On an error nothing half-written is left (the video and the images
    written by this run are removed) and the error is raised."""
    from .backgrounds import open_background
    from .pipeline import BackgroundReplacer

    outputs = [("the output", out)]
    if mask_out:
        outputs.append(("the mask folder", mask_pattern(mask_out)))
    if save_plate:
        outputs.append(("the saved plate", save_plate))
    refuse_overwriting_inputs([input_spec, plate_spec, background], outputs)
    source = open_input(input_spec)
    fps = source.fps
    writer = masks = None
    try:
        writer = open_writer(out, fps=fps)
        masks = MaskFolderWriter(mask_out) if mask_out else None
        bg = open_background(background, fit=fit)
        if bg.transparent and not writer.keeps_alpha:
            raise OutputError(
                f"the transparent background needs an output that keeps alpha, and {out!r} "
                f"({writer.codec}) has none; write a PNG, TIFF or WebP sequence such as out/%05d.png"
            )
    except BaseException:
        source.close()
        for w in (writer, masks):
            if w is not None:
                w.abort()
        raise
    replacer = BackgroundReplacer(bg, settings=settings)
    finished = False
    try:
        plate = replacer.set_plate(_load_plate(plate_spec, settings))
        if save_plate:
            try:
                plate.save(save_plate)
            except OSError as exc:
                raise OutputError(
                    f"cannot save the plate to {save_plate!r} ({exc}); choose a writable path"
                ) from None
        total = _frame_count(source)
        if max_frames is not None:
            total = min(total, max_frames) if total else max_frames
        expected = total if total and not source.live else None
        bar = Progress(total, enabled=progress)
        n = 0
        for frame in read_frames(source, limit=max_frames):
            if (frame.shape[1], frame.shape[0]) != plate.size:
                raise SourceError(
                    f"input frame {n} is {frame.shape[1]}x{frame.shape[0]} but the plate is "
                    f"{plate.size[0]}x{plate.size[1]}; capture the plate with the same camera size"
                )
            result = replacer.process(frame, t=n / fps)
            writer.write(result)
            if masks is not None:
                masks.write(replacer.mask)
            if on_frame is not None:
                on_frame(n, frame, result)
            n += 1
            bar.step()
        bar.finish()
        if n == 0:
            raise SourceError(f"no frames could be read from {input_spec!r}; is it an empty or broken file?")
        writer.close()
        if masks is not None:
            masks.close()
        finished = True
        return ProcessResult(
            frames=n, expected=expected, codec=writer.codec, dynamic=plate.dynamic_regions,
            changes=replacer.background_changes, changed_at=replacer.background_changed_at,
        )
    finally:
        source.close()
        replacer.close()
        if not finished:
            writer.abort()
            if masks is not None:
                masks.abort()
