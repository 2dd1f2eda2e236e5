"""Alpha from a mask, and the final BGRA composite.

``feather_alpha`` turns the binary working-resolution mask into a soft alpha whose soft
band lies mostly inside the person: pixels outside the mask get (almost) no weight, so no
halo of the old room shows around the person on the new background.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import numpy.typing as npt

from . import kernels
from .frames import BGR

U8 = npt.NDArray[np.uint8]
BGRA = npt.NDArray[np.uint8]

_RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))

# The soft edge maps blurred-mask values [ALPHA_LO, ALPHA_HI] to alpha [0, 1]: alpha is 0
# from ~0.25 sigma inside the outer edge outwards, and reaches 1 about one sigma inside.
ALPHA_LO = 0.4
ALPHA_HI = 0.9


@functools.lru_cache(maxsize=8)
def _gaussian_kernel(sigma: float) -> npt.NDArray[np.float32]:
    """The Gaussian of ``sigma`` with a reach of 3 sigma (GaussianBlur's for 8-bit images).
    Applied with sepFilter2D: GaussianBlur's bit-exact 8-bit path costs about 5x more."""
    reach = math.ceil(3 * sigma)
    return cv2.getGaussianKernel(2 * reach + 1, sigma, cv2.CV_32F)


def feather_alpha(mask: U8, feather: float, *, out: U8 | None = None, scratch: U8 | None = None) -> U8:
    """Soft alpha (uint8) from a 0/255 mask; ``feather`` = Gaussian sigma in pixels (0: hard).

    ``out`` and ``scratch`` (mask-shaped uint8 buffers, optional) make it allocation-free.
    """
    if out is None:
        out = np.empty_like(mask)
    if feather <= 0:
        np.copyto(out, mask)
        return out
    # Only around the mask: outside its bounding box widened by the kernel's reach the blur
    # is 0, and inside it the zeros of the margin stand in for the frame's (same result).
    x, y, bw, bh = cv2.boundingRect(mask)
    out.fill(0)
    if bw == 0:
        return out
    h, w = mask.shape
    reach = math.ceil(3 * feather) + 1  # (the kernel's, and one more)
    ys = slice(max(0, y - reach), min(h, y + bh + reach))
    xs = slice(max(0, x - reach), min(w, x + bw + reach))
    region, soft = mask[ys, xs], out[ys, xs]
    kernel = _gaussian_kernel(feather)
    cv2.sepFilter2D(region, -1, kernel, kernel, dst=soft, borderType=cv2.BORDER_REFLECT_101)
    scale = 1.0 / (ALPHA_HI - ALPHA_LO)
    # addWeighted saturates to 0-255 (convertScaleAbs would fold negatives back up).
    cv2.addWeighted(soft, scale, soft, 0.0, -255.0 * ALPHA_LO * scale, dst=soft)
    # Thin parts (a finger narrower than the blur) must not vanish: where the mask is set,
    # alpha is at least half.
    buf = scratch if scratch is not None else np.empty_like(mask)
    half = cv2.bitwise_and(region, 127, dst=buf[ys, xs])  # 255 >> 1 (numpy would copy the view)
    cv2.max(soft, half, dst=soft)
    return out


def upscale(plane: U8, size: tuple[int, int], *, out: U8 | None = None) -> U8:
    """Resize a single-channel plane to ``size`` = (w, h) with bilinear interpolation (into
    ``out`` if given; the plane itself when it already has that size)."""
    if (plane.shape[1], plane.shape[0]) == size:
        return plane
    if out is None:
        return cv2.resize(plane, size, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(plane, size, dst=out, interpolation=cv2.INTER_LINEAR)


def upscale_box(plane: U8, size: tuple[int, int], *, out: U8) -> U8:
    """:func:`upscale` of ``plane`` into ``out``, computed only around the plane's non-zero
    bounding box (2 small pixels of margin) when the scale is a whole number per axis: the
    same values there (the bilinear weights are the same, and the clamped taps at the box's
    edges read 0 like the true ones), stale values elsewhere, where the true upscale is 0.
    For readers of the box only (:class:`Compositor` with ``roi`` or ``small``)."""
    sh, sw = plane.shape
    w, h = size
    if (sw, sh) == size or w % sw or h % sh:
        return upscale(plane, size, out=out)
    fx, fy = w // sw, h // sh
    x, y, bw, bh = cv2.boundingRect(plane)
    if bw == 0 or bh == 0:
        return out
    x0, y0 = max(0, x - 2), max(0, y - 2)
    x1, y1 = min(sw, x + bw + 2), min(sh, y + bh + 2)
    cv2.resize(
        plane[y0:y1, x0:x1], ((x1 - x0) * fx, (y1 - y0) * fy),
        dst=out[y0 * fy : y1 * fy, x0 * fx : x1 * fx], interpolation=cv2.INTER_LINEAR,
    )
    return out


Rect = tuple[int, int, int, int]
"""(x, y, width, height)."""


def upscaled_roi(plane: U8, size: tuple[int, int]) -> Rect:
    """A rectangle of the ``size`` picture outside which :func:`upscale` of ``plane`` is 0
    (the non-zero bounding box of the small plane, mapped up with a margin for the
    bilinear taps). (0, 0, 0, 0) when the plane is all 0."""
    x, y, w, h = cv2.boundingRect(plane)
    if w == 0 or h == 0:
        return (0, 0, 0, 0)
    big_w, big_h = size
    sx, sy = big_w / plane.shape[1], big_h / plane.shape[0]
    x0, y0 = max(0, math.floor((x - 1) * sx)), max(0, math.floor((y - 1) * sy))
    x1, y1 = min(big_w, math.ceil((x + w + 1) * sx)), min(big_h, math.ceil((y + h + 1) * sy))
    return (x0, y0, x1 - x0, y1 - y0)


Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1)."""


def _minus(outer: Box, inner: Box) -> list[Box]:
    """``outer`` less ``inner``, as up to four boxes (none empty)."""
    ox0, oy0, ox1, oy1 = outer
    if ox1 <= ox0 or oy1 <= oy0:
        return []
    ix0, iy0, ix1, iy1 = max(ox0, inner[0]), max(oy0, inner[1]), min(ox1, inner[2]), min(oy1, inner[3])
    if ix1 <= ix0 or iy1 <= iy0:
        return [outer]
    parts = [(ox0, oy0, ox1, iy0), (ox0, iy1, ox1, oy1), (ox0, iy0, ix0, iy1), (ix1, iy0, ox1, iy1)]
    return [p for p in parts if p[2] > p[0] and p[3] > p[1]]


class Compositor:
    """``frame`` over ``background`` with ``alpha``, into a reused BGRA buffer.

    Only inside the rectangle where alpha is non-zero (``roi``, else its bounding box) is
    the frame blended in; around it the background is converted straight into the output
    (the floor's own cost). With the compiled kernels (:mod:`bgcore.kernels`) the rectangle
    is blended in one pass, the exact blend rounded; given ``small`` too, at a whole factor
    and a width of a multiple of 4, only each row's span from the first to the last pixel
    that the small alpha's 3x3 maximum reaches (:func:`kernels.blend_spans`: a person is
    narrower than their box at the head and between the arms; 0.64 of the box's area in the
    benchmark's scene). Without the kernels, with 8-bit OpenCV kernels
    ``round(f*a/255) + round(b*(255-a)/255)`` (within one level of the exact blend, exact
    where alpha is 0 or 255), and given ``small`` (the working-size alpha that ``alpha`` is
    the bilinear upscale of) only the fractional band: the small alpha's 3x3 max and min
    (the bilinear taps of every full-size pixel) split bands of BAND_ROWS small rows into
    column runs where the upscaled alpha is surely 0 (background kept), surely 255 (the
    frame converted in) or mixed (blended as above).
    Scratch buffers are kept per size. Threading: one thread. Lifetime: as long as the replacer.
    """

    BAND_ROWS = 16

    def __init__(self) -> None:
        self._size: tuple[int, int] | None = None
        self._small: tuple[int, int] | None = None
        # (out, background, where): the last static composite and where it drew the person,
        # a box (x0, y0, x1, y1) or None for the row spans in _was (see __call__, _spans)
        self._drawn: tuple[BGRA, BGR, Box | None] | None = None
        self._span_rows: tuple[int, int, int, int] | None = None  # (h, w, small h, small w)
        self._was = self._now = np.zeros((2, 0), np.int32)
        self._reach = np.zeros((0, 0), np.uint8)

    def _ensure(self, h: int, w: int) -> None:
        if self._size == (w, h):
            return
        self._size = (w, h)
        self.a3 = np.empty((h, w, 3), np.uint8)
        self.fg3 = np.empty((h, w, 3), np.uint8)
        self.bg3 = np.empty((h, w, 3), np.uint8)

    def _ensure_small(self, sh: int, sw: int) -> None:
        if self._small == (sw, sh):
            return
        self._small = (sw, sh)
        b = self.BAND_ROWS
        # output row r = max (min) over small rows r-1 .. r+b and columns c-1 .. c+1: at the
        # first row of each band, the bilinear taps of all full-size pixels of the band
        self.band_kernel = np.ones((b + 2, 3), np.uint8)
        self.s_max: U8 = np.empty((sh, sw), np.uint8)
        self.s_min: U8 = np.empty((sh, sw), np.uint8)
        nb = -(-sh // b)
        self.b_hi: U8 = np.empty((nb, sw), np.uint8)
        self.b_cls: U8 = np.zeros((nb, sw + 2), np.uint8)
        self.b_change: U8 = np.empty((nb, sw + 1), np.uint8)

    def _blend(self, frame: BGR, alpha: U8, background: BGR, out: BGRA, ys: slice, xs: slice) -> None:
        rh, rw = ys.stop - ys.start, xs.stop - xs.start
        a3 = cv2.cvtColor(alpha[ys, xs], cv2.COLOR_GRAY2BGR, dst=self.a3[:rh, :rw])
        fg = cv2.multiply(frame[ys, xs], a3, dst=self.fg3[:rh, :rw], scale=1.0 / 255.0)
        cv2.bitwise_not(a3, dst=a3)
        bg = cv2.multiply(background[ys, xs], a3, dst=self.bg3[:rh, :rw], scale=1.0 / 255.0)
        cv2.add(fg, bg, dst=fg)
        cv2.cvtColor(fg, cv2.COLOR_BGR2BGRA, dst=out[ys, xs])

    def __call__(
        self,
        frame: BGR,
        alpha: U8,
        background: BGR | None,
        *,
        out: BGRA,
        roi: Rect | None = None,
        small: U8 | None = None,
        static: bool = False,
    ) -> BGRA:
        """Composite into ``out``. ``static``: ``background`` is a picture that never changes
        while it is the same array (a colour, an image, the blurred room); then, when the
        previous call composited into the same ``out`` over the same background and nothing
        else wrote into ``out`` since (see :meth:`forget`), only where that call drew the
        person (its rectangle, or its row spans) is restored to background as this frame's
        person is drawn: the rest of ``out`` already holds the background. The result is the
        same bytes as a full redraw. ``small``: the working-size alpha whose bilinear upscale
        ``alpha`` is, there at least within one small pixel of its non-zero pixels (see
        :func:`upscale_box`)."""
        h, w = frame.shape[:2]
        last, self._drawn = self._drawn, None
        if background is None:
            cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
            if not kernels.set_alpha(out, alpha):
                cv2.mixChannels([alpha], [out], [0, 3])
            return out
        same = static and last is not None and last[0] is out and last[1] is background
        if small is not None and self._spans(frame, alpha, background, out, small, last if same else None):
            if static:
                self._drawn = (out, background, None)
            return out
        x, y, rw, rh = cv2.boundingRect(alpha) if roi is None else roi
        box = (x, y, x + max(rw, 0), y + max(rh, 0))
        # The fused kernel writes every pixel of the box: the background goes only around it.
        fused = kernels.blend_fits(frame, alpha, background, out)
        keep = box if fused else (0, 0, 0, 0)
        stale = (0, 0, w, h)
        if same and last is not None and last[2] is not None:
            stale = last[2]
        for x0, y0, x1, y1 in _minus(stale, keep):
            cv2.cvtColor(background[y0:y1, x0:x1], cv2.COLOR_BGR2BGRA, dst=out[y0:y1, x0:x1])
        if static:
            self._drawn = (out, background, box)
        if rw <= 0 or rh <= 0:
            return out
        if fused:
            if kernels.blend_box(frame, alpha, background, out, box):
                return out
            # the kernel could not compile here (the kernels are off now): the box gets its
            # background too, and the OpenCV blend below
            ys, xs = slice(y, y + rh), slice(x, x + rw)
            cv2.cvtColor(background[ys, xs], cv2.COLOR_BGR2BGRA, dst=out[ys, xs])
        self._ensure(h, w)
        if small is None or small.shape[0] > h or small.shape[1] > w:
            self._blend(frame, alpha, background, out, slice(y, y + rh), slice(x, x + rw))
            return out
        self._bands(frame, alpha, background, out, small, (x, y, x + rw, y + rh))
        return out

    def _spans(
        self, frame: BGR, alpha: U8, background: BGR, out: BGRA, small: U8,
        last: tuple[BGRA, BGR, Box | None] | None,
    ) -> bool:
        """The kernel's row spans (:func:`kernels.blend_spans`): only where the person is and
        was is written, the rest of ``out`` holds the background already. ``last``: the last
        call's record when it drew into this ``out`` over this background (else a full
        redraw: every row's whole width is stale). False (nothing written) where the kernel
        cannot run (the caller's box path then runs)."""
        h, w = frame.shape[:2]
        sh, sw = small.shape
        if self._span_rows != (h, w, sh, sw):
            self._span_rows = (h, w, sh, sw)
            self._was = np.empty((2, h), np.int32)
            self._now = np.empty((2, h), np.int32)
            self._reach = np.zeros((sh, -(-sw // 8) * 8), np.uint8)  # (padded with zeros)
            last = None
        if last is None or last[2] is not None:
            # a full redraw, or the box path drew last: every row may be stale
            self._was[0].fill(0)
            self._was[1].fill(w)
        # the small pixels around each one: the bilinear taps of the full pixels it is home to
        cv2.dilate(small, _RECT3, dst=self._reach[:, :sw])
        if not kernels.blend_spans(frame, alpha, background, out, self._reach, sw, self._was, self._now):
            return False
        self._was, self._now = self._now, self._was
        return True

    def forget(self) -> None:
        """Something else wrote into the output buffer: the next call redraws it whole."""
        self._drawn = None

    def _bands(
        self, frame: BGR, alpha: U8, background: BGR, out: BGRA, small: U8, box: tuple[int, int, int, int]
    ) -> None:
        """The runs of :class:`Compositor`'s docstring, clipped to ``box`` (x0, y0, x1, y1),
        outside which alpha is 0 (and may be stale: see :func:`upscale_box`)."""
        h, w = frame.shape[:2]
        sh, sw = small.shape
        self._ensure_small(sh, sw)
        b_rows = self.BAND_ROWS
        mx = cv2.dilate(small, self.band_kernel, dst=self.s_max, anchor=(1, 1))
        mn = cv2.erode(small, self.band_kernel, dst=self.s_min, anchor=(1, 1))
        # per band and small column: 0 = alpha surely 0, 2 = surely 255, 1 = mixed; padded
        # with 0 on both sides so every run has a start and an end
        cls = self.b_cls
        inner = cls[:, 1:-1]
        cv2.threshold(mx[::b_rows], 0, 1, cv2.THRESH_BINARY, dst=inner)
        cv2.threshold(mn[::b_rows], 254, 1, cv2.THRESH_BINARY, dst=self.b_hi)
        cv2.add(inner, self.b_hi, dst=inner)
        cv2.compare(cls[:, 1:], cls[:, :-1], cv2.CMP_NE, dst=self.b_change)  # (np.not_equal buffers)
        change = np.flatnonzero(self.b_change)
        bx0, by0, bx1, by1 = box
        step = sw + 1
        bands = change // step
        cols = change % step  # the run starting at small column `col` (in the unpadded plane)
        for i in range(len(change) - 1):
            b = int(bands[i])
            if int(bands[i + 1]) != b:
                continue
            c0, c1 = int(cols[i]), int(cols[i + 1])
            kind = int(cls[b, c0 + 1])
            if kind == 0:
                continue
            # full-size pixels whose home small pixel (floor(X * sw / W)) is in the run
            x0, x1 = max(bx0, -(-c0 * w // sw)), min(bx1, -(-c1 * w // sw))
            r0, r1 = b * b_rows, min(sh, (b + 1) * b_rows)
            y0, y1 = max(by0, -(-r0 * h // sh)), min(by1, -(-r1 * h // sh))
            if x1 <= x0 or y1 <= y0:
                continue
            xs, ys = slice(x0, x1), slice(y0, y1)
            if kind == 2:
                cv2.cvtColor(frame[ys, xs], cv2.COLOR_BGR2BGRA, dst=out[ys, xs])
            else:
                self._blend(frame, alpha, background, out, ys, xs)


def composite(frame: BGR, alpha: U8, background: BGR | None, *, out: BGRA | None = None) -> BGRA:
    """``frame`` over ``background`` with ``alpha`` (all full size) into ``out`` (HxWx4).

    background None means transparent: the frame's colours with ``alpha`` as the alpha channel,
    for OBS to layer anything behind the person. Otherwise alpha out is 255. One-off use;
    the engine keeps a :class:`Compositor` to reuse buffers.
    """
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    return Compositor()(frame, alpha, background, out=out)


def classic_composite(frame: BGR, fgmask: U8, background: BGR | None, *, out: BGRA | None = None) -> BGRA:
    """The tutorial's composite: bitwise_not for the background mask, two bitwise_and, add."""
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    if background is None:
        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
        out[..., 3] = fgmask
        return out
    fgmask_inv = cv2.bitwise_not(fgmask)
    fgimg = cv2.bitwise_and(frame, frame, mask=fgmask)
    bgimg = cv2.bitwise_and(background, background, mask=fgmask_inv)
    dst = cv2.add(bgimg, fgimg)
    cv2.cvtColor(dst, cv2.COLOR_BGR2BGRA, dst=out)
    return out


def passthrough(frame: BGR, *, out: BGRA | None = None) -> BGRA:
    """The frame as opaque BGRA (no plate yet, or a plate of another size)."""
    h, w = frame.shape[:2]
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out)
    return out


def mask_view(mask: U8, *, out: BGRA | None = None) -> BGRA:
    """The mask as an opaque grey BGRA picture (for tuning)."""
    h, w = mask.shape
    if out is None or out.shape != (h, w, 4):
        out = np.empty((h, w, 4), np.uint8)
    cv2.cvtColor(mask, cv2.COLOR_GRAY2BGRA, dst=out)
    return out
