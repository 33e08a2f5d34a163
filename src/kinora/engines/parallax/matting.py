"""The subject's matte and colours at full canvas resolution, for a layer that moves.

ISNet's mask comes from a 1024-px square and is soft where the subject is thin or blurred
(an antenna, a motion-blurred ball, dandelion fluff). Thresholded at 0.5, those parts stayed on
the background and showed as ghosts once the layers moved apart. Here the mask is refined with
the photo as guide (a colour guided filter, He et al., restricted to a band around the
outline, so the inside stays whole and far background stays clear), and the subject's own
colours are estimated where the matte is fractional (blur-fusion foreground estimation,
Forte and Pitie 2021): an edge pixel mixes subject and background, and moving it with the
subject unchanged drags the old background along as a dark or green rim. All box filters
(OpenCV), no contrib modules, a few tens of milliseconds at 720p.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import Frame

F32 = npt.NDArray[np.float32]

MATTE_EPS = 2e-3
"""Guided filter regulariser (colours in [0, 1]): lower follows the photo's edges more
closely, higher keeps more of ISNet's own shape where colours are alike."""
FG_MAX_SHIFT = 96.0
"""Largest move (8-bit levels) of an edge pixel's estimated subject colour toward the colour
that gives the photo back exactly over the fill."""
MATTE_CLEAR = 0.1
"""Matte values below this are taken as background, above 1 - this as solid subject."""


def _box(x: F32, r: int) -> F32:
    size = (2 * r + 1, 2 * r + 1)
    return np.asarray(cv2.blur(x, size, borderType=cv2.BORDER_REFLECT), np.float32)


def _colour_guided(guide: F32, src: F32, r: int, eps: float) -> F32:
    """He et al.'s colour guided filter (3-channel guide, 1-channel input): per window the
    best affine map from colour to mask, so the output's edges are the photo's edges."""
    mean_i = _box(guide, r)
    mean_p = _box(src, r)
    mean_ip = _box(guide * src[..., None], r)
    cov_ip = mean_ip - mean_i * mean_p[..., None]
    # The 3x3 covariance of the guide per pixel (symmetric: six distinct entries).
    var = np.empty((*guide.shape[:2], 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            v = _box(guide[..., i] * guide[..., j], r) - mean_i[..., i] * mean_i[..., j]
            var[..., i, j] = v
            var[..., j, i] = v
    var += np.eye(3, dtype=np.float32) * np.float32(eps)
    a = np.linalg.solve(var, cov_ip[..., None])[..., 0].astype(np.float32)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return np.asarray(np.einsum("hwc,hwc->hw", _box(a, r), guide) + _box(b, r), np.float32)


def _within(region: npt.NDArray[np.uint8], radius: float) -> npt.NDArray[np.bool_]:
    """Pixels within ``radius`` of ``region`` (a distance transform: wide dilations at full
    resolution cost far more)."""
    return np.asarray(cv2.distanceTransform(1 - region, cv2.DIST_L2, 3) <= radius)


def _closed(solid: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``solid`` with the small gaps it encloses filled (under 1 % of the picture each): an
    unsure patch inside the subject, not background seen through it."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(1 - solid, connectivity=4)
    h, w = solid.shape
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    enclosed = (x0 > 0) & (y0 > 0) & (x1 < w) & (y1 < h)
    small = enclosed & (stats[:, cv2.CC_STAT_AREA] < 0.01 * h * w)
    small[0] = False
    if count <= 1 or not small.any():
        return solid
    return np.asarray(np.where(small[labels], 1, solid), np.uint8)


def refine_matte(rgb: Frame, mask: F32) -> F32:
    """The subject's matte at ``rgb``'s resolution: ISNet's ``mask`` refined by the photo in
    a band around its outline (where the mask is neither clearly 0 nor 1), unchanged elsewhere.

    The filter's coefficients are computed on a copy of at most ~400 px and upsampled (the
    fast guided filter): the matte's detail then comes from the full-size guide.
    """
    h, w = mask.shape
    scale = min(1.0, 400.0 / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    guide = rgb.astype(np.float32) / 255.0
    small_guide = np.asarray(cv2.resize(guide, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
    small_mask = np.asarray(cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
    r = max(2, round(0.006 * max(sw, sh)))
    refined_small = _colour_guided(small_guide, small_mask, r, MATTE_EPS)
    if scale < 1.0:
        # Upsample the residual, not the matte: the fine detail of ISNet's own mask stays.
        residual = cv2.resize(refined_small - small_mask, (w, h), interpolation=cv2.INTER_LINEAR)
        refined = mask + np.asarray(residual, np.float32)
    else:
        refined = refined_small
    # ISNet is often unsure inside a subject (0.6-0.8 over a mandrill's cheeks): taken as
    # alpha, the subject would turn translucent and show the fill through it. Only the
    # outline's own pixels mix subject and background, so deeper inside the mask is solid.
    solid = _closed((mask > 0.5).astype(np.uint8))
    edge_r = max(1, round(0.003 * max(h, w)))
    inner = cv2.erode(solid, np.ones((2 * edge_r + 1, 2 * edge_r + 1), np.uint8)) > 0
    # The band where the photo decides: a few filter radii around the outline, or where
    # ISNet itself is unsure (thin and blurred parts outside the solid mask).
    band_r = max(2, round(2 * r / scale))
    band = _within(solid, band_r) | ((mask > MATTE_CLEAR) & (mask < 0.5))
    # ...and no further than the filter's radius beyond what ISNet saw at all: a wall the
    # colour of a shirt must not grow onto the subject (it would ride along with it).
    seen = (mask > MATTE_CLEAR).astype(np.uint8)
    grow = round(r / scale)
    band &= _within(seen, grow)
    # The filter only adds to what ISNet saw (a thin part it missed, the edge of a blur):
    # faded, a part ISNet took would show the fill through it.
    out = np.where(band, np.maximum(refined, mask), mask)
    out = np.where(inner, 1.0, out)
    out = np.clip(out, 0.0, 1.0)
    out[out < MATTE_CLEAR] = 0.0
    out[out > 1.0 - MATTE_CLEAR] = 1.0
    return np.asarray(out, np.float32)


def foreground_colours(rgb: Frame, alpha: F32, background: Frame) -> Frame:
    """The subject's own colour under a fractional matte, for compositing over
    ``background`` (the filled back layer).

    ``I = a F + (1 - a) B`` is solved for ``F`` by blur fusion (two passes, a wide then a
    narrow one: local means of subject and background colours, corrected by the residual).
    That ``F`` over the fill would not quite give the photo back at rest, so ``F`` is then
    moved toward the exact solution with the fill as ``B``, by at most FG_MAX_SHIFT: the rest
    view stays the photo wherever the fill is close to the real background, and where it is
    not, the edge keeps the subject's colour rather than a rim of the old background. Where
    ``alpha`` is 1 or 0 the photo is returned unchanged."""
    h, w = alpha.shape
    image = rgb.astype(np.float32) / 255.0
    a = alpha[..., None]
    side = max(h, w)
    # The wide pass's means on a quarter-size copy (they are blurs over 6 % of the picture).
    q = (max(4, w // 4), max(4, h // 4))
    small = np.asarray(cv2.resize(image, q, interpolation=cv2.INTER_AREA), np.float32)
    small_a = np.asarray(cv2.resize(alpha, q, interpolation=cv2.INTER_AREA), np.float32)
    r = max(2, round(0.015 * max(q)))
    sa = small_a[..., None]
    f_small = _box(small * sa, r) / np.maximum(_box(small_a, r)[..., None], 1e-4)
    b_small = _box(small * (1.0 - sa), r) / np.maximum(_box(1.0 - small_a, r)[..., None], 1e-4)
    f_blur = np.asarray(cv2.resize(f_small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    b_blur = np.asarray(cv2.resize(b_small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    fg = np.clip(f_blur + a * (image - a * f_blur - (1.0 - a) * b_blur), 0.0, 1.0)
    bg = np.clip(b_blur + (1.0 - a) * (image - (1.0 - a) * b_blur - a * f_blur), 0.0, 1.0)
    # The narrow pass at full size, from the wide pass's estimates.
    r = max(2, round(0.006 * side))
    f_near = _box(fg * a, r) / np.maximum(_box(alpha, r)[..., None], 1e-4)
    b_near = _box(bg * (1.0 - a), r) / np.maximum(_box(1.0 - alpha, r)[..., None], 1e-4)
    fg = np.clip(f_near + a * (image - a * f_near - (1.0 - a) * b_near), 0.0, 1.0)
    fractional = (alpha > 0.0) & (alpha < 1.0)
    fill = background.astype(np.float32) / 255.0
    exact = (image - (1.0 - a) * fill) / np.maximum(a, 1e-3)
    shift = np.float32(FG_MAX_SHIFT / 255.0)
    fg = np.clip(np.clip(exact, fg - shift, fg + shift), 0.0, 1.0)
    out = rgb.copy()
    out[fractional] = np.clip(fg[fractional] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
