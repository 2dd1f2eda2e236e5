"""The real-OBS harness itself, without OBS: what a test shows when OBS crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import harness
import pytest
from harness import Obs
from util import wait_for


def test_a_crash_while_quitting_shows_how_obs_ended_and_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """OBS killed by a signal while it quits (a process standing in for it): quit() returns
    the signal, so ``assert obs.quit() == 0`` still fails, and writes how OBS ended, its own
    output and its log's last lines to stderr, which pytest shows with that failure (the
    home, with both, is deleted after the module)."""
    obs = Obs(tmp_path)
    (obs.config / "logs").mkdir()
    (obs.config / "logs" / "2026-01-01 00-00-00.txt").write_text("00:00:00.000: ==== Shutting down ====\n")
    stdout = tmp_path / "obs-stdout.txt"
    obs.log_file = stdout.open("wb")
    code = "import time; print('info: Freeing OBS context data', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=obs.log_file, stderr=subprocess.STDOUT)
    obs.proc = proc
    try:
        wait_for("its output", lambda: "Freeing" in stdout.read_text(), 10)
        obs.xvfb = harness.Xvfb.__new__(harness.Xvfb)  # (no X server: closing the window is a SIGSEGV)
        obs.xvfb.display = 0
        monkeypatch.setattr(obs, "main_window", lambda: 1)
        monkeypatch.setattr(harness, "_send_wm_delete", lambda *args: os.kill(proc.pid, signal.SIGSEGV))
        start = time.monotonic()
        assert obs.quit() == -signal.SIGSEGV
        assert time.monotonic() - start < 10
    finally:
        proc.kill()
        proc.wait()
        obs.log_file.close()
    err = capsys.readouterr().err
    assert "OBS crashed while quitting" in err
    assert "OBS is gone: killed by signal 11" in err
    assert "info: Freeing OBS context data" in err  # its own output
    assert "==== Shutting down ====" in err  # its log file
