"""Where a source's background plate lives, and when the plate of a removed source goes.

Each source keeps its plate in ``<plate dir>/<plate_id>.npz`` (+ ``.json``: the camera it was
captured with); ``plate_id`` is a random hex id in the source's settings, which OBS saves
in the scene collection.

A removed source's plate is not deleted when the source goes: libobs calls ``destroy``
alike when a source is removed, when OBS exits and when another scene collection is
loaded (OBS 29's ``OBSBasic::ClearSceneData`` calls ``obs_source_remove`` on every source
first, so the ``removed`` flag is set in all three cases, and deleting the last scene item
in the UI destroys the source without setting it); and Edit > Undo can bring a deleted
source back with the same settings, plate id included, for as long as OBS runs. So the
plates are pruned when OBS starts (:func:`prune`, at the first source created in the
process, while the saved scene collections are what is being loaded): a plate whose id no
scene collection file mentions belongs to a source removed in an earlier session (or to
a deleted collection) and is deleted. Nothing is deleted when a collection file cannot be
read, or when there is none.

Saving runs on a thread of its own (:class:`PlateSaver`). Pure Python (no OBS): tested
with real files.
"""

from __future__ import annotations

import ctypes
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from bgcore import BgError, Plate
from bgcore.job_thread import JobThread

PLATE_ID = re.compile(r"[0-9a-f]{32}")
"""A plate id as the source makes it (uuid4().hex)."""
TEMP_MAX_AGE_SECONDS = 24 * 3600.0
"""A half-written plate (``.plate-*.npz``, left by a crash while saving) older than this goes."""


@dataclass
class Pruned:
    """What :func:`prune` did."""

    removed: list[str] = field(default_factory=list)
    """Plate ids whose files were deleted."""
    skipped: str | None = None
    """Why nothing was deleted (None when the collections were read)."""
    errors: list[str] = field(default_factory=list)
    """Files that could not be deleted."""


def prune(plate_dir: Path, collections_dir: Path, *, now: float | None = None) -> Pruned:
    """Delete the plates no scene collection in ``collections_dir`` mentions (see the module
    docstring). Each ``*.json`` file there counts, read as text (a damaged one too): a plate
    id written anywhere in one keeps the plate. OBS's backups (``.json.bak``, the version
    before the last save) do not count, or a plate would outlive its source by a session."""
    result = Pruned()
    if not plate_dir.is_dir():
        return result
    try:
        collections = [p for p in collections_dir.iterdir() if p.suffix == ".json" and not p.is_dir()]
    except OSError as exc:
        result.skipped = f"cannot list the scene collections in {collections_dir}: {exc.strerror or exc}"
        return result
    if not collections:
        result.skipped = f"no scene collection in {collections_dir}"
        return result
    mentioned: set[str] = set()
    for path in collections:
        try:
            mentioned.update(PLATE_ID.findall(path.read_text("utf-8", errors="replace")))
        except OSError as exc:
            result.skipped = f"cannot read the scene collection {path}: {exc.strerror or exc}"
            return result
    clock = time.time() if now is None else now
    for path in sorted(plate_dir.iterdir()):
        stem = path.name.split(".", 1)[0]
        orphan = path.suffix in (".npz", ".json") and PLATE_ID.fullmatch(stem) and stem not in mentioned
        stale_temp = path.name.startswith(".plate-") and _age(path, clock) > TEMP_MAX_AGE_SECONDS
        if not (orphan or stale_temp):
            continue
        try:
            path.unlink()
        except OSError as exc:
            result.errors.append(f"{path}: {exc.strerror or exc}")
            continue
        if orphan and stem not in result.removed:
            result.removed.append(stem)
    return result


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where the C library has it (Linux with glibc), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast("Callable[[int], int]", trim)


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Give memory freed by a capture back to the system. A capture runs on threads of its own
    (building, saving); glibc keeps what such a thread freed in that thread's arena, so every
    recapture left OBS about 30 MB bigger (soak: +114 MB per 10 min, levelling off only after
    about ten captures). ``malloc_trim(0)`` returns the free pages of every arena."""
    if _TRIM is not None:
        _TRIM(0)


class PlateSaver:
    """Writes a source's plates to disk on a long-lived thread of its own (a compressed plate
    takes a good part of a second, which the picture must not wait for; one thread for every
    save, see :mod:`bgcore.job_thread`), the newest plate last; each outcome is logged
    through ``say(level, message)``, a failure also kept in ``error``.

    Threading: ``save`` and ``join`` from the worker's thread; lifetime: ``join`` ends the
    thread after the saves still queued (a newer plate replaces one not yet written)."""

    def __init__(self, name: str, say: Callable[[str, str], None]) -> None:
        self.name = name
        self.say = say
        self.error: str | None = None
        self._latest = 0
        self._thread = JobThread("bgreplace plate saver", on_error=self._failed)

    def save(self, plate: Plate, paths: tuple[Path, Path], camera: str) -> None:
        """Save ``plate`` to ``paths`` (.npz, .json) in the background; returns at once."""
        self._latest += 1
        self.error = None
        number = self._latest
        self._thread.submit(lambda: self._save(plate, paths, camera, number))

    def _save(self, plate: Plate, paths: tuple[Path, Path], camera: str, number: int) -> None:
        if number != self._latest:
            return  # a newer plate is on its way: it replaces this one
        try:
            plate.save(paths[0])
            paths[1].write_text(json.dumps({"camera": camera, "size": list(plate.size)}))
        except (BgError, OSError) as exc:
            self.error = (
                f"Background captured but not saved: {exc}; it stays in use until OBS closes "
                "(check free space and the folder's permissions)"
            )
            return
        self.say("info", f"{self.name}: saved the background plate to {paths[0]}")
        release_freed_memory()

    def _failed(self, exc: BaseException) -> None:
        self.error = f"Background captured but not saved: {type(exc).__name__}: {exc}"

    def join(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread (idempotent)."""
        self._thread.close(timeout)
