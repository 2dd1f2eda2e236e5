"""Fused per-pixel loops, compiled with numba (LLVM) where it is installed.

Why: an OpenCV call is one pass over its arrays, so an expression of six operations is six
passes, each reading and writing whole buffers; on frames that left the cache since the last
call (OBS renders, encodes and runs other sources in between) those passes, not the
arithmetic, are the cost. A numba loop does the whole expression in one pass, and LLVM turns
it into SIMD code when it is branch-free over contiguous rows.

Each kernel has a checked wrapper here: it verifies dtypes, shapes, contiguity and boxes
(the compiled loops do no bounds checks, so a wrong box would write outside the array) and
returns False when the kernel cannot run (numba missing, a view with gaps); the caller then
takes its OpenCV path, which stays the reference the tests hold the kernels to.

Compiled on first use and cached on disk (numba's cache: ``__pycache__`` beside this file,
or the user's cache folder when that is read-only): the first call after installing waits
about a second, later processes load the cache in ~0.1 s. ``BGREPLACE_NO_JIT=1`` turns the
kernels off (the OpenCV paths everywhere).

Threading: the kernels keep no state and release the GIL; the compile is numba's, locked.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]

numba: Any
try:
    if os.environ.get("BGREPLACE_NO_JIT", "").strip() not in ("", "0"):
        raise ImportError("disabled by BGREPLACE_NO_JIT")
    import numba
except Exception:  # missing, or broken against this numpy: the OpenCV paths still work
    numba = None

AVAILABLE = numba is not None
"""Whether the compiled kernels run (else every wrapper returns False)."""


def _jit(fn: Any) -> Any:
    if numba is None:
        return None
    return numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")(fn)


def _blend_box_py(
    frame: Any, alpha: Any, background: Any, out: Any, x0: int, y0: int, x1: int, y1: int
) -> None:
    # out = round((frame * a + background * (255 - a)) / 255), alpha 255, over the box.
    # (t + (t >> 8)) >> 8 with t = x + 128 is round(x / 255) for 0 <= x <= 255 * 255, and
    # never a tie (2x = 255 (2k + 1) has no integer solution): the exact blend, rounded.
    # Branch-free over contiguous row slices indexed from 0: LLVM vectorizes that form (and
    # not whole rows indexed from x0: five times slower).
    for y in range(y0, y1):
        a_row = alpha[y, x0:x1]
        f_row = frame[y, x0:x1].reshape(-1)
        b_row = background[y, x0:x1].reshape(-1)
        o_row = out[y, x0:x1].reshape(-1)
        for x in range(x1 - x0):
            a = np.uint32(a_row[x])
            na = np.uint32(255) - a
            for c in range(3):
                t = np.uint32(f_row[3 * x + c]) * a + np.uint32(b_row[3 * x + c]) * na + np.uint32(128)
                o_row[4 * x + c] = np.uint8((t + (t >> np.uint32(8))) >> np.uint32(8))
            o_row[4 * x + 3] = np.uint8(255)


_blend_box = _jit(_blend_box_py)


def _contiguous(*arrays: npt.NDArray[Any]) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


def blend_fits(frame: U8, alpha: U8, background: U8, out: U8) -> bool:
    """Whether :func:`blend_box` runs on these arrays (HxWx3, HxW, HxWx3, HxWx4 uint8, each
    C-contiguous) with the kernels available."""
    if _blend_box is None:
        return False
    h, w = frame.shape[:2]
    return bool(
        frame.dtype == alpha.dtype == background.dtype == out.dtype == np.uint8
        and frame.shape == (h, w, 3)
        and background.shape == (h, w, 3)
        and alpha.shape == (h, w)
        and out.shape == (h, w, 4)
        and _contiguous(frame, alpha, background, out)
    )


def blend_box(frame: U8, alpha: U8, background: U8, out: U8, box: tuple[int, int, int, int]) -> bool:
    """out[box] = ``frame`` over ``background`` with ``alpha``, the exact blend rounded,
    alpha channel 255, within ``box`` = (x0, y0, x1, y1) (clipped to the frame): every pixel
    of the box is written. False (nothing written) unless :func:`blend_fits`."""
    if not blend_fits(frame, alpha, background, out):
        return False
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 > x0 and y1 > y0:
        _blend_box(frame, alpha, background, out, x0, y0, x1, y1)
    return True


def warm() -> bool:
    """Compile (or load from the cache) every kernel now, on tiny arrays: ``./install`` calls
    it so that OBS's first frame does not wait for the compiler. False without numba."""
    if not AVAILABLE:
        return False
    frame = np.zeros((2, 2, 3), np.uint8)
    blend_box(frame, np.zeros((2, 2), np.uint8), frame, np.zeros((2, 2, 4), np.uint8), (0, 0, 2, 2))
    return True
