"""bgobs.nogil without OBS: the intrinsic that calls C functions by address (with libc's, the
real thing here), and the compiled read's functions compile (as ``./install`` does) and then
refuse arguments of other types instead of compiling inside OBS. The read itself runs in a
real OBS: tests/obs/test_filter.py."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from bgobs import nogil

pytestmark = pytest.mark.skipif(not nogil.AVAILABLE, reason=f"numba: {nogil.failure}")

libc = ctypes.CDLL(None)


def _address(fn: object) -> int:
    value = ctypes.cast(fn, ctypes.c_void_p).value
    assert value
    return value


if nogil.AVAILABLE:
    import numba

    @numba.njit(nogil=True)
    def _copy_and_measure(
        memmove: int, strlen: int, abs_: int, src: np.ndarray, dst: np.ndarray
    ) -> tuple[int, int, int]:
        n = nogil.call_ptr(strlen, (np.int64(src.ctypes.data),))
        nogil.call_ptr(memmove, (np.int64(dst.ctypes.data), np.int64(src.ctypes.data), n))
        negative = nogil.call_u32(abs_, (np.int32(-7),))
        return n, negative, nogil.call_bool(abs_, (np.int32(-300),))


def test_the_caller_passes_pointers_and_ints_and_reads_results() -> None:
    src = np.frombuffer(b"bgreplace\0", np.uint8).copy()
    dst = np.zeros(16, np.uint8)
    n, seven, low_byte = _copy_and_measure(
        _address(ctypes.memmove), _address(libc.strlen), _address(libc.abs), src, dst
    )
    assert (n, seven) == (9, 7)
    assert bytes(dst[:10]) == b"bgreplace\0"
    assert low_byte == 300 & 0xFF  # a C bool result: its low byte only


def test_warm_compiles_the_read_and_then_refuses_other_argument_types() -> None:
    assert nogil.warm(), nogil.failure
    assert [len(f.signatures) for f in (nogil._read, nogil._destroy, nogil._pass_through)] == [1, 1, 1]
    with pytest.raises(TypeError):
        nogil.pass_through_graphics(np.zeros(len(nogil.TABLE), np.int32))  # type: ignore[arg-type]
    assert len(nogil._pass_through.signatures) == 1
