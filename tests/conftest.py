"""Shared fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# tests/obs/harness.py (a real OBS, and its private Xvfb) serves tests outside tests/obs too
sys.path.insert(0, str(Path(__file__).resolve().parent / "obs"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(params=["jit", "opencv"])
def kernel_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test on both paths: the compiled kernels (bgcore.kernels, where numba is
    installed) and the OpenCV path that runs without them."""
    from bgcore import kernels

    if request.param == "jit":
        if not kernels.AVAILABLE:
            pytest.skip("numba is not installed")
    else:
        monkeypatch.setattr(kernels, "enabled", False)
    return str(request.param)
