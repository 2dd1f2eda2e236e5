"""Per-platform folders, as pure functions of (platform, environment, home, Python version).

Standard library only: ``obs_bgreplace.py`` imports this before the installed packages are on
``sys.path`` (to find them), and ``./install`` imports it to put them there, so both always
agree. ``platform`` is a ``sys.platform`` value; paths are built with that platform's rules
(``ntpath`` for ``win32``), so every platform can be computed and tested anywhere.
"""

from __future__ import annotations

import ntpath
import posixpath
from collections.abc import Mapping

DEPS_OVERRIDE = "BGREPLACE_DEPS"


def _join(platform: str, *parts: str) -> str:
    return (ntpath if platform == "win32" else posixpath).join(*parts)


def data_home(platform: str, environ: Mapping[str, str], home: str) -> str:
    """The per-user folder for application data: %APPDATA% (Windows), ~/Library/Application
    Support (macOS), $XDG_DATA_HOME or ~/.local/share (Linux and others)."""
    if platform == "win32":
        return environ.get("APPDATA") or _join(platform, home, "AppData", "Roaming")
    if platform == "darwin":
        return _join(platform, home, "Library", "Application Support")
    return environ.get("XDG_DATA_HOME") or _join(platform, home, ".local", "share")


def deps_dir(platform: str, environ: Mapping[str, str], home: str, python_version: str) -> str:
    """Where ./install puts numpy, OpenCV, mss and numba for OBS's Python ``python_version``
    ("3.11"): one folder per Python major.minor, since compiled packages are built for one.
    ``$BGREPLACE_DEPS`` overrides it."""
    override = environ.get(DEPS_OVERRIDE)
    if override:
        return override
    return _join(platform, data_home(platform, environ, home), "bgreplace", f"obs-python-{python_version}")


def config_home(platform: str, environ: Mapping[str, str], home: str) -> str:
    """The per-user configuration folder OBS's ``os_get_config_path`` uses: %APPDATA% (Windows),
    ~/Library/Application Support (macOS), $XDG_CONFIG_HOME or ~/.config (Linux)."""
    if platform == "win32":
        return environ.get("APPDATA") or _join(platform, home, "AppData", "Roaming")
    if platform == "darwin":
        return _join(platform, home, "Library", "Application Support")
    return environ.get("XDG_CONFIG_HOME") or _join(platform, home, ".config")


def obs_config_dir(platform: str, environ: Mapping[str, str], home: str) -> str:
    """OBS Studio's own settings folder (global.ini; user.ini from OBS 31 on, by default)."""
    return _join(platform, config_home(platform, environ, home), "obs-studio")
