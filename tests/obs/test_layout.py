"""The ctypes mirrors of libobs structs match the C headers (offsetof, via bgobs/layout.c)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bgobs import structs

LAYOUT_C = Path(structs.__file__).with_name("layout.c")
HEADERS = Path("/usr/include/obs")


@pytest.mark.obs
def test_ctypes_layout_matches_installed_headers(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not (HEADERS / "obs-source.h").exists():
        pytest.fail("needs a C compiler and libobs-dev (/usr/include/obs)")
    exe = tmp_path / "layout"
    subprocess.run([cc, f"-I{HEADERS}", str(LAYOUT_C), "-o", str(exe)], check=True, timeout=120)
    ref = json.loads(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout)
    assert structs.layout_mismatches(ref) == []
    major = int(ref["version"].split(".")[0])
    assert major in structs.verified_majors()


def test_recorded_layouts_match_ctypes() -> None:
    recorded = sorted(structs.LAYOUT_DIR.glob("*.json"))
    assert recorded
    for path in recorded:
        assert structs.layout_mismatches(json.loads(path.read_text())) == [], path.name


def test_unverified_version_is_refused() -> None:
    assert structs.check_version((29 << 24) | 2) is None
    reason = structs.check_version(99 << 24)
    assert reason is not None and "not verified" in reason and "not registering" in reason
