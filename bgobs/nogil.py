"""The filter's read of its source, and the waits for it, each in one compiled call that never
takes the GIL.

Why: a read holds OBS's graphics context from its first draw call to its last copy. Made of
ctypes calls with Python between them, the reading thread takes the GIL back after every
call (and CPython hands the GIL to a thread that waited 5 ms between two of them), so it
waits for the GIL while it holds the context. OBS 29 froze for good that way beside another
script: that script's thread held the GIL and waited in ``obs_get_source_by_name`` for the
source list's mutex, OBS's graphics thread held that mutex and waited for the context (an
image source's tick), and the reader held the context and waited for the GIL (gdb stacks of
the frozen process). Here numba compiles the whole read (enter the context, walk the
filter chain, draw, stage, map, copy, unmap, leave) into one function that calls libobs
through the addresses of its functions and releases the GIL for the whole call: inside the
context nothing waits for Python.

The same holds for the waits: :func:`pass_through_graphics` enters and leaves the context
without the GIL, so a callback that must not return while a read is under way (the filter
leaving its source, another filter of that source removed) waits for it without holding the
GIL, also on a thread that holds the context already (libobs lets a thread enter it again).

Calls go through :func:`call_void` and its siblings: a numba intrinsic that casts an address
to a C function pointer of the argument types given (int64 for pointers, uint32, int32 for
ints and C ``bool`` arguments, float32) and calls it; C ``bool`` results are read as uint8.
The table of addresses (:func:`function_table`) is an argument, not a constant, so numba
caches the compiled code on disk like the kernels (``./install`` compiles it, :func:`warm`).

Without numba (missing, broken, or ``BGREPLACE_NO_JIT=1``) :data:`AVAILABLE` is False and
the filter reads with ctypes calls (:mod:`bgobs.graphics`), which can hit the freeze above.

Threading: every function here may run on any thread and keeps no state of its own; the
arrays passed in belong to one :class:`bgobs.graphics.TargetReader`, used by one thread at a
time.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from bgcore import kernels

from . import structs as S

_log = logging.getLogger(__name__)

# The same switch as the engine's kernels (BGREPLACE_NO_JIT, numba missing or broken): one
# place decides whether numba is here.
numba: Any = kernels.numba
failure: str | None = kernels.failure
"""Why the compiled read is off in this process (numba missing or broken, the read could not
compile), as ``"ExceptionType: first line"``; else None."""

if numba is not None:
    try:
        from llvmlite import ir
        from numba import types
        from numba.extending import intrinsic
    except Exception as exc:  # the ctypes read still works
        numba, failure = None, kernels.reason(exc)

AVAILABLE = numba is not None
"""Whether the filter reads with the compiled call (else with ctypes, see the module docstring)."""


def fallback_warning() -> str:
    """The log line when the filter reads with ctypes (numba missing, off, or the read did not
    compile: :data:`failure` says which)."""
    return (
        "the filter reads its source with ctypes calls, which can freeze OBS beside other scripts "
        f"(numba: {failure or 'off'}): run ./install again"
    )

# The table's entries, in this order (function_table builds it from a bgobs.libobs.Lib).
TABLE = (
    "obs_enter_graphics",
    "obs_leave_graphics",
    "obs_filter_get_parent",
    "obs_filter_get_target",
    "obs_source_get_output_flags",
    "obs_source_get_base_width",
    "obs_source_get_base_height",
    "obs_source_skip_video_filter",
    "gs_texrender_create",
    "gs_texrender_destroy",
    "gs_texrender_reset",
    "gs_texrender_begin",
    "gs_texrender_end",
    "gs_texrender_get_texture",
    "gs_stagesurface_create",
    "gs_stagesurface_destroy",
    "gs_stage_texture",
    "gs_stagesurface_map",
    "gs_stagesurface_unmap",
    "gs_clear",
    "gs_ortho",
    "gs_blend_state_push",
    "gs_blend_state_pop",
    "gs_blend_function",
    "gs_set_linear_srgb",
    "memmove",  # ctypes' own C memmove
)
(
    ENTER, LEAVE, GET_PARENT, GET_TARGET, OUTPUT_FLAGS, BASE_WIDTH, BASE_HEIGHT, SKIP_FILTER,
    TEXRENDER_CREATE, TEXRENDER_DESTROY, TEXRENDER_RESET, TEXRENDER_BEGIN, TEXRENDER_END,
    TEXRENDER_TEXTURE, STAGE_CREATE, STAGE_DESTROY, STAGE_TEXTURE, STAGE_MAP, STAGE_UNMAP,
    CLEAR, ORTHO, BLEND_PUSH, BLEND_POP, BLEND_FUNCTION, SET_LINEAR_SRGB, MEMMOVE,
) = range(len(TABLE))

# What read() returns (result codes) and writes to ``result`` (indices).
OK, CLOSED, NOTHING, FAILED, NEED_SPACE = range(5)
R_WIDTH, R_HEIGHT, R_LINESIZE, R_SKIPPED, R_BYTES = range(5)
# ``state``: the reader's graphics objects (0: none yet) and the stage surface's size.
S_TEXRENDER, S_STAGE, S_STAGE_WIDTH, S_STAGE_HEIGHT = range(4)

MAX_CHAIN = 64
"""Filters walked from this one to the source at most (a chain is a handful)."""

I64 = npt.NDArray[np.int64]


def function_table(gs: Any) -> I64:
    """The addresses of :data:`TABLE`'s functions in ``gs`` (a :class:`bgobs.libobs.Lib` of the
    filter's functions), as the compiled functions take them."""
    addresses = []
    for name in TABLE:
        fn = ctypes.memmove if name == "memmove" else getattr(gs, name)
        address = ctypes.cast(fn, ctypes.c_void_p).value
        if not address:
            raise ValueError(f"no address for {name}")
        addresses.append(address)
    return np.array(addresses, np.int64)


if numba is not None:

    def _caller(result: Any) -> Any:
        """An intrinsic ``call(address, (args...))``: calls the C function at ``address`` with
        the tuple's values as its arguments (their numba types make the C signature) and
        returns its ``result`` (``types.void``: nothing)."""

        @intrinsic
        def call(typingctx: Any, address: Any, args: Any) -> Any:
            if not isinstance(address, types.Integer) or not isinstance(args, types.BaseTuple):
                return None

            def codegen(context: Any, builder: Any, signature: Any, llargs: Any) -> Any:
                address_value, packed = llargs
                arg_types = list(signature.args[1])
                values = [builder.extract_value(packed, i) for i in range(len(arg_types))]
                returns = ir.VoidType() if result is types.void else context.get_value_type(result)
                fnty = ir.FunctionType(returns, [context.get_value_type(t) for t in arg_types])
                value = builder.call(builder.inttoptr(address_value, fnty.as_pointer()), values)
                return context.get_dummy_value() if result is types.void else value

            return result(address, args), codegen

        return call

    call_void = _caller(types.void)
    call_ptr = _caller(types.int64)
    call_u32 = _caller(types.uint32)
    call_bool = _caller(types.uint8)  # a C bool result: its low byte

    def _njit(fn: Any) -> Any:
        return kernels.njit_cached(fn, nogil=True, boundscheck=False)

    @_njit
    def _draw_and_copy(
        fns: Any, filter_source: int, state: Any, closed: Any, clear_color: int,
        out: Any, slots: Any, result: Any,
    ) -> int:
        """Inside the graphics context: see :func:`read`."""
        if closed[0] != 0:
            return CLOSED
        parent = call_ptr(fns[GET_PARENT], (filter_source,))
        if parent == 0:
            return NOTHING
        nearest = filter_source
        target = call_ptr(fns[GET_TARGET], (filter_source,))
        skipped = 0
        for _ in range(MAX_CHAIN):
            if target == 0 or target == parent:
                break
            if (call_u32(fns[OUTPUT_FLAGS], (target,)) & np.uint32(S.OBS_SOURCE_ASYNC)) == 0:
                skipped += 1  # an effect filter (async ones act on the frames: they are in them)
            nearest = target
            target = call_ptr(fns[GET_TARGET], (target,))
        if target != parent:
            return NOTHING
        width = call_u32(fns[BASE_WIDTH], (parent,))
        height = call_u32(fns[BASE_HEIGHT], (parent,))
        if width == 0 or height == 0:
            return NOTHING

        if state[S_TEXRENDER] == 0:
            state[S_TEXRENDER] = call_ptr(
                fns[TEXRENDER_CREATE], (np.int32(S.GS_BGRA), np.int32(S.GS_ZS_NONE))
            )
            if state[S_TEXRENDER] == 0:
                return FAILED
        texrender = state[S_TEXRENDER]
        call_void(fns[TEXRENDER_RESET], (texrender,))
        if call_bool(fns[TEXRENDER_BEGIN], (texrender, width, height)) == 0:
            return FAILED
        zero, fw, fh = np.float32(0.0), np.float32(width), np.float32(height)
        call_void(fns[CLEAR], (np.uint32(S.GS_CLEAR_COLOR), clear_color, zero, np.int32(0)))
        call_void(fns[ORTHO], (zero, fw, zero, fh, np.float32(-100.0), np.float32(100.0)))
        call_void(fns[BLEND_PUSH], ())
        previous_linear = call_bool(fns[SET_LINEAR_SRGB], (np.int32(0),))
        call_void(fns[BLEND_FUNCTION], (np.int32(S.GS_BLEND_ONE), np.int32(S.GS_BLEND_ZERO)))
        call_void(fns[SKIP_FILTER], (nearest,))  # the source as with that filter off
        call_bool(fns[SET_LINEAR_SRGB], (np.int32(previous_linear != 0),))
        call_void(fns[BLEND_POP], ())
        call_void(fns[TEXRENDER_END], (texrender,))

        if state[S_STAGE] != 0 and (state[S_STAGE_WIDTH] != width or state[S_STAGE_HEIGHT] != height):
            call_void(fns[STAGE_DESTROY], (state[S_STAGE],))
            state[S_STAGE] = 0
        if state[S_STAGE] == 0:
            state[S_STAGE] = call_ptr(fns[STAGE_CREATE], (width, height, np.int32(S.GS_BGRA)))
            if state[S_STAGE] == 0:
                return FAILED
            state[S_STAGE_WIDTH] = width
            state[S_STAGE_HEIGHT] = height
        stage = state[S_STAGE]
        call_void(fns[STAGE_TEXTURE], (stage, call_ptr(fns[TEXRENDER_TEXTURE], (texrender,))))
        slots[0] = 0
        slots[1] = 0
        slots_address = np.int64(slots.ctypes.data)
        # gs_stagesurface_map(stage, uint8_t **data, uint32_t *linesize): the linesize goes to
        # the low half of slots[1] (little-endian, as every platform OBS runs on)
        if call_bool(fns[STAGE_MAP], (stage, slots_address, slots_address + 8)) == 0:
            return FAILED
        address = slots[0]
        linesize = slots[1] & 0xFFFFFFFF
        size = linesize * np.int64(height)
        code = OK
        if address == 0 or linesize < np.int64(width) * 4:
            code = FAILED
        elif size > out.size:
            code = NEED_SPACE
        else:
            call_ptr(fns[MEMMOVE], (np.int64(out.ctypes.data), address, size))
        call_void(fns[STAGE_UNMAP], (stage,))
        result[R_WIDTH] = width
        result[R_HEIGHT] = height
        result[R_LINESIZE] = linesize
        result[R_SKIPPED] = skipped
        result[R_BYTES] = size
        return code

    @_njit
    def _read(
        fns: Any, filter_source: int, state: Any, closed: Any, clear_color: int,
        out: Any, slots: Any, result: Any,
    ) -> int:
        call_void(fns[ENTER], ())  # waits for OBS's graphics thread to finish a frame
        code = _draw_and_copy(fns, filter_source, state, closed, clear_color, out, slots, result)
        call_void(fns[LEAVE], ())
        return code

    @_njit
    def _destroy(fns: Any, state: Any) -> None:
        call_void(fns[ENTER], ())
        if state[S_TEXRENDER] != 0:
            call_void(fns[TEXRENDER_DESTROY], (state[S_TEXRENDER],))
        if state[S_STAGE] != 0:
            call_void(fns[STAGE_DESTROY], (state[S_STAGE],))
        call_void(fns[LEAVE], ())
        state[S_TEXRENDER] = 0
        state[S_STAGE] = 0

    @_njit
    def _pass_through(fns: Any) -> None:
        call_void(fns[ENTER], ())
        call_void(fns[LEAVE], ())


def read(
    fns: I64, filter_source: int, state: I64, closed: npt.NDArray[np.int32], clear_color: int,
    out: npt.NDArray[np.uint8], slots: I64, result: I64,
) -> int:
    """Enter the graphics context, and unless ``closed[0]`` is set by then (the filter is
    going: ``filter_source`` is not touched), draw the filter's source as OBS draws it with the
    filter nearest the source off, stage it and copy its rows (``linesize`` bytes each) into
    ``out``; leave the context. Returns :data:`OK` (``result`` holds width, height, linesize,
    effect filters skipped and the bytes copied), :data:`CLOSED`, :data:`NOTHING` (no parent,
    a broken chain, zero size), :data:`FAILED` (libobs could not create, draw or map) or
    :data:`NEED_SPACE` (``out`` is smaller than ``result[R_BYTES]``: nothing copied).
    ``state`` keeps the texrender and stage surface between reads (see :func:`destroy`);
    ``slots`` is two int64s of scratch. The GIL is released for the whole call."""
    return int(_read(fns, filter_source, state, closed, clear_color, out, slots, result))


def destroy(fns: I64, state: I64) -> None:
    """Destroy the graphics objects in ``state`` inside the graphics context (GIL released)."""
    _destroy(fns, state)


def pass_through_graphics(fns: I64) -> None:
    """Enter and leave the graphics context with the GIL released: returns once no read that
    began before is under way (a read holds the context throughout)."""
    _pass_through(fns)


_warm = False


def warm() -> bool:
    """Compile (or load from numba's cache) the three functions without calling libobs, as
    ``./install`` does and the filter's first read (on its worker thread): the other calls
    then never compile. False (and :data:`failure` set, logged) when they cannot compile
    here. Threading: numba's compile is locked; the GIL is held throughout."""
    global AVAILABLE, failure, _warm
    if _warm:
        return True
    if numba is None:
        return False
    i64 = numba.types.int64
    arr = numba.types.Array
    try:
        _read.compile(
            (arr(i64, 1, "C"), i64, arr(i64, 1, "C"), arr(numba.types.int32, 1, "C"), i64,
             arr(numba.types.uint8, 1, "C"), arr(i64, 1, "C"), arr(i64, 1, "C"))
        )
        _destroy.compile((arr(i64, 1, "C"), arr(i64, 1, "C")))
        _pass_through.compile((arr(i64, 1, "C"),))
        for function in (_read, _destroy, _pass_through):
            function.disable_compile()  # arguments of other types raise, never compile in OBS
        _warm = True
    except Exception as exc:
        AVAILABLE = False
        failure = kernels.reason(exc)
        _log.warning("the filter reads with ctypes (it can freeze OBS beside other scripts): %s", failure)
        return False
    return True
