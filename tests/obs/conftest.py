"""Fixtures for the real-OBS tests (``-m obs``): one headless OBS per test module."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Obs, missing_prerequisites
from scenes import empty_room, with_person
from util import Recorder

from bgobs import config
from bgobs.worker import SourceWorker

logging.getLogger("obsws_python").setLevel(logging.CRITICAL)  # "connection refused" while OBS starts


@pytest.fixture(scope="module")
def obs_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="bgreplace-obs-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def obs(obs_home: Path) -> Iterator[Obs]:
    """A running OBS with obs_bgreplace.py loaded; always killed (with Xvfb) at the end."""
    problem = missing_prerequisites()
    if problem:
        pytest.fail(problem)  # real-host tests must not silently skip
    instance = Obs(obs_home)
    try:
        instance.start()
        yield instance
    finally:
        instance.kill()


@pytest.fixture(scope="session")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The empty room, the room with a person, a half-size person picture: arrays and PNGs."""
    import cv2

    d = tmp_path_factory.mktemp("pictures")
    empty = empty_room()
    person = with_person(empty)
    small = cv2.resize(person, (320, 180), interpolation=cv2.INTER_AREA)
    paths = {}
    for key, img in (("empty", empty), ("person", person), ("small", small)):
        paths[key] = str(d / f"{key}.png")
        cv2.imwrite(paths[key], img)
    return {"paths": paths, "empty": empty, "person": person, "small": small, "dir": d}


@pytest.fixture
def run_worker(tmp_path: Path) -> Iterator[Any]:
    """``run_worker(values, **worker_kw)``: a started, visible SourceWorker (no OBS) configured
    from source settings ``values`` (a transparent background, no countdown, unless given),
    plates in tmp_path/plates, and its :class:`util.Recorder`. Stopped at the end (it must
    finish within 10 s)."""
    started: list[SourceWorker] = []

    def start(values: dict[str, Any], **kw: Any) -> tuple[SourceWorker, Recorder]:
        rec = Recorder()
        w = SourceWorker(
            "test", sink=rec.sink, on_status=rec.on_status, log=rec.log, plate_dir=tmp_path / "plates", **kw
        )
        w.configure(config.from_values({"background_type": "transparent", "recapture_delay": 0, **values}))
        w.set_visible(True)
        w.start()
        started.append(w)
        return w, rec

    yield start
    for w in started:
        assert w.stop(10), "the worker thread did not finish"
