"""bgreplace for OBS Studio: adds the source "Background Replacer" (id ``bgreplace_source``).

Add this file in OBS under Tools > Scripts > +, after running ``./install`` once (it puts
numpy, opencv-python-headless and mss where this script finds them). Then add the source
like a Video Capture Device: Sources > + > Background Replacer.

This file stays thin: it finds the dependencies and the project's packages, and hands over
to :mod:`bgobs.plugin`, which registers the source once per OBS process through libobs
(Python scripts cannot register sources through obspython). Reloading this script keeps the
registered source type and running sources; all pixel work lives in ``bgcore``.
"""

from __future__ import annotations

import faulthandler
import importlib
import os
import signal
import sys
from types import ModuleType
from typing import IO

HERE = os.path.dirname(os.path.abspath(__file__))

if HERE in sys.path:
    sys.path.remove(HERE)
sys.path.insert(0, HERE)

from bgobs import paths  # noqa: E402 - standard library only, needs HERE on sys.path first


def deps_dir() -> str:
    """Where ./install put the packages for this Python (bgobs.paths, shared with ./install)."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return paths.deps_dir(sys.platform, os.environ, os.path.expanduser("~"), version)


def _dump_stacks_on_signal() -> None:
    """For the real-OBS tests only: with BGREPLACE_STACKS_FILE set, SIGUSR1 appends every
    Python thread's stack to that file (how a test that waited in vain shows what OBS's
    threads were doing in Python), and so does a fatal signal (a crash: which Python
    thread was where when OBS died; faulthandler then re-raises it, so OBS still dies as
    it would). Without the variable nothing is registered."""
    path = os.environ.get("BGREPLACE_STACKS_FILE")
    if not path or not hasattr(signal, "SIGUSR1"):
        return
    global _stacks_file
    _stacks_file = open(path, "a")  # noqa: SIM115 - kept open: faulthandler writes from C
    faulthandler.register(signal.SIGUSR1, file=_stacks_file, all_threads=True)
    faulthandler.enable(file=_stacks_file, all_threads=True)


_stacks_file: IO[str] | None = None
_dump_stacks_on_signal()

_DEPS = deps_dir()
if _DEPS in sys.path:
    sys.path.remove(_DEPS)
sys.path.insert(0, _DEPS)  # first: before any numpy of the system's Python

_import_error: str | None = None
_plugin: ModuleType | None = None  # bgobs.plugin, once its dependencies import
try:
    _plugin = importlib.import_module("bgobs.plugin")
except Exception as _exc:
    _import_error = (
        f"{type(_exc).__name__}: {_exc}. Run ./install from the bgreplace folder "
        "(it installs numpy, opencv-python-headless, mss and numba into "
        f"{deps_dir()}), then reload this script."
    )


def script_description() -> str:
    if _import_error:
        return f"<b>Background Replacer</b><br>Cannot start: {_import_error}"
    st = _plugin.state() if _plugin else {}
    if st.get("refusal"):
        return f"<b>Background Replacer</b><br>Not available: {st['refusal']}"
    warning = f"<br><b>Warning:</b> {st['version_warning']}" if st.get("version_warning") else ""
    return (
        "<b>Background Replacer</b> (bgreplace): live background removal with a captured "
        "background plate.<br>Add it from the Sources list: + &gt; <i>Background Replacer</i>. "
        "Step out of the frame and press <i>Recapture background</i> in its properties "
        "(or bind the hotkey in Settings &gt; Hotkeys)." + warning
    )


def script_load(settings: object) -> None:
    if _import_error or _plugin is None:
        print(f"[bgreplace] cannot start: {_import_error}")
        return
    _plugin.register()


def script_unload() -> None:
    # Sources stay registered and running: libobs destroys them (and their worker threads)
    # itself, and a reload of this script finds them in bgobs.plugin.
    if _plugin is not None:
        _plugin.unloaded()
