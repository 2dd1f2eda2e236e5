"""Fused per-pixel loops, compiled with numba (LLVM) where it is installed.

Why: an OpenCV call is one pass over its arrays, so an expression of six operations is six
passes, each reading and writing whole buffers; on frames that left the cache since the last
call (OBS renders, encodes and runs other sources in between) those passes, not the
arithmetic, are the cost. A numba loop does the whole expression in one pass, and LLVM turns
it into SIMD code when it is branch-free over contiguous rows.

Each kernel has a checked wrapper here (the compiled loops do no bounds checks, so a wrong
box would write outside the array): the composite's and the downscaler's return False on
arrays they cannot run on (a view with gaps: the caller's OpenCV path handles those), the
mask engine's raise ValueError (it passes its own buffers: a misfit is a bug). Every wrapper
returns False when the kernels are off; the caller then takes its OpenCV path, the same
operations, which the tests hold the kernels to.

Compiled on first use and cached on disk (numba's cache: ``__pycache__`` beside this file,
or the user's cache folder when that is read-only): compiling all of them takes seconds (10 s
on a shared two-core machine; ``./install`` does it, see :func:`warm`), later processes load
the cache in about 0.5 s there. Only a
failure to import numba or to compile a kernel switches them off for the process, logged
(``logging``, this module's name) with the exception type and reason, which :data:`failure`
keeps; an error while a compiled kernel runs raises. ``BGREPLACE_NO_JIT=1`` turns them off
(the OpenCV paths everywhere).

Why one module of about 1000 lines: every compiled loop sits beside its checked wrapper, and
the switch, the failure rule and the cache are in one place (as scikit-image keeps its hot
loops in one compiled module behind plain functions).

Threading: the kernels keep no state and release the GIL; the compile is numba's, locked.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]

_log = logging.getLogger(__name__)

numba: Any = None
failure: str | None = None
"""Why the kernels are off in this process when that was not asked for (numba missing or
broken, a kernel that cannot compile here), as ``"ExceptionType: first line"``; else None."""


def reason(exc: BaseException) -> str:
    """``"ExceptionType: first line"``: how this module and :mod:`bgobs.nogil` say why numba
    is off."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


if os.environ.get("BGREPLACE_NO_JIT", "").strip() in ("", "0"):
    try:
        import numba
    except Exception as exc:  # missing, or broken against this numpy: the OpenCV paths still work
        failure = reason(exc)
        _log.warning("compiled kernels off, the OpenCV paths run (slower): numba: %s", failure)

AVAILABLE = numba is not None
"""Whether numba is here to compile the kernels."""
enabled = AVAILABLE
"""Whether the wrappers run the kernels (else every one returns False): tests switch it off
to run the OpenCV paths in the same process."""


def njit_cached(fn: Any, **options: Any) -> Any:
    """``numba.njit(**options)(fn)`` with numba's disk cache, or without it where no cache
    folder is writable (then it compiles in every process); None without numba. Shared with
    :mod:`bgobs.nogil`, whose compiled read follows the same switch."""
    if numba is None:
        return None
    try:
        return numba.njit(cache=True, **options)(fn)
    except Exception:  # no writable cache folder anywhere: compile in every process instead
        return numba.njit(**options)(fn)


def _jit(fn: Any) -> Any:
    return njit_cached(fn, nogil=True, boundscheck=False, error_model="numpy")


_compiled: dict[int, Any] = {}  # the kernels compiled (or loaded) in this process, by id


def _run(kernel: Any, *args: Any) -> bool:
    """Call ``kernel``. Its first call in this process compiles it (or loads it from numba's
    cache); if that fails, every kernel is switched off for the process (logged once, with
    the exception type and reason, which :data:`failure` keeps) and this returns False: the
    callers then take their OpenCV paths, which recompute what it would have written. An
    error of a kernel that compiled is a bug, and raises."""
    global enabled, failure
    if id(kernel) in _compiled:
        kernel(*args)
        return True
    try:
        kernel(*args)
    except Exception as exc:
        if getattr(kernel, "signatures", None):  # it compiled: the error is its own
            raise
        # typing, lowering, LLVM, the cache: it cannot compile here
        enabled = False
        failure = reason(exc)
        _log.warning("compiled kernels off, the OpenCV paths run (slower): %s", failure)
        return False
    _compiled[id(kernel)] = kernel  # (kept: its id stays its own)
    return True


def _blend_box_py(
    frame: Any, alpha: Any, background: Any, out32: Any, x0: int, y0: int, x1: int, y1: int
) -> None:
    # out = round((frame * a + background * (255 - a)) / 255), alpha 255, over the box.
    # (t + (t >> 8)) >> 8 with t = x + 128 is round(x / 255) for 0 <= x <= 255 * 255, and
    # never a tie (2x = 255 (2k + 1) has no integer solution): the exact blend, rounded.
    # Branch-free over contiguous row slices indexed from 0: LLVM vectorizes that form (and
    # not whole rows indexed from x0: five times slower). Each BGRA pixel is one 32-bit
    # word of ``out32`` (little-endian: B in the low byte): one store a pixel instead of
    # four byte stores (0.22 -> 0.14 ms for a 320x720 box with the frame in cache).
    eight, opaque = np.uint32(8), np.uint32(0xFF000000)
    for y in range(y0, y1):
        a_row = alpha[y, x0:x1]
        f_row = frame[y, x0:x1].reshape(-1)
        b_row = background[y, x0:x1].reshape(-1)
        o_row = out32[y, x0:x1]
        for x in range(x1 - x0):
            a = np.uint32(a_row[x])
            na = np.uint32(255) - a
            t0 = np.uint32(f_row[3 * x]) * a + np.uint32(b_row[3 * x]) * na + np.uint32(128)
            t1 = np.uint32(f_row[3 * x + 1]) * a + np.uint32(b_row[3 * x + 1]) * na + np.uint32(128)
            t2 = np.uint32(f_row[3 * x + 2]) * a + np.uint32(b_row[3 * x + 2]) * na + np.uint32(128)
            b = (t0 + (t0 >> eight)) >> eight
            g = (t1 + (t1 >> eight)) >> eight
            r = (t2 + (t2 >> eight)) >> eight
            o_row[x] = b | (g << eight) | (r << np.uint32(16)) | opaque


_blend_box = _jit(_blend_box_py)


def _mix_py(p: Any, q: Any, a: Any) -> Any:
    # p over q (0x??RRGGBB words) with alpha a (uint32), opaque: _blend_box_py's exact blend
    # rounded, per channel
    e, ff, half = np.uint32(8), np.uint32(0xFF), np.uint32(128)
    na = np.uint32(255) - a
    t0 = (p & ff) * a + (q & ff) * na + half
    t1 = ((p >> e) & ff) * a + ((q >> e) & ff) * na + half
    t2 = ((p >> np.uint32(16)) & ff) * a + ((q >> np.uint32(16)) & ff) * na + half
    b, g, r = (t0 + (t0 >> e)) >> e, (t1 + (t1 >> e)) >> e, (t2 + (t2 >> e)) >> e
    return b | (g << e) | (r << np.uint32(16)) | np.uint32(0xFF000000)


# (inlined into the kernel at numba's level: as a call LLVM did not vectorize the loop)
_mix = njit_cached(_mix_py, nogil=True, boundscheck=False, error_model="numpy", inline="always")


def _blend_spans_py(
    f_words: Any, alpha: Any, b_words: Any, out32: Any, reach: Any, reach64: Any, fy: int, fx: int,
    was0: Any, was1: Any, now0: Any, now1: Any,
) -> None:
    # Per small row k (full rows k fy .. k fy + fy - 1): [now0, now1) = the small columns
    # from the first to the last where ``reach`` (the small alpha's 3x3 maximum: every
    # bilinear tap of a full pixel whose home is (k, c)) is not 0, times fx, widened to
    # whole groups of four pixels: blended; the rest of [was0, was1) (what the last call
    # drew) gets the background; every other pixel is left as it is (the background
    # already). Empty = (w, 0). ``reach64``: ``reach``'s rows as 64-bit words (its width
    # padded with zeros to a multiple of 8), scanned eight columns at a time.
    # The rows are read as 32-bit words, four BGR pixels in three (w0 = B0 G0 R0 B1, w1 =
    # G1 R1 B2 G2, w2 = R2 B3 G3 R3, little-endian): LLVM vectorizes that, where byte loads
    # of the three channels ran at a third of OpenCV's BGR->BGRA speed. The blend is
    # _blend_box_py's, the exact blend rounded, per channel on the words' bytes.
    sh = reach.shape[0]
    w = alpha.shape[1]
    zero = np.uint64(0)
    e, s16, s24, op = np.uint32(8), np.uint32(16), np.uint32(24), np.uint32(0xFF000000)
    for k in range(sh):
        words, row = reach64[k], reach[k]
        first, end = 0, 0
        for i in range(words.shape[0]):
            if words[i] != zero:
                first = 8 * i
                while row[first] == 0:
                    first += 1
                break
        for i in range(words.shape[0] - 1, -1, -1):
            if words[i] != zero:
                end = 8 * i + 8
                while row[end - 1] == 0:
                    end -= 1
                break
        x0, x1 = w, 0
        if end > first:
            x0, x1 = (first * fx) & ~3, min(w, (end * fx + 3) & ~3)
        for y in range(k * fy, (k + 1) * fy):
            now0[y], now1[y] = x0, x1
            u0, u1 = min(x0, was0[y]), max(x1, was1[y])
            if u1 <= u0:
                continue
            b_row, o_row = b_words[y], out32[y]
            s0, s1 = (x0, x1) if x1 > x0 else (u1, u1)  # (nobody on this row now: all of it)
            for part in range(2):  # the background over [u0, s0) and [s1, u1)
                g0, g1 = (u0, s0) if part == 0 else (s1, u1)
                if g1 <= g0:
                    continue
                bw = b_row[3 * (g0 >> 2) : 3 * (g1 >> 2)]
                o = o_row[g0:g1]
                for g in range((g1 - g0) >> 2):
                    b0, b1, b2 = bw[3 * g], bw[3 * g + 1], bw[3 * g + 2]
                    o[4 * g] = b0 | op
                    o[4 * g + 1] = (b0 >> s24) | (b1 << e) | op
                    o[4 * g + 2] = (b1 >> s16) | (b2 << s16) | op
                    o[4 * g + 3] = (b2 >> e) | op
            if x1 <= x0:
                continue
            fw = f_words[y, 3 * (x0 >> 2) : 3 * (x1 >> 2)]
            bw = b_row[3 * (x0 >> 2) : 3 * (x1 >> 2)]
            a_row = alpha[y, x0:x1]
            o = o_row[x0:x1]
            for g in range((x1 - x0) >> 2):
                f0, f1, f2 = fw[3 * g], fw[3 * g + 1], fw[3 * g + 2]
                b0, b1, b2 = bw[3 * g], bw[3 * g + 1], bw[3 * g + 2]
                a0, a1 = np.uint32(a_row[4 * g]), np.uint32(a_row[4 * g + 1])
                a2, a3 = np.uint32(a_row[4 * g + 2]), np.uint32(a_row[4 * g + 3])
                o[4 * g] = _mix(f0, b0, a0)
                o[4 * g + 1] = _mix((f0 >> s24) | (f1 << e), (b0 >> s24) | (b1 << e), a1)
                o[4 * g + 2] = _mix((f1 >> s16) | (f2 << s16), (b1 >> s16) | (b2 << s16), a2)
                o[4 * g + 3] = _mix(f2 >> e, b2 >> e, a3)


_blend_spans = _jit(_blend_spans_py)


def _set_alpha_py(out32: Any, alpha: Any) -> None:
    # the alpha byte of each BGRA pixel, as a masked 32-bit write (contiguous: it vectorizes,
    # where OpenCV's mixChannels copies byte by byte)
    keep, shift = np.uint32(0x00FFFFFF), np.uint32(24)
    for y in range(alpha.shape[0]):
        o_row, a_row = out32[y], alpha[y]
        for x in range(alpha.shape[1]):
            o_row[x] = (o_row[x] & keep) | (np.uint32(a_row[x]) << shift)


_set_alpha = _jit(_set_alpha_py)


def set_alpha(out: U8, alpha: U8) -> bool:
    """The alpha channel of ``out`` (HxWx4 uint8) = ``alpha`` (HxW uint8); the colours stay.
    False (nothing written) when the kernel cannot run (or the machine is big-endian)."""
    if sys.byteorder != "little" or not _arrays_fit((out, alpha), "u4 u1"):
        return False
    h, w = alpha.shape
    return _run(_set_alpha, out.view(np.uint32).reshape(h, w), alpha)


def _quarter_py(src: Any, dst: Any, half: Any) -> None:
    # Two successive exact 2x2 averages, each rounded ((a + b + c + d + 2) >> 2, OpenCV's
    # INTER_AREA halving): the same bits as two halvings, with one read of the frame. The
    # source rows are read one after the other, each once from start to end (the pairs of
    # a row summed into ``half``, the next row's added and rounded): reading two rows at a
    # time took 0.30 ms at 720p against 0.21 (the frame comes from memory, not the cache).
    # The three channels are written out: as a loop over them it measured 0.21-0.27 ms.
    h, w = dst.shape[0], dst.shape[1]
    two = np.uint16(2)
    for oy in range(h):
        for k in range(2):
            row = half[k]
            r0 = src[4 * oy + 2 * k, 0 : 4 * w].reshape(-1)
            for hx in range(2 * w):
                i = 6 * hx
                row[3 * hx] = np.uint16(r0[i]) + np.uint16(r0[i + 3])
                row[3 * hx + 1] = np.uint16(r0[i + 1]) + np.uint16(r0[i + 4])
                row[3 * hx + 2] = np.uint16(r0[i + 2]) + np.uint16(r0[i + 5])
            r1 = src[4 * oy + 2 * k + 1, 0 : 4 * w].reshape(-1)
            for hx in range(2 * w):
                i = 6 * hx
                row[3 * hx] = (row[3 * hx] + np.uint16(r1[i]) + np.uint16(r1[i + 3]) + two) >> two
                row[3 * hx + 1] = (row[3 * hx + 1] + np.uint16(r1[i + 1]) + np.uint16(r1[i + 4]) + two) >> two
                row[3 * hx + 2] = (row[3 * hx + 2] + np.uint16(r1[i + 2]) + np.uint16(r1[i + 5]) + two) >> two
        out, h0, h1 = dst[oy].reshape(-1), half[0], half[1]
        for ox in range(w):
            for c in range(3):
                i = 6 * ox + c
                out[3 * ox + c] = np.uint8((h0[i] + h0[i + 3] + h1[i] + h1[i + 3] + two) >> two)


_quarter = _jit(_quarter_py)


def quarter(src: U8, dst: U8, half: U16) -> bool:
    """dst (HxWx3) = ``src`` (4Hx4Wx3) halved twice by exact rounded 2x2 averages (OpenCV's
    INTER_AREA halving, twice: the same bits) in one pass; ``half`` is a (2, 6W) uint16
    scratch. False (nothing written) when the kernel cannot run."""
    if not enabled:
        return False
    h, w = dst.shape[:2]
    if not (
        src.dtype == dst.dtype == np.uint8
        and src.shape == (4 * h, 4 * w, 3)
        and dst.shape == (h, w, 3)
        and half.shape == (2, 6 * w)
        and half.dtype == np.uint16
        and _contiguous(src, dst, half)
    ):
        return False
    return _run(_quarter, src, dst, half)


def _contiguous(*arrays: npt.NDArray[Any]) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


_DTYPES: dict[str, np.dtype[Any]] = {
    "u": np.dtype(np.uint8), "w": np.dtype(np.uint16), "f": np.dtype(np.float32)
}
_SPECS: dict[str, tuple[tuple[np.dtype[Any], int], ...]] = {}  # a spec's tokens, parsed once


def _parsed(spec: str) -> tuple[tuple[np.dtype[Any], int], ...]:
    tokens = _SPECS.get(spec)
    if tokens is None:
        tokens = _SPECS[spec] = tuple((_DTYPES[t[0]], int(t[1:])) for t in spec.split())
    return tokens


def _arrays_fit(arrays: tuple[npt.NDArray[Any], ...], spec: str, *, check_enabled: bool = True) -> bool:
    """Whether the kernels are on (unless not ``check_enabled``) and every array is
    C-contiguous, of one H x W (the first array's), with the dtype and channels its ``spec``
    token says: u = uint8, w = uint16, f = float32, then 1 (HxW) or the channel count
    (HxWxC), e.g. ``"u3 f1 u4"``.

    Called before every kernel, so written for speed (about 0.3 us an array: the plain form
    took 13 us for 11 arrays, 10 calls a frame): the spec parsed once, the dtype compared by
    identity first (numpy's built-in dtypes are singletons; ``==`` is the fallback)."""
    if check_enabled and not enabled:
        return False
    tokens = _parsed(spec)
    if len(tokens) != len(arrays):
        raise ValueError(f"{len(arrays)} arrays for the {len(tokens)} of {spec!r}")
    plane = arrays[0].shape[:2]
    shapes = {1: plane}
    for a, (dtype, channels) in zip(arrays, tokens, strict=True):
        shape = shapes.get(channels)
        if shape is None:
            shape = shapes[channels] = (*plane, channels)
        if a.shape != shape or (a.dtype is not dtype and a.dtype != dtype) or not a.flags.c_contiguous:
            return False
    return True


def blend_fits(frame: U8, alpha: U8, background: U8, out: U8) -> bool:
    """Whether :func:`blend_box` runs on these arrays (HxWx3, HxW, HxWx3, HxWx4 uint8, each
    C-contiguous) with the kernels available."""
    return sys.byteorder == "little" and _arrays_fit((frame, alpha, background, out), "u3 u1 u3 u4")


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
        return _run(_blend_box, frame, alpha, background, out.view(np.uint32).reshape(h, w), x0, y0, x1, y1)
    return True


def blend_spans(
    frame: U8, alpha: U8, background: U8, out: U8, reach: U8, small_width: int,
    was: npt.NDArray[np.int32], now: npt.NDArray[np.int32],
) -> bool:
    """:func:`blend_box` row by row over where the person is and was. ``alpha`` is the
    bilinear upscale (a whole factor per axis) of a working-size alpha, ``small_width``
    wide, whose 3x3 maximum (``cv2.dilate`` 3x3: the taps of each full pixel) is the first
    ``small_width`` columns of ``reach``, a uint8 plane padded with zeros to a multiple of 8
    columns (scanned eight at a time); alpha is read only within one small pixel of its
    non-zero pixels, widened to whole groups of four full pixels. ``was`` (2 x H int32:
    each row's first and end column, empty = (W, 0)) is where the last call drew, ``now``
    gets where this one draws. Each row gets the blend over its ``now`` span and the
    background over the rest of its ``was`` span; every other pixel of ``out`` is left as
    it is (it must hold the background). False (nothing written) unless
    :func:`blend_fits`, the factors are whole and W is a multiple of 4 (each row is read
    as 32-bit words, four pixels in three)."""
    h, w = frame.shape[:2]
    sh, sw = reach.shape[0], small_width
    if (
        sys.byteorder != "little" or not blend_fits(frame, alpha, background, out)
        or sh == 0 or sw <= 0 or h % sh or w % sw or w % 4
    ):
        return False
    if (
        reach.dtype != np.uint8 or reach.ndim != 2 or reach.shape[1] % 8
        or not 0 <= reach.shape[1] - sw < 8 or not reach.flags.c_contiguous
    ):
        raise ValueError(
            f"kernels.blend_spans: reach must be a C-contiguous uint8 plane {sw} columns wide padded"
            f" to a multiple of 8, not {reach.dtype} {reach.shape}"
        )
    for spans in (was, now):
        if spans.shape != (2, h) or spans.dtype != np.int32 or not spans.flags.c_contiguous:
            raise ValueError(
                f"kernels.blend_spans: spans must be int32 (2, {h}), not {spans.dtype} {spans.shape}"
            )
    f_words, b_words = frame.reshape(h, -1).view(np.uint32), background.reshape(h, -1).view(np.uint32)
    if not (f_words.flags.aligned and b_words.flags.aligned):
        return False  # (another kind of array for numba: warm() compiled the aligned ones)
    return _run(
        _blend_spans, f_words, alpha, b_words, out.view(np.uint32).reshape(h, w), reach,
        reach.view(np.uint64), h // sh, w // sw, was[0], was[1], now[0], now[1],
    )


# -- the mask engine's kernels (bgcore.engine) ---------------------------------------------------
# Each computes the same float32 operations in the same order as the OpenCV passes of its
# stage (the stage's other path, for machines without numba): the same score and masks (the
# light tests' luma ratio within a few ulp: OpenCV's transform rounds its sum its own way).
# Their wrappers raise ValueError on arrays that do not fit (the engine passes its own
# buffers: a misfit is a bug) and return False only when the kernels are off.


def _score_py(
    frame: Any, mid: Any, width: Any, local_max: Any, local_min: Any, noise_range: Any, noise_var: Any,
    f_scale: float, scale: float, low: float, high: float, prev: Any, use_prev: bool,
    score: Any, weak: Any, strong: Any, row: Any,
) -> None:
    # The engine's score (see engine.score) in one pass, in float32 on integers (exact:
    # d^2 < 2^24), in the same order of operations as its OpenCV path: the same bits.
    h, w = score.shape
    f_scale32, scale32 = np.float32(f_scale), np.float32(scale)
    low32, high32 = np.float32(low), np.float32(high)
    zero = np.float32(0.0)
    keep = np.uint8(255) if use_prev else np.uint8(0)
    for y in range(h):
        f_row = frame[y].reshape(-1)
        m_row = mid[y].reshape(-1)
        w_row = width[y].reshape(-1)
        h_row = local_max[y].reshape(-1)
        l_row = local_min[y].reshape(-1)
        n_row = noise_range[y].reshape(-1)
        v_row = noise_var[y].reshape(-1)
        for i in range(3 * w):  # per channel value: flat, so that it vectorizes
            d = abs(np.float32(f_row[i]) * f_scale32 - np.float32(m_row[i])) - np.float32(w_row[i])
            d = max(d, zero)
            e = np.float32(h_row[i]) - np.float32(l_row[i]) - np.float32(n_row[i])
            e = max(e, zero)
            row[i] = d * d * scale32 / (v_row[i] + e * e)
        sc = score[y]
        for x in range(w):
            sc[x] = row[3 * x] + row[3 * x + 1] + row[3 * x + 2]
        wk, st, pv = weak[y], strong[y], prev[y]
        for x in range(w):
            a = sc[x]
            is_weak = np.uint8(255) * np.uint8(a > low32)
            wk[x] = is_weak
            st[x] = (np.uint8(255) * np.uint8(a > high32)) | (is_weak & pv[x] & keep)


_score = _jit(_score_py)


def _light_candidates_py(
    frame: Any, expected: Any, light_bar: Any, weights: Any, lo_r: float, hi_r: float,
    y_f: Any, y_e: Any, r: Any, candidates: Any, x0: int, y0: int, x1: int, y1: int,
) -> None:
    w0, w1, w2 = weights[0], weights[1], weights[2]
    lo32, hi32, one = np.float32(lo_r), np.float32(hi_r), np.float32(1.0)
    for y in range(y0, y1):
        f_row = frame[y, x0:x1].reshape(-1)
        e_row = expected[y, x0:x1].reshape(-1)
        lb_row, yf_row, ye_row = light_bar[y, x0:x1], y_f[y, x0:x1], y_e[y, x0:x1]
        r_row, c_row = r[y, x0:x1], candidates[y, x0:x1]
        for x in range(x1 - x0):
            b, g, rr = np.float32(f_row[3 * x]), np.float32(f_row[3 * x + 1]), np.float32(f_row[3 * x + 2])
            yf = b * w0 + g * w1 + rr * w2
            ye = max(e_row[3 * x] * w0 + e_row[3 * x + 1] * w1 + e_row[3 * x + 2] * w2, one)
            ratio = yf / ye
            yf_row[x], ye_row[x], r_row[x] = yf, ye, ratio
            hit = (ratio >= lo32) & (ratio <= hi32) & (abs(ye - yf) > lb_row[x])
            c_row[x] = np.uint8(255) * np.uint8(hit)


_light_candidates = _jit(_light_candidates_py)


def _colour_kept_py(
    frame: Any, expected: Any, r: Any, sigma: Any, z_limit: float, ratio_floor: float, tone: float,
    level: float, consistent: Any, r_floor: Any, x0: int, y0: int, x1: int, y1: int,
) -> None:
    z32, floor32, third = np.float32(z_limit), np.float32(ratio_floor), np.float32(1.0 / 3.0)
    tone32, level32 = np.float32(tone), np.float32(level)
    for y in range(y0, y1):
        f_row = frame[y, x0:x1].reshape(-1)
        e_row = expected[y, x0:x1].reshape(-1)
        g_row = sigma[y, x0:x1].reshape(-1)
        r_row, k_row, rf_row = r[y, x0:x1], consistent[y, x0:x1], r_floor[y, x0:x1]
        for x in range(x1 - x0):
            ratio = r_row[x]
            rc = max(ratio, floor32)
            acc = np.float32(0.0)
            for c in range(3):
                e = e_row[3 * x + c]
                tolerance = rc * g_row[3 * x + c] + e * tone32 + level32
                z = (np.float32(f_row[3 * x + c]) - e * ratio) / tolerance
                acc += z * z
            rf_row[x] = rc
            k_row[x] = np.uint8(255) * np.uint8(acc * third < z32)


_colour_kept = _jit(_colour_kept_py)


def _texture_weights_py(
    consistent: Any, r: Any, y_f: Any, y_p: Any, detail: bool, sums9: Any, x0: int, y0: int, x1: int,
    y1: int,
) -> None:
    # sums9 = (weight, r x weight, y_f x weight, y_p x weight) per pixel, interleaved (one
    # 4-channel box filter then sums all four: OpenCV filters each channel with the same
    # float64 steps, so the bits are those of four single-plane filters, at 0.45x the cost);
    # weight = consistent (0 or 255) as float; without ``detail`` the lumas' are 0
    zero = np.float32(0.0)
    for y in range(y0, y1):
        k_row, r_row, yf_row, yp_row = consistent[y, x0:x1], r[y, x0:x1], y_f[y, x0:x1], y_p[y, x0:x1]
        out = sums9[y, x0:x1]
        for x in range(x1 - x0):
            w = np.float32(k_row[x])
            out[x, 0] = w
            out[x, 1] = r_row[x] * w
            out[x, 2] = yf_row[x] * w if detail else zero
            out[x, 3] = yp_row[x] * w if detail else zero


_texture_weights = _jit(_texture_weights_py)


def _texture_detail_py(
    r: Any, y_f: Any, y_p: Any, sums9: Any, means9: Any, w_min: float, detail: bool, weight9: Any,
    ratio_mean: Any, sums7: Any, plate_energy_w: Any, x0: int, y0: int, x1: int, y1: int,
) -> None:
    # from the 9x9 means of sums9 (means9): weight9 = max(the weights' mean, w_min),
    # ratio_mean = the weighted ratio's mean; sums7 = (weight, (r - mean)^2 x weight, fd pd
    # weight, fd^2 weight) and plate_energy_w = pd^2 weight, with fd = y_f - its weighted mean,
    # pd = y_p - its (with ``detail``; else 0)
    w_min32, zero = np.float32(w_min), np.float32(0.0)
    for y in range(y0, y1):
        r_row, yf_row, yp_row = r[y, x0:x1], y_f[y, x0:x1], y_p[y, x0:x1]
        s_row, m_row, out = sums9[y, x0:x1], means9[y, x0:x1], sums7[y, x0:x1]
        w9_row, rm_row, pe_row = weight9[y, x0:x1], ratio_mean[y, x0:x1], plate_energy_w[y, x0:x1]
        for x in range(x1 - x0):
            w = s_row[x, 0]
            w9 = m_row[x, 0]
            w9 = w9 if w9 > w_min32 else w_min32
            w9_row[x] = w9
            rm_row[x] = m_row[x, 1]
            d = r_row[x] - m_row[x, 1] / w9
            out[x, 0] = w
            out[x, 1] = d * d * w
            if detail:
                fd = yf_row[x] - m_row[x, 2] / w9
                pd = yp_row[x] - m_row[x, 3] / w9
                out[x, 2] = fd * pd * w
                out[x, 3] = fd * fd * w
                pe_row[x] = pd * pd * w
            else:
                out[x, 2] = zero
                out[x, 3] = zero


_texture_detail = _jit(_texture_detail_py)


def _texture_tests_py(
    means7: Any, w_min: float, r_floor: Any, sigma_luma: Any, y_e: Any, noise: float, floor: float,
    ringing: Any, detail: bool, plate_energy: Any, verify_var: Any, ncc2: float, weight7: Any,
    ratio_energy: Any, consistent: Any, textured: Any, x0: int, y0: int, x1: int, y1: int,
) -> None:
    # from the 7x7 means of sums7 (means7) and of plate_energy_w (plate_energy): weight7 =
    # max(the weights' mean, w_min), ratio_energy = the ratio's weighted energy; the energy
    # test, then with ``detail`` the correlation test where verifiable (see
    # engine.light._texture, the same operations in the same order)
    floor32, noise32, ncc32, zero = np.float32(floor), np.float32(noise), np.float32(ncc2), np.float32(0.0)
    w_min32 = np.float32(w_min)
    for y in range(y0, y1):
        m_row, w7_row, en_row = means7[y, x0:x1], weight7[y, x0:x1], ratio_energy[y, x0:x1]
        rf_row, sl_row = r_floor[y, x0:x1], sigma_luma[y, x0:x1]
        ye_row, k_row, v_row = y_e[y, x0:x1], consistent[y, x0:x1], textured[y, x0:x1]
        pe_row, vv_row, rv_row = plate_energy[y, x0:x1], verify_var[y, x0:x1], ringing[y, x0:x1]
        for x in range(x1 - x0):
            w7 = m_row[x, 0]
            w7 = w7 if w7 > w_min32 else w_min32
            energy = m_row[x, 1]
            w7_row[x] = w7
            en_row[x] = energy
            t = rf_row[x] * sl_row[x] * noise32 / ye_row[x] + floor32
            k = k_row[x] & (np.uint8(255) * np.uint8(energy / w7 < t * t + rv_row[x]))
            if detail:
                verifiable = pe_row[x] > vv_row[x] * w7
                cov = m_row[x, 2]
                correlated = (cov * cov > m_row[x, 3] * pe_row[x] * ncc32) & (cov > zero)
                k = k & (np.uint8(255) * np.uint8(correlated | (not verifiable)))
                v_row[x] = np.uint8(255) * np.uint8(correlated & verifiable)
            else:
                v_row[x] = np.uint8(0)
            k_row[x] = k


_texture_tests = _jit(_texture_tests_py)


def _pooled_colour_sums_py(
    frame: Any, expected: Any, r: Any, consistent: Any, sums: Any, x0: int, y0: int, x1: int, y1: int
) -> None:
    # sums = (the colour residual f - r e per channel, times w; w), w = 1 where consistent,
    # else 0: the input of one 4-channel box mean (engine.light's pooled colour test); zeros
    # written as such where w = 0 (half the time of multiplying them out)
    one, zero = np.float32(1.0), np.float32(0.0)
    for y in range(y0, y1):
        f_row = frame[y, x0:x1].reshape(-1)
        e_row = expected[y, x0:x1].reshape(-1)
        r_row, k_row, out = r[y, x0:x1], consistent[y, x0:x1], sums[y, x0:x1].reshape(-1)
        for x in range(x1 - x0):
            if k_row[x] != 0:
                ratio = r_row[x]
                out[4 * x] = np.float32(f_row[3 * x]) - e_row[3 * x] * ratio
                out[4 * x + 1] = np.float32(f_row[3 * x + 1]) - e_row[3 * x + 1] * ratio
                out[4 * x + 2] = np.float32(f_row[3 * x + 2]) - e_row[3 * x + 2] * ratio
                out[4 * x + 3] = one
            else:
                out[4 * x] = zero
                out[4 * x + 1] = zero
                out[4 * x + 2] = zero
                out[4 * x + 3] = zero


_pooled_colour_sums = _jit(_pooled_colour_sums_py)


def _pooled_colour_test_py(
    means: Any, expected: Any, sigma: Any, r_floor: Any, area: float, z_limit: float, tone: float,
    level: float, consistent: Any, x0: int, y0: int, x1: int, y1: int,
) -> None:
    # consistent = 0 where the window's mean residual fails the colour test's bar for a mean
    # of n pixels (engine.light's pooled colour test, the same operations in the same order)
    area32, z32, third = np.float32(area), np.float32(z_limit), np.float32(1.0 / 3.0)
    tone32, level32, one = np.float32(tone), np.float32(level), np.float32(1.0)
    for y in range(y0, y1):
        m_row, e_row = means[y, x0:x1], expected[y, x0:x1].reshape(-1)
        g_row, rf_row, k_row = sigma[y, x0:x1].reshape(-1), r_floor[y, x0:x1], consistent[y, x0:x1]
        for x in range(x1 - x0):
            if k_row[x] == 0:
                continue
            n = m_row[x, 3] * area32
            n = n if n > one else one
            root = np.sqrt(n)
            rf = rf_row[x]
            acc = np.float32(0.0)
            for c in range(3):
                mean = m_row[x, c] * area32 / n
                tolerance = g_row[3 * x + c] * rf / root + e_row[3 * x + c] * tone32 + level32
                z = mean / tolerance
                acc += z * z
            if not acc * third < z32:
                k_row[x] = np.uint8(0)


_pooled_colour_test = _jit(_pooled_colour_test_py)


def _reflect_101(p: int, n: int) -> int:
    # OpenCV's borderInterpolate for BORDER_REFLECT_101 (repeated for a box narrower than
    # the filter's reach)
    if n == 1:
        return 0
    while p < 0 or p >= n:
        p = -p if p < 0 else 2 * n - 2 - p
    return p


_reflect = _jit(_reflect_101)


def _box_mean_py(src: Any, dst: Any, k: int, x0: int, y0: int, x1: int, y1: int, rows: Any, ext: Any) -> None:
    # dst[box] = cv2.blur(src[box], (k, k)) on float32, bit for bit: OpenCV's float box filter
    # with BORDER_REFLECT_101 at the box's edges (cv2 sees a view's edges as its image's).
    # Each extended row is summed in float64 (k = 3 or 5: the terms in order; else the first
    # k, then s += (S[i + k] - S[i])), then the columns in float64: a running sum of the
    # first k - 1 rows, and per output row s = sum + the newest row, out = float32(s x
    # (1 / k^2)), sum = s - the oldest. rows: float64 (>= h + k - 1, >= w), ext: float64
    # (>= w + k - 1), both scratch; src and dst must not overlap.
    h, w = y1 - y0, x1 - x0
    a = k // 2
    scale = 1.0 / (k * k)
    for t in range(h + k - 1):
        src_row = src[y0 + _reflect(t - a, h), x0:x1]
        for i in range(a):
            ext[i] = np.float64(src_row[_reflect(i - a, w)])
            ext[a + w + i] = np.float64(src_row[_reflect(w + i, w)])
        for i in range(w):
            ext[a + i] = np.float64(src_row[i])
        sums = rows[t, 0:w]
        if k == 3:
            for i in range(w):
                sums[i] = ext[i] + ext[i + 1] + ext[i + 2]
        elif k == 5:
            for i in range(w):
                sums[i] = ext[i] + ext[i + 1] + ext[i + 2] + ext[i + 3] + ext[i + 4]
        else:
            total = 0.0
            for i in range(k):
                total += ext[i]
            sums[0] = total
            for i in range(w - 1):
                total += ext[i + k] - ext[i]
                sums[i + 1] = total
    running = ext[0:w]  # (the row buffer is free now)
    for i in range(w):
        running[i] = 0.0
    for t in range(k - 1):
        sums = rows[t, 0:w]
        for i in range(w):
            running[i] += sums[i]
    for y in range(h):
        newest, oldest = rows[y + k - 1, 0:w], rows[y, 0:w]
        out = dst[y0 + y, x0:x1]
        for i in range(w):
            total = running[i] + newest[i]
            out[i] = np.float32(total * scale)
            running[i] = total - oldest[i]


_box_mean = _jit(_box_mean_py)


def _finest_ramps_py(
    r: Any, r_floor: Any, sigma_luma: Any, y_e: Any, energy_w: Any, weight7: Any, textured: Any,
    edge_floor: Any, plate_edges: Any, measurable: Any, use_measurable: bool, noise: float, floor: float,
    share: float, ringing: Any, smooth: Any, ramp: Any, open_edge: Any, squares: Any, finest_energy: Any,
    rows: Any, ext: Any, x0: int, y0: int, x1: int, y1: int,
) -> None:
    # engine.light's _finest then _ramps (the same operations in the same order): the ratio
    # minus its 3x3 mean, squared, its 3x3 mean (finest_energy) below the fine detail's bar
    # (smooth); a ramp where that is also below share x the 7x7 weighted energy; an open edge
    # where a ramp is brighter, textured, or the light moved off the plate's edge of light
    _box_mean(r, squares, 3, x0, y0, x1, y1, rows, ext)
    for y in range(y0, y1):
        r_row, sq_row = r[y, x0:x1], squares[y, x0:x1]
        for x in range(x1 - x0):
            d = r_row[x] - sq_row[x]
            sq_row[x] = d * d
    _box_mean(squares, finest_energy, 3, x0, y0, x1, y1, rows, ext)
    noise32, floor32, share32, one = np.float32(noise), np.float32(floor), np.float32(share), np.float32(1.0)
    full = np.uint8(255)
    for y in range(y0, y1):
        r_row, rf_row, sl_row, ye_row = r[y, x0:x1], r_floor[y, x0:x1], sigma_luma[y, x0:x1], y_e[y, x0:x1]
        fe_row, en_row, w7_row = finest_energy[y, x0:x1], energy_w[y, x0:x1], weight7[y, x0:x1]
        tx_row, ef_row, pe_row = textured[y, x0:x1], edge_floor[y, x0:x1], plate_edges[y, x0:x1]
        ms_row, rv_row = measurable[y, x0:x1], ringing[y, x0:x1]
        sm_row, rp_row, oe_row = smooth[y, x0:x1], ramp[y, x0:x1], open_edge[y, x0:x1]
        for x in range(x1 - x0):
            t = rf_row[x] * sl_row[x] * noise32 / ye_row[x] + floor32
            fine = fe_row[x]
            is_smooth = fine < t * t + rv_row[x]
            is_ramp = (fine < en_row[x] * share32 / w7_row[x]) & is_smooth
            ratio = r_row[x]
            gone = (ratio >= ef_row[x]) & (pe_row[x] != 0)
            is_open = ((ratio > one) | (tx_row[x] != 0) | gone) & is_ramp
            if use_measurable:
                is_open = is_open & (ms_row[x] != 0)
            sm_row[x] = full * np.uint8(is_smooth)
            rp_row[x] = full * np.uint8(is_ramp)
            oe_row[x] = full * np.uint8(is_open)


_finest_ramps = _jit(_finest_ramps_py)


def _add_core_py(frame: Any, core: Any, linear: Any, v: int, u: int, sign: int, sums: Any) -> Any:
    # _edge_unmix_py's window sums (n, S linear x3, L levels x3) with the pixel (v, u) added
    # (``sign`` 1) or taken out (-1) where it is a core pixel
    if core[v, u] == 0:
        return sums
    n, s0, s1, s2, l0, l1, l2 = sums
    f0, f1, f2 = frame[v, u, 0], frame[v, u, 1], frame[v, u, 2]
    return (
        n + sign, s0 + sign * linear[f0], s1 + sign * linear[f1], s2 + sign * linear[f2],
        l0 + sign * f0, l1 + sign * f1, l2 + sign * f2,
    )


_add_core = _jit(_add_core_py)


def _edge_unmix_py(
    frame: Any, expected: Any, core: Any, band: Any, lit: Any, mask: Any, linear: Any, contrast2: int,
    half: int, x0: int, y0: int, x1: int, y1: int,
) -> None:
    # bgcore.engine.edges: per band pixel, the core pixels' sums over the window (clipped to
    # the box) as integers: n, S (linear), L (levels); gate sum((L - n e)^2) >= n^2 c^2;
    # coverage 2 n sum((f - r) (S - n r)) >= sum((S - n r)^2), all int64 (exact). Along a
    # run of band pixels in a row the window slides: one column joins and one leaves a step
    # (the band runs 3-4 pixels on average: half the reads of a window each, 0.17 -> 0.08 ms).
    c2 = np.int64(contrast2)
    one = np.int64(1)
    for y in range(y0, y1):
        va, vb = max(y - half, y0), min(y + half + 1, y1)
        b_row = band[y]
        x = x0
        while x < x1:
            if b_row[x] == 0:
                x += 1
                continue
            # a run of band pixels starts at x: its first window summed whole
            zero = np.int64(0)
            sums = (zero, zero, zero, zero, zero, zero, zero)
            for v in range(va, vb):
                for u in range(max(x - half, x0), min(x + half + 1, x1)):
                    sums = _add_core(frame, core, linear, v, u, one, sums)
            while True:
                n, s0, s1, s2, l0, l1, l2 = sums
                if lit[y, x] == 0 and n != 0:
                    # the expected background in whole levels, rounded half to even (as OpenCV rounds)
                    e0 = np.int64(min(max(np.rint(expected[y, x, 0]), 0.0), 255.0))
                    e1 = np.int64(min(max(np.rint(expected[y, x, 1]), 0.0), 255.0))
                    e2 = np.int64(min(max(np.rint(expected[y, x, 2]), 0.0), 255.0))
                    g0, g1, g2 = l0 - n * e0, l1 - n * e1, l2 - n * e2
                    if g0 * g0 + g1 * g1 + g2 * g2 >= n * n * c2:
                        r0, r1, r2 = np.int64(linear[e0]), np.int64(linear[e1]), np.int64(linear[e2])
                        d0, d1, d2 = s0 - n * r0, s1 - n * r1, s2 - n * r2
                        q0 = np.int64(linear[frame[y, x, 0]]) - r0
                        q1 = np.int64(linear[frame[y, x, 1]]) - r1
                        q2 = np.int64(linear[frame[y, x, 2]]) - r2
                        covered = 2 * n * (q0 * d0 + q1 * d1 + q2 * d2) >= d0 * d0 + d1 * d1 + d2 * d2
                        if mask[y, x] != 0:
                            if not covered:
                                mask[y, x] = 0
                        elif covered:
                            mask[y, x] = 255
                x += 1
                if x >= x1 or b_row[x] == 0:
                    break
                # the window slides: column x + half joins (when in the box), x - 1 - half leaves
                ui, uo = x + half, x - 1 - half
                for v in range(va, vb):
                    if ui < x1:
                        sums = _add_core(frame, core, linear, v, ui, one, sums)
                    if uo >= x0:
                        sums = _add_core(frame, core, linear, v, uo, -one, sums)
            x += 1  # (x is off the band here)


_edge_unmix = _jit(_edge_unmix_py)


def edge_unmix(
    frame: U8, expected: F32, core: U8, band: U8, lit: U8, mask: U8, linear: npt.NDArray[np.int32],
    contrast2: int, half: int, *, box: tuple[slice, slice],
) -> bool:
    """Within ``box``: :mod:`bgcore.engine.edges`'s decision for each ``band`` pixel of
    ``mask`` that is not ``lit`` (in place), from ``core``'s pixels within ``half`` of it (and
    in the box), the expected background rounded to whole levels, ``linear`` the sRGB ->
    linear table (int32[256]). False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    _check("edge_unmix", (frame, expected, core, band, lit, mask), "u3 f3 u1 u1 u1 u1")
    if linear.shape != (256,) or linear.dtype != np.int32:
        raise ValueError(f"kernels.edge_unmix: linear must be int32[256], got {_describe(linear)}")
    return _run(
        _edge_unmix, frame, expected, core, band, lit, mask, linear, contrast2, half,
        *_box("edge_unmix", box, frame.shape),
    )


def _check(name: str, arrays: tuple[npt.NDArray[Any], ...], spec: str) -> None:
    """ValueError unless every array fits ``spec`` (see :func:`_arrays_fit`)."""
    if not _arrays_fit(arrays, spec, check_enabled=False):
        got = ", ".join(_describe(a) for a in arrays)
        raise ValueError(f"kernels.{name}: arrays must be {spec} (C-contiguous, one HxW), got {got}")


def _describe(a: npt.NDArray[Any]) -> str:
    return f"{a.dtype}{list(a.shape)}{'' if a.flags.c_contiguous else ' (with gaps)'}"


def _box(name: str, box: tuple[slice, slice], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The box (rows, columns; no step) as (x0, y0, x1, y1) within ``shape``."""
    ys, xs = box
    if ys.step not in (None, 1) or xs.step not in (None, 1):
        raise ValueError(f"kernels.{name}: the box must be plain slices, got {box}")
    y0, y1, _ = ys.indices(shape[0])
    x0, x1, _ = xs.indices(shape[1])
    return x0, y0, max(x0, x1), max(y0, y1)


def score(
    frame: U8, mid: U16, width: U16, local_max: U8, local_min: U8, noise_range: U8, noise_var: F32, *,
    f_scale: float, scale: float, low: float, high: float, prev: U8 | None,
    score: F32, weak: U8, strong: U8, row: F32,
) -> bool:
    """The engine's auto-threshold score and its two masks in one pass (HxW): per channel
    ``d = max(0, |frame x f_scale - mid| - width)``, ``e = max(0, local_max - local_min -
    noise_range)``; ``score = sum(d^2 x scale / (noise_var + e^2))``; ``weak = score > low``,
    ``strong = score > high`` or (with ``prev``) weak and prev (0/255 masks). ``row`` is a 3W
    float32 scratch.
    False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    arrays = (score, frame, mid, width, local_max, local_min, noise_range, noise_var, weak, strong)
    _check("score", arrays, "f1 u3 w3 w3 u3 u3 u3 f3 u1 u1")
    if prev is not None:
        _check("score", (score, prev), "f1 u1")
    if row.shape != (3 * score.shape[1],) or row.dtype != np.float32 or not row.flags.c_contiguous:
        raise ValueError(f"kernels.score: row must be float32[{3 * score.shape[1]}], got {_describe(row)}")
    return _run(
        _score,
        frame, mid, width, local_max, local_min, noise_range, noise_var, f_scale, scale, low, high,
        weak if prev is None else prev, prev is not None, score, weak, strong, row,
    )


def light_candidates(
    frame: U8, expected: F32, light_bar: F32, weights: F32, lo_r: float, hi_r: float, *,
    y_f: F32, y_e: F32, r: F32, candidates: U8, box: tuple[slice, slice],
) -> bool:
    """Within ``box`` (rows, columns) of the HxW planes: the frame's and the expected
    background's luma (``weights`` B, G, R), ``y_e`` at least 1, their ratio ``r`` and the
    pixels light might explain: ``lo_r <= r <= hi_r`` and ``|y_e - y_f| > light_bar``
    (0/255). False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    _check("light_candidates", (frame, expected, light_bar, y_f, y_e, r, candidates), "u3 f3 f1 f1 f1 f1 u1")
    if weights.shape != (3,) or weights.dtype != np.float32:
        raise ValueError(f"kernels.light_candidates: weights must be float32[3], got {_describe(weights)}")
    return _run(
        _light_candidates, frame, expected, light_bar, weights, lo_r, hi_r, y_f, y_e, r, candidates,
        *_box("light_candidates", box, frame.shape),
    )


def colour_kept(
    frame: U8, expected: F32, r: F32, sigma: F32, z_limit: float, ratio_floor: float, tone: float,
    level: float, *, consistent: U8, r_floor: F32, box: tuple[slice, slice],
) -> bool:
    """Within ``box``: ``consistent`` = 255 where the frame is ``r`` times the expected
    background within the tolerance, the mean over channels of ((f - r e) / (max(r,
    ratio_floor) sigma + tone e + level))^2 below ``z_limit``; ``r_floor`` = max(r,
    ratio_floor). False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    _check("colour_kept", (frame, expected, r, sigma, consistent, r_floor), "u3 f3 f1 f3 u1 f1")
    return _run(
        _colour_kept, frame, expected, r, sigma, z_limit, ratio_floor, tone, level, consistent, r_floor,
        *_box("colour_kept", box, frame.shape),
    )


def texture_weights(
    consistent: U8, r: F32, y_f: F32, y_p: F32, *, detail: bool, sums9: F32, box: tuple[slice, slice]
) -> bool:
    """The texture tests' weighted planes (see engine.light), within ``box``, interleaved in
    ``sums9`` (HxWx4): the weight = ``consistent`` (0 or 255) as float, r x weight and, with
    ``detail``, y_f x weight and y_p x weight (else 0). False (nothing written) when the
    kernels are off."""
    if not enabled:
        return False
    _check("texture_weights", (r, y_f, y_p, consistent, sums9), "f1 f1 f1 u1 f4")
    return _run(
        _texture_weights, consistent, r, y_f, y_p, detail, sums9, *_box("texture_weights", box, r.shape)
    )


def texture_detail(
    r: F32, y_f: F32, y_p: F32, sums9: F32, means9: F32, w_min: float, *, detail: bool, weight9: F32,
    ratio_mean: F32, sums7: F32, plate_energy_w: F32, box: tuple[slice, slice],
) -> bool:
    """The texture tests' middle (see engine.light), within ``box``, from ``means9`` (the 9x9
    means of ``sums9``): ``weight9`` = max(the weights' mean, ``w_min``), ``ratio_mean`` =
    the weighted ratio's mean; ``sums7`` (HxWx4) = the weight, (r - the weighted mean)^2 x
    weight and, with ``detail``, for the lumas' details fd and pd (each minus its weighted
    mean) fd pd weight and fd^2 weight (else 0), and ``plate_energy_w`` = pd^2 weight.
    False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    _check(
        "texture_detail", (r, y_f, y_p, weight9, ratio_mean, plate_energy_w, sums9, means9, sums7),
        "f1 f1 f1 f1 f1 f1 f4 f4 f4",
    )
    return _run(
        _texture_detail, r, y_f, y_p, sums9, means9, w_min, detail, weight9, ratio_mean, sums7,
        plate_energy_w, *_box("texture_detail", box, r.shape),
    )


def texture_tests(
    means7: F32, w_min: float, r_floor: F32, sigma_luma: F32, y_e: F32, noise: float, floor: float,
    ringing: F32, *,
    detail: bool, plate_energy: F32, verify_var: F32, ncc2: float, weight7: F32, ratio_energy: F32,
    consistent: U8, textured: U8, box: tuple[slice, slice],
) -> bool:
    """The texture tests' end (see engine.light), within ``box``, from ``means7`` (the 7x7
    means of :func:`texture_detail`'s ``sums7``) and ``plate_energy`` (of its
    ``plate_energy_w``): ``weight7`` = max(the weights' mean, ``w_min``), ``ratio_energy`` =
    the ratio's weighted energy; ``consistent`` &= ratio_energy / weight7 < (``noise``
    ``r_floor`` ``sigma_luma`` / ``y_e`` + ``floor``)^2 + ``ringing``; with ``detail``, where verifiable
    (``plate_energy`` > ``verify_var`` x weight7) also covariance > 0 and covariance^2 >
    frame energy x plate energy x ``ncc2``; ``textured`` = 255 where verifiable and
    correlated, else 0. False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    planes = (r_floor, sigma_luma, y_e, ringing, plate_energy, verify_var, weight7, ratio_energy)
    _check("texture_tests", (*planes, consistent, textured, means7), "f1 " * 8 + "u1 u1 f4")
    return _run(
        _texture_tests, means7, w_min, r_floor, sigma_luma, y_e, noise, floor, ringing, detail, plate_energy,
        verify_var, ncc2, weight7, ratio_energy, consistent, textured,
        *_box("texture_tests", box, r_floor.shape),
    )


def pooled_colour_sums(
    frame: U8, expected: F32, r: F32, consistent: U8, *, sums: F32, box: tuple[slice, slice]
) -> bool:
    """Within ``box``: ``sums`` (HxWx4) = the colour residual ``frame`` - r x ``expected`` per
    channel times w, and w (1 where ``consistent``, else 0). False (nothing written) when the
    kernels are off."""
    if not enabled:
        return False
    _check("pooled_colour_sums", (frame, expected, r, consistent, sums), "u3 f3 f1 u1 f4")
    return _run(
        _pooled_colour_sums, frame, expected, r, consistent, sums,
        *_box("pooled_colour_sums", box, r.shape),
    )


def pooled_colour_test(
    means: F32, expected: F32, sigma: F32, r_floor: F32, area: float, z_limit: float, tone: float,
    level: float, *, consistent: U8, box: tuple[slice, slice],
) -> bool:
    """Within ``box``, where ``consistent``: with n = max(1, ``area`` x the weights' mean) and
    each channel's mean residual ``area`` x its weighted mean / n (``means``: the box means
    of :func:`pooled_colour_sums`), ``consistent`` = 0 unless the mean over channels of
    (mean residual / (sigma x r_floor / sqrt(n) + ``tone`` x expected + ``level``))^2 is
    below ``z_limit``. False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    _check("pooled_colour_test", (r_floor, consistent, means, expected, sigma), "f1 u1 f4 f3 f3")
    return _run(
        _pooled_colour_test, means, expected, sigma, r_floor, area, z_limit, tone, level, consistent,
        *_box("pooled_colour_test", box, r_floor.shape),
    )


def _box_scratch(name: str, rows: npt.NDArray[Any], ext: npt.NDArray[Any], h: int, w: int, k: int) -> None:
    """ValueError unless ``rows`` and ``ext`` are float64 scratch enough for a k x k box mean
    of an h x w box."""
    if not (
        rows.dtype == ext.dtype == np.float64 and rows.ndim == 2 and ext.ndim == 1
        and rows.shape[0] >= h + k - 1 and rows.shape[1] >= w and ext.shape[0] >= w + k - 1
        and rows.flags.c_contiguous
    ):
        raise ValueError(
            f"kernels.{name}: scratch must be float64 rows >= [{h + k - 1}, {w}] and ext >= "
            f"[{w + k - 1}], got {_describe(rows)}, {_describe(ext)}"
        )


def box_mean(src: F32, dst: F32, k: int, *, box: tuple[slice, slice], rows: npt.NDArray[np.float64],
             ext: npt.NDArray[np.float64]) -> bool:
    """dst[box] = ``cv2.blur(src[box], (k, k))`` (float32 HxW planes, BORDER_REFLECT_101 at the
    box's edges), the same bits, in one compiled pass; ``rows`` and ``ext`` are float64
    scratch (see :func:`_box_scratch`). False (nothing written) when the kernels are off."""
    if not enabled:
        return False
    _check("box_mean", (src, dst), "f1 f1")
    if src is dst or k < 1 or k % 2 == 0:
        raise ValueError(f"kernels.box_mean: src and dst must differ and k be odd, got k={k}")
    x0, y0, x1, y1 = _box("box_mean", box, src.shape)
    _box_scratch("box_mean", rows, ext, y1 - y0, x1 - x0, k)
    if x1 > x0 and y1 > y0:
        return _run(_box_mean, src, dst, k, x0, y0, x1, y1, rows, ext)
    return True


def finest_ramps(
    r: F32, r_floor: F32, sigma_luma: F32, y_e: F32, energy_w: F32, weight7: F32, textured: U8,
    edge_floor: F32, plate_edges: U8, measurable: U8 | None, noise: float, floor: float, share: float,
    ringing: F32, *,
    smooth: U8, ramp: U8, open_edge: U8, squares: F32, finest_energy: F32, rows: npt.NDArray[np.float64],
    ext: npt.NDArray[np.float64], box: tuple[slice, slice],
) -> bool:
    """The light tests' finest scale and ramps (see engine.light: ``_finest``, ``_ramps``)
    within ``box``, in one call: ``finest_energy`` = the 3x3 mean of (r - its 3x3 mean)^2
    (``squares`` holds those squares), ``smooth`` = it is below (``noise`` r_floor sigma_luma
    / y_e + ``floor``)^2 + ``ringing``, ``ramp`` = smooth and below energy_w x ``share`` / weight7,
    ``open_edge`` = a ramp where r > 1, ``textured``, or r >= ``edge_floor`` on
    ``plate_edges``, and (given) ``measurable``. False (nothing written) when the kernels are
    off."""
    if not enabled:
        return False
    planes = (r, r_floor, sigma_luma, y_e, energy_w, weight7, edge_floor, squares, finest_energy, ringing)
    masks = (textured, plate_edges, smooth, ramp, open_edge)
    _check("finest_ramps", (*planes, *masks), "f1 " * 10 + "u1 " * 4 + "u1")
    if measurable is not None:
        _check("finest_ramps", (r, measurable), "f1 u1")
    x0, y0, x1, y1 = _box("finest_ramps", box, r.shape)
    _box_scratch("finest_ramps", rows, ext, y1 - y0, x1 - x0, 3)
    if x1 <= x0 or y1 <= y0:
        return True
    return _run(
        _finest_ramps, r, r_floor, sigma_luma, y_e, energy_w, weight7, textured, edge_floor, plate_edges,
        textured if measurable is None else measurable, measurable is not None, noise, floor, share,
        ringing, smooth, ramp, open_edge, squares, finest_energy, rows, ext, x0, y0, x1, y1,
    )


def _read_only(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    copy = array.copy()
    copy.flags.writeable = False
    return copy


def warm() -> bool:
    """Compile (or load from the cache) every kernel now, on tiny arrays: ``./install`` calls
    it so that OBS's first frame does not wait for the compiler. Whether the kernels are on
    afterwards (False without numba, or when one cannot compile here).

    numba compiles a kernel once per kind of array it is given, and a read-only array is
    another kind: the kernels that read a camera frame or a background picture (a frame a
    reader hands out read-only, a picture kept unwritable) are compiled for both, else the
    first such frame compiles inside OBS, holding the GIL for seconds."""
    if not AVAILABLE:
        return False
    writable = np.zeros((2, 2, 3), np.uint8)
    read_only = _read_only(writable)
    plane = np.zeros((2, 2), np.uint8)
    out4 = np.zeros((2, 2, 4), np.uint8)
    wide = np.zeros((2, 4, 3), np.uint8)  # (blend_spans reads rows of whole groups of four)
    wide_read_only = _read_only(wide)
    spans, reach = np.zeros((2, 2), np.int32), np.zeros((2, 8), np.uint8)
    for frame, frame4 in ((writable, wide), (read_only, wide_read_only)):
        for background, background4 in ((writable, wide), (read_only, wide_read_only)):
            blend_box(frame, plane, background, out4, (0, 0, 2, 2))
            blend_spans(
                frame4, np.zeros((2, 4), np.uint8), background4, np.zeros((2, 4, 4), np.uint8),
                reach, 4, spans, spans.copy(),
            )
    u16, f32 = np.zeros((2, 2, 3), np.uint16), np.ones((2, 2, 3), np.float32)
    for frame in (writable, read_only):
        score(
            frame, u16, u16, writable, writable, writable, f32, f_scale=1.0, scale=1.0, low=1.0,
            high=2.0, prev=plane, score=np.zeros((2, 2), np.float32), weak=plane.copy(),
            strong=plane.copy(), row=np.zeros(6, np.float32),
        )
    big = np.zeros((8, 8, 3), np.uint8)
    for source in (big, _read_only(big)):  # (the downscale reads the camera's frame)
        quarter(source, writable.copy(), np.zeros((2, 12), np.uint16))
    set_alpha(np.zeros((2, 2, 4), np.uint8), np.zeros((2, 2), np.uint8))
    f1 = np.ones((2, 2), np.float32)
    box = (slice(0, 2), slice(0, 2))
    for frame in (writable, read_only):
        light_candidates(
            frame, f32, f1, np.ones(3, np.float32), 0.5, 2.0, y_f=f1.copy(), y_e=f1.copy(),
            r=f1.copy(), candidates=plane.copy(), box=box,
        )
        colour_kept(
            frame, f32, f1, f32, 1.0, 0.25, 0.03, 0.5, consistent=plane.copy(), r_floor=f1.copy(),
            box=box,
        )
    f4 = np.ones((2, 2, 4), np.float32)
    texture_weights(plane, f1, f1, f1, detail=True, sums9=f4.copy(), box=box)
    texture_detail(
        f1, f1, f1, f4, f4, 1e-3, detail=True, weight9=f1.copy(), ratio_mean=f1.copy(), sums7=f4.copy(),
        plate_energy_w=f1.copy(), box=box,
    )
    texture_tests(
        f4, 1e-3, f1, f1, f1, 2.0, 0.01, f1, detail=True, plate_energy=f1, verify_var=f1, ncc2=0.09,
        weight7=f1.copy(), ratio_energy=f1.copy(), consistent=plane.copy(), textured=plane.copy(), box=box,
    )
    for frame in (writable, read_only):
        pooled_colour_sums(frame, f32, f1, plane, sums=f4.copy(), box=box)
    pooled_colour_test(f4, f32, f32, f1, 81.0, 6.25, 0.03, 0.5, consistent=plane.copy(), box=box)
    rows, ext = np.zeros((4, 2)), np.zeros(4)
    box_mean(f1, f1.copy(), 3, box=box, rows=rows, ext=ext)
    for measurable in (None, plane):
        finest_ramps(
            f1, f1, f1, f1, f1, f1, plane, f1, plane, measurable, 2.0, 0.01, 0.15, f1, smooth=plane.copy(),
            ramp=plane.copy(), open_edge=plane.copy(), squares=f1.copy(), finest_energy=f1.copy(),
            rows=rows, ext=ext, box=box,
        )
    linear = np.zeros(256, np.int32)
    for frame in (writable, read_only):
        edge_unmix(frame, f32, plane, plane, plane, plane.copy(), linear, 400, 3, box=box)
    return enabled
