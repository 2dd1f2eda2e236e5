"""The default mode's mask engine: one working-size frame in, a 0/255 mask out.

The stages of a frame, in the order :meth:`MaskEngine.step` runs them (a module each):

1. :mod:`.light_levels`: the global gains (exposure, white balance) and a smooth light
   field, measured on a sparse grid of confident background; they scale the plate into the
   expected background (:mod:`.expected`: the adapted plate x the gains, clipped like the
   sensor, and its range, cached until either changes); :mod:`.shake`: the camera's shift
   against the plate on the same grid, which says how much of the plate's 3x3 range the
   score may forgive (never all of it unless the camera shook by a pixel).
2. :mod:`.score`: the difference to that range in units of the pixel's noise (or in grey
   levels with a manual threshold), and its weak and strong masks; :mod:`.pooled`: where
   the camera's noise is high (a dim room), the same over 5x5 windows, which finds a dark
   shirt before a dark cabinet that no single pixel tells from noise.
3. :mod:`.hysteresis`: the weak regions that hold a strong pixel (in space, and in time
   through the last mask).
4. :mod:`.light`: inside the mask's box, what a change of light explains (a cast shadow, a
   lamp: the colour and the fine texture kept, and the wall's coarse texture not hidden by
   something flat); hysteresis again without it, the contact
   rule of :mod:`.regions` (light falls around the person, not inside, unless the wall's
   texture proves it light), and the anchor rule (a part of the mask that is all light's
   colour, away from the person, is light's edge: dropped). Fewer explained pixels than the
   smallest part the mask keeps skip these steps, unless the mask lies on the plate's edges
   of light (a sun patch that moved): then the anchor rule and the penumbra it reads run.
5. :mod:`.regions`: cleanup, closing cracks and filling the holes inside the person.

Then the state for the next frame: the last mask, the confident background, and every few
frames the plate's slow adaptation and the light field (:mod:`.expected`,
:mod:`.light_levels`). Last, on the frame's mask only:

6. :mod:`.band`: the band beside a shadow that kept the light's colour but failed the
   texture test (its windows held the person's pixels) goes to the light beside it, where
   its ratio continues the light's.

Why it is built this way: the budget is a few floors of a BGRA copy per frame (see
``python -m bgcore bench``). Every buffer is allocated once per working size (the OpenCV
paths' on first use); the per-pixel arithmetic of the score and the light tests runs as
compiled kernels (:mod:`bgcore.kernels`), each stage keeping the same operations as OpenCV
passes for machines without numba (the same score and masks, tested); everything after the
first hysteresis runs inside the mask's bounding box, the costly texture tests only around
areas light might explain; the slow parts (gains, light field, adaptation) run on a sparse
grid or every few frames. Each choice was checked against the quality tables (``python -m
bgcore quality``). The tests hold each stage to a plain reference (``tests/reference.py``).
"""

from __future__ import annotations

from .mask_engine import MaskEngine

__all__ = ["MaskEngine"]
