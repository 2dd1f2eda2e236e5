"""The filter's graphics: read the filtered source back to memory, draw a BGRA picture.

:class:`FilterGraphics` owns one filter's graphics objects: a texrender the target (the
source, or the next filter in its chain) is drawn into, a stage surface that copies it to
memory, and a dynamic texture holding the latest composite. libobs calls the filter's
``video_render`` on its graphics thread (also from obs-websocket's screenshot, inside the
graphics context): :meth:`read_target` and :meth:`draw` run there only. :meth:`close`
enters the graphics context itself (from ``destroy``, on whichever thread destroys the
filter) and is idempotent.

Colour handling copies libobs's own paths, so the filter looks exactly like the source:
- reading: the target is drawn with linear sRGB off and blending replaced (ONE, ZERO) into a
  cleared ``GS_BGRA`` texture, which keeps the bytes as the source has them (an async frame
  is copied as is; an image source decodes and re-encodes sRGB itself);
- drawing: as ``obs_source_render_async_video`` draws an sRGB BGRA frame (obs-source.c): the
  "Draw"/"DrawNonlinearAlpha" techniques of the default effect, the sRGB framebuffer when
  linear sRGB is on, (ONE, INVSRCALPHA) blending for non-linear alpha.
Every state pushed is popped in ``finally``: an exception never leaves OBS's renderer in our
render target or blend state.
"""

from __future__ import annotations

import ctypes
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from . import structs as S
from .libobs import Lib

BGR = npt.NDArray[np.uint8]
BGRA = npt.NDArray[np.uint8]


class FilterGraphics:
    """One filter's texrender, stage surface and composite texture (created on first use)."""

    def __init__(self, gs: Lib) -> None:
        self.gs = gs
        self.texrender: int | None = None
        self.stage: int | None = None
        self.stage_size = (0, 0)
        self.texture: int | None = None
        self.texture_size = (0, 0)
        # gs_clear reads a struct vec4 (16-byte aligned in libobs): zeros at an aligned address
        self._clear_buffer = ctypes.create_string_buffer(32)
        address = ctypes.addressof(self._clear_buffer)
        self._clear_color = address + (-address % 16)
        self._map_data = ctypes.c_void_p()
        self._map_linesize = ctypes.c_uint32()

    # -- graphics thread ------------------------------------------------------------------------
    def read_target(self, filter_source: int, width: int, height: int) -> BGR | None:
        """Draw the filter's target into our texture and copy it to a new HxWx3 BGR array
        (None if libobs could not begin the render or map the surface)."""
        gs = self.gs
        target = gs.obs_filter_get_target(filter_source)
        parent = gs.obs_filter_get_parent(filter_source)
        if not target or not parent:
            return None
        if self.texrender is None:
            self.texrender = gs.gs_texrender_create(S.GS_BGRA, S.GS_ZS_NONE)
            if not self.texrender:
                self.texrender = None
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
                self._render_target(target, parent)
            finally:
                gs.gs_set_linear_srgb(previous_linear)
                gs.gs_blend_state_pop()
        finally:
            gs.gs_texrender_end(self.texrender)

        if self.stage is not None and self.stage_size != (width, height):
            gs.gs_stagesurface_destroy(self.stage)
            self.stage = None
        if self.stage is None:
            self.stage = gs.gs_stagesurface_create(width, height, S.GS_BGRA)
            if not self.stage:
                self.stage = None
                return None
            self.stage_size = (width, height)
        gs.gs_stage_texture(self.stage, gs.gs_texrender_get_texture(self.texrender))
        data, linesize_out = ctypes.byref(self._map_data), ctypes.byref(self._map_linesize)
        if not gs.gs_stagesurface_map(self.stage, data, linesize_out):
            return None
        try:
            linesize = int(self._map_linesize.value)
            address = self._map_data.value
            if not address or linesize < width * 4:
                return None
            rows = np.ctypeslib.as_array((ctypes.c_uint8 * (linesize * height)).from_address(address))
            bgra = rows.reshape(height, linesize)[:, : width * 4].reshape(height, width, 4)
            bgr: BGR = cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)  # a new array: the map ends below
            return bgr
        finally:
            gs.gs_stagesurface_unmap(self.stage)

    def _render_target(self, target: int, parent: int) -> None:
        """What libobs's obs_source_process_filter_begin does: the parent itself through the
        default effect unless it draws itself (custom draw) or is async; anything else (the
        next filter, an async or custom-draw source) through obs_source_video_render."""
        gs = self.gs
        flags = gs.obs_source_get_output_flags(parent)
        if target == parent and not flags & (S.OBS_SOURCE_CUSTOM_DRAW | S.OBS_SOURCE_ASYNC):
            gs.obs_source_default_render(target)
        else:
            gs.obs_source_video_render(target)

    def upload(self, bgra: BGRA) -> None:
        """Copy an HxWx4 C-contiguous BGRA picture into the composite texture."""
        gs = self.gs
        h, w = bgra.shape[:2]
        if self.texture is not None and self.texture_size != (w, h):
            gs.gs_texture_destroy(self.texture)
            self.texture = None
        if self.texture is None:
            self.texture = gs.gs_texture_create(w, h, S.GS_BGRA, 1, None, S.GS_DYNAMIC)
            if not self.texture:
                self.texture = None
                raise RuntimeError(f"libobs could not create a {w}x{h} BGRA texture")
            self.texture_size = (w, h)
        gs.gs_texture_set_image(self.texture, bgra.ctypes.data, w * 4, False)

    def draw(self) -> None:
        """Draw the composite texture at (0, 0), as libobs draws an async sRGB BGRA frame."""
        gs = self.gs
        texture = self.texture
        if texture is None:
            return
        space = gs.gs_get_color_space()
        linear = bool(gs.gs_get_linear_srgb()) or space != S.GS_CS_SRGB
        nonlinear_alpha = linear  # our frames do not carry linear alpha
        multiplier = 1.0
        if space == S.GS_CS_709_SCRGB:
            technique_name = b"DrawNonlinearAlphaMultiply" if nonlinear_alpha else b"DrawMultiply"
            multiplier = float(gs.obs_get_video_sdr_white_level()) / 80.0
        else:
            technique_name = b"DrawNonlinearAlpha" if nonlinear_alpha else b"Draw"
        effect = gs.obs_get_base_effect(S.OBS_EFFECT_DEFAULT)
        technique = gs.gs_effect_get_technique(effect, technique_name)
        if not technique:
            raise RuntimeError(f"the default effect has no technique {technique_name.decode()}")
        previous_linear = gs.gs_set_linear_srgb(linear)
        try:
            param = gs.gs_effect_get_param_by_name(effect, b"multiplier")
            if param:
                gs.gs_effect_set_float(param, multiplier)
            gs.gs_technique_begin(technique)
            try:
                gs.gs_technique_begin_pass(technique, 0)
                try:
                    self._draw_texture(effect, texture, linear, nonlinear_alpha)
                finally:
                    gs.gs_technique_end_pass(technique)
            finally:
                gs.gs_technique_end(technique)
        finally:
            gs.gs_set_linear_srgb(previous_linear)

    def _draw_texture(self, effect: Any, texture: int, linear: bool, nonlinear_alpha: bool) -> None:
        gs = self.gs
        if nonlinear_alpha:
            gs.gs_blend_state_push()
            gs.gs_blend_function(S.GS_BLEND_ONE, S.GS_BLEND_INVSRCALPHA)
        previous_framebuffer = gs.gs_framebuffer_srgb_enabled()
        gs.gs_enable_framebuffer_srgb(linear)
        try:
            image = gs.gs_effect_get_param_by_name(effect, b"image")
            if linear:
                gs.gs_effect_set_texture_srgb(image, texture)
            else:
                gs.gs_effect_set_texture(image, texture)
            gs.gs_draw_sprite(texture, 0, 0, 0)
        finally:
            gs.gs_enable_framebuffer_srgb(previous_framebuffer)
            if nonlinear_alpha:
                gs.gs_blend_state_pop()

    # -- any thread ------------------------------------------------------------------------------
    def close(self) -> None:
        """Destroy the graphics objects inside the graphics context (idempotent)."""
        if self.texrender is None and self.stage is None and self.texture is None:
            return
        gs = self.gs
        gs.obs_enter_graphics()
        try:
            if self.texrender is not None:
                gs.gs_texrender_destroy(self.texrender)
            if self.stage is not None:
                gs.gs_stagesurface_destroy(self.stage)
            if self.texture is not None:
                gs.gs_texture_destroy(self.texture)
        finally:
            self.texrender = self.stage = self.texture = None
            gs.obs_leave_graphics()
