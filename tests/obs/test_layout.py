"""The ctypes mirrors of libobs structs match the C headers (offsetof, via bgobs/layout.c): for
every OBS header tree (28-32), the installed headers, and the Windows x64 and macOS ABIs; and
the version policy, the padded frame and the missing-function refusal built on them."""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from abi import (
    ABIS,
    HEADERS_ENV,
    INSTALLED_HEADERS,
    LayoutError,
    abi_layout,
    header_trees,
    native_layout,
    parse_table,
    same_numbers,
)

from bgobs import libobs, structs

VERIFIED = {28, 29, 30, 31, 32}
OTHER_ABIS = ("windows-x64", "macos-arm64", "macos-x86_64")


def _trees() -> dict[str, Path]:
    trees = header_trees()
    if not trees:
        where = f"${HEADERS_ENV}={os.environ[HEADERS_ENV]}" if os.environ.get(HEADERS_ENV) else (
            "<repo>/../shared/obs-headers or /work/shared/obs-headers"
        )
        pytest.fail(f"no OBS header trees (<version>/libobs) in {where}")
    return trees


def _recorded(major: int) -> dict[str, Any]:
    path = structs.LAYOUT_DIR / f"{major}.json"
    assert path.exists(), f"no recorded layout {path.name}"
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _each(jobs: dict[Any, tuple[Any, ...]], fn: Any) -> dict[Any, Any]:
    """fn(*args) for every job, two at a time (compilers are slow; the machine has 2 cores)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(fn, *args) for key, args in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


def test_header_trees_are_the_verified_majors() -> None:
    majors = {int(version.split(".")[0]) for version in _trees()}
    assert majors == VERIFIED
    assert set(structs.verified_majors()) == VERIFIED


def test_every_header_tree_matches_ctypes_and_its_recorded_layout(tmp_path: Path) -> None:
    trees = _trees()
    fresh = _each({v: (h, tmp_path / v) for v, h in trees.items()}, native_layout)
    for version, layout in fresh.items():
        assert layout["version"] == version
        assert structs.layout_mismatches(layout) == [], version
        assert same_numbers(layout, _recorded(int(version.split(".")[0]))), version


@pytest.mark.obs
def test_ctypes_layout_matches_installed_headers(tmp_path: Path) -> None:
    if not (INSTALLED_HEADERS / "obs-source.h").exists():
        pytest.fail("needs libobs-dev (/usr/include/obs; ./test installs it)")
    layout = native_layout(INSTALLED_HEADERS, tmp_path)
    assert structs.layout_mismatches(layout) == []
    major = int(layout["version"].split(".")[0])
    assert major in structs.verified_majors()
    assert same_numbers(layout, _recorded(major))


def test_recorded_layouts_match_ctypes() -> None:
    recorded = sorted(structs.LAYOUT_DIR.glob("*.json"))
    assert {int(p.stem) for p in recorded} == VERIFIED
    for path in recorded:
        assert structs.layout_mismatches(json.loads(path.read_text())) == [], path.name


def test_table_mode_reads_the_native_numbers(tmp_path: Path) -> None:
    """The assembly reader, and the freestanding shim the macOS ABIs use, give exactly what the
    native program prints (version included), for every header tree."""
    trees = _trees()
    native = _each({v: (h, tmp_path / v / "native") for v, h in trees.items()}, native_layout)
    for abi in ("linux-x86_64", "linux-x86_64-freestanding"):
        tables = _each({v: (abi, h, tmp_path / v / abi) for v, h in trees.items()}, abi_layout)
        for version, table in tables.items():
            assert table == native[version], f"{abi} {version}"


def test_table_reader_takes_runs_of_zeros(tmp_path: Path) -> None:
    """Assemblers may write consecutive zero values as one ``.zero N``: same numbers."""
    headers = next(iter(_trees().values()))
    abi_layout("linux-x86_64", headers, tmp_path)
    asm = (tmp_path / "layout-linux-x86_64.s").read_text()
    zeros = "\t.quad\t0\n\t.quad\t0\n"
    assert zeros in asm
    assert parse_table(asm.replace(zeros, "\t.zero\t16\n")) == parse_table(asm)


def test_windows_and_macos_layouts_match_ctypes(tmp_path: Path) -> None:
    trees = _trees()
    jobs = {(v, abi): (abi, h, tmp_path / v / abi) for v, h in trees.items() for abi in OTHER_ABIS}
    try:
        layouts = _each(jobs, abi_layout)
    except LayoutError as exc:
        pytest.fail(str(exc))
    for (version, abi), layout in layouts.items():
        long_size = ABIS[abi].long_size
        assert layout["version"] == version
        assert structs.layout_mismatches(layout, long_size=long_size) == [], (version, abi)
        frame = layout["obs_source_frame"]
        refs_frame = (frame["fields"]["refs"], frame["fields"]["prev_frame"], frame["sizeof"])
        if abi == "windows-x64":  # LLP64: refs is a 4-byte long right after trc
            assert refs_frame == (212, 216, 224)
            assert structs.layout_mismatches(layout, long_size=8) != []  # the check sees the difference
        else:  # LP64, as Linux
            assert refs_frame == (216, 224, 232)
            assert same_numbers(layout, _recorded(int(version.split(".")[0])))
        assert layout["obs_source_info"]["sizeof"] == {28: 400, 29: 400, 30: 408, 31: 408, 32: 424}[
            int(version.split(".")[0])
        ]


def test_ctypes_structs_for_a_long_size() -> None:
    assert structs.structs_for_abi(None) is structs.STRUCTS
    assert structs.structs_for_abi(ctypes.sizeof(ctypes.c_long)) is structs.STRUCTS
    frame4 = structs.structs_for_abi(4)["obs_source_frame"]
    assert (frame4.refs.offset, frame4.refs.size, ctypes.sizeof(frame4)) == (212, 4, 224)  # type: ignore[attr-defined]
    frame8 = structs.structs_for_abi(8)["obs_source_frame"]
    assert (frame8.refs.offset, frame8.refs.size, ctypes.sizeof(frame8)) == (216, 8, 232)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="4 or 8"):
        structs.structs_for_abi(2)


def _version(major: int, minor: int = 0, patch: int = 0) -> int:
    return (major << 24) | (minor << 16) | patch


def test_version_policy() -> None:
    for major in sorted(VERIFIED):
        assert structs.check_version(_version(major, 2, 1)) == structs.VersionVerdict(True, None)
    newer = structs.check_version(_version(33, 0, 0))
    assert newer.register
    assert newer.message is not None
    assert newer.message.startswith("OBS 33.0.0 is newer than the versions bgreplace was tested with (28-32)")
    older = structs.check_version(_version(27, 2, 4))
    assert not older.register
    assert older.message == (
        "OBS 27.2.4 is too old for bgreplace (needs OBS 28 or later); not registering the source"
    )


def test_padded_frame_reads_zeros_past_its_struct() -> None:
    """libobs copies the frame with its own sizeof: a longer future struct must read zeros."""
    frame = structs.padded_frame()
    frame.width, frame.height, frame.refs, frame.prev_frame = 640, 360, 7, True
    size = ctypes.sizeof(structs.obs_source_frame)
    tail = ctypes.string_at(ctypes.addressof(frame) + size, structs.FRAME_BUFFER_SIZE - size)
    assert tail == bytes(structs.FRAME_BUFFER_SIZE - size)
    assert 4 * size <= structs.FRAME_BUFFER_SIZE
    assert (frame.width, frame.height, frame.refs) == (640, 360, 7)


@pytest.mark.obs
def test_installed_libobs_loads_and_a_missing_function_is_refused() -> None:
    dll = ctypes.CDLL("libobs.so.0")
    lib = libobs.Lib(dll, "libobs.so.0")
    major = lib.obs_get_version() >> 24
    assert major in VERIFIED
    assert structs.check_version(lib.obs_get_version()) == structs.VersionVerdict(True, None)
    table = {**libobs.FUNCTIONS, "obs_source_from_the_future": (None, [])}
    with pytest.raises(libobs.LibobsError) as refused:
        libobs.Lib(dll, "libobs.so.0", table)
    assert "lacks 1 function(s) bgreplace calls (obs_source_from_the_future)" in str(refused.value)
    assert str(refused.value).startswith(f"OBS {major}.")


_EXPORT = re.compile(r"\bEXPORT\b[^;{}]*?\b(\w+)\s*\(([^()]*)\)\s*;")


def _exported(headers: Path) -> dict[str, int]:
    """{function: number of fixed parameters} for every ``EXPORT`` declaration under ``headers``."""
    out: dict[str, int] = {}
    for path in headers.rglob("*.h"):
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", path.read_text(errors="replace"), flags=re.S)
        for name, params in _EXPORT.findall(text):
            fixed = [p for p in params.split(",") if p.strip() not in ("", "void", "...")]
            out[name] = len(fixed)
    return out


def test_declared_functions_are_exported_by_every_header_tree() -> None:
    """Every function bgobs binds (the source's and the filter's tables) is an EXPORT of libobs
    28-32 with as many parameters as its argtypes, and the GIL-holding ones are in the filter's."""
    tables = {**libobs.FUNCTIONS, **libobs.FILTER_FUNCTIONS}
    assert len(tables) == len(libobs.FUNCTIONS) + len(libobs.FILTER_FUNCTIONS), "declared twice"
    assert libobs.HOLDING_GIL.issubset(libobs.FILTER_FUNCTIONS)
    for version, headers in _trees().items():
        exported = _exported(headers)
        problems = [
            f"{name}: {'not exported' if name not in exported else f'{exported[name]} parameters'}"
            for name, (_, argtypes) in tables.items()
            if exported.get(name) != len(argtypes)
        ]
        assert problems == [], version
