"""Driving OBS's own window under Xvfb (no window manager) with xdotool, like a user would.

obs-websocket 5.1 has no request to reload or remove a script, so the script tests use the
real Tools > Scripts dialog:

- the Tools menu opens with its mnemonic (Alt+T). Where "Scripts" is in it differs between
  versions (OBS 29/30: Auto-Configuration Wizard, Automatic Scene Switcher, Output Timer,
  Scripts; OBS 32 put Plugin Manager second) and with the plugins installed, and Qt menus have
  no type-to-search; so the entries are tried in turn until a window titled "Scripts" opens,
  each other window closed again with Escape (the entry found is remembered per OBS version);
- in the Scripts dialog ("Scripts", 775x492), a right click on the first row of "Loaded
  Scripts" opens the row's menu: Add / Reload / Open file location / Remove, which the
  keyboard then walks (so only the first row's position is geometry);
- Add opens Qt's file dialog ("Add Scripts") with the file name field focused: type the path.

Every step waits for the window it expects and, on failure, saves a screenshot of the whole
X screen next to the OBS logs so a CI failure shows what OBS displayed. Callers verify the
effect in the OBS log ("Loaded python script", "Unloaded python script").
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from harness import Obs, _send_wm_delete

# Position of the first row of "Loaded Scripts", relative to the Scripts dialog (775x492 by
# default; same scripts.ui in OBS 28-32, checked with screenshots in 29, 30 and 32 with their
# default themes): the list starts below its label at about y=46, rows are 24-32 px tall.
FIRST_SCRIPT_ROW = (90, 67)
# Tools menu entries tried for Scripts: the first (always the Auto-Configuration Wizard in OBS
# 28-32, OBSBasic.ui) last, because it is the slowest to open and close
TOOLS_ENTRIES = [*range(1, 12), 0]
_scripts_entry: dict[str, int] = {}  # OBS version -> Tools menu entry that opens Scripts


class GuiError(AssertionError):
    pass


class ObsGui:
    def __init__(self, obs: Obs) -> None:
        assert obs.proc is not None and obs.xvfb is not None
        self.obs = obs
        self.env = {**os.environ, "DISPLAY": f":{obs.xvfb.display}"}

    # -- primitives --------------------------------------------------------------------------
    def xdo(self, *args: str, timeout: float = 10.0) -> str:
        out = subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        return out.stdout

    def windows(self, name_regex: str) -> list[int]:
        """Visible top-level windows of this OBS whose title matches ``name_regex``."""
        assert self.obs.proc is not None
        pid = str(self.obs.proc.pid)  # --all: pid AND name (xdotool's default is OR)
        out = self.xdo("search", "--all", "--onlyvisible", "--pid", pid, "--name", name_regex)
        return [int(w) for w in out.split()]

    def visible(self) -> set[int]:
        """Every visible window of this OBS (menus are windows of their own too)."""
        assert self.obs.proc is not None
        out = self.xdo("search", "--all", "--onlyvisible", "--pid", str(self.obs.proc.pid), "--name", "")
        return {int(w) for w in out.split()}

    def open_menu(self, action: Any, what: str, timeout: float = 10.0) -> None:
        """Run ``action`` (a key or a click) and wait until its menu window is shown, so the
        keys that follow go to the menu even on a busy machine."""
        before = self.visible()
        action()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.visible() - before:
                time.sleep(0.1)  # mapped; let Qt finish showing it
                return
            time.sleep(0.05)
        raise self.fail(f"the {what} did not open within {timeout:g} s")

    def wait_window(self, name_regex: str, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.windows(name_regex)
            if found:
                return found[0]
            time.sleep(0.1)
        raise self.fail(f"no visible window named {name_regex!r} after {timeout:g} s")

    def wait_gone(self, name_regex: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.windows(name_regex):
                return
            time.sleep(0.1)
        raise self.fail(f"window {name_regex!r} still open after {timeout:g} s")

    def focus(self, window: int) -> None:
        self.xdo("windowfocus", "--sync", str(window))

    def keys(self, *keys: str) -> None:
        for key in keys:  # one at a time: Qt menus need a moment between key presses
            self.xdo("key", key)
            time.sleep(0.15)

    def click(self, window: int, x: int, y: int, button: int = 1) -> None:
        self.xdo("mousemove", "--window", str(window), str(x), str(y), "click", str(button))

    def screenshot(self, name: str) -> Path:
        """The whole X screen as a PNG in the temporary folder (outlives the OBS home)."""
        import tempfile

        import cv2
        import numpy as np
        from Xlib import X, display

        path = Path(tempfile.gettempdir()) / f"bgreplace-{name}-{int(time.time() * 1000)}.png"
        d = display.Display(self.env["DISPLAY"])
        try:
            root = d.screen().root
            g = root.get_geometry()
            raw = root.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
            img = np.frombuffer(raw.data, np.uint8).reshape(g.height, g.width, 4)[..., :3]
            cv2.imwrite(str(path), img)
        finally:
            d.close()
        return path

    def fail(self, message: str) -> GuiError:
        try:
            where = f"; screen saved to {self.screenshot('gui-failure')}"
        except Exception as exc:  # the failure report must not hide the failure
            where = f"; no screenshot ({exc})"
        # (OBS's Python threads too: a UI that stopped answering may wait for one of them)
        stacks = self.obs.python_stacks()
        return GuiError(f"{message}{where}\n{self.obs.log_tail(20)}\nPython threads in OBS:\n{stacks}")

    # -- Tools > Scripts ---------------------------------------------------------------------
    def open_scripts(self) -> int:
        """Open Tools > Scripts (or return it if already open)."""
        found = self.windows("^Scripts$")
        if found:
            return found[0]
        version = str(getattr(self.obs.version, "obs_version", ""))
        known = _scripts_entry.get(version)
        order = TOOLS_ENTRIES if known is None else [known] + [i for i in TOOLS_ENTRIES if i != known]
        opened: list[str] = []
        for entry in order:
            names = self._tools_entry(entry)
            found = self.windows("^Scripts$")
            if found:
                _scripts_entry[version] = entry
                return found[0]
            opened.append(f"{entry}: {', '.join(names) or 'nothing'}")
        raise self.fail(f"no Tools menu entry opened a window titled 'Scripts' (entry: window) {opened}")

    def _tools_entry(self, entry: int, timeout: float = 10.0) -> list[str]:
        """Choose the Tools menu's entry ``entry`` (0 = first) and wait for the window it opens;
        close any window that is not "Scripts" again. Returns the titles of what opened."""
        main = self.obs.main_window()
        before = self.visible()
        self.focus(main)
        self.open_menu(lambda: self.keys("alt+t"), "Tools menu")
        self.keys(*["Down"] * entry, "Return")  # keyboard-opened menus start on the first entry
        titled: dict[int, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not titled:
            time.sleep(0.2)
            # new windows with a title: a dialog (the menu, closed by Return, has none)
            for window in self.visible() - before:
                name = self.xdo("getwindowname", str(window)).strip()
                if name:
                    titled[window] = name
        for window, name in titled.items():
            if name != "Scripts":
                self.close_window(window, name)
        return sorted(titled.values())

    def close_window(self, window: int, name: str, timeout: float = 10.0) -> None:
        """Close a dialog with its Escape key, or WM_DELETE_WINDOW (its close button) if that
        fails (a key that arrives while Qt rebuilds the dialog's widgets can be lost)."""
        self.focus(window)
        self.keys("Escape")
        for attempt in ("Escape", "WM_DELETE_WINDOW"):
            if attempt == "WM_DELETE_WINDOW":
                assert self.obs.xvfb is not None
                _send_wm_delete(self.obs.xvfb.display, window)
            deadline = time.monotonic() + timeout / 2
            while time.monotonic() < deadline:
                if window not in self.visible():
                    return
                time.sleep(0.1)
        raise self.fail(f"the window {name!r} did not close (Escape, then its close button)")

    def close_scripts(self) -> None:
        for window in self.windows("^Scripts$"):
            self.focus(window)
            self.keys("Escape")
        self.wait_gone("^Scripts$")

    def _script_row_menu(self, *keys: str) -> None:
        dialog = self.open_scripts()
        self.focus(dialog)
        x, y = FIRST_SCRIPT_ROW
        self.click(dialog, x, y)  # select the row (Reload and Remove act on the selection)
        time.sleep(0.2)
        self.open_menu(lambda: self.click(dialog, x, y, button=3), "script's menu")
        self.keys(*keys)

    def reload_script(self) -> None:
        """Tools > Scripts, right click on the (only) script, Reload: OBS's obs_script_reload."""
        self._script_row_menu("Down", "Down", "Return")  # Add, Reload

    def remove_script(self) -> None:
        """Tools > Scripts, right click on the (only) script, Remove."""
        self._script_row_menu("Up", "Return")  # Up from the top wraps to the last entry

    def add_script(self, path: Path) -> None:
        """Tools > Scripts > Add (the row menu or the + button), type the file's path."""
        dialog = self.open_scripts()
        self.focus(dialog)
        x, y = FIRST_SCRIPT_ROW
        # below any row: the menu has only "Add"
        self.open_menu(lambda: self.click(dialog, x, y + 120, button=3), "list's menu")
        self.keys("Down", "Return")
        chooser = self.wait_window("^Add Scripts$")
        self.focus(chooser)
        self.xdo("type", "--delay", "5", str(path))
        time.sleep(0.2)
        self.keys("Return")
        self.wait_gone("^Add Scripts$")


def count(text: str, needle: str) -> int:
    return len(re.findall(re.escape(needle), text))


def wait_log_count(gui: ObsGui, needle: str, at_least: int, timeout: float = 20.0) -> None:
    """Wait until the OBS log holds ``needle`` at least ``at_least`` times (screenshot if not)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count(gui.obs.log_text(), needle) >= at_least:
            return
        time.sleep(0.2)
    raise gui.fail(f"{at_least}x {needle!r} not in the OBS log after {timeout:g} s")
