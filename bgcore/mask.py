"""Foreground masks from the difference to the plate (working resolution, float32).

Every function is pure: arrays in, arrays out (``out=`` where a buffer can be reused).
The maths follows the physics of a webcam:

* exposure and white balance act as a per-channel gain on the whole picture, and a lamp or
  the sun as a smooth gain field: :func:`gain_field` measures both on pixels that are
  confidently background and the plate is multiplied by it before differencing;
* sensor noise differs per pixel and channel (dark corners, JPEG on texture): the score is the
  difference in units of the plate's measured noise, so the threshold needs no tuning;
* a cast shadow scales the wall by one factor with its colour and texture kept
  (:func:`shadow_candidates`); clothing of a darker wall shade lacks the wall's texture.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .frames import BGR

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

LUMA_BGR = np.array([0.114, 0.587, 0.299], np.float32)
# Pixels darker than this in the plate carry too little light to measure a gain on.
GAIN_MIN_LEVEL = 12.0
# Relative fine texture (std of the detail of the luma ratio) that a change of light never
# makes: above it (plus noise) the frame shows something other than the lit/shaded wall.
TEXTURE_FLOOR = 0.012


def classic_mask(frame: BGR, reference: BGR, threshold: int) -> U8:
    """The tutorial's mask, step for step: two saturating subtractions added, per-channel
    threshold, grayscale, a second threshold of 10, anything left > 0 becomes 255."""
    diff1 = cv2.subtract(frame, reference)
    diff2 = cv2.subtract(reference, frame)
    diff = diff1 + diff2
    diff[abs(diff) < threshold] = 0
    gray = cv2.cvtColor(diff.astype(np.uint8), cv2.COLOR_BGR2GRAY)
    gray[np.abs(gray) < 10] = 0
    fgmask = gray.astype(np.uint8)
    fgmask[fgmask > 0] = 255
    return fgmask


def channel_gains(frame: F32, plate: F32, background: Bool | None, *, step: int = 3) -> F32:
    """Per-channel gain (exposure x white balance) of ``frame`` against ``plate``: the median
    ratio over pixels believed to be background (every ``step``-th pixel, for speed)."""
    f = frame[::step, ::step]
    p = plate[::step, ::step]
    sel = p.min(axis=2) > GAIN_MIN_LEVEL
    if background is not None:
        bsel = sel & background[::step, ::step]
        if bsel.sum() > 0.05 * sel.size:
            sel = bsel
    if sel.sum() < 50:
        return np.ones(3, np.float32)
    ratios = f[sel] / p[sel]
    return np.clip(np.median(ratios, axis=0), 0.2, 5.0).astype(np.float32)


def light_consistency(frame: F32, expected: F32, sigma: F32, *, z_limit: float) -> tuple[F32, Bool]:
    """Where ``frame`` is ``expected`` under different light: returns (r, consistent).

    r is the luma ratio frame/expected. A pixel is consistent when all channels match
    r * expected within the noise (same chromaticity) and r has no fine detail (the texture
    is kept: light scales the wall, a person in front of it replaces the texture). Fine
    detail is r minus its 9x9 mean, its energy taken over 7x7: a soft shadow's edge is a
    ramp of r and passes, a flat cloth in front of a textured wall makes r follow the
    wall's texture and fails.
    """
    y_f = frame @ LUMA_BGR
    y_e = np.maximum(expected @ LUMA_BGR, 1.0)
    r = y_f / y_e
    # Noise scaled by r, plus 3% for the camera's tone curve not being exactly linear.
    resid = frame - r[..., None] * expected
    tol = sigma * np.maximum(r, 0.25)[..., None] + 0.03 * expected + 0.5
    chroma_ok = ((resid / tol) ** 2).sum(axis=2) / 3.0 < z_limit
    detail = r - cv2.blur(r, (9, 9))
    energy = cv2.blur(detail * detail, (7, 7))
    sig_y = np.maximum(sigma @ LUMA_BGR, 0.5)
    noise_r = sig_y / y_e * np.maximum(r, 0.25)
    smooth = energy < (TEXTURE_FLOOR + 2.0 * noise_r) ** 2
    return r.astype(np.float32), chroma_ok & smooth


def texture_kept(frame_luma: F32, plate_luma: F32, sigma_luma: F32, *, verify: float = 1.5,
                 ncc_min: float = 0.3) -> Bool:
    """Where a change of light could have made ``frame_luma`` from ``plate_luma``, judged by
    texture: light scales the plate's fine detail, so where that detail is well above the
    noise (``verify`` x sigma, std over 7x7) the frame's detail must correlate with it (local
    normalised cross-correlation >= ``ncc_min``). Where the plate is flat, nothing can be
    told and the pixel passes. The engine's fused version is MaskEngine._texture_tests.
    """
    fd = frame_luma - cv2.blur(frame_luma, (9, 9))
    pd = plate_luma - cv2.blur(plate_luma, (9, 9))
    cov = cv2.blur(fd * pd, (7, 7))
    ff = cv2.blur(fd * fd, (7, 7))
    pp = cv2.blur(pd * pd, (7, 7))
    ncc = cov / np.sqrt(np.maximum(ff * pp, 1e-12))
    verifiable = pp > (verify * sigma_luma) ** 2
    return np.asarray(~verifiable | (ncc >= ncc_min))


def gain_field(
    frame: F32, plate: F32, gains: F32, weight: Bool, *, cell: int = 16
) -> F32:
    """A smooth per-channel gain field (hxwx3) for local light changes (a lamp, moving sun).

    Normalised convolution, on a coarse grid of ``cell`` pixels, of the per-pixel ratio
    frame/(gains*plate) over the pixels in ``weight`` (background, or consistent with a light
    change). Where no such pixel is near (the person covers the area), a wider pass and
    finally the global gain fill in.
    """
    h, w = frame.shape[:2]
    expected = plate * gains
    valid = weight & (plate.min(axis=2) > GAIN_MIN_LEVEL)
    ratio = frame / np.maximum(expected, 1.0)
    valid &= (ratio.min(axis=2) > 0.2) & (ratio.max(axis=2) < 5.0)
    gw, gh = max(2, w // cell), max(2, h // cell)
    wt = valid.astype(np.float32)
    num = cv2.resize(ratio * wt[..., None], (gw, gh), interpolation=cv2.INTER_AREA)
    den = cv2.resize(wt, (gw, gh), interpolation=cv2.INTER_AREA)
    near_num = cv2.GaussianBlur(num, (0, 0), 1.0)
    near_den = cv2.GaussianBlur(den, (0, 0), 1.0)
    far_num = cv2.GaussianBlur(num, (0, 0), 4.0)
    far_den = cv2.GaussianBlur(den, (0, 0), 4.0)
    near = near_num / np.maximum(near_den, 1e-6)[..., None]
    far = far_num / np.maximum(far_den, 1e-6)[..., None]
    # Trust the near estimate where it saw enough pixels, the far one elsewhere, and the
    # global gain (ratio 1) where nothing around could be measured.
    a = (near_den / (near_den + 0.05))[..., None]
    b = (far_den / (far_den + 0.02))[..., None]
    field = np.clip(a * near + (1 - a) * (b * far + (1 - b) * 1.0), 0.2, 5.0).astype(np.float32)
    full = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
    return (full * gains).astype(np.float32)


def noise_score(frame: F32, expected: F32, sigma: F32, *, shake: int = 1) -> F32:
    """Squared difference to the expected background in noise units, averaged over channels.

    With ``shake`` > 0 the difference is to the range of the expected background within
    +-shake pixels, so a sub-pixel camera shake or JPEG ringing on a textured wall does not
    count as foreground, while a person (a different colour, not a shifted wall) still does.
    """
    if shake > 0:
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * shake + 1, 2 * shake + 1))
        lo = cv2.erode(expected, k)
        hi = cv2.dilate(expected, k)
        d = np.maximum(frame - hi, 0.0) + np.maximum(lo - frame, 0.0)
    else:
        d = frame - expected
    z = d / sigma
    return ((z * z).sum(axis=2) / 3.0).astype(np.float32)


def level_score(frame: F32, expected: F32) -> F32:
    """Largest per-channel absolute difference in grey levels (for a manual threshold)."""
    return np.abs(frame - expected).max(axis=2).astype(np.float32)


def shadow_candidates(
    frame: F32, expected: F32, sigma: F32, *, z_limit: float, r_min: float = 0.25, r_max: float = 1.0
) -> Bool:
    """Pixels that look like the background under other light: scaled by one locally smooth
    factor r in [r_min, r_max] with colour and texture kept (see :func:`light_consistency`),
    by more than 3 noise sigmas. The defaults find cast shadows (darker by up to 75%); the
    engine also passes r_max=4 to explain a lamp or sun patch the gain field has not caught."""
    r, consistent = light_consistency(frame, expected, sigma, z_limit=z_limit)
    y_e = expected @ LUMA_BGR
    sig_y = np.maximum(sigma @ LUMA_BGR, 0.5)
    changed = (r >= r_min) & (r <= r_max) & (np.abs(y_e * (1.0 - r)) > 3.0 * sig_y)
    return changed & consistent


def hysteresis(score: F32, low: float, high: float, *, min_area: int, keep: Bool | None = None) -> U8:
    """Binary mask (0/255) of the connected regions of ``score > low`` that contain a pixel of
    ``score > high`` (or of ``keep & score > low``: temporal hysteresis) and have at least
    ``min_area`` pixels. Faint thin parts attached to the body survive; isolated noise does not.
    """
    weak = score > low
    strong = score > high
    if keep is not None:
        strong |= keep & weak
    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak.view(np.uint8), connectivity=8)
    seeded = np.bincount(labels[strong], minlength=n) > 0
    good = seeded & (stats[:, cv2.CC_STAT_AREA] >= min_area)
    good[0] = False
    return (good[labels].view(np.uint8) * np.uint8(255)).astype(np.uint8)
