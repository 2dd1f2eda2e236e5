"""Regions of the mask: boxes of interest, connected components, the contact rule for light,
closing and holes.

Everything here works on 0/255 uint8 masks, inside a region of interest (rows, columns) of
the frame, with buffers allocated once per working size.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from ..frames import LUMA_BGR

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Box = tuple[slice, slice]
"""Rows and columns of a rectangle of the frame."""

# Holes smaller than this fraction of the frame are filled whatever they look like.
SMALL_HOLE_FRACTION = 0.0015
# A larger hole is filled when more than SUSPICIOUS_SHARE of it is suspicious: a score above
# SUSPICIOUS_SCORE x the low hysteresis bar, or explained away as light. A gap between arm
# and body shows the plate exactly and stays open; a shirt like the wall does not.
SUSPICIOUS_SCORE = 0.25
SUSPICIOUS_SHARE = 0.5
# A region explained away as a change of light must border the unchanged background: light
# falls on the room around the person. When less than this fraction of its outline touches
# clear background (the rest touching the person), it is part of the person (a shirt of the
# wall's colour) and rejoins the mask. The decision holds from frame to frame: a region that was
# not the person's in the last frame (less than LAST_SHARE of its pixels in the last mask)
# joins only when most of its outline touches the person (below LIGHT_CONTACT_MIN_NEW on
# clear background). A shadow that hugs an arm touches the arm along half its outline and
# the wall along the other half: light; a shirt of the wall's colour that was the person
# stays so while its outline shows more wall as it moves. (0.55 and 0.45 rather than 0.6 and
# half since clear background is only what is connected to unchanged pixels, see
# LightContact: a shirt's own speckles no longer count as wall, and shadows beside the
# person, whose outline on the wall is partly changed pixels too, need the lower bars; 0.5
# for the person's regions lost a shirt of the wall's colour through a JPEG camera, 0.4 for
# new ones thinned tree.avi's hand.) Light holds too: a region of which at least LAST_SHARE
# was light that stayed light in the last frame joins only when almost all its outline is on
# the person (below LIGHT_CONTACT_MIN_HELD on clear background): a shadow on the wall does
# not become the person because an arm swings down beside it and hides its outline on the
# room.
LIGHT_CONTACT_MIN = 0.55
LIGHT_CONTACT_MIN_NEW = 0.45
LIGHT_CONTACT_MIN_HELD = 0.2
LAST_SHARE = 0.5
# The contact rule is for when the texture cannot tell: a region of which at least this share
# was verified by the wall's own texture (see :mod:`.light`) stays light whatever it touches.
VERIFIED_SHARE = 0.5
# One light casts one depth of shadow: a darker region the texture cannot tell (a shadow on a
# plain floor, enclosed by an arm and the body) whose colour ratio to the expected background
# (of the means, per channel) is within SHADOW_DEPTH_TOLERANCE in every channel of the darker
# light's that the wall's texture verified in the same frame, in regions of the room's light
# (bordering the clear background more than the person: not a shirt's piece), at least
# SHADOW_VERIFIED_MIN pixels of it and at most SHADOW_RATIO_MAX in luma (a cast shadow takes
# a sixth of the light or more; a lagging light field or exposure, a few percent, is where
# shirts of the wall's shade live), is that shadow and stays light whatever it touches. Per
# channel, as ambient light tints shadows: the luma ratio alone, or 0.08, took a backlit
# hand's upper half for the shadow of the sky's darkening leaves in tree.avi's last frame.
SHADOW_DEPTH_TOLERANCE = 0.05
# ... and of one direction: a shadow's ratio is 1 - d (1 - s) per channel, s the verified
# shadow's, d how much of the light is hidden relative to there (the ambient's share, which
# tints it, stays). Where one region of the room's light the texture verified holds at least
# SHADOW_LINE_MIN pixels (one cast shadow, not specks), a region within SHADOW_DEPTH_TOLERANCE
# of that line at a depth d within SHADOW_DEPTHS is that light's shadow: the floor between
# the arm and the body lies deeper in the person's shadow than the wall beside it. Not
# shallower (a shirt of the wall's shade, a little darker than the wall, is a faint shadow
# of a grey light's line): only the verified depth itself there. Specks of darker light in
# tree.avi's foliage (124 pixels, in pieces of at most 57) gave a line that took the backlit
# hand's fingers (615 pixels) for shadow.
SHADOW_LINE_MIN = 200
SHADOW_DEPTHS = (1.0, 2.0)
SHADOW_VERIFIED_MIN = 100
SHADOW_RATIO_MAX = 0.85
# A part of the mask where brighter light explains the colour of all but this share of the
# pixels, farther than ANCHOR_REACH pixels from every other part and from the picture's edge,
# is light's edge, not a person (the sharp outline of a sun patch or a lamp's pool of light
# that the texture test fails): it is dropped. Only brighter light: anything dark keeps the
# colour of a deep shadow, and a backlit hand is all dark.
ANCHOR_SHARE = 0.05
ANCHOR_REACH = 3

# A penumbra: candidates that kept their colour and are smooth at the finest scale (see
# :mod:`.light`) but stayed in the mask, reached from the clear background through such
# pixels within this many pixels (both eroded by a pixel first, so that a one-pixel crack in
# a cloth's outline does not connect it), count as neither clear background nor person.
# A wider edge of light (a sun patch's, 6-8 pixels) is reached from both sides: its ramps
# (see :mod:`.light`) within this many pixels of the light, joined to what the clear side
# reached within twice as many. Its ramps where light's edge is as good as the clear
# background (``open_edge``) count as clear background.
PENUMBRA_REACH = 4
RECT3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
DISC3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def widened(rect: tuple[int, int, int, int], margin: int, shape: tuple[int, ...]) -> Box:
    """The rectangle (x, y, w, h) widened by ``margin`` on every side, within ``shape``."""
    x, y, bw, bh = rect
    h, w = shape[:2]
    rows = slice(max(0, y - margin), min(h, y + bh + margin))
    return rows, slice(max(0, x - margin), min(w, x + bw + margin))


def inside(outer: Box, inner: Box) -> Box:
    """``inner`` (rows, columns relative to the region ``outer``) in the frame's coordinates."""
    top, left = outer[0].start or 0, outer[1].start or 0
    rows = slice(top + inner[0].start, top + inner[0].stop)
    return rows, slice(left + inner[1].start, left + inner[1].stop)


class Labels:
    """Connected components into reused buffers. Up to 256 labels (the usual case) are
    copied to 8 bits, where OpenCV's histogram and look-up table are fastest; more are
    counted on a float copy (exact for integers) and painted through an index copy. Nothing
    image-sized is allocated per call. :meth:`find` takes an image of at most the buffers'
    size (a region of interest): the label views then have that image's shape."""

    def __init__(self, h: int, w: int) -> None:
        self._labels_buf = np.empty((h, w), np.int32)
        self._u8_buf: U8 = np.empty((h, w), np.uint8)
        self._picked_buf: U8 = np.empty((h, w), np.uint8)
        self._float_buf: F32 = np.empty((h, w), np.float32)
        self._index_buf = np.empty((h, w), np.intp)
        self.labels = self._labels_buf
        self.as_u8: U8 = self._u8_buf
        self.as_float: F32 = self._float_buf
        self.lut: U8 = np.zeros(256, np.uint8)
        self.n = 0

    def find(self, binary: U8, connectivity: int) -> int:
        """Label the components of ``binary``; returns their number, background included."""
        rh, rw = binary.shape
        self.labels = self._labels_buf[:rh, :rw]
        n, _ = cv2.connectedComponents(
            binary, labels=self.labels, connectivity=connectivity, ltype=cv2.CV_32S
        )
        self.n = int(n)
        if 1 < self.n <= 256:
            self.as_u8 = self._u8_buf[:rh, :rw]
            np.copyto(self.as_u8, self.labels, casting="unsafe")
        elif self.n > 256:
            self.as_float = self._float_buf[:rh, :rw]
            np.copyto(self.as_float, self.labels)
        return self.n

    def count(self, where: U8 | None = None) -> npt.NDArray[np.float32]:
        """Pixels per label (within the 0/255 mask ``where`` if given): a vector of n. The
        count of label 0 (the background) is not kept within ``where``."""
        if self.n <= 256:
            if where is None:
                return cv2.calcHist([self.as_u8], [0], None, [256], [0, 256]).ravel()[: self.n]
            # label 0 where ``where`` is not set: a histogram without a mask is twice as fast
            picked = self._picked_buf[: where.shape[0], : where.shape[1]]
            cv2.bitwise_and(self.as_u8, where, dst=picked)
            return cv2.calcHist([picked], [0], None, [256], [0, 256]).ravel()[: self.n]
        return cv2.calcHist([self.as_float], [0], where, [self.n], [0, self.n]).ravel()

    def paint(self, chosen: npt.NDArray[np.bool_], out: U8) -> U8:
        """255 where the pixel's label is chosen, else 0."""
        if self.n <= 256:
            self.lut.fill(0)
            self.lut[: self.n][chosen] = 255
            return cv2.LUT(self.as_u8, self.lut, dst=out)
        index = self._index_buf[: out.shape[0], : out.shape[1]]
        np.copyto(index, self.labels)
        lut = np.where(chosen, np.uint8(255), np.uint8(0))
        np.take(lut, index, out=out, mode="clip")
        return out


class LightContact:
    """The contact rule: regions explained as light that do not border clear background
    rejoin the person (see LIGHT_CONTACT_MIN); a penumbra (see PENUMBRA_REACH) between them
    and the clear background counts as neither, or as clear background where it is an open
    edge of light. ``penumbra`` (0/255) holds the last call's penumbra within its region of
    interest (0 elsewhere there).

    Clear background is what lies outside the mask and the light and is connected to pixels
    that did not change at all (a score below the low bar): pixels that changed but neither
    joined the person nor passed as light, enclosed by them (a shirt's fabric failing the
    colour test here and there inside a region explained as light), are no outline on the
    room."""

    def __init__(self, h: int, w: int) -> None:
        self.components = Labels(h, w)
        self._near_clear: U8 = np.empty((h, w), np.uint8)  # within a pixel of clear background
        self._near_person: U8 = np.empty((h, w), np.uint8)  # within a pixel of the mask
        self._rejoining: U8 = np.empty((h, w), np.uint8)
        self._smooth: U8 = np.empty((h, w), np.uint8)  # smooth, eroded by a pixel
        self._penumbra: U8 = np.empty((h, w), np.uint8)
        self._reached: U8 = np.empty((h, w), np.uint8)
        self._open: U8 = np.empty((h, w), np.uint8)  # where the penumbra may be reached
        self._person: U8 = np.empty((h, w), np.uint8)  # the mask without the penumbra
        self._ramps: U8 = np.empty((h, w), np.uint8)  # ramp candidates, eroded by a pixel
        self._from_light: U8 = np.empty((h, w), np.uint8)
        self._open_clear: U8 = np.empty((h, w), np.uint8)
        self._unchanged: U8 = np.empty((h, w), np.uint8)
        self._picked: U8 = np.empty((h, w), np.uint8)  # components painted for their mean ratio
        self._darker: U8 = np.empty((h, w), np.uint8)  # the verified darker light
        self.penumbra: U8 = np.zeros((h, w), np.uint8)

    def __call__(
        self, mask: U8, lit: U8, roi: Box, coloured: U8 | None = None, smooth: U8 | None = None,
        verified: U8 | None = None, ramp: U8 | None = None, open_edge: U8 | None = None,
        within: U8 | None = None, last: U8 | None = None, changed: U8 | None = None,
        held: U8 | None = None, ratio: F32 | None = None, frame: U8 | None = None,
        expected: F32 | None = None, settle: Callable[[U8, Box], U8] | None = None,
    ) -> None:
        """``mask`` |= the components of ``lit`` (8-connected) that touch the person more than
        clear background and of which less than VERIFIED_SHARE is ``verified``, within
        ``roi`` (``mask``, ``lit`` and the light tests' ``coloured``, ``smooth``,
        ``verified``, ``ramp`` and ``open_edge`` are frame-sized; without coloured and
        smooth, no penumbra; without ramp, none reached from the light; without open_edge,
        no penumbra counts as clear background). With ``within`` (frame-sized), only a
        component's pixels there rejoin (the lit pixels that were in the mask). With
        ``last`` (the last frame's mask, frame-sized), a component that was not the
        person's there is held to LIGHT_CONTACT_MIN_NEW, and with ``held`` (frame-sized: the
        last frame's light that stayed light) one that was light there to
        LIGHT_CONTACT_MIN_HELD; without last, every component to LIGHT_CONTACT_MIN. With
        ``changed`` (frame-sized: the pixels that changed, e.g. the score's weak mask), clear
        background is only what is connected to unchanged pixels (see the class); without
        it, everything outside the mask and the light. With ``ratio``, ``frame`` and
        ``expected`` (frame-sized: the light tests' luma ratio, the frame, the expected
        background), a region of the depth of the shadow the wall verified, or deeper on its
        line, stays light (see SHADOW_DEPTH_TOLERANCE). With ``settle`` (given the pixels that
        would rejoin, ``roi``-sized, and ``roi``: those of them the wall's coarse texture
        showed through, see :meth:`.LightTests.settle`), a region that rejoins leaves those
        pixels light."""
        cc = self.components
        penumbra = self.penumbra[roi]
        penumbra.fill(0)
        lit, mask = lit[roi], mask[roi]
        if not cv2.countNonZero(lit):
            return
        near_clear = cv2.bitwise_or(mask, lit, dst=self._near_clear[roi])
        cv2.compare(near_clear, 0, cv2.CMP_EQ, dst=near_clear)  # clear background ...
        if changed is not None:  # (labels clear background with cc: before lit's labels)
            self._connected_to_unchanged(near_clear, changed, roi)
        cc.find(lit, 8)  # (at least one component: lit has a pixel)
        # each component's pixels near clear background and near the person (only its own
        # pixels carry its label: the counts need no intersection with lit)
        person = mask
        if coloured is not None and smooth is not None:
            ramps = None if ramp is None else ramp[roi]
            person = self._without_penumbra(mask, near_clear, coloured[roi], smooth[roi], roi, lit, ramps)
            if open_edge is not None:  # an open edge of light counts as clear background
                open_clear = cv2.bitwise_and(penumbra, open_edge[roi], dst=self._open_clear[roi])
                cv2.bitwise_or(near_clear, open_clear, dst=near_clear)
        cv2.dilate(near_clear, RECT3, dst=near_clear)  # ... and a pixel around it
        touch_clear = cc.count(near_clear)
        touch_person = cc.count(cv2.dilate(person, RECT3, dst=self._near_person[roi]))
        # (only lit pixels carry a label: the shares need no intersection with lit)
        sizes = cc.count()
        bar: float | npt.NDArray[np.float32] = LIGHT_CONTACT_MIN
        if last is not None:
            was_person = cc.count(last[roi]) >= LAST_SHARE * sizes
            bar = np.where(was_person, LIGHT_CONTACT_MIN, LIGHT_CONTACT_MIN_NEW).astype(np.float32)
            if held is not None:
                was_light = ~was_person & (cc.count(held[roi]) >= LAST_SHARE * sizes)
                bar[was_light] = LIGHT_CONTACT_MIN_HELD
        rejoin = (touch_person > 0) & (touch_clear < bar * (touch_clear + touch_person))
        rejoin[0] = False
        if verified is not None and rejoin.any():
            verified_count = cc.count(verified[roi])
            rejoin &= verified_count < VERIFIED_SHARE * sizes
            if ratio is not None and frame is not None and expected is not None and rejoin.any():
                # the verified light of the room: it borders the clear background more than the person
                room_light = touch_clear >= LIGHT_CONTACT_MIN * (touch_clear + touch_person)
                self._shadow_depth(
                    rejoin, verified_count, sizes, room_light, ratio[roi], frame[roi], expected[roi]
                )
        if rejoin.any():
            rejoining = cc.paint(rejoin, self._rejoining[roi])
            if within is not None:
                cv2.bitwise_and(rejoining, within[roi], dst=rejoining)
            if settle is not None:
                cv2.subtract(rejoining, settle(rejoining, roi), dst=rejoining)
            cv2.bitwise_or(mask, rejoining, dst=mask)

    def measure_penumbra(
        self, mask: U8, lit: U8, roi: Box, coloured: U8, smooth: U8, ramp: U8 | None = None
    ) -> U8:
        """Only the penumbra of ``mask`` (into ``penumbra``, returned), as the call measures
        it but with clear background = everything outside the mask and the light (no
        labelling: for frames where light explains too little for the rule itself)."""
        penumbra = self.penumbra[roi]
        penumbra.fill(0)
        m, lt = mask[roi], lit[roi]
        clear = cv2.bitwise_or(m, lt, dst=self._near_clear[roi])
        cv2.compare(clear, 0, cv2.CMP_EQ, dst=clear)
        ramps = None if ramp is None else ramp[roi]
        self._without_penumbra(m, clear, coloured[roi], smooth[roi], roi, lt, ramps)
        return self.penumbra

    def _shadow_depth(
        self, rejoin: npt.NDArray[np.bool_], verified_count: npt.NDArray[np.float32],
        sizes: npt.NDArray[np.float32], room_light: npt.NDArray[np.bool_], ratio: F32,
        frame: U8, expected: F32,
    ) -> None:
        """``rejoin`` without the darker components whose colour ratio (``frame`` over
        ``expected``, per channel, of their means) is within SHADOW_DEPTH_TOLERANCE of the
        verified darker light's in every channel, or of its line at a depth within
        SHADOW_DEPTHS (see SHADOW_DEPTH_TOLERANCE; every plane is the labelled region of
        interest)."""
        cc = self.components
        h, w = ratio.shape
        picked = self._picked[:h, :w]
        reference = (verified_count >= VERIFIED_SHARE * sizes) & room_light
        reference[0] = False
        if not reference.any():
            return
        darker = cv2.compare(ratio, 1.0, cv2.CMP_LT, dst=self._darker[:h, :w])
        cv2.bitwise_and(darker, cc.paint(reference, picked), dst=darker)
        if cv2.countNonZero(darker) < SHADOW_VERIFIED_MIN:
            return
        shadow = _colour_ratio(frame, expected, darker)
        if float(np.dot(shadow, LUMA_BGR)) > SHADOW_RATIO_MAX:
            return
        # one cast shadow verified as a whole gives its light's line (see SHADOW_LINE_MIN)
        darkening = (1.0 - shadow) if float(sizes[reference].max()) >= SHADOW_LINE_MIN else None
        darkening_sq = 0.0 if darkening is None else float(np.dot(darkening, darkening))
        chosen = np.zeros(rejoin.shape, np.bool_)
        for label in np.flatnonzero(rejoin):
            chosen.fill(False)
            chosen[label] = True
            region = _colour_ratio(frame, expected, cc.paint(chosen, picked))
            apart = region - shadow  # (per channel, from the verified shadow's ratio)
            if darkening is not None:  # from its line's nearest point at a depth within SHADOW_DEPTHS
                depth = float(np.dot(1.0 - region, darkening)) / darkening_sq
                apart = region - (1.0 - min(max(depth, SHADOW_DEPTHS[0]), SHADOW_DEPTHS[1]) * darkening)
            if bool(np.all(np.abs(apart) < SHADOW_DEPTH_TOLERANCE)):
                rejoin[label] = False

    def _connected_to_unchanged(self, clear: U8, changed: U8, roi: Box) -> None:
        """``clear`` (within ``roi``) keeps its components (8-connected) that hold an
        unchanged pixel, or reach a side of ``roi`` inside the frame (the background goes on
        beyond it)."""
        unchanged = cv2.subtract(clear, changed[roi], dst=self._unchanged[roi])
        frame_h, frame_w = changed.shape[:2]
        rows, cols = roi
        top, left = rows.start or 0, cols.start or 0
        bottom = frame_h if rows.stop is None else rows.stop
        right = frame_w if cols.stop is None else cols.stop
        for inner, side in (
            (top > 0, (slice(0, 1), slice(None))), (bottom < frame_h, (slice(-1, None), slice(None))),
            (left > 0, (slice(None), slice(0, 1))), (right < frame_w, (slice(None), slice(-1, None))),
        ):
            if inner:
                np.copyto(unchanged[side], clear[side])
        if cv2.countNonZero(unchanged) == cv2.countNonZero(clear):
            return  # (every clear pixel is unchanged)
        cc = self.components  # (free: the caller labels lit after this)
        if cc.find(clear, 8) <= 1:
            return
        keep = cc.count(unchanged) > 0
        keep[0] = False
        cc.paint(keep, clear)

    def _without_penumbra(
        self, mask: U8, clear: U8, coloured: U8, smooth: U8, roi: Box, lit: U8, ramp: U8 | None
    ) -> U8:
        """The mask without its penumbra (written to ``penumbra``): its pixels that kept the
        colour of light and are smooth, reached from smooth ``clear`` background within
        PENUMBRA_REACH pixels through such pixels; with ``ramp``, also its ramps reached from
        ``lit`` within PENUMBRA_REACH pixels through ramps, where they join what the clear
        side reached (all within ``roi``; the mask holds none of the light tests' lit)."""
        smooth = cv2.erode(smooth, RECT3, dst=self._smooth[roi])
        candidates = cv2.bitwise_and(coloured, mask, dst=self._penumbra[roi])
        cv2.bitwise_and(candidates, smooth, dst=candidates)
        if not cv2.countNonZero(candidates):
            return mask
        reached = cv2.bitwise_and(clear, smooth, dst=self._reached[roi])
        penumbra = self.penumbra[roi]
        grow_through(reached, cv2.bitwise_or(candidates, reached, dst=self._open[roi]), PENUMBRA_REACH)
        cv2.bitwise_and(candidates, reached, dst=penumbra)
        if ramp is not None and cv2.countNonZero(penumbra):
            ramps = cv2.erode(ramp, RECT3, dst=self._ramps[roi])
            cv2.bitwise_and(ramps, coloured, dst=ramps)
            cv2.bitwise_and(ramps, mask, dst=ramps)
            if cv2.countNonZero(ramps):
                from_light = self._from_light[roi]
                np.copyto(from_light, lit)
                grow_through(from_light, cv2.bitwise_or(ramps, lit, dst=self._open[roi]), PENUMBRA_REACH)
                cv2.bitwise_and(from_light, ramps, dst=from_light)
                joined = cv2.bitwise_or(from_light, penumbra, dst=self._open[roi])
                grow_through(penumbra, joined, 2 * PENUMBRA_REACH)
        return cv2.subtract(mask, penumbra, dst=self._person[roi])


def _colour_ratio(frame: U8, expected: F32, where: U8) -> npt.NDArray[np.float64]:
    """Per channel (BGR): the mean of ``frame`` over the mean of ``expected`` within ``where``."""
    seen = np.array(cv2.mean(frame, mask=where)[:3])
    return seen / np.maximum(np.array(cv2.mean(expected, mask=where)[:3]), 1.0)


def grow_through(reached: U8, where: U8, steps: int) -> U8:
    """``reached`` grown through ``where`` by up to ``steps`` pixels (8-connected), in place."""
    for _ in range(steps):
        cv2.dilate(reached, RECT3, dst=reached)
        cv2.bitwise_and(reached, where, dst=reached)
    return reached


class Anchor:
    """Drops the parts of the mask that brighter light explains all but the edges of (see
    ANCHOR_SHARE) and that lie away from every other part and from the picture's edges
    (people come into the picture across its edges)."""

    def __init__(self, h: int, w: int) -> None:
        self.components = Labels(h, w)
        self._core: U8 = np.empty((h, w), np.uint8)  # the mask's pixels light does not explain
        self._brighter: U8 = np.empty((h, w), np.uint8)
        self._kept: U8 = np.empty((h, w), np.uint8)
        self._reach = cv2.getStructuringElement(
            cv2.MORPH_RECT, (2 * ANCHOR_REACH + 1, 2 * ANCHOR_REACH + 1)
        )

    def __call__(
        self, mask: U8, coloured: U8, ratio: F32, roi: Box, min_area: int = 1,
        penumbra: U8 | None = None,
    ) -> None:
        """``mask`` without its 8-connected parts of which less than ANCHOR_SHARE is outside
        ``coloured`` (the candidates whose colour light explains) with a luma ``ratio`` above
        1 (frame-sized, read where coloured) and outside the contact rule's ``penumbra``,
        that do not touch the picture's edge and are not within ANCHOR_REACH pixels of a part
        that is kept, within ``roi`` (all frame-sized). Nothing changes when less than
        ``min_area`` pixels of the mask are explained so (the smallest part the mask keeps:
        no part it drops could be there)."""
        cc = self.components
        h, w = mask.shape
        edges = self._edges(roi, h, w)
        mask = mask[roi]
        brighter = cv2.compare(ratio[roi], 1.0, cv2.CMP_GT, dst=self._brighter[roi])
        cv2.bitwise_and(brighter, coloured[roi], dst=brighter)
        if penumbra is not None:
            cv2.bitwise_or(brighter, penumbra[roi], dst=brighter)
        core = cv2.subtract(mask, brighter, dst=self._core[roi])
        area, core_area = cv2.countNonZero(mask), cv2.countNonZero(core)
        if area - core_area < min_area:
            return
        if cc.find(mask, 8) <= 1:
            return
        keep = cc.count(core) >= ANCHOR_SHARE * cc.count()
        for edge in edges:  # a part at the picture's edge counts as anchored
            keep[cc.labels[edge]] = True
        keep[0] = False
        kept = self._kept[roi]
        for _ in range(cc.n - 2):  # each round keeps the parts near the last ones (few rounds)
            cc.paint(keep, kept)
            cv2.dilate(kept, self._reach, dst=kept)
            near = cc.count(kept) > 0
            near[0] = False
            if not (near & ~keep).any():
                break
            keep |= near
        if not keep[1:].all():
            cv2.bitwise_and(mask, cc.paint(keep, kept), dst=mask)

    @staticmethod
    def _edges(roi: Box, h: int, w: int) -> list[Box]:
        """The picture's edges (rows, columns) within ``roi``, in its coordinates."""
        rows, cols = roi
        top, bottom = rows.start or 0, h if rows.stop is None else rows.stop
        left, right = cols.start or 0, w if cols.stop is None else cols.stop
        all_rows, all_cols = slice(0, bottom - top), slice(0, right - left)
        edges = []
        if top == 0:
            edges.append((slice(0, 1), all_cols))
        if bottom == h:
            edges.append((slice(bottom - top - 1, bottom - top), all_cols))
        if left == 0:
            edges.append((all_rows, slice(0, 1)))
        if right == w:
            edges.append((all_rows, slice(right - left - 1, right - left)))
        return edges


class Cleanup:
    """Close one-pixel cracks, then fill the enclosed holes that are small or mostly
    suspicious, within a region of interest."""

    def __init__(self, h: int, w: int) -> None:
        self.small_hole_area = round(SMALL_HOLE_FRACTION * h * w)
        self._suspicious: U8 = np.empty((h, w), np.uint8)
        self._hole: U8 = np.empty((h, w), np.uint8)
        self._clear: U8 = np.empty((h, w), np.uint8)  # background pixels within a hole's box
        self._before: U8 = np.empty((h, w), np.uint8)
        self._peel: U8 = np.empty((h, w), np.uint8)

    def __call__(self, mask: U8, roi: Box, *, score: F32, low: float, lit: U8 | None) -> None:
        """``mask`` (frame-sized, 0 outside ``roi``) closed with a 3x3 disc, then its holes
        filled: a hole is filled when it is smaller than ``small_hole_area``, or when more
        than SUSPICIOUS_SHARE of it has ``score`` above SUSPICIOUS_SCORE x ``low`` or is
        ``lit`` (explained away as light).

        The closing fills a one-pixel crack inside the person (a stripe of the shirt that
        matches the wall), but also the one-pixel notches of the outline (between fingers and
        strands, at every concave corner), which are the room: so a pixel the closing added
        that touches the background (8-connected) and scores below ``low`` (unchanged from
        the plate) and is not light goes back (clean held-out clips: about 30 such pixels a
        frame, all one pixel outside the person, a median 2 levels off the plate)."""
        region = mask[roi]
        before = self._before[roi]
        np.copyto(before, region)
        cv2.morphologyEx(region, cv2.MORPH_CLOSE, DISC3, dst=region)
        peel = cv2.subtract(region, before, dst=self._peel[roi])  # what the closing added
        if cv2.countNonZero(peel):
            touch = cv2.bitwise_not(region, dst=before)
            cv2.dilate(touch, RECT3, dst=touch)  # touches the background
            cv2.bitwise_and(peel, touch, dst=peel)
            unchanged = cv2.compare(score[roi], low, cv2.CMP_LT, dst=touch)
            cv2.bitwise_and(peel, unchanged, dst=peel)
            if lit is not None:
                cv2.subtract(peel, lit[roi], dst=peel)
            cv2.subtract(region, peel, dst=region)
        self.fill_holes(mask, roi, score=score, low=low, lit=lit)

    def fill_holes(self, mask: U8, roi: Box, *, score: F32, low: float, lit: U8 | None) -> None:
        """The holes of :meth:`__call__`, without the closing. Within the region of interest:
        the mask is 0 outside it, so a background region that touches its edge joins the
        frame's outer background.

        The holes are the inner outlines of the mask's 8-connected components (each encloses
        one 4-connected background region): found in a few microseconds, and each is then
        measured within its own bounding box, never labelling the whole background.
        """
        # within the mask's own box: the outlines cost a pass over their image
        bx, by, bw, bh = cv2.boundingRect(mask[roi])
        if bw == 0:
            return
        roi = inside(roi, (slice(by, by + bh), slice(bx, bx + bw)))
        region = mask[roi]
        outlines, hierarchy = cv2.findContours(region, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hierarchy is None:
            return
        small = self.small_hole_area
        suspicious: U8 | None = None
        tiny = []  # small whatever they hold: filled in one call
        for outline, (_, _, _, parent) in zip(outlines, hierarchy[0], strict=True):
            if parent < 0:
                continue  # an outer outline
            x, y, bw, bh = cv2.boundingRect(outline)
            if bw * bh <= small:
                tiny.append(outline)
                continue
            if suspicious is None:  # a raised score, or explained by light
                suspicious = cv2.compare(
                    score[roi], SUSPICIOUS_SCORE * low, cv2.CMP_GT, dst=self._suspicious[roi]
                )
                if lit is not None:
                    cv2.bitwise_or(suspicious, lit[roi], dst=suspicious)
            box = (slice(y, y + bh), slice(x, x + bw))
            hole = self._hole[roi][box]
            hole.fill(0)
            cv2.drawContours(hole, [outline], 0, 255, -1, offset=(-x, -y))
            clear = cv2.compare(region[box], 0, cv2.CMP_EQ, dst=self._clear[roi][box])
            cv2.bitwise_and(hole, clear, dst=hole)  # the hole (not islands inside it)
            area = cv2.countNonZero(hole)
            n_suspicious = cv2.countNonZero(cv2.bitwise_and(hole, suspicious[box], dst=clear))
            if area <= small or n_suspicious > SUSPICIOUS_SHARE * area:
                cv2.bitwise_or(region[box], hole, dst=region[box])
        if tiny:
            cv2.drawContours(region, tiny, -1, 255, -1)
