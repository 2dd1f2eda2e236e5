"""The synthetic world of :mod:`bgcore.synth`: the empty room and the person, drawn at SS x
supersampling (albedo, emission, smooth light fields, a label map of the person), and the
sRGB curve of the camera. Every value comes from the generator given: one seed, one world.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .synth import Spec

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

SS = 4
"""Supersampling factor of the person and the room: coverage comes in steps of 1/SS**2."""
_SHIFT = 4  # cv2 drawing: coordinates carry 4 fractional bits at the supersampled scale
_MARGIN = 4  # room canvas margin in frame pixels (room for camera shake)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float, channels: int = 1) -> F32:
    """Band-limited noise in [-1, 1]-ish with features about ``cell`` pixels apart."""
    h, w = shape
    gh, gw = max(2, int(h / cell) + 3), max(2, int(w / cell) + 3)
    grid = rng.uniform(-1.0, 1.0, (gh, gw, channels)).astype(np.float32)
    up = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return up.reshape(h, w, channels) if channels > 1 else up.reshape(h, w)


def _hsv_albedo(h: float, s: float, v: float) -> F32:
    """A linear BGR albedo from hue (0-1), saturation and value (all 0-1)."""
    hsv = np.array([[[h * 180.0, s * 255.0, v * 255.0]]], np.float32)
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).reshape(3).astype(np.float32) / 255.0
    return (bgr**2.2).astype(np.float32)


def _pts(points: list[tuple[float, float]], scale: float) -> npt.NDArray[np.int32]:
    f = float(1 << _SHIFT) * scale
    return np.array([[round(x * f), round(y * f)] for x, y in points], np.int32)


class Room:
    """The empty room: supersampled albedo and emission, and smooth light fields."""

    def __init__(self, rng: np.random.Generator, width: int, height: int) -> None:
        self.w, self.h = width, height
        m = _MARGIN
        sw, sh = (width + 2 * m) * SS, (height + 2 * m) * SS
        s = SS
        u = height / 240.0  # size unit: frame-height relative

        # wall: a pastel colour with plaster texture at three scales (multiplicative)
        wall = _hsv_albedo(rng.uniform(0, 1), rng.uniform(0.05, 0.35), rng.uniform(0.55, 0.85))
        self.wall = wall
        tex = 1.0 + 0.10 * _smooth_noise(rng, (sh, sw), 40 * u * s)
        tex += 0.06 * _smooth_noise(rng, (sh, sw), 8 * u * s)
        tex += 0.05 * _smooth_noise(rng, (sh, sw), 1.5 * s)
        alb = np.empty((sh, sw, 3), np.float32)
        alb[:] = wall
        if rng.uniform() < 0.4:  # wallpaper stripes
            period = rng.uniform(6, 20) * u * s
            xs = np.arange(sw, dtype=np.float32)
            stripe = (np.sin(2 * np.pi * xs / period) > 0.3).astype(np.float32)
            alb *= (1.0 - rng.uniform(0.08, 0.2) * stripe)[None, :, None]
        alb *= tex[..., None]
        # floor: planks of a wood colour below a horizon
        horizon = int(rng.uniform(0.6, 0.85) * sh)
        wood = _hsv_albedo(rng.uniform(0.05, 0.1), rng.uniform(0.4, 0.7), rng.uniform(0.3, 0.6))
        plank = max(4, int(rng.uniform(8, 14) * u * s))
        rows = np.arange(sh - horizon)
        shade = 1.0 + 0.12 * rng.uniform(-1, 1, rows.size // plank + 2)[rows // plank]
        grain = 1.0 + 0.08 * _smooth_noise(rng, (sh - horizon, sw), 3 * s)
        alb[horizon:] = wood * (shade[:, None] * grain)[..., None]
        alb[horizon : horizon + max(1, s)] *= 0.5  # skirting shadow line
        emission = np.zeros((sh, sw, 3), np.float32)

        def rect(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
            cx0, cy0 = min(int(x0 * sw), sw - 2), min(int(y0 * sh), sh - 2)
            return (cx0, cy0, max(cx0 + 1, min(int(x1 * sw), sw)), max(cy0 + 1, min(int(y1 * sh), sh)))

        # a window (emits: sky gradient, mullions), on one side, sometimes
        if rng.uniform() < 0.6:
            wx = rng.uniform(0.02, 0.6)
            wy0, ww, wy1 = rng.uniform(0.05, 0.15), rng.uniform(0.15, 0.3), rng.uniform(0.45, 0.6)
            x0, y0, x1, y1 = rect(wx, wy0, wx + ww, wy1)
            sky = np.array([1.0, 0.85, 0.7], np.float32) * rng.uniform(1.2, 3.0)
            grad = np.linspace(1.0, 0.7, y1 - y0, dtype=np.float32)[:, None, None]
            emission[y0:y1, x0:x1] = sky * grad
            alb[y0:y1, x0:x1] = 0.05
            frame_alb = _hsv_albedo(0, 0, rng.uniform(0.6, 0.9))
            bar = max(2, int(2.5 * u * s))
            for xx in (x0, (x0 + x1) // 2, x1 - bar):
                emission[y0:y1, xx : xx + bar] = 0
                alb[y0:y1, xx : xx + bar] = frame_alb
            for yy in (y0, (y0 + y1) // 2, y1 - bar):
                emission[yy : yy + bar, x0:x1] = 0
                alb[yy : yy + bar, x0:x1] = frame_alb
        # furniture: a shelf with books, a cabinet, a picture, a plant (random subset)
        for _ in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(0, 4))
            cx, cw = rng.uniform(0.0, 0.95), rng.uniform(0.1, 0.3)
            if kind == 0:  # shelf with books
                y0f = rng.uniform(0.15, 0.45)
                x0, y0, x1, y1 = rect(cx, y0f, cx + cw, y0f + rng.uniform(0.2, 0.35))
                col = _hsv_albedo(rng.uniform(0.05, 0.12), rng.uniform(0.3, 0.6), rng.uniform(0.2, 0.5))
                alb[y0:y1, x0:x1] = col
                shelf_h = max(8, int(rng.uniform(22, 34) * u * s))
                for sy in range(y0, y1 - shelf_h // 2, shelf_h):
                    bx = x0 + 2 * s
                    while bx < x1 - 3 * s:
                        bw = int(rng.uniform(2, 6) * u * s) + 1
                        bh = int(shelf_h * rng.uniform(0.55, 0.9))
                        bcol = _hsv_albedo(rng.uniform(0, 1), rng.uniform(0.3, 0.9), rng.uniform(0.2, 0.9))
                        alb[sy + shelf_h - bh : sy + shelf_h - s, bx : min(bx + bw, x1 - s)] = bcol
                        bx += bw + int(rng.integers(0, 2)) * s
                    alb[sy + shelf_h - s : sy + shelf_h + s, x0:x1] = col * 0.6
            elif kind == 1:  # cabinet / door with a texture of its own
                y0f = rng.uniform(0.3, 0.6)
                x0, y0, x1, y1 = rect(cx, y0f, cx + cw, 1.0)
                col = _hsv_albedo(rng.uniform(0, 1), rng.uniform(0.0, 0.4), rng.uniform(0.15, 0.9))
                ct = 1.0 + 0.05 * _smooth_noise(rng, (y1 - y0, x1 - x0), 3 * s)
                alb[y0:y1, x0:x1] = col * ct[..., None]
                alb[y0 : y0 + s, x0:x1] *= 0.4
                alb[y0:y1, x0 : x0 + s] *= 0.5
            elif kind == 2:  # a picture in a frame
                y0f = rng.uniform(0.1, 0.35)
                x0, y0, x1, y1 = rect(cx, y0f, cx + cw * 0.7, y0f + rng.uniform(0.12, 0.25))
                alb[y0:y1, x0:x1] = _hsv_albedo(0, 0, rng.uniform(0.05, 0.9))
                b = max(2, int(3 * u * s))
                if y1 - y0 > 2 * b and x1 - x0 > 2 * b:
                    art = 0.1 + 0.8 * np.abs(_smooth_noise(rng, (y1 - y0 - 2 * b, x1 - x0 - 2 * b), 6 * s, 3))
                    alb[y0 + b : y1 - b, x0 + b : x1 - b] = art**2.2
            else:  # a plant: green leaf ellipses above a pot
                base_y = rng.uniform(0.5, 0.8) * sh
                px = cx * sw
                pot = _hsv_albedo(rng.uniform(0, 0.1), rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7))
                pw, ph = 10 * u * s, 14 * u * s
                corners = (int(px - pw), int(base_y)), (int(px + pw), int(base_y + ph))
                cv2.rectangle(alb, *corners, pot.tolist(), -1)
                for _ in range(int(rng.integers(8, 20))):
                    lc = _hsv_albedo(rng.uniform(0.22, 0.38), rng.uniform(0.4, 0.9), rng.uniform(0.2, 0.6))
                    ang = rng.uniform(0, 180)
                    lx = px + rng.normal(0, 10 * u * s)
                    ly = base_y - abs(rng.normal(12 * u * s, 10 * u * s))
                    axes = (int(rng.uniform(3, 7) * u * s), int(rng.uniform(1, 3) * u * s))
                    cv2.ellipse(alb, (int(lx), int(ly)), axes, ang, 0, 360, lc.tolist(), -1)
        self.albedo: F32 = np.clip(alb, 0.0, 1.0)
        self.emission: F32 = emission
        self.has_emission = bool(emission.any())
        # ambient light: a colour, a gradient and vignetting (evaluated per pixel position)
        self.light_color = np.array(
            [1.0 + rng.uniform(-0.08, 0.08), 1.0, 1.0 + rng.uniform(-0.08, 0.08)], np.float32
        )
        self.grad = (rng.uniform(-0.25, 0.25), rng.uniform(-0.2, 0.1))
        self.vignette = rng.uniform(0.15, 0.4)
        self._cache: dict[tuple[int, int], tuple[F32, F32]] = {}

    def at(self, ox: int, oy: int) -> tuple[F32, F32]:
        """(albedo, emission) at frame resolution for a shake offset in supersampled pixels."""
        key = (ox, oy)
        hit = self._cache.get(key)
        if hit is None:
            m = _MARGIN * SS
            y0, x0 = m + oy, m + ox
            sl = (slice(y0, y0 + self.h * SS), slice(x0, x0 + self.w * SS))
            alb = cv2.resize(self.albedo[sl], (self.w, self.h), interpolation=cv2.INTER_AREA)
            emi = cv2.resize(self.emission[sl], (self.w, self.h), interpolation=cv2.INTER_AREA)
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = hit = (alb, emi)
        return hit

    def ambient(self, xs: F32, ys: F32) -> F32:
        """Ambient illumination (hxwx3) at frame coordinates normalised to [-1, 1]."""
        gx, gy = self.grad
        r2 = xs * xs * 0.6 + ys * ys
        level = (1.0 + gx * xs + gy * ys) * (1.0 - self.vignette * r2 / 1.6)
        return (level[..., None] * self.light_color).astype(np.float32)


class Person:
    """A person-like figure: geometry per frame, label map, clothing albedo."""

    SKIN, HAIR, SHIRT, SLEEVE = 1, 2, 3, 4

    def __init__(self, rng: np.random.Generator, width: int, height: int, wall: F32, spec: Spec, n: int,
                 walk_frames: int | None) -> None:
        self.w, self.h = width, height
        self.scale = rng.uniform(0.8, 1.1) * height
        tones = [(0.35, 0.45, 0.62), (0.22, 0.3, 0.45), (0.12, 0.18, 0.3), (0.05, 0.08, 0.14)]
        t = tones[int(rng.integers(0, len(tones)))]
        self.skin = (np.array(t, np.float32) * rng.uniform(0.85, 1.15)).astype(np.float32)
        self.hair = _hsv_albedo(rng.uniform(0.02, 0.1), rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.55))
        # (every value is drawn in every case, so one seed gives the same person everywhere)
        shirt = _hsv_albedo(rng.uniform(0, 1), rng.uniform(0.1, 0.85), rng.uniform(0.12, 0.8))
        pattern, amp, fabric = int(rng.integers(0, 4)), rng.uniform(0.15, 0.5), rng.uniform(0.03, 0.08)
        shade, tint = rng.uniform(0.72, 0.88), 1 + rng.uniform(-0.04, 0.04, 3)
        if spec.similar:
            # a darker, close shade of the wall: same hue, a little less light, barely textured
            shirt = (wall * shade * tint).astype(np.float32)
            pattern, amp, fabric = 0, 0.0, 0.02
        self.shirt: F32 = shirt
        self.pattern, self.pattern_amp, self.fabric = pattern, amp, fabric  # plain/stripes/checks/print
        self.pattern_period = rng.uniform(0.02, 0.06) * height
        self.short_sleeves = bool(rng.uniform() < 0.4)
        self.strands = int(rng.integers(4, 16))
        self.strand_seed = int(rng.integers(0, 2**31))
        self.fabric_tex = _smooth_noise(rng, (2 * height + 8, 2 * width + 8), 1.2)
        # motion
        self.still = spec.still
        side = -1 if rng.uniform() < 0.5 else 1
        self.x_target = rng.uniform(0.3, 0.7) * width
        # the walk starts with the person partly in the picture (entering at the edge)
        self.x_start = self.x_target + side * rng.uniform(0.3, 0.45) * width
        self.walk = walk_frames if walk_frames is not None else max(4, int(n * rng.uniform(0.25, 0.45)))
        self.start = 0 if spec.still else int(rng.integers(0, max(1, n // 8) + 1))
        self.sway = rng.uniform(0.005, 0.02) * width
        self.freq = rng.uniform(0.05, 0.15)
        self.wave_arm = int(rng.integers(0, 2))
        self.wave_amp = rng.uniform(0.3, 0.9)
        self.phase = rng.uniform(0, 2 * np.pi)
        self.head_y = rng.uniform(0.18, 0.32) * height

    def pose(self, i: int) -> dict[str, float]:
        """Body position and joint angles at live frame ``i``."""
        if self.still:
            return {"cx": self.x_target, "hy": self.head_y + 0.3 * math.sin(0.2 * i), "lean": 0.0,
                    "a0": 0.2, "a1": 0.35, "b0": 0.25, "b1": 0.5, "fing": 0.3}
        k = (i - self.start) / self.walk
        p = min(1.0, max(0.0, k))
        ease = p * p * (3 - 2 * p)
        cx = self.x_start + (self.x_target - self.x_start) * ease
        phase = self.phase + 2 * np.pi * self.freq * i
        cx += self.sway * math.sin(phase) * (1 if p >= 1 else 0.3)
        bob = 0.01 * self.h * abs(math.sin(3 * phase)) * (1 - ease)  # walking bob
        swing = 0.25 * math.sin(2.5 * phase) * (1 - ease)
        wave = self.wave_amp * (0.5 + 0.5 * math.sin(phase * 1.7)) * ease
        # arm angles in radians away from straight down, outwards positive
        up = [0.2 + swing, 0.2 - swing]
        fore = [up[0] + 0.15, up[1] + 0.15 + 0.3 * math.sin(phase)]
        up[self.wave_arm] += 1.6 * wave
        fore[self.wave_arm] = up[self.wave_arm] + 1.2 * wave
        return {"cx": cx, "hy": self.head_y + bob, "lean": 0.03 * math.sin(phase * 0.7), "a0": up[0],
                "a1": fore[0], "b0": up[1], "b1": fore[1], "fing": 0.2 + 0.4 * wave}

    def draw(self, i: int, ox: float, oy: float) -> tuple[U8, tuple[float, float]]:
        """Label map at SS x resolution (0 = none) for frame ``i``; shake offset in frame px.
        Also returns the body centre (x, y) for clothing coordinates."""
        ps = self.pose(i)
        s = self.scale
        canvas = np.zeros((self.h * SS, self.w * SS), np.uint8)
        sc = SS

        def P(x: float, y: float) -> tuple[float, float]:
            return (x + ox, y + oy)

        def poly(points: list[tuple[float, float]], label: int) -> None:
            cv2.fillPoly(canvas, [_pts([P(*p) for p in points], sc)], label, cv2.LINE_8, _SHIFT)

        def disc(x: float, y: float, rx: float, ry: float, label: int, angle: float = 0.0) -> None:
            c = _pts([P(x, y)], sc)[0]
            ax = (max(1, round(rx * sc * (1 << _SHIFT))), max(1, round(ry * sc * (1 << _SHIFT))))
            cv2.ellipse(canvas, (int(c[0]), int(c[1])), ax, angle, 0, 360, label, -1, cv2.LINE_8, _SHIFT)

        def limb(x0: float, y0: float, x1: float, y1: float, width: float, label: int) -> None:
            dx, dy = x1 - x0, y1 - y0
            n = math.hypot(dx, dy) or 1.0
            nx, ny = -dy / n * width / 2, dx / n * width / 2
            poly([(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)], label)
            disc(x1, y1, width / 2, width / 2, label)

        cx, hy, lean = ps["cx"], ps["hy"], ps["lean"]
        hrx, hry = 0.075 * s, 0.095 * s
        sh_y = hy + hry + 0.06 * s
        sh_w = 0.2 * s
        # torso (shirt) down past the bottom edge, shoulders rounded
        bottom = self.h + 0.2 * s
        tx = cx + lean * s
        poly([(tx - sh_w, sh_y + 0.04 * s), (tx - 0.1 * s, sh_y - 0.01 * s), (tx + 0.1 * s, sh_y - 0.01 * s),
              (tx + sh_w, sh_y + 0.04 * s), (tx + 0.17 * s, bottom), (tx - 0.17 * s, bottom)], self.SHIRT)
        disc(tx - sh_w + 0.04 * s, sh_y + 0.05 * s, 0.05 * s, 0.05 * s, self.SHIRT)
        disc(tx + sh_w - 0.04 * s, sh_y + 0.05 * s, 0.05 * s, 0.05 * s, self.SHIRT)
        # neck and head
        limb(cx, hy + 0.5 * hry, tx, sh_y + 0.01 * s, 0.07 * s, self.SKIN)
        disc(cx, hy, hrx, hry, self.SKIN, math.degrees(lean))
        # hair: a cap and strands
        disc(cx, hy - 0.35 * hry, hrx * 1.04, hry * 0.7, self.HAIR, math.degrees(lean))
        srng = np.random.default_rng(self.strand_seed)
        for _ in range(self.strands):
            ang = srng.uniform(-2.6, -0.5)
            sx, sy = cx + hrx * math.cos(ang) * 0.95, hy - 0.35 * hry + hry * 0.7 * math.sin(ang)
            length = srng.uniform(0.03, 0.09) * s
            curl = srng.uniform(-0.6, 0.6)
            pts = []
            for k in range(5):
                tt = k / 4
                a = ang + curl * tt + 0.15 * math.sin(0.3 * i + k)
                pts.append((sx + math.cos(a) * length * tt, sy + math.sin(a) * length * tt))
            thick = srng.uniform(0.4, 1.4)  # frame pixels: some strands are sub-pixel
            arr = _pts([P(*p) for p in pts], sc)
            cv2.polylines(canvas, [arr], False, self.HAIR, max(1, round(thick * sc)), cv2.LINE_8, _SHIFT)
        # arms: upper arm (sleeve), forearm (sleeve or skin), hand with fingers
        up_len, fore_len = 0.26 * s, 0.22 * s
        for side, (a_up, a_fore) in ((-1, (ps["a0"], ps["a1"])), (1, (ps["b0"], ps["b1"]))):
            x0, y0 = tx + side * (sh_w - 0.04 * s), sh_y + 0.05 * s
            ex = x0 + side * up_len * math.sin(a_up)
            ey = y0 + up_len * math.cos(a_up)
            wx = ex + side * fore_len * math.sin(a_fore)
            wy = ey + fore_len * math.cos(a_fore)
            limb(x0, y0, ex, ey, 0.085 * s, self.SLEEVE)
            limb(ex, ey, wx, wy, 0.065 * s, self.SKIN if self.short_sleeves else self.SLEEVE)
            hx, hyy = wx + side * 0.03 * s * math.sin(a_fore), wy + 0.03 * s * math.cos(a_fore)
            disc(hx, hyy, 0.035 * s, 0.04 * s, self.SKIN)
            # fingers: thin lines fanning out along the forearm direction
            base = math.atan2(math.cos(a_fore), side * math.sin(a_fore))
            for f in range(4):
                a = base + (f - 1.5) * ps["fing"] * 0.5
                fl = (0.045 + 0.01 * (f in (1, 2))) * s
                fx, fy = hx + math.cos(a) * 0.03 * s, hyy + math.sin(a) * 0.03 * s
                arr = _pts([P(fx, fy), P(fx + math.cos(a) * fl, fy + math.sin(a) * fl)], sc)
                thick = max(1, round(0.009 * s * sc))
                cv2.polylines(canvas, [arr], False, self.SKIN, thick, cv2.LINE_8, _SHIFT)
            thumb = base - 1.3 * side
            tip = (hx + math.cos(thumb) * 0.04 * s, hyy + math.sin(thumb) * 0.04 * s)
            limb(hx, hyy, *tip, 0.014 * s, self.SKIN)
        return canvas, (tx + ox, sh_y + oy)

    def albedo(self, labels_cov: dict[int, F32], centre: tuple[float, float]) -> F32:
        """Premultiplied person albedo (hxwx3) = sum over labels of coverage x albedo."""
        h, w = self.h, self.w
        cx, cy = centre
        xs = np.arange(w, dtype=np.float32) + 0.5 - cx
        ys = np.arange(h, dtype=np.float32) + 0.5 - cy
        # clothing pattern in body coordinates (moves with the person)
        per = self.pattern_period
        if self.pattern == 1:
            pat = (np.sin(2 * np.pi * ys / per)[:, None] > 0) * np.ones((1, w))
        elif self.pattern == 2:
            pat = ((np.sin(2 * np.pi * ys / per)[:, None] > 0) ^ (np.sin(2 * np.pi * xs / per)[None, :] > 0))
        elif self.pattern == 3:
            pat = (np.sin(xs / per * 3.1)[None, :] * np.sin(ys / per * 2.3)[:, None]) > 0.5
        else:
            pat = np.zeros((h, w), bool)
        ix = min(max(round(w / 2 - cx) + w // 2 + 4, 0), w + 8)
        iy = min(max(round(h / 2 - cy) + h // 2 + 4, 0), h + 8)
        fab = self.fabric_tex[iy : iy + h, ix : ix + w]
        cloth = (1.0 - self.pattern_amp * pat.astype(np.float32)) * (1.0 + self.fabric * fab)
        # soft 3-D shading: darker towards the sides of the body
        side = np.clip(np.abs(xs) / (0.3 * self.scale), 0, 1)
        shade = (1.0 - 0.25 * side * side)[None, :]
        out = np.zeros((h, w, 3), np.float32)
        shirt_cov = labels_cov[self.SHIRT] + labels_cov[self.SLEEVE]
        out += (shirt_cov * cloth * shade)[..., None] * self.shirt
        out += (labels_cov[self.SKIN] * shade)[..., None] * self.skin
        out += labels_cov[self.HAIR][..., None] * self.hair
        return out


def srgb(x: F32) -> F32:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)
