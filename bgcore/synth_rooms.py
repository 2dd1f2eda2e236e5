"""Scene kinds of living rooms and real cameras, on top of :mod:`bgcore.synth`.

Each kind changes the synthetic world through :class:`bgcore.synth.Scenery` (the room, the
person and the camera model stay :mod:`bgcore.synth`'s, so every number is comparable with
its cases) and keeps the exact truth: the person only. Everything is drawn from the seed.

* ``monitor``: a screen on the wall plays video (moving shapes on a shifting gradient, scene
  cuts) during the plate and the live frames; the person passes in front of it.
* ``leaves``: a plant in front of a bright window sways (its leaves shift by a few pixels).
* ``blinking``: a string of small lights blinks, each at its own pace.
* ``close_up``: the person close to the camera, covering about half of the picture.
* ``jpeg30`` ... ``jpeg95``: a JPEG (MJPEG) camera at quality 30-95, with mid sensor noise.
* ``moved_object``: a box in the room is pushed aside while the person is there and stays
  (the background changed: :mod:`bgcore.plate_health` reports it; the truth stays the person).

:data:`PHOTO_CASES` use real photographs (Debian's ``opencv-doc`` examples, found under
:data:`PHOTO_DIRS`): ``photo_room`` (a photograph as the room: bookshelves, buildings, a
desk) and ``photo_person`` (the same, with the person's clothes cut from another photograph).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from .synth import Scene, Spec, render_scene
from .synth_world import Person, Room

F32 = npt.NDArray[np.float32]


def _noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> F32:
    """Smooth noise in about [-1, 1] with features ``cell`` pixels apart."""
    h, w = shape
    grid = rng.uniform(-1.0, 1.0, (int(h / cell) + 3, int(w / cell) + 3)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)

PHOTO_DIRS: tuple[Path, ...] = (Path("/usr/share/doc/opencv-doc/examples/data"),)
"""Where the photographs of the photo cases are looked for (Debian: ``apt install opencv-doc``)."""
ROOM_PHOTOS = ("building.jpg", "board.jpg", "stuff.jpg", "home.jpg", "leuvenA.jpg", "aero1.jpg")
"""Detailed, high-contrast pictures (shelves, windows, brick): the hardest rooms."""
CLOTH_PHOTOS = ("baboon.jpg", "fruits.jpg", "starry_night.jpg", "smarties.png", "graf1.png")

JPEG_QUALITIES = (30, 45, 60, 75, 95)
CASES: tuple[str, ...] = (
    "monitor", "leaves", "blinking", "close_up", *(f"jpeg{q}" for q in JPEG_QUALITIES), "moved_object",
)
PHOTO_CASES: tuple[str, ...] = ("photo_room", "photo_person")
ALL_CASES: tuple[str, ...] = CASES + PHOTO_CASES
QUALITY_CASES: tuple[str, ...] = tuple(c for c in ALL_CASES if c != "moved_object")
"""The kinds whose truth is the whole story (in ``moved_object`` the moved box is neither
person nor plate: its quality is :mod:`bgcore.plate_health`'s to report)."""


def photo(name: str) -> F32:
    """A photograph of :data:`PHOTO_DIRS` as linear-light BGR in 0-1 (FileNotFoundError with
    what to install when missing)."""
    for folder in PHOTO_DIRS:
        image = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if image is not None:
            return ((image.astype(np.float32) / 255.0) ** 2.2).astype(np.float32)
    raise FileNotFoundError(
        f"the photograph {name} is not in {', '.join(map(str, PHOTO_DIRS))}; "
        "install Debian's opencv-doc (apt install opencv-doc)"
    )


def photos_available() -> bool:
    """Whether the photo cases can run here."""
    return all((d / n).is_file() for n in (*ROOM_PHOTOS, *CLOTH_PHOTOS) for d in PHOTO_DIRS[:1])


class _Scenery:
    """A Scenery that changes nothing (the kinds below override what they change)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def setup(self, room: Room, person: Person) -> None:
        self.w, self.h = room.w, room.h
        self.wall_level = float(np.mean(room.wall))

    def background(self, t: int, albedo: F32, emission: F32) -> tuple[F32, F32]:
        return albedo, emission

    def foreground(self, t: int, coverage: dict[int, F32], centre: tuple[float, float], albedo: F32) -> F32:
        return albedo

    def _rect(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """A rectangle in frame pixels from fractions of the picture."""
        return (int(x0 * self.w), int(y0 * self.h), max(int(x0 * self.w) + 2, int(x1 * self.w)),
                max(int(y0 * self.h) + 2, int(y1 * self.h)))


class Monitor(_Scenery):
    """A screen playing video: a textured scene panning (as a camera does), shapes moving
    over it, cut to a new scene every 1.5-5 seconds; emits light at about the wall's level."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        r = self.rng
        side = -1 if r.uniform() < 0.5 else 1
        sw, sh = r.uniform(0.25, 0.35), r.uniform(0.22, 0.32)
        cx = 0.5 + side * r.uniform(0.15, 0.3)
        cy = r.uniform(0.25, 0.4)
        self.box = self._rect(cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2)
        x0, y0, x1, y1 = self.box
        self.cut_every = int(r.integers(45, 150))
        self.cut_phase = int(r.integers(0, self.cut_every))
        self.shapes = [
            (r.uniform(0, 1, 2), r.uniform(-0.05, 0.05, 2), r.uniform(0.06, 0.2), r.uniform(0, 1, 3))
            for _ in range(int(r.integers(4, 9)))
        ]
        self.palettes = r.uniform(0.05, 1.0, (16, 2, 3)).astype(np.float32)
        # each scene's texture (a landscape, a room on screen), panned over by 1-3 pixels a frame
        h, w = y1 - y0, x1 - x0
        self.textures = [
            (1.0 + 0.35 * _noise(r, (3 * h, 3 * w), max(2.0, h / 6))).astype(np.float32) for _ in range(4)
        ]
        self.pans = r.uniform(-3.0, 3.0, (16, 2))

    def frame(self, t: int) -> F32:
        """The screen's picture at frame ``t`` (linear light, 0-1)."""
        x0, y0, x1, y1 = self.box
        w, h = x1 - x0, y1 - y0
        scene, into = divmod(t + 1000 + self.cut_phase, self.cut_every)
        top, bottom = self.palettes[scene % len(self.palettes)]
        ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        texture = self.textures[scene % len(self.textures)]
        px, py = self.pans[scene % len(self.pans)] * into
        ox, oy = int(px) % (2 * w), int(py) % (2 * h)
        picture = (top * (1 - ramp) + bottom * ramp) * texture[oy : oy + h, ox : ox + w, None]
        for (pos, vel, size, colour) in self.shapes:
            sx, sy = (pos + vel * (t + 1000)) % 1.0
            radius = max(1, int(size * h))
            cv2.circle(picture, (int(sx * w), int(sy * h)), radius, colour.tolist(), -1)
        return np.clip(picture, 0.0, 1.0).astype(np.float32)

    def background(self, t: int, albedo: F32, emission: F32) -> tuple[F32, F32]:
        x0, y0, x1, y1 = self.box
        albedo, emission = albedo.copy(), emission.copy()
        b = max(1, (y1 - y0) // 20)
        albedo[y0 - b : y1 + b, x0 - b : x1 + b] = 0.02  # the bezel and the glass
        emission[y0 - b : y1 + b, x0 - b : x1 + b] = 0.0
        emission[y0:y1, x0:x1] = self.frame(t) * (1.5 * self.wall_level)
        return albedo, emission


class Leaves(_Scenery):
    """A plant before a bright window: dark leaves on light sky, swaying by 1-3 pixels."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        r = self.rng
        side = -1 if r.uniform() < 0.5 else 1
        cx, cy = 0.5 + side * r.uniform(0.2, 0.32), r.uniform(0.25, 0.4)
        sw, sh = r.uniform(0.22, 0.3), r.uniform(0.25, 0.4)
        self.box = self._rect(cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2)
        x0, y0, x1, y1 = self.box
        w, h = x1 - x0, y1 - y0
        pad = 6
        leaf = np.zeros((h + 2 * pad, w + 2 * pad, 3), np.float32)
        sky = np.array([0.95, 0.85, 0.7], np.float32)
        leaf[:] = sky
        for _ in range(int(r.integers(25, 50))):
            colour = [float(v) for v in (r.uniform(0.01, 0.06), r.uniform(0.05, 0.3), r.uniform(0.01, 0.08))]
            centre = (int(r.uniform(0, w + 2 * pad)), int(r.uniform(0, h + 2 * pad)))
            axes = (int(r.uniform(3, 9) * h / 80) + 1, int(r.uniform(1, 4) * h / 80) + 1)
            cv2.ellipse(leaf, centre, axes, r.uniform(0, 180), 0, 360, colour, -1)
        self.texture = leaf
        self.pad = pad
        self.amplitude = r.uniform(1.0, 3.0)
        self.period = r.uniform(12, 30)
        self.phase = r.uniform(0, 2 * np.pi, 2)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        self.grid = (xs, ys)

    def background(self, t: int, albedo: F32, emission: F32) -> tuple[F32, F32]:
        x0, y0, x1, y1 = self.box
        xs, ys = self.grid
        a = 2 * np.pi * t / self.period
        # the sway grows towards the top of the plant (stems bend) and ripples across it
        bend = 1.0 - ys / max(1.0, float(ys.max()))
        dx = self.amplitude * bend * np.sin(a + self.phase[0] + 0.05 * ys)
        dy = 0.4 * self.amplitude * bend * np.sin(0.7 * a + self.phase[1] + 0.05 * xs)
        map_x = (xs + self.pad + dx).astype(np.float32)
        map_y = (ys + self.pad + dy).astype(np.float32)
        swayed = cv2.remap(self.texture, map_x, map_y, cv2.INTER_LINEAR)
        albedo, emission = albedo.copy(), emission.copy()
        albedo[y0:y1, x0:x1] = swayed * 0.25  # the window: mostly light coming through
        emission[y0:y1, x0:x1] = swayed * (1.6 * self.wall_level)
        return albedo, emission


class Blinking(_Scenery):
    """A string of small lights along a shelf, each blinking at its own period (4-16 frames)."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        r = self.rng
        count = int(r.integers(8, 16))
        y = r.uniform(0.12, 0.3) * self.h
        x0, x1 = sorted(r.uniform(0.05, 0.95, 2) * self.w)
        if x1 - x0 < 0.3 * self.w:
            x0, x1 = 0.1 * self.w, 0.6 * self.w
        self.lights = [
            (
                x0 + (x1 - x0) * k / (count - 1), y + 3 * math.sin(k), int(r.integers(4, 17)),
                int(r.integers(0, 16)), r.uniform(0.3, 1.0, 3).astype(np.float32),
            )
            for k in range(count)
        ]
        self.radius = max(1.5, 0.012 * self.h)

    def background(self, t: int, albedo: F32, emission: F32) -> tuple[F32, F32]:
        emission = emission.copy()
        glow = np.zeros(emission.shape[:2], np.float32)
        for (x, y, period, phase, colour) in self.lights:
            if (t + phase) % period < period / 2:
                glow.fill(0.0)
                cv2.circle(glow, (int(x), int(y)), math.ceil(self.radius), 1.0, -1)
                soft = cv2.GaussianBlur(glow, (0, 0), self.radius)
                emission += (soft[..., None] * colour) * (3.0 * self.wall_level)
        return albedo, emission


class CloseUp(_Scenery):
    """The person twice as large, near the camera: head and shoulders over half the picture."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        person.scale *= self.rng.uniform(1.9, 2.3)
        person.head_y = self.rng.uniform(0.22, 0.32) * self.h
        person.sway *= 2.0


class MovedObject(_Scenery):
    """A box in the room (a chair, a bag) on the side the person does not stand on, pushed
    into the corner while they walk in, and left there: the background changed."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        r = self.rng
        side = 1 if person.x_target < self.w / 2 else -1  # (the side the person does not stand on)
        self.size = (int(r.uniform(0.12, 0.18) * self.w), int(r.uniform(0.22, 0.3) * self.h))
        self.start = (0.5 + side * r.uniform(0.28, 0.32)) * self.w
        self.end = self.start + side * r.uniform(0.1, 0.14) * self.w  # pushed into the corner
        self.y = int(r.uniform(0.6, 0.7) * self.h)
        self.colour = (r.uniform(0.02, 0.08, 3) * np.array([1.0, 1.4, 2.2])).astype(np.float32)
        self.moves = (int(r.integers(4, 8)), 4)  # (first frame of the push, frames it takes)

    def where(self, t: int) -> int:
        begin, frames = self.moves
        k = min(1.0, max(0.0, (t - begin) / frames))
        return int(self.start + (self.end - self.start) * k)

    def background(self, t: int, albedo: F32, emission: F32) -> tuple[F32, F32]:
        albedo = albedo.copy()
        x = self.where(t)
        bw, bh = self.size
        albedo[self.y : self.y + bh, x - bw // 2 : x + bw // 2] = self.colour
        albedo[self.y : self.y + bh // 8, x - bw // 2 : x + bw // 2] = self.colour * 1.8  # its top
        return albedo, emission


class PhotoRoom(_Scenery):
    """A real photograph as the room (its detail and contrast, linear light)."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        name = ROOM_PHOTOS[int(self.rng.integers(0, len(ROOM_PHOTOS)))]
        picture = photo(name)
        if self.rng.uniform() < 0.5:
            picture = picture[:, ::-1]
        canvas_h, canvas_w = room.albedo.shape[:2]
        resized = cv2.resize(picture, (canvas_w, canvas_h), interpolation=cv2.INTER_AREA)
        room.albedo = np.ascontiguousarray(resized, dtype=np.float32)
        room.emission = np.zeros_like(room.albedo)
        room._cache.clear()
        room.wall = np.mean(room.albedo, axis=(0, 1)).astype(np.float32)
        self.wall_level = float(np.mean(room.wall))


class PhotoPerson(PhotoRoom):
    """A photograph as the room, and the person's clothes cut from another photograph (moving
    with the body)."""

    def setup(self, room: Room, person: Person) -> None:
        super().setup(room, person)
        name = CLOTH_PHOTOS[int(self.rng.integers(0, len(CLOTH_PHOTOS)))]
        cloth = photo(name)
        self.cloth = cv2.resize(cloth, (2 * self.w + 8, 2 * self.h + 8), interpolation=cv2.INTER_AREA)
        self.shirt, self.sleeve = person.SHIRT, person.SLEEVE

    def foreground(self, t: int, coverage: dict[int, F32], centre: tuple[float, float], albedo: F32) -> F32:
        h, w = albedo.shape[:2]
        cx, cy = centre
        ix = min(max(round(w / 2 - cx) + w // 2 + 4, 0), w + 8)
        iy = min(max(round(h / 2 - cy) + h // 2 + 4, 0), h + 8)
        texture = self.cloth[iy : iy + h, ix : ix + w]
        clothes = coverage[self.shirt] + coverage[self.sleeve]
        # the person's own albedo minus their clothes, plus the photograph's
        covered = np.maximum(np.sum(list(coverage.values()), axis=0), 1e-6)
        plain = albedo - clothes[..., None] * (albedo / covered[..., None])
        return (plain + clothes[..., None] * texture).astype(np.float32)


_KINDS: dict[str, tuple[type[_Scenery], Spec]] = {
    "monitor": (Monitor, Spec()),
    "leaves": (Leaves, Spec()),
    "blinking": (Blinking, Spec()),
    "close_up": (CloseUp, Spec(exposure=(0.1, 0.25))),
    **{f"jpeg{q}": (_Scenery, Spec(noise="mid", jpeg=q)) for q in JPEG_QUALITIES},
    "moved_object": (MovedObject, Spec()),
    "photo_room": (PhotoRoom, Spec()),
    "photo_person": (PhotoPerson, Spec()),
}


def make_scene(
    case: str, *, width: int = 320, height: int = 240, n_frames: int = 30, plate_frames: int = 30,
    seed: int = 0,
) -> Scene:
    """Render the room kind ``case`` (see :data:`ALL_CASES`) deterministically from ``seed``."""
    try:
        kind, spec = _KINDS[case]
    except KeyError:
        raise ValueError(f"unknown room kind {case!r}; known: {', '.join(ALL_CASES)}") from None
    # (the kind's own draws come from a stream of their own: the room, person and camera of a
    # seed stay those of bgcore.synth's cases)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0B6A]))
    return render_scene(
        spec, name=case, width=width, height=height, n_frames=n_frames, plate_frames=plate_frames, seed=seed,
        scenery=kind(rng),
    )

