"""The soak's short version (about two minutes of faults, then a restart) in a real OBS.

``soak.py`` starts its own headless OBS (the module-scoped ``obs`` fixture is not used), runs
every fault once (camera file removed and restored, background file replaced and switched,
recaptures by button and hotkey, one recapture of 600 frames), restarts OBS and returns 0 only
if every check passed; its report is printed (pytest shows it when this fails). The 30-minute
run is the same command with ``--minutes 30``.
"""

from __future__ import annotations

import pytest
import soak

pytestmark = [pytest.mark.obs, pytest.mark.slow]


def test_two_minute_soak_passes_every_check() -> None:
    problem = soak.missing_prerequisites()
    if problem:
        pytest.fail(problem)  # real-host tests must not silently skip
    assert soak.main(["--minutes", "2"]) == 0, "the soak failed: its report is in the captured stdout above"
