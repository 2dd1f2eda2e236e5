"""Plate health: noticing that the background itself changed and stayed.

A chair moved, a bag put down, a door left open, the camera bumped, a lamp switched on for
good: the plate no longer shows the room, and the difference stays in the mask as if it were
part of the person. :class:`PlateHealth` watches the mask the engine gives and finds such
changes: pixels that have been foreground and **still** (the picture there unchanged beyond
its noise) for :data:`STILL_SECONDS`, in parts of the mask with no moving pixels at all. The
person, even sitting as still as they can, breathes and blinks: the part of the mask they
are in always has some moving pixels, so they are never taken for a change of the room
(and, with absorption on, never fade away).

What it finds is data (:attr:`PlateHealth.changes`, :class:`~bgcore.plate.Region` s in the
frame's pixels); each layer words it (the OBS status line, ``process``'s summary). With
``absorb_seconds`` > 0 (off by default) a change that stayed still that long is handed back
by :meth:`PlateHealth.update` to be absorbed into the plate (:meth:`bgcore.plate.Plate.absorb`).

Threading and lifetime: one instance per plate and working size, fed by the thread that runs
the engine. A check costs a few tenths of a millisecond at 320x180: it runs on the frames it
is told are due (the pipeline passes the engine's periodic frames, every 4th, see
:attr:`bgcore.engine.mask_engine.MaskEngine.periodic`), which carry the engine's periodic
work already, so that three frames in four carry none: checks every 5th frame of their own
made two frames in five heavier than the rest (and the benchmark's median frame one of
them). Every 8th frame instead would cost less, but a moved box's absorption then took
part of it only (tests/test_pipeline.py, seed 1: the last second's F1 0.995 -> 0.945).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .plate import Region, regions_of

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

STILL_SECONDS = 3.0
"""A change of the background is reported once it has stayed still this long."""
STILL_SIGMAS = 6.0
STILL_MIN_LEVELS = 6.0
"""A pixel is still while it differs from its last check by at most this many noise sigmas
(and at least this many levels, for JPEG and light flicker) in every channel, or only it
and none of its 8 neighbours does (noise; a moving edge is a line)."""
MOVING_SHARE = 0.003
"""A part of the mask with more than this share of moving pixels holds someone (breathing,
blinking, a hand): nothing in it is a change of the room."""
LASTING_SHARE = 0.5
"""...and at least this share of its pixels still for STILL_SECONDS."""
MIN_SHARE = 0.003
"""Changes smaller than this share of the picture are not reported (noise, a twinkle)."""


GRID_COLUMNS = 64
"""The parts of the mask are judged on a grid at most this many cells across (a few
kilobytes: the check allocates no image-sized buffer)."""


class PlateHealth:
    """Watches one plate's masks at the working size (w, h) for changes of the room."""

    def __init__(self, sigma: F32, frame_size: tuple[int, int]) -> None:
        h, w = sigma.shape[:2]
        self.frame_size = frame_size
        self.changes: tuple[Region, ...] = ()
        """The changes of the room found at the last check (largest first)."""
        self.first_seen: float | None = None
        """When (the frames' clock) a change was first reported since the last plate."""
        # at the working size, uint8 and float32, reused every check
        limit = np.ceil(np.maximum(STILL_SIGMAS * sigma, STILL_MIN_LEVELS))
        self._limit = np.clip(limit, 0, 255).astype(np.uint8)
        self._last: U8 | None = None  # the frame at the last check
        self._difference = np.empty((h, w, 3), np.uint8)
        self._over = np.empty((h, w, 3), np.uint8)
        self._changed = np.empty((h, w), np.uint8)  # 255: changed (with a changed neighbour)
        self._neighbours = np.empty((h, w), np.uint16)
        self._still = np.empty((h, w), np.uint8)
        self._not_still = np.empty((h, w), np.uint8)
        self._moving = np.empty((h, w), np.uint8)
        self._since = np.full((h, w), NEVER, np.float32)  # foreground and still since (s)
        self._zeros = np.zeros((h, w), np.float32)
        self._long = np.empty((h, w), np.uint8)
        # the grid the parts are judged on
        cell = max(1, -(-w // GRID_COLUMNS))
        self._grid = (max(1, w // cell), max(1, h // cell))
        gw, gh = self._grid
        self._grid_foreground = np.empty((gh, gw), np.uint8)
        self._grid_moving = np.empty((gh, gw), np.uint8)
        self._grid_long = np.empty((gh, gw), np.uint8)
        self._grid_lasting = np.empty((gh, gw), np.uint8)
        self._labels = np.empty((gh, gw), np.int32)

    def update(
        self, frame: U8, mask: U8, t: float, absorb_seconds: float = 0.0, *, due: bool = True
    ) -> U8 | None:
        """Look at one working-size ``frame`` and its ``mask`` (0/255) at time ``t`` (s), when
        it is ``due`` (else nothing happens). Returns the parts (0/255, at the grid's size) to
        absorb into the plate when ``absorb_seconds`` > 0 and a change stayed still that long,
        else None."""
        if not due:
            return None
        last = self._last
        if last is None:
            self._last = frame.copy()
            return None
        cv2.absdiff(frame, last, dst=self._difference)
        np.copyto(last, frame)
        cv2.compare(self._difference, self._limit, cv2.CMP_GT, dst=self._over)
        cv2.transform(self._over, _ANY_CHANNEL, dst=self._changed[..., None])  # (saturates: 0/255)
        # a changed pixel with no changed neighbour is noise; a moving edge is a line
        cv2.boxFilter(self._changed, cv2.CV_16U, (3, 3), dst=self._neighbours, normalize=False)
        cv2.compare(self._neighbours, 2 * 255, cv2.CMP_GE, dst=self._still)
        cv2.bitwise_and(self._changed, self._still, dst=self._changed)
        cv2.bitwise_and(mask, self._changed, dst=self._moving)
        cv2.bitwise_not(self._changed, dst=self._still)
        cv2.bitwise_and(mask, self._still, dst=self._still)  # foreground and unchanged
        # a pixel's stillness starts when it is first seen foreground and unchanged
        since = self._since
        cv2.min(since, float(t), dst=since)
        cv2.bitwise_not(self._still, dst=self._not_still)
        cv2.add(self._zeros, NEVER, dst=since, mask=self._not_still)
        cv2.compare(since, t - STILL_SECONDS, cv2.CMP_LE, dst=self._long)
        if not cv2.countNonZero(self._long):
            self.changes = ()
            return None
        lasting = self._lasting_parts(mask, self._long)
        self.changes = regions_of(lasting, self.frame_size, MIN_SHARE)
        if self.changes and self.first_seen is None:
            self.first_seen = t
        if absorb_seconds > 0 and self.changes:
            cv2.compare(since, t - absorb_seconds, cv2.CMP_LE, dst=self._long)
            ripe = self._lasting_parts(mask, self._long)
            if cv2.countNonZero(ripe) >= MIN_SHARE * ripe.size:
                cv2.add(self._zeros, NEVER, dst=since)  # (what was absorbed starts afresh)
                return cv2.dilate(ripe, _CELL_AROUND)  # (the cells its edge half covers too)
        return None

    def _lasting_parts(self, mask: U8, long_still: U8) -> U8:
        """On the grid (0/255): the connected parts of the mask with (almost) no moving
        pixels (see MOVING_SHARE) and mostly ``long_still`` ones, whole."""
        grid = self._grid
        cv2.resize(mask, grid, dst=self._grid_foreground, interpolation=cv2.INTER_AREA)
        cv2.compare(self._grid_foreground, 127, cv2.CMP_GT, dst=self._grid_foreground)
        cv2.resize(self._moving, grid, dst=self._grid_moving, interpolation=cv2.INTER_AREA)
        cv2.resize(long_still, grid, dst=self._grid_long, interpolation=cv2.INTER_AREA)
        cv2.compare(self._grid_long, 127, cv2.CMP_GT, dst=self._grid_long)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            self._grid_foreground, labels=self._labels, connectivity=8, ltype=cv2.CV_32S
        )
        lasting = self._grid_lasting
        lasting.fill(0)
        for i in range(1, count):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            box = (slice(y, y + bh), slice(x, x + bw))
            part = np.equal(labels[box], i)
            # moving: the share of the part's area where pixels moved (the grid averages them)
            moving = float(self._grid_moving[box][part].sum()) / 255.0
            still = int(np.count_nonzero(self._grid_long[box][part]))
            if moving <= MOVING_SHARE * area and still >= LASTING_SHARE * area:
                lasting[box][part] = 255
        return lasting


NEVER = 1e30
"""``since`` of a pixel that is not foreground and still."""
_ANY_CHANNEL = np.ones((1, 3), np.float32)
_CELL_AROUND = np.ones((3, 3), np.uint8)
