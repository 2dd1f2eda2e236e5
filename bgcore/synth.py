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

Here: the cases, the camera, the light and the scene's API; the room and the person are drawn
in :mod:`bgcore.synth_world`.

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
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR
from .synth_world import SS as SS
from .synth_world import Person, Room, srgb

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]



class Scenery(Protocol):
    """What a scene kind of :mod:`bgcore.synth_rooms` changes in the world: ``setup`` once,
    ``background`` per frame (``t`` < 0 for plate frames) on the room's albedo and emission,
    ``foreground`` per live frame on the person's premultiplied albedo."""

    def setup(self, room: Room, person: Person) -> None: ...

    def background(self, t: int, albedo: F32, emission: F32) -> tuple[F32, F32]: ...

    def foreground(
        self, t: int, coverage: dict[int, F32], centre: tuple[float, float], albedo: F32
    ) -> F32: ...


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
    # the same shadow through a USB webcam's MJPEG with a quiet sensor (daylight): JPEG's
    # rounding, unlike the sensor's noise, does not shrink in the shadow
    "shadow_jpeg": Spec(shadow=True, jpeg=80),
    "local_light": Spec(light=True),
    "similar_clothing": Spec(similar=True),
    # the same shirt through a USB webcam's MJPEG (a mid-noise sensor, as in combo)
    "similar_jpeg": Spec(similar=True, jpeg=80, noise="mid"),
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
    """Render the named case (see :data:`CASES`, and the room kinds of
    :mod:`bgcore.synth_rooms`) deterministically from ``seed``."""
    from . import synth_rooms  # (it builds on this module)

    if case in synth_rooms.ALL_CASES:
        return synth_rooms.make_scene(
            case, width=width, height=height, n_frames=n_frames, plate_frames=plate_frames, seed=seed
        )
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
    scenery: Scenery | None = None,
) -> Scene:
    """Render a scene for any :class:`Spec` (``make_scene`` renders the named cases)."""
    if width < 32 or height < 32 or n_frames < 1 or plate_frames < 1:
        raise ValueError("synthetic scenes need at least 32x32 pixels and one frame of each kind")
    ss_room, ss_person, ss_cam, ss_noise, ss_fx = np.random.SeedSequence(seed).spawn(5)
    room = Room(np.random.default_rng(ss_room), width, height)
    person = Person(np.random.default_rng(ss_person), width, height, room.wall, spec, n_frames, walk_frames)
    cam_rng = np.random.default_rng(ss_cam)
    noise_rng = np.random.default_rng(ss_noise)
    fx = np.random.default_rng(ss_fx)
    if scenery is not None:
        scenery.setup(room, person)

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
        y = srgb(sig)
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
    for i in range(plate_frames):
        ox, oy = shake(shake_amp / 3)
        alb, emi = room.at(ox, oy)
        if scenery is not None:
            alb, emi = scenery.background(i - plate_frames, alb, emi)
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
        if scenery is not None:
            alb, emi = scenery.background(t, alb, emi)
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
        fg = person.albedo(covs, centre)
        if scenery is not None:
            fg = scenery.foreground(t, covs, centre, fg)
        fg = fg * light
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
