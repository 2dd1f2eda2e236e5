"""bgobs: the OBS side of bgreplace (ctypes into libobs; never imported by bgcore).

``obs_bgreplace.py`` (the script users add in OBS) stays thin: it puts the package folder
and the installed dependencies on ``sys.path`` and calls :func:`bgobs.plugin.script_load`.
Everything that must outlive a script reload (the registered ``obs_source_info``, every
ctypes callback object, the per-source state map) lives in :mod:`bgobs.plugin` and the
modules it imports, regular modules kept in ``sys.modules``; a reload re-executes only the script file.

Modules:
    structs   ctypes mirrors of the libobs structs, the layout check and the version policy
    libobs    finding libobs per platform and the table of C functions (argtypes/restype)
    paths     per-platform folders (installed packages, OBS's settings), standard library only
    config    OBS settings <-> :class:`SourceConfig` / :class:`bgcore.Settings` (pure Python)
    worker    per-source state and the worker thread (camera, engine, frames to OBS)
    handles   what the source and the filter share: libobs, the log, the callback guard,
              the per-source handles and their table, the hotkey, the plates folder
    properties  the settings' defaults, reading them, the properties dialog
    plugin    registration of the source and its callbacks
    filter    the filter: the same engine on any video source
"""

from __future__ import annotations

SOURCE_ID = "bgreplace_source"
SOURCE_NAME = "Background Replacer"
