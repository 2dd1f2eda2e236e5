"""libobs struct layouts from OBS header trees: natively, or for another C ABI without running
anything.

- :func:`native_layout` builds ``bgobs/layout.c`` with the host compiler and runs it (JSON).
- :func:`abi_layout` builds ``layout.c -DLAYOUT_TABLE -S`` with a cross compiler (:data:`ABIS`)
  and reads the numbers from the assembly (``layout_names`` / ``layout_values``).

Apple's SDK is not on a Linux machine, so the macOS ABIs use clang's freestanding mode: clang's
own headers (stddef, stdint, stdbool, stdarg, the SIMD intrinsics) give every type these structs
use its size and alignment for the target; :data:`SHIM` stands in for the few C library headers
libobs includes, declaring only what its inline functions call (nothing in a struct bgobs
mirrors). The same shim compiled for x86_64-linux-gnu must reproduce the native numbers exactly
(tests/obs/test_layout.py checks that), which is what makes the macOS numbers trustworthy.

Command line: ``python tests/obs/abi.py ABI [LIBOBS_DIR]`` prints the JSON for one ABI
(``native`` runs layout.c; default headers /usr/include/obs).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAYOUT_C = REPO / "bgobs" / "layout.c"
INSTALLED_HEADERS = Path("/usr/include/obs")
HEADERS_ENV = "BGREPLACE_OBS_HEADERS"
# OBS 32's headers (and Debian's libobs-dev) include <simde/...> from the system (libsimde-dev,
# a libobs-dev dependency)
SIMDE = Path("/usr/include/simde")


@dataclasses.dataclass(frozen=True)
class Abi:
    """A C ABI to lay the structs out for: the compiler, its flags, and C ``long``'s size."""

    compiler: str
    flags: tuple[str, ...]
    long_size: int
    package: str  # the Debian package with the compiler
    freestanding: bool = False  # no C library headers for the target here: use SHIM


ABIS: dict[str, Abi] = {
    # Windows x64 is LLP64: long is 4 bytes (MSVC and mingw-w64 lay out these structs alike:
    # no bitfields, natural alignment)
    "windows-x64": Abi("x86_64-w64-mingw32-gcc", (), 4, "gcc-mingw-w64-x86-64"),
    "macos-arm64": Abi("clang", ("--target=arm64-apple-macos11",), 8, "clang", freestanding=True),
    "macos-x86_64": Abi("clang", ("--target=x86_64-apple-macos10.15",), 8, "clang", freestanding=True),
    # controls: must give exactly what the native run prints
    "linux-x86_64": Abi("cc", (), 8, "gcc"),
    "linux-x86_64-freestanding": Abi("clang", ("--target=x86_64-linux-gnu",), 8, "clang", freestanding=True),
}

SHIM: dict[str, str] = {
    "stdio.h": "#include <stdarg.h>\ntypedef struct __sFILE FILE;\n",
    "stdlib.h": (
        "#include <stddef.h>\nvoid *malloc(size_t size);\nvoid *calloc(size_t count, size_t size);\n"
        "void *realloc(void *ptr, size_t size);\nvoid free(void *ptr);\n"
    ),
    "string.h": (
        "#include <stddef.h>\nvoid *memcpy(void *dst, const void *src, size_t n);\n"
        "void *memmove(void *dst, const void *src, size_t n);\nvoid *memset(void *dst, int c, size_t n);\n"
        "int memcmp(const void *a, const void *b, size_t n);\nsize_t strlen(const char *s);\n"
    ),
    "wchar.h": "#include <stddef.h>\nsize_t wcslen(const wchar_t *s);\n",
    "math.h": (
        "float sqrtf(float x);\nfloat fabsf(float x);\nfloat floorf(float x);\nfloat ceilf(float x);\n"
        "float powf(float x, float y);\n"
    ),
    "assert.h": "#define assert(e) ((void)0)\n",
    "inttypes.h": "#include <stdint.h>\n",
    "errno.h": "",
    "sys/types.h": "#include <stddef.h>\n",
    "objc/objc-runtime.h": "typedef struct objc_object *id;\n",  # as in Apple's objc/objc.h
    "simd/base.h": "",
}


class LayoutError(RuntimeError):
    """A compiler is missing or failed, or its output could not be read."""


def header_trees_dir() -> Path | None:
    """The folder with one libobs header tree per OBS version (``<version>/libobs``):
    $BGREPLACE_OBS_HEADERS when set (only that), else <repo>/../shared/obs-headers, else
    /work/shared/obs-headers; None if that is not a folder."""
    env = os.environ.get(HEADERS_ENV)
    shared = [REPO.parent / "shared" / "obs-headers", Path("/work/shared/obs-headers")]
    candidates = [Path(env)] if env else shared
    return next((c for c in candidates if c.is_dir()), None)


def header_trees() -> dict[str, Path]:
    """{version folder name: its libobs folder} in the header trees folder (empty if none)."""
    folder = header_trees_dir()
    if folder is None:
        return {}
    return {p.parent.name: p for p in sorted(folder.glob("*/libobs")) if (p / "obs-source.h").exists()}


def _include_flags(headers: Path, work: Path, freestanding: bool) -> list[str]:
    flags = [f"-I{headers}"]
    if not (headers / "obsconfig.h").exists():  # a source tree: OBS's build generates it
        scratch = work / "include"  # empty is enough for these structs
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / "obsconfig.h").touch()
        flags.insert(0, f"-I{scratch}")
    if freestanding:
        shim = work / "shim"
        for name, text in SHIM.items():
            (shim / name).parent.mkdir(parents=True, exist_ok=True)
            (shim / name).write_text(text)
        flags = ["-ffreestanding", "-nostdlibinc", "-isystem", str(shim), *flags]
    if SIMDE.is_dir():  # only simde from the system's include folder, after the compiler's own
        simde = work / "simde"
        simde.mkdir(exist_ok=True)
        link = simde / "simde"
        if not link.exists():
            link.symlink_to(SIMDE)
        flags += ["-idirafter", str(simde)]
    return flags


def _compile(cmd: list[str]) -> None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except FileNotFoundError as exc:
        raise LayoutError(f"{cmd[0]} is not installed") from exc
    if r.returncode != 0:
        tail = " | ".join(r.stderr.strip().splitlines()[-4:])
        raise LayoutError(f"{' '.join(cmd)} failed: {tail}")


def native_layout(headers: Path, work: Path) -> dict[str, Any]:
    """layout.c built with the host's C compiler against ``headers`` and run (its JSON)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise LayoutError("no C compiler (cc) installed")
    work.mkdir(parents=True, exist_ok=True)
    exe = work / "layout"
    _compile([cc, *_include_flags(headers, work, False), str(LAYOUT_C), "-o", str(exe)])
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=60).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def abi_layout(abi: str, headers: Path, work: Path) -> dict[str, Any]:
    """layout.c's numbers for ``abi`` (a key of :data:`ABIS`) against ``headers``, read from
    the compiler's assembly: nothing is run."""
    spec = ABIS[abi]
    if shutil.which(spec.compiler) is None:
        raise LayoutError(f"{spec.compiler} is not installed (apt-get install {spec.package}; ./test does)")
    work.mkdir(parents=True, exist_ok=True)
    asm = work / f"layout-{abi}.s"
    flags = _include_flags(headers, work, spec.freestanding)
    # with the shim, a C library function libobs calls that the shim lacks is an error, not an
    # implicit int-returning declaration
    strict = ["-Werror=implicit-function-declaration", "-Werror=int-conversion"] if spec.freestanding else []
    cmd = [spec.compiler, *spec.flags, *strict, "-DLAYOUT_TABLE", "-S", *flags, str(LAYOUT_C), "-o", str(asm)]
    _compile(cmd)
    return parse_table(asm.read_text())


_COMMENT = re.compile(r"\s+(#|;|//|@).*$")
_STRING = re.compile(r'^\.(?:ascii|asciz|string)\s+"(.*)"$')
_QUAD = re.compile(r"^\.(?:quad|8byte|xword|dword)\s+(\d+)$")
_ZEROS = re.compile(r"^\.(?:zero|space|skip)\s+(\d+)$")


def _symbol_data(asm: str, symbol: str) -> list[str]:
    """The data directives right after the label of ``symbol`` (``_symbol`` on macOS)."""
    lines = [_COMMENT.sub("", line).strip() for line in asm.splitlines()]
    for i, line in enumerate(lines):
        if line in (f"{symbol}:", f"_{symbol}:"):
            data = []
            for item in lines[i + 1 :]:
                if _STRING.match(item) or _QUAD.match(item) or _ZEROS.match(item):
                    data.append(item)
                elif item and not item.startswith((";", "#", "//")):
                    break
            return data
    raise LayoutError(f"no {symbol} in the assembly")


def parse_table(asm: str) -> dict[str, Any]:
    """The JSON ``layout.c`` prints, from the assembly of its LAYOUT_TABLE mode."""
    text = ""
    for item in _symbol_data(asm, "layout_names"):
        m = _STRING.match(item)
        if m is None:
            raise LayoutError(f"layout_names: unexpected {item!r}")
        text += m.group(1).encode("latin-1").decode("unicode_escape")
    names = text.split("\0")[0].split()
    values: list[int] = []
    for item in _symbol_data(asm, "layout_values"):
        if m := _QUAD.match(item):
            values.append(int(m.group(1)))
        elif m := _ZEROS.match(item):
            values += [0] * (int(m.group(1)) // 8)
        else:
            raise LayoutError(f"layout_values: unexpected {item!r}")
    if len(names) != len(values):
        raise LayoutError(f"{len(names)} names but {len(values)} values in the assembly")
    table = dict(zip(names, values, strict=True))
    out: dict[str, Any] = {
        "version": "{}.{}.{}".format(*(table.pop(f"version.{k}") for k in ("major", "minor", "patch")))
    }
    for struct in ("obs_source_info", "obs_source_frame"):
        out[struct] = {"sizeof": table.pop(f"sizeof.{struct}"), "fields": {}}
    constants: dict[str, int] = {}
    for name, value in table.items():
        kind, _, member = name.partition(".")
        if kind == "constant":
            constants[member] = value - (1 << 64) if value >= 1 << 63 else value
        else:
            out[kind]["fields"][member] = value
    out["constants"] = constants
    return out


def same_numbers(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal offsets, sizes and constants (the version string aside)."""
    return {k: v for k, v in a.items() if k != "version"} == {k: v for k, v in b.items() if k != "version"}


def main(argv: list[str]) -> int:
    if not argv or (argv[0] not in ABIS and argv[0] != "native"):
        print(f"usage: abi.py {{native,{','.join(ABIS)}}} [LIBOBS_DIR]", file=sys.stderr)
        return 2
    import tempfile

    headers = Path(argv[1]) if len(argv) > 1 else INSTALLED_HEADERS
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        layout = native_layout(headers, work) if argv[0] == "native" else abi_layout(argv[0], headers, work)
    print(json.dumps(layout))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
