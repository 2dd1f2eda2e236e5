"""Reading what a filter's input looks like back to memory, from the filter's worker thread.

The filter never runs Python on OBS's graphics thread: OBS calls a filter's ``video_render``
while it holds the scene's (and the view's) mutex, and a Python callback there must take
the GIL, which another Python script may hold while it waits for that same mutex (obspython
calls keep the GIL): OBS froze that way in a test (a script looking a scene item up 10
times a second). Instead the worker thread enters the graphics context itself, between two
of OBS's frames (see :mod:`bgobs.filter`), as obs-websocket does for a screenshot.

:meth:`TargetReader.read` does the whole read (enter the context, draw, stage, map, copy,
leave) in one compiled call that releases the GIL throughout (:mod:`bgobs.nogil`): inside the
context it never waits for the GIL, and it never holds the GIL while it waits for the
context. :meth:`TargetReader.wait_for_reads` is how a callback waits for a read under way.
Without numba it reads with ctypes calls instead (:meth:`TargetReader._read_ctypes`), which
take the GIL back after each call: a thread that holds the GIL while it waits for a libobs
lock that OBS's graphics thread holds can then freeze OBS (see :mod:`bgobs.nogil`).

What is drawn: ``obs_source_skip_video_filter`` on the filter closest to the source, which
draws the source as OBS does when that filter is off (an async frame as it is, a
synchronous source through its own render), into a cleared ``GS_BGRA`` texture with linear
sRGB off and blending replaced (ONE, ZERO): the bytes the source shows, alpha included.
Effect filters between this one and the source are not drawn (:attr:`Readback.skipped_filters`):
outside OBS's own pass through the filters, libobs would draw the whole chain for them,
this filter's output included.

Lifetime: :meth:`TargetReader.close` destroys the graphics objects inside the graphics
context (idempotent); the filter calls it from ``destroy`` after its worker has stopped.
"""

from __future__ import annotations

import ctypes
import dataclasses
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from . import nogil
from . import structs as S
from .libobs import Lib

BGR = npt.NDArray[np.uint8]
MAX_CHAIN = nogil.MAX_CHAIN


@dataclasses.dataclass(frozen=True)
class Readback:
    frame: BGR
    """HxWx3 uint8 BGR, a new array."""
    skipped_filters: int
    """Effect filters between this one and the source, not applied to ``frame`` (see the
    module docstring); async filters change the source's frames, so they are in it."""


class TargetReader:
    """One filter's texrender and stage surface (created on first use, on the worker thread).

    Threading: :meth:`read` on the worker thread only; :meth:`stop` and
    :meth:`wait_for_reads` from any thread (OBS's callbacks); :meth:`close` once the worker
    has stopped."""

    def __init__(self, gs: Lib, log: Callable[[str, str], None] | None = None) -> None:
        self.gs = gs
        self.log = log
        self.texrender: int | None = None
        self.stage: int | None = None
        self.stage_size = (0, 0)
        # gs_clear reads a struct vec4 (16-byte aligned in libobs): zeros at an aligned address
        self._clear_buffer = ctypes.create_string_buffer(32)
        address = ctypes.addressof(self._clear_buffer)
        self._clear_color = address + (-address % 16)
        self._map_data = ctypes.c_void_p()
        self._map_linesize = ctypes.c_uint32()
        # the compiled read's arrays (bgobs.nogil); None: the ctypes read
        self._fns: nogil.I64 | None = nogil.function_table(gs) if nogil.AVAILABLE else None
        self._warmed = False  # (the compiled functions are loaded: see read and wait_for_reads)
        self._state = np.zeros(4, np.int64)
        self._closed = np.zeros(1, np.int32)
        self._slots = np.zeros(2, np.int64)
        self._result = np.zeros(5, np.int64)
        self._buffer = np.empty(0, np.uint8)

    def stop(self) -> None:
        """No read touches the filter from now on: one that has not yet entered the graphics
        context returns None (one under way finishes: :meth:`wait_for_reads`)."""
        self._closed[0] = 1

    def wait_for_reads(self) -> None:
        """Return once no read that began before this call is under way: enter and leave the
        graphics context without the GIL (compiled reads hold it throughout; on a thread that
        holds it already this returns at once). A no-op before the first compiled read (none
        can be under way: that read sees :meth:`stop`'s flag) and with ctypes reads (those hold
        the GIL from their check of that flag to their last draw call, and a callback holds it
        too). So it never compiles: it may run on OBS's graphics thread."""
        if self._fns is not None and self._warmed:
            nogil.pass_through_graphics(self._fns)

    def read(self, filter_source: int) -> Readback | None:
        """The filter's source as OBS draws it now (see the module docstring), or None when
        there is nothing to read (no parent, zero size, libobs could not render or map) or
        :meth:`stop` was called before the read entered the graphics context (the filter is
        going: ``filter_source`` must not be touched then)."""
        if self._fns is not None and not self._warmed:
            # compile (or load from numba's cache) here, on the worker thread, and all three
            # functions: not in a callback on OBS's graphics thread
            if nogil.warm():
                self._warmed = True
            else:
                self._fns = None
                if self.log is not None:
                    self.log("warning", nogil.fallback_warning())
        if self._fns is not None:
            return self._read_compiled(filter_source)
        return self._read_ctypes(filter_source)

    def _read_compiled(self, filter_source: int) -> Readback | None:
        assert self._fns is not None
        result = self._result
        for _ in range(2):  # the second time with a buffer of the size the first one asked for
            code = nogil.read(
                self._fns, filter_source, self._state, self._closed, self._clear_color,
                self._buffer, self._slots, result,
            )
            if code != nogil.NEED_SPACE:
                break
            self._buffer = np.empty(int(result[nogil.R_BYTES]), np.uint8)
        if code != nogil.OK:
            return None
        width, height = int(result[nogil.R_WIDTH]), int(result[nogil.R_HEIGHT])
        linesize = int(result[nogil.R_LINESIZE])
        rows = self._buffer[: linesize * height].reshape(height, linesize)
        bgra = rows[:, : width * 4].reshape(height, width, 4)
        return Readback(cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR), int(result[nogil.R_SKIPPED]))

    def _read_ctypes(self, filter_source: int) -> Readback | None:
        """The read without numba: ctypes calls (see the module docstring)."""
        gs = self.gs
        gs.obs_enter_graphics()  # releases the GIL while OBS's graphics thread finishes a frame
        try:
            if self._closed[0]:
                return None
            raw = self._draw_and_copy(filter_source)
        finally:
            gs.obs_leave_graphics()
        if raw is None:
            return None
        data, width, height, linesize, skipped = raw
        rows = np.frombuffer(data, np.uint8).reshape(height, linesize)
        bgra = rows[:, : width * 4].reshape(height, width, 4)
        return Readback(cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR), skipped)

    def _draw_and_copy(self, filter_source: int) -> tuple[bytes, int, int, int, int] | None:
        """Inside the graphics context, GIL held throughout: draw, stage, copy the bytes."""
        gs = self.gs
        parent = gs.obs_filter_get_parent(filter_source)
        if not parent:
            return None
        nearest, target, skipped = filter_source, gs.obs_filter_get_target(filter_source), 0
        for _ in range(MAX_CHAIN):
            if not target or target == parent:
                break
            if not gs.obs_source_get_output_flags(target) & S.OBS_SOURCE_ASYNC:
                skipped += 1  # an effect filter (async ones act on the frames: they are in them)
            nearest, target = target, gs.obs_filter_get_target(target)
        if target != parent:
            return None
        width, height = gs.obs_source_get_base_width(parent), gs.obs_source_get_base_height(parent)
        if not width or not height:
            return None
        if self.texrender is None:
            self.texrender = gs.gs_texrender_create(S.GS_BGRA, S.GS_ZS_NONE) or None
            if self.texrender is None:
                return None
        gs.gs_texrender_reset(self.texrender)
        if not gs.gs_texrender_begin(self.texrender, width, height):
            return None
        try:
            gs.gs_clear(S.GS_CLEAR_COLOR, self._clear_color, 0.0, 0)
            gs.gs_ortho(0.0, float(width), 0.0, float(height), -100.0, 100.0)
            gs.gs_blend_state_push()
            previous_linear = gs.gs_set_linear_srgb(False)
            try:
                gs.gs_blend_function(S.GS_BLEND_ONE, S.GS_BLEND_ZERO)
                gs.obs_source_skip_video_filter(nearest)  # the source as with that filter off
            finally:
                gs.gs_set_linear_srgb(previous_linear)
                gs.gs_blend_state_pop()
        finally:
            gs.gs_texrender_end(self.texrender)

        if self.stage is not None and self.stage_size != (width, height):
            gs.gs_stagesurface_destroy(self.stage)
            self.stage = None
        if self.stage is None:
            self.stage = gs.gs_stagesurface_create(width, height, S.GS_BGRA) or None
            if self.stage is None:
                return None
            self.stage_size = (width, height)
        gs.gs_stage_texture(self.stage, gs.gs_texrender_get_texture(self.texrender))
        data_out, linesize_out = ctypes.byref(self._map_data), ctypes.byref(self._map_linesize)
        if not gs.gs_stagesurface_map(self.stage, data_out, linesize_out):
            return None
        try:
            linesize = int(self._map_linesize.value)
            address = self._map_data.value
            if not address or linesize < width * 4:
                return None
            return ctypes.string_at(address, linesize * height), width, height, linesize, skipped
        finally:
            gs.gs_stagesurface_unmap(self.stage)

    def close(self) -> None:
        """Destroy the graphics objects inside the graphics context (idempotent)."""
        if self._fns is not None and self._state.any():
            nogil.destroy(self._fns, self._state)
        if self.texrender is None and self.stage is None:
            return
        gs = self.gs
        gs.obs_enter_graphics()
        try:
            if self.texrender is not None:
                gs.gs_texrender_destroy(self.texrender)
            if self.stage is not None:
                gs.gs_stagesurface_destroy(self.stage)
        finally:
            self.texrender = self.stage = None
            gs.obs_leave_graphics()
