"""The outline's pixels decided by how much of them the person covers, in linear light.

A pixel on the person's outline sees both: the optics and the sensor add the light of the
person and of the room behind in proportion to the area each covers (in linear light, before
the camera's tone curve). Such a pixel differs from the plate whenever the person covers a
visible part of it, so the thresholds take in pixels the person covers a fifth of, and the
mask sits about half a pixel outside the true outline; the other way round, a dark strand
over a bright wall is lost in the tone curve's compression of the darks. :class:`EdgeUnmix`
estimates each outline pixel's coverage ``a`` from ``frame = a x person + (1 - a) x room``
in linear light (the sRGB curve undone; the room is the expected background, the person the
mean of the mask's pixels at least two pixels inside, within EDGE_WINDOW), projected on the
line from room to person; an outline pixel with ``a`` below a half leaves the mask, and a
pixel just outside with ``a`` of a half or more joins it. Only where the person differs from
the room by EDGE_CONTRAST levels or more (else ``a`` is noise), never on light the engine
explained (the room there is not the expected background).

Exact arithmetic, so that the compiled kernel (:func:`bgcore.kernels.edge_unmix`) and the
OpenCV passes here decide every pixel alike: linear light in 1/65535 steps, the room and the
contrast in whole levels, sums over the window as integers (int64 in the kernel, float64
here: exact below 2^53), the tests multiplied out (``2 n sum((f - r) d) >= sum(d^2)`` with
``d = S - n r``, ``S`` the window's sum and ``n`` its count).

Threading and lifetime: one instance per MaskEngine, used by its thread; buffers allocated
once (the OpenCV passes' on their first use); nothing allocated per frame.
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from .. import kernels
from .regions import RECT3, Box

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

EDGE_WINDOW = 7
"""The box (pixels) over which the person's colour beside an outline pixel is averaged."""
EDGE_CONTRAST = 20
"""Least difference between that colour and the room (levels, Euclidean over B, G, R)."""

RECT5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_SUM = np.ones((1, 3), np.float64)  # cv2.transform: the sum of the three channels


def _linear_steps() -> npt.NDArray[np.int32]:
    v = np.arange(256, dtype=np.float64) / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return np.rint(linear * 65535.0).astype(np.int32)


LINEAR = _linear_steps()
"""8-bit sRGB level -> linear light in 1/65535 steps."""
_LINEAR64 = LINEAR.astype(np.float64)


class EdgeUnmix:
    """See the module docstring."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self._core: U8 = np.empty((h, w), np.uint8)
        self._band: U8 = np.empty((h, w), np.uint8)

    def __call__(self, mask: U8, frame: U8, expected: F32, roi: Box, *, lit: U8) -> None:
        """``mask`` (0/255) changed in place within ``roi`` (which must reach EDGE_WINDOW // 2
        + 3 pixels beyond the mask, as the engine's FILTER_REACH does); ``frame`` the BGR
        frame, ``expected`` the background in levels (float), ``lit`` what the light tests
        explained (0/255)."""
        m = mask[roi]
        core = cv2.erode(m, RECT5, dst=self._core[roi])  # two pixels inside, at least
        # the outline and the ring just outside it: dilated minus eroded
        band = cv2.morphologyEx(m, cv2.MORPH_GRADIENT, RECT3, dst=self._band[roi])
        window = EDGE_WINDOW // 2
        contrast2 = EDGE_CONTRAST * EDGE_CONTRAST
        if kernels.edge_unmix(
            frame, expected, self._core, self._band, lit, mask, LINEAR, contrast2, window, box=roi
        ):
            return
        cv2.subtract(band, lit[roi], dst=band)
        room = cv2.convertScaleAbs(expected[roi], dst=self._levels["room"][roi])  # whole levels, rounded
        self._passes_unmix(m, frame[roi], room, core, band, contrast2, roi)

    # The OpenCV passes' buffers (the path without numba), allocated on their first use.
    @cached_property
    def _sums(self) -> dict[str, F64]:
        shapes = {"lin": 3, "sum": 3, "levels": 3, "tmp3": 3, "room": 3, "count": 1, "a": 1, "b": 1}
        return {
            k: np.empty((self.h, self.w, c) if c > 1 else (self.h, self.w), np.float64)
            for k, c in shapes.items()
        }

    @cached_property
    def _levels(self) -> dict[str, U8]:  # 0/255 planes, and the room in whole levels
        planes = {k: np.empty((self.h, self.w), np.uint8) for k in ("ok", "some", "half", "leave", "join")}
        return {**planes, "room": np.empty((self.h, self.w, 3), np.uint8)}

    def _passes_unmix(self, m: U8, frame: U8, room: U8, core: U8, band: U8, contrast2: int, roi: Box) -> None:
        """The kernel's decisions with OpenCV passes over the whole ``roi`` (see the module)."""
        p = {k: v[roi] for k, v in self._sums.items()}
        u = {k: v[roi] for k, v in self._levels.items()}
        size, border = (EDGE_WINDOW, EDGE_WINDOW), cv2.BORDER_CONSTANT
        lin = cv2.LUT(frame, _LINEAR64, dst=p["lin"])
        # (0 or 1, exact; numpy's mixed-type divide allocated a 128 KB cast buffer a frame)
        count = cv2.divide(core, 255.0, dst=p["count"], dtype=cv2.CV_64F)
        core3 = cv2.merge((count, count, count), dst=p["tmp3"])
        s = cv2.multiply(lin, core3, dst=p["sum"])
        cv2.boxFilter(s, -1, size, dst=s, normalize=False, borderType=border)
        levels = cv2.multiply(frame, core3, dst=p["levels"], dtype=cv2.CV_64F)
        cv2.boxFilter(levels, -1, size, dst=levels, normalize=False, borderType=border)
        n = cv2.boxFilter(count, -1, size, dst=count, normalize=False, borderType=border)
        n3 = cv2.merge((n, n, n), dst=p["tmp3"])
        # the gate: sum((L - n e)^2) >= n^2 contrast^2, n >= 1
        room64 = cv2.multiply(room, n3, dst=p["room"], dtype=cv2.CV_64F)  # (n e per channel)
        cv2.subtract(levels, room64, dst=levels)
        gate = cv2.transform(cv2.multiply(levels, levels, dst=levels), _SUM, dst=p["a"])
        need = cv2.multiply(n, n, dst=p["b"], scale=float(contrast2))
        ok = cv2.compare(gate, need, cv2.CMP_GE, dst=u["ok"])
        cv2.bitwise_and(ok, cv2.compare(n, 1.0, cv2.CMP_GE, dst=u["some"]), dst=ok)
        cv2.bitwise_and(ok, band, dst=ok)
        # the coverage test: 2 n sum((f - r) d) >= sum(d^2), d = S - n r
        r = cv2.LUT(room, _LINEAR64, dst=room64)
        d = cv2.subtract(s, cv2.multiply(r, n3, dst=p["tmp3"]), dst=s)
        cv2.subtract(lin, r, dst=lin)
        num = cv2.transform(cv2.multiply(lin, d, dst=lin), _SUM, dst=p["a"])
        cv2.multiply(num, n, dst=num, scale=2.0)
        den = cv2.transform(cv2.multiply(d, d, dst=d), _SUM, dst=p["b"])
        half = cv2.compare(num, den, cv2.CMP_GE, dst=u["half"])
        # an outline pixel below a half leaves; a ring pixel at a half or more joins
        leave = cv2.bitwise_and(ok, m, dst=u["leave"])
        cv2.subtract(leave, half, dst=leave)
        join = cv2.bitwise_and(ok, half, dst=u["join"])
        cv2.subtract(join, m, dst=join)
        cv2.subtract(m, leave, dst=m)
        cv2.bitwise_or(m, join, dst=m)
