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
the engine; it checks every :data:`CHECK_EVERY` th frame (a few tenths of a millisecond at
320x180).
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
CHECK_EVERY = 5
"""Frames between two checks."""
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


class PlateHealth:
    """Watches one plate's masks at the working size (w, h) for changes of the room."""

    def __init__(self, sigma: F32, frame_size: tuple[int, int]) -> None:
        h, w = sigma.shape[:2]
        self.frame_size = frame_size
        self._limit = np.maximum(STILL_SIGMAS * sigma, STILL_MIN_LEVELS).astype(np.float32)
        self._last: F32 | None = None  # the frame at the last check (float32)
        self._still_since = np.full((h, w), np.inf, np.float32)  # foreground and still since (s)
        self._difference = np.empty((h, w, 3), np.float32)
        self.changes: tuple[Region, ...] = ()
        """The changes of the room found at the last check (largest first)."""
        self.first_seen: float | None = None
        """When (the frames' clock) a change was first reported since the last plate."""
        self._frame = 0

    def update(self, frame: U8, mask: U8, t: float, absorb_seconds: float = 0.0) -> U8 | None:
        """Look at one working-size ``frame`` and its ``mask`` (0/255) at time ``t`` (s).
        Returns the pixels (0/255) to absorb into the plate when ``absorb_seconds`` > 0 and
        a change stayed still that long, else None."""
        self._frame += 1
        if self._frame % CHECK_EVERY:
            return None
        current = frame.astype(np.float32)
        last, self._last = self._last, current
        if last is None:
            return None
        diff = cv2.absdiff(current, last, dst=self._difference)
        changed = np.any(diff > self._limit, axis=2).view(np.uint8)
        neighbours = cv2.boxFilter(changed, -1, (3, 3), normalize=False)
        changed = (changed > 0) & (neighbours >= 2)
        foreground = mask > 127
        still = foreground & ~changed
        # a pixel's stillness starts when it is first seen foreground and unchanged
        since = self._still_since
        since[~still] = np.inf
        np.minimum(since, np.where(still, np.float32(t), np.float32(np.inf)), out=since)
        long_still = since <= t - STILL_SECONDS
        if not long_still.any():
            self.changes = ()
            return None
        lasting = self._lasting_parts(foreground, foreground & changed, long_still)
        self.changes = regions_of(lasting.view(np.uint8), self.frame_size, MIN_SHARE)
        if self.changes and self.first_seen is None:
            self.first_seen = t
        if absorb_seconds > 0 and self.changes:
            ripe = self._lasting_parts(foreground, foreground & changed, since <= t - absorb_seconds)
            if np.count_nonzero(ripe) >= MIN_SHARE * ripe.size:
                since[ripe] = np.inf
                absorbed = np.where(ripe, np.uint8(255), np.uint8(0)).astype(np.uint8)
                return cv2.dilate(absorbed, np.ones((3, 3), np.uint8))  # (its soft edge too)
        return None

    @staticmethod
    def _lasting_parts(
        foreground: npt.NDArray[np.bool_], moving: npt.NDArray[np.bool_], long_still: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """The connected parts of the mask with (almost) no ``moving`` pixels (see
        MOVING_SHARE) and mostly ``long_still`` ones: whole, noise speckles and all."""
        parts = foreground.view(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(parts, connectivity=8)
        areas = np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
        moving_per_part = np.bincount(labels[moving], minlength=count)
        still_per_part = np.bincount(labels[long_still], minlength=count)
        lasting = (moving_per_part <= MOVING_SHARE * areas) & (still_per_part >= LASTING_SHARE * areas)
        lasting[0] = False  # (the background)
        return lasting[labels]  # type: ignore[no-any-return]
