"""Synthetic webcam scenes with exact ground truth, rendered through a camera model.

A scene is an empty room (the plate) and a person who walks in and moves (the frames), with
the exact foreground mask of every frame (the truth). Everything is physical and seeded:

* **Room**: albedo at ``SS`` x supersampling - a wall with plaster texture at several scales
  (sometimes wallpaper stripes), a wooden floor, furniture (shelves with books, a cabinet, a
  picture, a plant), a window that emits light (and may clip), lit by a smooth illumination
  field (gradient, vignetting, a light colour).
* **Person**: a label map drawn at ``SS`` x the frame resolution (head, hair with strands,
  neck, torso, arms with hands and thin fingers), walking in from a side, swaying, gesturing;
  clothing with a pattern and fabric noise that moves with the body, and soft 3-D shading.
  The supersampled map is box-averaged to a coverage fraction per pixel: edges are
  anti-aliased, and the truth is exactly ``coverage >= 0.5``.
* **Light**: a cast shadow of the person (background light scaled down, colour and texture
  kept; the truth stays the person only), a lamp switched on or a sun patch moving on the
  wall (a smooth, coloured gain field), which light the person as well.
* **Camera**: radiance x exposure gain (auto-exposure reacting when the person enters) x
  per-channel white-balance gains -> sensor noise (shot noise with variance proportional to
  the signal, plus read noise) -> tone curve (sRGB with a per-camera contrast) -> 8-bit
  quantisation -> optional JPEG; optional camera shake (whole-scene shifts in 1/SS pixel
  steps, applied identically to the truth).

Rooms, people, motion and camera parameters are all drawn from the seed, so a quality number
measured on some seeds can be checked on others. The same seed gives the same room and person
in every case; the case decides which effects are on.

Usage::

    scene = make_scene("shadow", seed=3)
    r.set_plate(scene.plate)
    for frame, truth in zip(scene.frames, scene.truth): ...
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

SS = 4
"""Supersampling factor of the person and the room: coverage comes in steps of 1/SS**2."""
_SHIFT = 4  # cv2 drawing: coordinates carry 4 fractional bits at the supersampled scale
_MARGIN = 4  # room canvas margin in frame pixels (room for camera shake)


@dataclass(frozen=True)
class Spec:
    """Which effects a case turns on (amounts are drawn from the seed within these ranges)."""

    noise: str = "low"
    """Sensor noise level: ``none``, ``low``, ``mid`` or ``high``."""
    exposure: tuple[float, float] = (0.0, 0.0)
    """Auto-exposure reaction to the person: relative gain change range (e.g. 0.2-0.4)."""
    white_balance: tuple[float, float] = (0.0, 0.0)
    """Auto white balance drift: relative red/blue gain change range."""
    shadow: bool = False
    """The person casts a soft shadow on the wall/floor."""
    light: bool = False
    """A lamp is switched on, or a sun patch moves on the wall."""
    similar: bool = False
    """The shirt is a darker, close shade of the wall colour, with little texture."""
    jpeg: int = 0
    """JPEG quality (0 = no compression)."""
    shake: tuple[float, float] = (0.0, 0.0)
    """Camera shake amplitude range in pixels during the live frames (plate: a third)."""
    still: bool = False
    """The person stands still from the first frame (breathing only)."""


CASE_SPECS: dict[str, Spec] = {
    "clean": Spec(),
    "noise_high": Spec(noise="high"),
    "exposure": Spec(exposure=(0.2, 0.4)),
    "white_balance": Spec(white_balance=(0.08, 0.2)),
    "shadow": Spec(shadow=True),
    "local_light": Spec(light=True),
    "similar_clothing": Spec(similar=True),
    "jpeg": Spec(jpeg=70),
    "shake": Spec(shake=(1.0, 2.0)),
    "still": Spec(still=True),
    "combo": Spec(
        noise="mid", exposure=(0.15, 0.3), white_balance=(0.05, 0.12), shadow=True, light=True,
        jpeg=80, shake=(0.5, 1.0),
    ),
}

CASES: tuple[str, ...] = tuple(CASE_SPECS)
DRIFT_CASES: tuple[str, ...] = ("exposure", "white_balance", "local_light", "combo")

# Full-well capacity (electrons at the white point) and read noise (electrons) per level.
_NOISE = {"none": (0.0, 0.0), "low": (6000.0, 4.0), "mid": (1500.0, 6.0), "high": (450.0, 8.0)}


@dataclass(frozen=True)
class Scene:
    """Plate frames (empty room), live frames and the exact truth (255 = person)."""

    name: str
    plate: list[BGR]
    frames: list[BGR]
    truth: list[U8]
    fps: float = 30.0
    coverage: list[F32] = field(default_factory=list, repr=False)
    """Per live frame, the person's exact coverage fraction of each pixel (truth = >= 0.5)."""


def case_spec(case: str) -> Spec:
    """The :class:`Spec` of a named case (ValueError for an unknown name)."""
    try:
        return CASE_SPECS[case]
    except KeyError:
        raise ValueError(f"unknown synthetic case {case!r}; known: {', '.join(CASES)}") from None


def make_scene(
    case: str,
    *,
    width: int = 320,
    height: int = 240,
    n_frames: int = 30,
    plate_frames: int = 30,
    seed: int = 0,
) -> Scene:
    """Render the named case (see :data:`CASES`) deterministically from ``seed``."""
    return render_scene(
        case_spec(case), name=case, width=width, height=height, n_frames=n_frames,
        plate_frames=plate_frames, seed=seed,
    )


def demo_scene(*, width: int = 640, height: int = 360, n_frames: int = 90, seed: int = 0) -> Scene:
    """A pleasant sample clip: a person walks in and moves, mild noise, a little exposure drift."""
    spec = Spec(noise="low", exposure=(0.08, 0.12))
    return render_scene(
        spec, name="demo", width=width, height=height, n_frames=n_frames, plate_frames=30, seed=seed,
        walk_frames=max(10, n_frames // 3),
    )


def write_scene(scene: Scene, directory: Path) -> dict[str, str]:
    """Write plate/%05d.png, frames/%05d.png and truth/%05d.png under ``directory``; returns
    the three printf-style path patterns (as readable by cv2.VideoCapture)."""
    directory = Path(directory)
    patterns: dict[str, str] = {}
    for key, images in (("plate", scene.plate), ("frames", scene.frames), ("truth", scene.truth)):
        sub = directory / key
        sub.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            path = sub / f"{i:05d}.png"
            if not cv2.imwrite(str(path), img):
                raise OSError(f"cannot write {path}")
        patterns[key] = str(sub / "%05d.png")
    return patterns


# -- rendering ---------------------------------------------------------------------------------
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


class _Room:
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


class _Person:
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


def _srgb(x: F32) -> F32:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def render_scene(
    spec: Spec,
    *,
    name: str = "custom",
    width: int = 320,
    height: int = 240,
    n_frames: int = 30,
    plate_frames: int = 30,
    seed: int = 0,
    walk_frames: int | None = None,
) -> Scene:
    """Render a scene for any :class:`Spec` (``make_scene`` renders the named cases)."""
    if width < 32 or height < 32 or n_frames < 1 or plate_frames < 1:
        raise ValueError("synthetic scenes need at least 32x32 pixels and one frame of each kind")
    ss_room, ss_person, ss_cam, ss_noise, ss_fx = np.random.SeedSequence(seed).spawn(5)
    room = _Room(np.random.default_rng(ss_room), width, height)
    person = _Person(np.random.default_rng(ss_person), width, height, room.wall, spec, n_frames, walk_frames)
    cam_rng = np.random.default_rng(ss_cam)
    noise_rng = np.random.default_rng(ss_noise)
    fx = np.random.default_rng(ss_fx)

    # camera
    full_well, read = _NOISE[spec.noise]
    full_well *= cam_rng.uniform(0.7, 1.3)
    contrast = cam_rng.uniform(0.9, 1.1)
    base_exposure = cam_rng.uniform(0.25, 0.45) / float(np.mean(room.wall))  # wall -> ~0.25-0.45 linear
    wall_luma = float(room.wall @ np.array([0.114, 0.587, 0.299], np.float32))
    shirt_luma = float(person.shirt @ np.array([0.114, 0.587, 0.299], np.float32))
    ae_amp = cam_rng.uniform(*spec.exposure) * (1 if shirt_luma < wall_luma else -1)
    ae_tau = cam_rng.uniform(2, 5)  # frames: webcams settle in ~0.1-0.3 s
    wb_amp = cam_rng.uniform(*spec.white_balance) * (1 if cam_rng.uniform() < 0.5 else -1)
    wb_tau = cam_rng.uniform(5, 12)
    shake_amp = cam_rng.uniform(*spec.shake)

    # effects
    shadow_k = fx.uniform(0.3, 0.55)
    shadow_dx = fx.uniform(0.04, 0.12) * width * (1 if fx.uniform() < 0.5 else -1)
    shadow_dy = fx.uniform(0, 0.06) * height
    shadow_blur = fx.uniform(1.5, 4.0) * height / 240
    lamp = fx.uniform() < 0.5
    light_pos = (fx.uniform(-0.8, 0.8), fx.uniform(-0.8, 0.3))
    light_size = fx.uniform(0.3, 0.6)
    light_power = fx.uniform(0.4, 0.9)
    light_color = np.array([fx.uniform(0.55, 0.8), fx.uniform(0.8, 0.9), 1.0], np.float32)  # warm (BGR)
    light_on = int(fx.integers(n_frames // 4, max(n_frames // 4 + 1, n_frames // 2)))
    sun_speed = fx.uniform(0.006, 0.02) * (1 if fx.uniform() < 0.5 else -1)
    sun_angle = fx.uniform(-0.6, 0.6)

    xs = ((np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1)[None, :]
    ys = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2 - 1)[:, None]

    def light_field(t: int, ox: float, oy: float) -> F32:
        """Illumination (hxwx3) at live frame t (t < 0: plate), scene shifted by (ox, oy) px."""
        X = xs - 2 * ox / width
        Y = ys - 2 * oy / height
        amb = room.ambient(np.broadcast_to(X, (height, width)), np.broadcast_to(Y, (height, width)))
        if not spec.light:
            return amb
        aspect = width / height
        if lamp:
            on = 0.0 if t < light_on else min(1.0, (t - light_on + 1) / 3.0)
            if on == 0.0:
                return amb
            d2 = ((X - light_pos[0]) * aspect) ** 2 + (Y - light_pos[1]) ** 2
            extra = on * light_power * np.exp(-d2 / (2 * light_size**2))
        else:
            shift = sun_speed * (t + 40)
            u = (X * aspect) * math.cos(sun_angle) + Y * math.sin(sun_angle) - light_pos[0] - shift * aspect
            v = Y - light_pos[1]
            edge = 0.04
            a = np.clip((light_size / 2 - np.abs(u)) / edge + 0.5, 0, 1)
            b = np.clip((light_size - np.abs(v)) / edge + 0.5, 0, 1)
            extra = light_power * (a * a * (3 - 2 * a)) * (b * b * (3 - 2 * b))
        return (amb + extra[..., None] * light_color).astype(np.float32)

    def camera(radiance: F32, gain: npt.NDArray[np.float32]) -> BGR:
        sig = radiance * (gain * base_exposure)
        if full_well > 0:
            var = np.maximum(sig, 0.0) / full_well + (read / full_well) ** 2
            sig = sig + np.sqrt(var) * noise_rng.standard_normal(sig.shape, dtype=np.float32)
        y = _srgb(sig)
        y = np.clip(0.5 + (y - 0.5) * contrast, 0.0, 1.0)
        img = np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
        if spec.jpeg:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg)])
            assert ok
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        return img

    jitter = np.zeros(2)

    def shake(amp: float) -> tuple[int, int]:
        nonlocal jitter
        if amp <= 0:
            return 0, 0
        jitter = np.clip(0.5 * jitter + cam_rng.normal(0, amp * 0.8, 2), -amp, amp)
        return round(jitter[0] * SS), round(jitter[1] * SS)

    unit = np.ones(3, np.float32)
    plate: list[BGR] = []
    for _ in range(plate_frames):
        ox, oy = shake(shake_amp / 3)
        alb, emi = room.at(ox, oy)
        rad = alb * light_field(-1, ox / SS, oy / SS) + emi
        plate.append(camera(rad, unit))

    frames: list[BGR] = []
    truth: list[U8] = []
    coverage: list[F32] = []
    ae_gain = 1.0
    wb = 0.0
    for t in range(n_frames):
        ox, oy = shake(shake_amp)
        fox, foy = ox / SS, oy / SS
        alb, emi = room.at(ox, oy)
        light = light_field(t, fox, foy)
        labels, centre = person.draw(t, fox, foy)
        covs = {
            k: cv2.resize((labels == k).astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
            for k in (person.SKIN, person.HAIR, person.SHIRT, person.SLEEVE)
        }
        alpha = covs[1] + covs[2] + covs[3] + covs[4]
        counts = cv2.resize((labels > 0).astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
        bg_light = light
        if spec.shadow:
            m = np.array([[1, 0, shadow_dx], [0, 1, shadow_dy]], np.float32)
            sh = cv2.warpAffine(counts, m, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0)
            sh = cv2.GaussianBlur(sh, (0, 0), shadow_blur)
            bg_light = light * (1.0 - shadow_k * sh)[..., None]
        bg = alb * bg_light + emi
        fg = person.albedo(covs, centre) * light
        rad = bg * (1.0 - alpha)[..., None] + fg
        # auto-exposure / white balance follow how much of the picture the person fills
        presence = min(1.0, float(counts.mean()) / 0.2)
        ae_gain += ((1.0 + ae_amp * presence) - ae_gain) / ae_tau
        wb += (wb_amp * presence - wb) / wb_tau
        gain = np.array([ae_gain * (1 + wb), ae_gain, ae_gain * (1 - wb)], np.float32)
        frames.append(camera(rad.astype(np.float32), gain))
        truth.append(np.where(counts >= 0.5, np.uint8(255), np.uint8(0)).astype(np.uint8))
        coverage.append(counts)
    return Scene(name=name, plate=plate, frames=frames, truth=truth, fps=30.0, coverage=coverage)


def with_changes(spec: Spec, **changes: object) -> Spec:
    """A copy of ``spec`` with fields changed (e.g. ``noise="none"`` for exactness tests)."""
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]
