"""./install run as a user runs it: without pip anywhere, and --uninstall (real Pythons, real
folders; a Python without pip is a real venv made with --without-pip)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_platforms import install

REPO = Path(__file__).resolve().parents[1]
# Debian's system Python ships ensurepip as a stub that refuses (python3-pip provides pip):
# this module is that stub, put first on PYTHONPATH
DEBIAN_ENSUREPIP = """import sys
print("ensurepip is disabled in Debian/Ubuntu for the system python.", file=sys.stderr)
sys.exit(1)
"""


@pytest.fixture(scope="module")
def python_without_pip(tmp_path_factory: pytest.TempPathFactory) -> str:
    venv = tmp_path_factory.mktemp("nopip") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    assert not install.has_pip(python)
    return python


def run_install(python: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, str(REPO / "install"), "--python", python, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_no_pip_anywhere_says_which_package_to_install(python_without_pip: str, tmp_path: Path) -> None:
    stub = tmp_path / "stub" / "ensurepip"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    (stub / "__main__.py").write_text(DEBIAN_ENSUREPIP)
    env = {**os.environ, "PYTHONPATH": str(stub.parent), "BGREPLACE_DEPS": str(tmp_path / "deps")}
    r = run_install(python_without_pip, env=env)
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip is missing" in lines[0] and "sudo apt install python3-pip" in lines[0]
    assert "network" not in r.stderr  # the old message blamed the network


def test_pip_is_set_up_with_ensurepip_where_python_has_it(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    assert not install.has_pip(python)
    assert install.bootstrap_pip(python)  # the bundled pip wheel: no network
    assert install.has_pip(python)


def test_uninstall_removes_its_folder_entirely(python_without_pip: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BGREPLACE_DEPS"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    deps = tmp_path / "data" / "bgreplace" / f"obs-python-{version}"
    (deps / "numpy").mkdir(parents=True)
    (deps / "numpy" / "__init__.py").write_text("")
    (tmp_path / "data" / "other").mkdir()  # someone else's folder beside ours stays
    r = run_install(python_without_pip, "--uninstall", env=env)
    assert r.returncode == 0 and f"Removed {deps}" in r.stdout, (r.stdout, r.stderr)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["other"]
    r = run_install(python_without_pip, "--uninstall", env=env)
    assert r.returncode == 0 and "Nothing to remove" in r.stdout
