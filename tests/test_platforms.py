"""Per-platform folders (bgobs.paths) and ./install's search for OBS's Python.

Windows and macOS are computed from their rules here (paths are pure functions of platform,
environment, home and Python version; the Windows/macOS Python search reads OBS's ini files and
looks for the library files OBS loads, built in a temporary tree). Linux uses the real thing:
a copy of the installed ``_obspython.so`` and small shared objects built with the C compiler,
read by the real ``ldd``.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bgobs import paths

REPO = Path(__file__).resolve().parents[1]
OBS_SCRIPTING = Path("/usr/lib/x86_64-linux-gnu/obs-scripting/_obspython.so")


def _load_install() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("bgreplace_install", str(REPO / "install"))
    spec = importlib.util.spec_from_loader("bgreplace_install", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


install = _load_install()


# -- bgobs.paths ---------------------------------------------------------------------------------
def test_deps_dir_windows() -> None:
    env = {"APPDATA": r"C:\Users\ana\AppData\Roaming"}
    assert paths.deps_dir("win32", env, r"C:\Users\ana", "3.12") == (
        r"C:\Users\ana\AppData\Roaming\bgreplace\obs-python-3.12"
    )
    assert paths.deps_dir("win32", {}, r"C:\Users\ana", "3.10") == (
        r"C:\Users\ana\AppData\Roaming\bgreplace\obs-python-3.10"
    )


def test_deps_dir_macos() -> None:
    assert paths.deps_dir("darwin", {"XDG_DATA_HOME": "/ignored"}, "/Users/ana", "3.12") == (
        "/Users/ana/Library/Application Support/bgreplace/obs-python-3.12"
    )


def test_deps_dir_linux() -> None:
    assert paths.deps_dir("linux", {}, "/home/ana", "3.11") == (
        "/home/ana/.local/share/bgreplace/obs-python-3.11"
    )
    assert paths.deps_dir("linux", {"XDG_DATA_HOME": "/data/ana"}, "/home/ana", "3.13") == (
        "/data/ana/bgreplace/obs-python-3.13"
    )


def test_deps_dir_override_wins_everywhere() -> None:
    for platform in ("win32", "darwin", "linux"):
        env = {"BGREPLACE_DEPS": "/srv/deps", "APPDATA": "X", "XDG_DATA_HOME": "Y"}
        assert paths.deps_dir(platform, env, "/home/ana", "3.11") == "/srv/deps"


def test_obs_config_dir_per_platform() -> None:
    win = r"C:\Users\ana"
    assert paths.obs_config_dir("win32", {"APPDATA": r"D:\Roaming"}, win) == r"D:\Roaming\obs-studio"
    assert paths.obs_config_dir("win32", {}, win) == r"C:\Users\ana\AppData\Roaming\obs-studio"
    mac = paths.obs_config_dir("darwin", {}, "/Users/ana")
    assert mac == "/Users/ana/Library/Application Support/obs-studio"
    assert paths.obs_config_dir("linux", {}, "/home/ana") == "/home/ana/.config/obs-studio"
    assert paths.obs_config_dir("linux", {"XDG_CONFIG_HOME": "/cfg"}, "/home/ana") == "/cfg/obs-studio"


def test_script_and_install_agree_on_deps_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BGREPLACE_DEPS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    sys.path.insert(0, str(REPO))
    try:
        import obs_bgreplace
    finally:
        sys.path.remove(str(REPO))
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    expected = tmp_path / "data" / "bgreplace" / f"obs-python-{version}"
    assert obs_bgreplace.deps_dir() == str(expected)
    assert install.deps_dir(version, tmp_path) == expected


@pytest.mark.obs
def test_linux_config_dir_is_libobs_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """paths.obs_config_dir on Linux = what the installed libobs's os_get_config_path returns."""
    dll = ctypes.CDLL("libobs.so.0")
    fn = dll.os_get_config_path_ptr
    fn.restype, fn.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    free = dll.bfree
    free.restype, free.argtypes = None, [ctypes.c_void_p]

    def libobs_says() -> str:
        ptr = fn(b"obs-studio")
        try:
            return str(ctypes.string_at(ptr).decode())
        finally:
            free(ptr)

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert libobs_says() == paths.obs_config_dir("linux", {}, str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert libobs_says() == paths.obs_config_dir(
        "linux", {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}, str(tmp_path / "home")
    )


# -- install on Linux: the libpython OBS's scripting module links -----------------------------------
def test_python_beside_libpython() -> None:
    assert install.python_beside_libpython("/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "3.11") == [
        "/usr/bin/python3.11"
    ]
    assert install.python_beside_libpython("/usr/lib/x86_64-linux-gnu/libpython3.13.so.1.0", "3.13") == [
        "/usr/bin/python3.13"
    ]
    assert install.python_beside_libpython("/usr/local/lib/libpython3.12.so.1.0", "3.12") == [
        "/usr/local/bin/python3.12",
        "/usr/bin/python3.12",
    ]
    assert install.python_beside_libpython("/opt/py/lib64/libpython3.12.so", "3.12") == [
        "/opt/py/bin/python3.12",
        "/usr/bin/python3.12",
    ]


def test_linux_finds_the_python_the_real_scripting_module_links(tmp_path: Path) -> None:
    if not OBS_SCRIPTING.exists():
        pytest.fail(f"needs OBS's Python scripting module {OBS_SCRIPTING} (obs-studio; ./test installs it)")
    copy = tmp_path / OBS_SCRIPTING.relative_to("/")
    copy.parent.mkdir(parents=True)
    shutil.copy(OBS_SCRIPTING, copy)
    exe, how = install.linux_obs_python(root=tmp_path, home=tmp_path)
    assert exe is not None, how
    m = re.fullmatch(r"/usr/bin/python(3\.\d+)", exe)
    assert m, exe
    assert how.startswith(f"{copy} links ")
    assert f"libpython{m.group(1)}" in how
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    ran = subprocess.run([exe, "-c", code], capture_output=True)
    assert ran.stdout.decode().strip() == m.group(1)


def test_linux_finds_the_python_without_ldd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ldd on PATH (or one that does not answer): the module's own list of the libraries it
    needs names the same libpython, found where the loader looks."""
    if not OBS_SCRIPTING.exists():
        pytest.fail(f"needs OBS's Python scripting module {OBS_SCRIPTING} (obs-studio; ./test installs it)")
    copy = tmp_path / OBS_SCRIPTING.relative_to("/")
    copy.parent.mkdir(parents=True)
    shutil.copy(OBS_SCRIPTING, copy)
    with_ldd = install.linux_obs_python(root=tmp_path, home=tmp_path)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert shutil.which("ldd") is None
    without = install.linux_obs_python(root=tmp_path, home=tmp_path)
    assert with_ldd[0] is not None and without[0] == with_ldd[0], (with_ldd, without)
    assert Path(without[1].split(" links ")[1]).resolve() == Path(with_ldd[1].split(" links ")[1]).resolve()


def _shared_object(path: Path, *link: str) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("needs a C compiler (cc)")
    src = path.with_suffix(".c")
    src.write_text("int bgreplace_test_symbol(void) { return 1; }\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(path), *link], check=True, timeout=60)


def _fake_libpython(folder: Path, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"libpython{version}.so.1.0"
    _shared_object(folder / name, f"-Wl,-soname,{name}")
    (folder / f"libpython{version}.so").symlink_to(name)


def _scripting_module(root: Path, libdir: Path, version: str, rpath: bool) -> Path:
    module = root / "usr/lib/x86_64-linux-gnu/obs-scripting/_obspython.so"
    module.parent.mkdir(parents=True)
    extra = [f"-Wl,-rpath,{libdir}"] if rpath else []
    _shared_object(module, "-Wl,--no-as-needed", f"-L{libdir}", f"-lpython{version}", *extra)
    return module


def test_linux_python_under_its_own_prefix(tmp_path: Path) -> None:
    prefix = tmp_path / "opt/py"
    _fake_libpython(prefix / "lib", "3.99")
    (prefix / "bin").mkdir()
    (prefix / "bin/python3.99").write_text("")
    module = _scripting_module(tmp_path / "root", prefix / "lib", "3.99", rpath=True)
    exe, how = install.linux_obs_python(root=tmp_path / "root", home=tmp_path)
    assert exe == str(prefix / "bin/python3.99")
    assert how == f"{module} links {prefix / 'lib/libpython3.99.so.1.0'}"


def test_linux_libpython_not_installed(tmp_path: Path) -> None:
    _fake_libpython(tmp_path / "gone", "3.99")
    _scripting_module(tmp_path / "root", tmp_path / "gone", "3.99", rpath=False)
    shutil.rmtree(tmp_path / "gone")
    exe, how = install.linux_obs_python(root=tmp_path / "root", home=tmp_path)
    assert exe is None
    assert how.endswith("links libpython3.99, which is not installed: install python3.99")


def test_linux_without_obs_scripting(tmp_path: Path) -> None:
    assert install.linux_obs_python(root=tmp_path, home=tmp_path) == (
        None,
        "no OBS Python scripting module found (install obs-studio with Python scripting)",
    )
    (tmp_path / ".local/share/flatpak/app/com.obsproject.Studio").mkdir(parents=True)
    exe, how = install.linux_obs_python(root=tmp_path, home=tmp_path)
    assert exe is None and how.startswith("OBS is installed as a Flatpak")


# -- install on Windows and macOS: Tools > Scripts > Python Settings -------------------------------
def _obs_version(major: int, minor: int, patch: int) -> int:
    return (major << 24) | (minor << 16) | patch


def _ini(path: Path, sections: dict[str, dict[str, str]]) -> None:
    """An ini file as OBS writes it (key=value, no spaces)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k}={v}" for k, v in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))


def _global_ini(config: Path, obs: tuple[int, int, int], python_folder: Path | None = None) -> None:
    sections = {"General": {"LastVersion": str(_obs_version(*obs))}}
    if python_folder is not None:
        sections["Python"] = {"Path64bit": str(python_folder)}
    _ini(config / "global.ini", sections)


def _windows_python(folder: Path, minor: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"python3{minor}.dll").write_bytes(b"MZ")
    (folder / "python.exe").write_bytes(b"MZ")


def test_windows_obs_30_reads_global_ini(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    folder = tmp_path / "Python312"
    _windows_python(folder, 12)
    _global_ini(config, (30, 2, 3), folder)
    exe, how = install.chosen_obs_python("win32", config)
    assert exe == str(folder / "python.exe")
    assert how == f"OBS 30.2.3 loads {folder / 'python312.dll'} (Python Settings in {config / 'global.ini'})"


def test_windows_obs_31_reads_user_ini(tmp_path: Path) -> None:
    """OBS 31 copied global.ini to user.ini once; a Python chosen since is only in user.ini."""
    config = tmp_path / "obs-studio"
    old, new = tmp_path / "Python310", tmp_path / "Python312"
    _windows_python(old, 10)
    _windows_python(new, 12)
    last = {"LastVersion": str(_obs_version(31, 1, 2))}
    _ini(config / "global.ini", {"General": last, "Python": {"Path64bit": str(old)}})
    _ini(config / "user.ini", {"Python": {"Path64bit": str(new)}})
    exe, how = install.chosen_obs_python("win32", config)
    assert exe == str(new / "python.exe")
    assert how.endswith(f"(Python Settings in {config / 'user.ini'})")


def test_user_ini_in_a_configured_location(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    elsewhere = tmp_path / "portable"
    folder = tmp_path / "Python311"
    _windows_python(folder, 11)
    general = {"LastVersion": str(_obs_version(32, 2, 2))}
    _ini(config / "global.ini", {"General": general, "Locations": {"Configuration": str(elsewhere)}})
    _ini(elsewhere / "obs-studio" / "user.ini", {"Python": {"Path64bit": str(folder)}})
    assert install.obs_python_setting(config) == (
        str(folder),
        elsewhere / "obs-studio" / "user.ini",
        (32, 2, 2),
    )


def test_unknown_obs_version_prefers_user_ini_when_there(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    _ini(config / "global.ini", {"Python": {"Path64bit": "/old"}})
    assert install.obs_python_setting(config) == ("/old", config / "global.ini", None)
    _ini(config / "user.ini", {"Python": {"Path64bit": "/new"}})
    assert install.obs_python_setting(config) == ("/new", config / "user.ini", None)


def test_windows_obs_29_does_not_load_python_311(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    folder = tmp_path / "Python311"
    _windows_python(folder, 11)
    for version, found in (((29, 0, 2), False), ((29, 1, 3), True)):  # the loader's newest: 3.10, 3.11
        _global_ini(config, version, folder)
        exe, how = install.chosen_obs_python("win32", config)
        if found:
            assert exe == str(folder / "python.exe")
        else:
            assert exe is None
            assert "OBS 29.0.2 finds no Python 3.6 to 3.10 library there" in how


def test_no_python_chosen_yet(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    exe, how = install.chosen_obs_python("win32", config)
    assert exe is None
    ini = config / "global.ini"
    assert how.startswith(f"no Python chosen in OBS yet ({ini}). Install CPython 3.12 (64-bit;")
    _global_ini(config, (29, 0, 2))
    exe, how = install.chosen_obs_python("darwin", config)
    assert exe is None and "Install CPython 3.10 (64-bit; OBS 29.0.2 loads up to 3.10)" in how


def _framework(base: Path, sub: str, version: str) -> Path:
    root = base / "Python.framework" / "Versions" / sub
    (root / "lib").mkdir(parents=True)
    (root / "lib" / f"libpython{version}.dylib").write_bytes(b"")
    (root / "bin").mkdir()
    (root / "bin" / f"python{version}").write_bytes(b"")
    return root


def test_macos_obs_32_versioned_framework(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    frameworks = tmp_path / "Library" / "Frameworks"
    root = _framework(frameworks, "3.12", "3.12")
    # a setting saved by an older OBS points inside the framework; OBS cuts it at /Python.framework
    setting = f"{frameworks}/Python.framework/Versions/3.12"
    _global_ini(config, (32, 2, 2))
    _ini(config / "user.ini", {"Python": {"Path64bit": setting}})
    exe, how = install.chosen_obs_python("darwin", config)
    assert exe == str(root / "bin" / "python3.12")
    assert how.startswith(f"OBS 32.2.2 loads {root / 'lib' / 'libpython3.12.dylib'}")


def test_macos_obs_30_loads_through_current(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    frameworks = tmp_path / "Library" / "Frameworks"
    _framework(frameworks, "3.12", "3.12")
    _global_ini(config, (30, 2, 3), frameworks)
    exe, how = install.chosen_obs_python("darwin", config)
    assert exe is None  # OBS before 31.1 loads only Versions/Current/lib/libpython3.Y.dylib
    assert "OBS 30.2.3 finds no Python 3.6 to 3.12 library there" in how
    current = _framework(frameworks, "Current", "3.12")
    exe, _ = install.chosen_obs_python("darwin", config)
    assert exe == str(current / "bin" / "python3.12")


def test_python_version_warnings() -> None:
    assert install.python_warning("linux", "3.14", None) is None
    assert install.python_warning("win32", "3.10", (28, 1, 2)) is None
    assert install.python_warning("darwin", "3.12", (30, 1, 0)) is None
    assert install.python_warning("win32", "3.12", (29, 0, 2)) == (
        "OBS 29.0.2 does not load Python 3.12 (it loads up to 3.10): install CPython 3.10 (64-bit; "
        "OBS 29.0.2 loads up to 3.10)"
    )
    # 29.1 and 30.0 try python311.dll but lack the symbols 3.11 needs (obs-studio PR 9842)
    assert install.python_warning("win32", "3.11", (30, 0, 2)) is not None
    assert install.python_warning("win32", "3.13", (32, 2, 2)) == (
        "OBS 32.2.2 does not load Python 3.13 (it loads up to 3.12): install CPython 3.12 (64-bit; "
        "OBS 30.1 to 32 load 3.10 to 3.12)"
    )
    newer = install.python_warning("darwin", "3.13", (33, 0, 0))
    assert newer is not None and newer.startswith("OBS 33.0.0 is newer than bgreplace checked")
    assert install.python_warning("win32", "3.11", None) == (
        "Python 3.11 needs OBS 30.1 or later (OBS 28 to 30.0 load up to 3.10)"
    )
