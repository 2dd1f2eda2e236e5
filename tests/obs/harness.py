"""A real OBS Studio, headless: Xvfb, a private HOME, the script loaded from the scene
collection, obs-websocket on a free port, and a clean quit through WM_DELETE_WINDOW.

Every wait is time-boxed; :meth:`Obs.kill` always ends OBS and Xvfb (used in teardown).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "obs_bgreplace.py"
PROFILE = "bgtest"
COLLECTION = "bgtest"
SCENE = "Scene"
CANVAS = (640, 360)
NOT_READY = 207  # obs-websocket RequestStatus::NotReady


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def real_deps_dir() -> str:
    """The folder ./install filled for OBS's Python (with the real HOME)."""
    if os.environ.get("BGREPLACE_DEPS"):
        return os.environ["BGREPLACE_DEPS"]
    sys.path.insert(0, str(REPO))
    try:
        import obs_bgreplace

        return obs_bgreplace.deps_dir()
    finally:
        sys.path.remove(str(REPO))



def missing_prerequisites() -> str | None:
    """Why a real OBS cannot run here (one line), or None: what ./test installs, and ./install's
    packages for OBS's Python."""
    for tool in ("obs", "Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (./test installs obs-studio, xvfb and xdotool with apt)"
    if not (Path(real_deps_dir()) / "numpy").exists():
        return f"OBS's Python has no numpy in {real_deps_dir()}: run ./install"
    return None
class Xvfb:
    """A private X server on a display number it picks itself (``-displayfd``): it binds the
    first number whose socket nobody holds, so another X server on this machine (the desktop,
    a second test run, OBS in a chroot sharing the network namespace) never makes it fail."""

    def __init__(
        self, timeout: float = 20.0, *, screen: str = "1280x800x24", extra: tuple[str, ...] = ()
    ) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        read_end, write_end = os.pipe()
        try:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp", *extra],
                stdout=subprocess.DEVNULL,
                stderr=self.log,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        try:
            self.display = self._read_display(read_end, timeout)
        except RuntimeError:
            self.stop()
            raise
        finally:
            os.close(read_end)

    def _read_display(self, read_end: int, timeout: float) -> int:
        # Xvfb writes the number, then a newline, once it accepts connections; the pipe stays
        # open until the newline (closing it early makes Xvfb exit: "Cannot write display number")
        got = b""
        deadline = time.monotonic() + timeout
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                raise RuntimeError(f"Xvfb gave no display number within {timeout:g} s{self.stderr()}")
            chunk = os.read(read_end, 32)
            if not chunk:  # Xvfb exited
                self.proc.wait(5)
                code = self.proc.returncode
                raise RuntimeError(f"Xvfb exited with {code} before it was ready{self.stderr()}")
            got += chunk
        return int(got)

    def stderr(self) -> str:
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").strip()
        return f":\n{text[-2000:]}" if text else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def _ini(sections: dict[str, dict[str, Any]]) -> str:
    # OBS reads key=value with no spaces around '=' (configparser's default spacing is ignored)
    out = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        out += [f"{k}={v}" for k, v in values.items()]
        out.append("")
    return "\n".join(out)


def _send_wm_delete(display: int, window: int) -> None:
    """Send WM_DELETE_WINDOW to ``window`` (what a window manager's close button does)."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class XClientMessageEvent(ctypes.Structure):
        _fields_ = [
            ("type", ctypes.c_int),
            ("serial", ctypes.c_ulong),
            ("send_event", ctypes.c_int),
            ("display", ctypes.c_void_p),
            ("window", ctypes.c_ulong),
            ("message_type", ctypes.c_ulong),
            ("format", ctypes.c_int),
            ("data", ctypes.c_long * 5),
        ]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", XClientMessageEvent), ("pad", ctypes.c_long * 24)]

    dpy = x11.XOpenDisplay(f":{display}".encode())
    if not dpy:
        raise RuntimeError(f"cannot open X display :{display}")
    try:
        ev = XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.send_event = 1
        ev.xclient.display = dpy
        ev.xclient.window = window
        ev.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        ev.xclient.data[1] = 0  # CurrentTime
        x11.XSendEvent(dpy, window, 0, 0, ctypes.byref(ev))
        x11.XFlush(dpy)
    finally:
        x11.XCloseDisplay(dpy)


def _not_ready(exc: Exception) -> bool:
    """obs-websocket's RequestStatus::NotReady (207): connected, OBS still loading."""
    return getattr(exc, "code", None) == NOT_READY


class Obs:
    """One OBS process (restartable with the same HOME: its saved state survives)."""

    def __init__(self, home: Path, *, scene_items: list[dict[str, Any]] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.xvfb: Xvfb | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: Any = None
        self.log_file: IO[bytes] | None = None  # OBS's stdout and stderr (a file of the home)
        self.version: Any = None  # GetVersion's answer (obs_version, obs_web_socket_version, ...)
        self.config = home / ".config" / "obs-studio"
        self.deps = real_deps_dir()
        self._write_config()

    # -- files ----------------------------------------------------------------------------
    def _write_config(self) -> None:
        cfg = self.config
        (cfg / "basic" / "profiles" / PROFILE).mkdir(parents=True, exist_ok=True)
        (cfg / "basic" / "scenes").mkdir(parents=True, exist_ok=True)
        (self.home / "runtime").mkdir(mode=0o700, exist_ok=True)
        frontend = {
            "General": {"FirstRun": "true", "EnableAutoUpdates": "false"},
            "Basic": {
                "Profile": PROFILE,
                "ProfileDir": PROFILE,
                "SceneCollection": COLLECTION,
                "SceneCollectionFile": COLLECTION,
            },
            "BasicWindow": {"PreviewEnabled": "false", "SysTrayEnabled": "false"},
        }
        websocket = {
            "OBSWebSocket": {
                "FirstLoad": "false",
                "ServerEnabled": "true",
                "ServerPort": self.port,
                "AlertsEnabled": "false",
                "AuthRequired": "false",
            }
        }
        # OBS 28-30 read the frontend's settings from global.ini, OBS 31+ from user.ini (without
        # it OBS 31+ opens the auto-configuration wizard, a modal dialog); both are written
        (cfg / "global.ini").write_text(_ini({**frontend, **websocket}))
        (cfg / "user.ini").write_text(_ini(frontend))
        w, h = CANVAS
        (cfg / "basic" / "profiles" / PROFILE / "basic.ini").write_text(
            _ini(
                {
                    "General": {"Name": PROFILE},
                    "Video": {
                        "BaseCX": w,
                        "BaseCY": h,
                        "OutputCX": w,
                        "OutputCY": h,
                        "FPSType": 0,
                        "FPSCommon": 30,
                    },
                }
            )
        )
        collection = cfg / "basic" / "scenes" / f"{COLLECTION}.json"
        if not collection.exists():
            collection.write_text(
                json.dumps(
                    {
                        "name": COLLECTION,
                        "current_scene": SCENE,
                        "current_program_scene": SCENE,
                        "scene_order": [{"name": SCENE}],
                        "sources": [
                            {
                                "id": "scene",
                                "versioned_id": "scene",
                                "name": SCENE,
                                "settings": {"items": [], "id_counter": 0, "custom_size": False},
                            }
                        ],
                        "modules": {"scripts-tool": [{"path": str(SCRIPT), "settings": {}}]},
                    }
                )
            )

    # -- process ----------------------------------------------------------------------------
    def start(self, timeout: float = 40.0) -> None:
        import obsws_python as obsws

        if self.xvfb is None:
            self.xvfb = Xvfb()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "QT_", "WAYLAND"))}
        env.update(
            HOME=str(self.home),
            DISPLAY=f":{self.xvfb.display}",
            LIBGL_ALWAYS_SOFTWARE="1",
            XDG_RUNTIME_DIR=str(self.home / "runtime"),
            BGREPLACE_DEPS=self.deps,
            QT_QPA_PLATFORM="xcb",
            BGREPLACE_STACKS_FILE=str(self.stacks_file),
        )
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        self.log_file = (self.home / f"obs-stdout-{int(time.time() * 1000)}.txt").open("wb")
        self.proc = subprocess.Popen(
            [
                "obs",
                "--multi",
                "--collection",
                COLLECTION,
                "--profile",
                PROFILE,
                "--scene",
                SCENE,
                "--disable-missing-files-check",
            ],
            env=env,
            cwd=str(self.home),
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        client: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.base_client.ws.close()
                raise RuntimeError(
                    f"OBS exited with {self.proc.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                if client is None:
                    client = obsws.ReqClient(host="127.0.0.1", port=self.port, password="", timeout=10)
                # obs-websocket 5.3+ (OBS 30+) accepts the connection before OBS has loaded and
                # answers 207 (NotReady) until then: the client is handed out once it answers
                self.version = client.get_version()
                self.client = client
                return
            except Exception as exc:
                last = exc
                if client is not None and not _not_ready(exc):
                    with contextlib.suppress(Exception):
                        client.base_client.ws.close()
                    client = None  # a dropped connection: connect again
                time.sleep(0.3)
        if client is not None:
            with contextlib.suppress(Exception):
                client.base_client.ws.close()
        self.kill()
        raise RuntimeError(f"obs-websocket did not answer within {timeout:g} s ({last}):\n{self.log_tail()}")

    def main_window(self, timeout: float = 10.0) -> int:
        assert self.proc is not None and self.xvfb is not None
        deadline = time.monotonic() + timeout
        while True:
            found = self._windows("Profile:")
            if found:
                return found[0]
            if time.monotonic() > deadline or self.proc.poll() is not None:
                shown = {w: self._xdotool("getwindowname", str(w)).strip() for w in self._windows("")}
                raise RuntimeError(f"OBS main window not found; its visible windows: {shown}")
            time.sleep(0.2)

    def _xdotool(self, *args: str) -> str:
        assert self.xvfb is not None
        return subprocess.run(
            ["xdotool", *args],
            env={**os.environ, "DISPLAY": f":{self.xvfb.display}"},
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout

    def _windows(self, name_regex: str) -> list[int]:
        """This OBS's visible top-level windows whose title matches ``name_regex``."""
        assert self.proc is not None
        # --all: this pid AND this title (xdotool's default is OR, which returns other windows)
        pid = str(self.proc.pid)
        out = self._xdotool("search", "--all", "--onlyvisible", "--pid", pid, "--name", name_regex)
        return [int(w) for w in out.split()]

    def quit(self, timeout: float = 30.0) -> int:
        """Close the main window like a user; returns OBS's exit code (kills it on timeout).
        When a signal ends it (a crash while quitting), how it ended and its log's last lines go
        to stderr first: the test shows them when it fails, before its home is deleted."""
        assert self.proc is not None
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.base_client.ws.close()
            self.client = None
        assert self.xvfb is not None
        _send_wm_delete(self.xvfb.display, self.main_window())
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stacks = self.python_stacks()  # (before the kill: where its Python threads wait)
            self._kill_obs()
            raise RuntimeError(
                f"OBS did not exit within {timeout:g} s after closing its window; Python threads:\n{stacks}"
            ) from None
        if code < 0:
            ended = f"{self.how_it_ended()}\nOBS log:\n{self.log_tail(40)}"
            print(f"OBS crashed while quitting:\n{ended}", file=sys.stderr)
        return code

    def _kill_obs(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def kill(self) -> None:
        """Teardown: end OBS (if still running) and Xvfb, whatever state they are in."""
        self._kill_obs()
        if self.xvfb is not None:
            self.xvfb.stop()
            self.xvfb = None

    # -- logs -------------------------------------------------------------------------------
    def logs(self) -> list[Path]:
        return sorted((self.config / "logs").glob("*.txt"), key=lambda p: p.stat().st_mtime)

    def log_text(self) -> str:
        logs = self.logs()
        return logs[-1].read_text(errors="replace") if logs else ""

    def all_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs())

    @property
    def stacks_file(self) -> Path:
        return self.home / "python-stacks.txt"

    def python_stacks(self) -> str:
        """Every Python thread's stack in OBS now (obs_bgreplace.py dumps them on SIGUSR1),
        for the message of a test that waited in vain. If OBS is gone: how it ended (its exit
        code or the signal that killed it), what faulthandler wrote at a crash, and the tail of
        its own output."""
        if self.proc is None:
            return ""
        if self.proc.poll() is not None:
            return self.how_it_ended()
        before = self.stacks_file.stat().st_size if self.stacks_file.exists() else 0
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if self.stacks_file.exists() and self.stacks_file.stat().st_size > before:
                time.sleep(0.2)  # (the dump is written in one go, from C)
                with self.stacks_file.open() as f:
                    f.seek(before)
                    return f.read()
            time.sleep(0.1)
        return "(no Python stacks: OBS did not write them within 3 s)"

    def how_it_ended(self) -> str:
        """An exited OBS: its exit code (or signal), faulthandler's dump of the Python threads
        at a fatal signal (obs_bgreplace.py enables it in the tests), its output's last lines."""
        assert self.proc is not None and self.proc.returncode is not None
        code = self.proc.returncode
        lines = [f"OBS is gone: {f'killed by signal {-code}' if code < 0 else f'exit code {code}'}"]
        if self.stacks_file.exists():
            dump = self.stacks_file.read_text(errors="replace")
            at = dump.rfind("Fatal Python error")
            if at >= 0:
                lines += ["Python threads when it died:", dump[at:]]
        if self.log_file is not None:
            self.log_file.flush()
            out = Path(self.log_file.name).read_text(errors="replace").splitlines()[-30:]
            lines += ["OBS's own output (last lines):", *out]
        lines += [f"crash reports: {[str(p) for p in self.crashes()]}"]
        return "\n".join(lines)

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def crashes(self) -> list[Path]:
        return sorted((self.config / "crashes").glob("*")) if (self.config / "crashes").exists() else []

    def plate_dir(self) -> Path:
        return self.config / "plugin_config" / "bgreplace" / "plates"

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.home, ignore_errors=True)
