"""A layered depth layout for one photo: subject plane in front, background plane behind.

No monocular depth model ships in a registry here, so depth comes from cues: the subject mask
(near), height in the picture (lower is nearer, as on a ground plane) and sharpness (defocused
areas are far), smoothed edge-aware with a guided filter, then fitted by a plane per layer. A
plane maps to any camera by an exact homography, so layers never stretch or tear; a subject
that stands on something shown (a branch, the ground) leans so that it meets its support's
plane where it touches it. The subject's alpha is its matte refined at full resolution
(``matting``), faint and thin parts included, with its own colours at the fractional edge;
the background is filled under everything the matte covers (smooth colour by inpainting,
fine texture quilted in from around it) so revealed areas show no remnant of the subject, and
the edge colours are solved over that fill so the rest view reproduces the input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import Frame
from kinora.engines.parallax.matting import foreground_colours, refine_matte

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

SUBJECT_INV_DEPTH = 1.0
"""The subject sits at depth 1: camera amplitudes are in units of the subject's distance."""
BG_NEAR, BG_FAR = 0.62, 0.22
"""Background inverse depth at the picture's bottom / top before cue modulation."""


@dataclass(frozen=True)
class Layer:
    """An image on a plane: RGB (+ alpha) on the canvas, inverse depth ``plane . (u, v, 1)``."""

    name: str
    rgb: Frame
    alpha: npt.NDArray[np.uint8] | None
    """None for the opaque back layer."""
    plane: F64
    bbox: tuple[int, int, int, int]
    """(x0, y0, x1, y1) of the non-transparent pixels, for warping only that region."""
    sides: frozenset[str]
    """Canvas sides the layer's pixels touch ("left", "top", ...): they must stay out of view."""
    matte: npt.NDArray[np.uint8] | None = None
    """The subject's own matte, without the rim of background its alpha carries along (the
    transparent downloads' alpha: the rim would show there as a halo)."""


@dataclass(frozen=True)
class Layout:
    """Layers far to near, plus the cue depth (for docs and checks) and the focus point."""

    layers: tuple[Layer, ...]
    inv_depth: F32
    """Dense inverse depth at canvas size (what the planes were fitted to)."""
    pivot_px: tuple[float, float]
    """The subject's centre on the canvas."""
    pivot_inv_depth: float
    has_subject: bool


def guided_filter(guide: F32, src: F32, radius: int, eps: float) -> F32:
    """He et al.'s guided filter with box means: edge-aware smoothing without contrib modules."""
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: F32) -> F32:
        return np.asarray(cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT), np.float32)

    mean_i, mean_p = box(guide), box(src)
    cov = box(guide * src) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a = (cov / (var + eps)).astype(np.float32)
    b = (mean_p - a * mean_i).astype(np.float32)
    return np.asarray(box(a) * guide + box(b), np.float32)


def _fit_plane(inv: F32, weight: F32, scale: float) -> F64:
    """Weighted least-squares affine fit of inverse depth; returned in canvas pixel units."""
    h, w = inv.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    wts = weight.astype(np.float64).ravel()
    sel = wts > 1e-3
    if sel.sum() < 10:
        return np.array([0.0, 0.0, float(np.median(inv))])
    a = np.stack([xx.ravel()[sel], yy.ravel()[sel], np.ones(int(sel.sum()))], axis=1)
    sw = np.sqrt(wts[sel])
    coef, *_ = np.linalg.lstsq(
        a * sw[:, None], inv.ravel()[sel].astype(np.float64) * sw, rcond=None
    )
    # Small-image pixel (x + 0.5) / scale - 0.5 is the canvas pixel: convert coefficients.
    cx, cy, c0 = (float(v) for v in coef)
    off = 0.5 / scale - 0.5
    return np.array([cx * scale, cy * scale, c0 - (cx + cy) * off * scale], dtype=np.float64)


def _clamp_plane(plane: F64, width: int, height: int, lo: float, hi: float) -> F64:
    """Keep the plane's inverse depth within [lo, hi] over the canvas (stays behind the subject
    and in front of the camera), shrinking its slope about the centre if needed."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    centre = np.array([width / 2, height / 2, 1.0])
    c = float(np.clip(plane @ centre, lo + 0.02, hi - 0.02))
    slope = plane.copy()
    slope[2] = 0.0
    slope[2] = -(slope @ centre)
    vals = corners @ slope
    k = 1.0
    if vals.max() > 0:
        k = min(k, (hi - c) / float(vals.max()))
    if vals.min() < 0:
        k = min(k, (c - lo) / float(-vals.min()))
    out = slope * max(0.0, k)
    out[2] += c
    return out


def _cue_depth(small: Frame, mask: F32) -> F32:
    """Inverse depth from height, sharpness and sky cues at low resolution."""
    h, w = mask.shape
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    rows = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    height_cue = BG_FAR + (BG_NEAR - BG_FAR) * rows**1.3
    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))
    sharp = np.asarray(cv2.GaussianBlur(lap, (0, 0), max(2.0, min(h, w) / 25)), np.float32)
    sharp = sharp / max(float(np.quantile(sharp, 0.95)), 1e-6)
    sharp = np.clip(sharp, 0.0, 1.0)
    inv = height_cue * (0.7 + 0.3 * sharp)
    # Smooth, bright, top-touching regions read as sky: push them far.
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.float32)
    skyish = (sharp < 0.15) & (hsv[..., 2] > 90) & (rows < 0.5)
    inv = np.where(skyish, inv * 0.6, inv).astype(np.float32)
    inv = guided_filter(gray, inv, max(2, min(h, w) // 16), 1e-3)
    return np.where(mask > 0.5, np.float32(SUBJECT_INV_DEPTH), inv).astype(np.float32)


def _sides(binary: npt.NDArray[np.uint8]) -> frozenset[str]:
    found = set()
    if binary[:2].any():
        found.add("top")
    if binary[-2:].any():
        found.add("bottom")
    if binary[:, :2].any():
        found.add("left")
    if binary[:, -2:].any():
        found.add("right")
    return frozenset(found)


def _smooth_fill(rgb: Frame, hole: npt.NDArray[np.uint8]) -> Frame:
    """The hole's colours from its surroundings: TELEA at ~256 px, upsampled (no texture)."""
    h, w = hole.shape
    scale = min(1.0, 256 / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = np.asarray(cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
    small_hole = (cv2.resize(hole, (sw, sh), interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    small_hole = np.asarray(cv2.dilate(small_hole, np.ones((3, 3), np.uint8)), np.uint8)
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    # Soften TELEA's streaks in large holes; keep it sharp near the hole's edge.
    dist = cv2.distanceTransform(small_hole, cv2.DIST_L2, 3)
    blurred = cv2.GaussianBlur(filled, (0, 0), 2.0)
    k = np.clip(dist / 6.0, 0.0, 1.0)[..., None]
    filled = (filled * (1 - k) + blurred * k).astype(np.uint8)
    return np.asarray(cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC), np.uint8)


SEAM_FADE_PX = 4.0
"""How far into the hole the fill is shifted toward the colours just outside its edge."""
SEAM_MAX_SHIFT = 12.0
"""Largest shift (8-bit levels per channel): shading is matched, other objects' colours are
not pulled into the fill (they would show as blurred blobs)."""


def _seam_matched(rgb: Frame, hole: npt.NDArray[np.uint8], fill: Frame) -> F32:
    """The fill shifted, near the hole's edge, to the colours just outside it. The smooth fill
    comes from a small copy of the picture, so along the edge it steps away from the picture's
    own shading; once the subject moves off, that step reads as its outline on the wall."""
    f = fill.astype(np.float32)
    step = np.ones((3, 3), np.uint8)
    edge = ((hole > 0) & (cv2.erode(hole, step) == 0)).astype(np.float32)
    outside = ((cv2.dilate(hole, step, iterations=2) > 0) & (hole == 0)).astype(np.float32)
    if not edge.any() or not outside.any():
        return f
    near = cv2.GaussianBlur(outside, (0, 0), 1.5)
    colour = cv2.GaussianBlur(rgb.astype(np.float32) * outside[..., None], (0, 0), 1.5)
    colour /= np.maximum(near, 1e-3)[..., None]
    edge *= near > 0.05
    mismatch = (colour - f) * edge[..., None]
    spread = cv2.GaussianBlur(edge, (0, 0), SEAM_FADE_PX)
    offset = cv2.GaussianBlur(mismatch, (0, 0), SEAM_FADE_PX) / np.maximum(spread, 1e-3)[..., None]
    offset = np.clip(offset, -SEAM_MAX_SHIFT, SEAM_MAX_SHIFT)
    depth = cv2.distanceTransform(hole, cv2.DIST_L2, 3)
    fade = np.exp(-np.maximum(depth - 1.0, 0.0) / SEAM_FADE_PX) * (spread > 1e-3)
    return np.asarray(f + offset * fade[..., None], np.float32)


QUILT_TILE = 32
"""Side of the squares the hole's texture is copied in (with QUILT_TILE // 2 of overlap)."""
QUILT_MAX_COLOUR = 60.0
"""Largest difference (sum over R, G, B) of a source's mean colour from the fill's."""
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


def _quilt_detail(
    rgb: Frame, hole: npt.NDArray[np.uint8], smooth: Frame
) -> npt.NDArray[np.float32]:
    """Fine detail (picture minus its blur) for the hole, copied square by square from nearby
    known picture: each square takes the nearest fully known place, along eight directions,
    whose colour is closest to the fill's there; squares overlap and blend with smooth ramps,
    so copies meet without seams and keep their grain's direction (no mirroring)."""
    h, w = hole.shape
    t = QUILT_TILE
    m = t // 2  # overlap on each side
    size = t + 2 * m
    blur = cv2.GaussianBlur(rgb, (0, 0), 3.0)
    detail = cv2.subtract(rgb, blur, dtype=cv2.CV_16S).astype(np.float32)
    holes = np.zeros((h + 1, w + 1), np.int64)
    holes[1:, 1:] = hole.astype(np.int64).cumsum(0).cumsum(1)
    sums_rgb = np.asarray(cv2.integral(rgb), np.int64)
    sums_fill = np.asarray(cv2.integral(smooth), np.int64)

    def mean(sums: npt.NDArray[np.int64], y: npt.NDArray[Any], x: npt.NDArray[Any]) -> Any:
        """Mean colour of the size x size squares at (y, x) (moved inside the picture)."""
        y, x = np.clip(y, 0, h - size), np.clip(x, 0, w - size)
        box = sums[y + size, x + size] - sums[y, x + size] - sums[y + size, x] + sums[y, x]
        return box / float(size * size)

    ramp = np.sin(np.linspace(0.0, np.pi, size + 2)[1:-1]) ** 2
    weight = (ramp[:, None] * ramp[None, :]).astype(np.float32)
    acc = np.zeros((h, w, 3), np.float32)
    total = np.zeros((h, w), np.float32)
    # The squares that hold hole pixels.
    ny, nx = -(-h // t), -(-w // t)
    padded = np.zeros((ny * t, nx * t), bool)
    padded[:h, :w] = hole > 0
    rows, cols = np.nonzero(padded.reshape(ny, t, nx, t).any(axis=(1, 3)))
    ty, tx = rows * t, cols * t
    y0, x0 = ty - m, tx - m  # each square with its overlap
    want = mean(sums_fill, y0, x0)
    n = len(ty)
    best_cost = np.full(n, np.inf)
    best_oy = np.zeros(n, np.int64)
    best_ox = np.zeros(n, np.int64)
    for dx, dy in _DIRECTIONS:
        searching = np.ones(n, bool)  # only the nearest known square along a direction counts
        for k in range(1, 12):
            sy, sx = y0 + dy * k * t, x0 + dx * k * t
            inside = (sy >= 0) & (sx >= 0) & (sy + size <= h) & (sx + size <= w)
            searching &= inside
            if not searching.any():
                break
            cy, cx = np.clip(sy, 0, h - size), np.clip(sx, 0, w - size)
            count = holes[cy + size, cx + size] - holes[cy, cx + size]
            count -= holes[cy + size, cx] - holes[cy, cx]
            found = searching & (count == 0)
            colour = np.abs(mean(sums_rgb, cy, cx) - want).sum(axis=1)
            cost = colour + 2.0 * k
            better = found & (colour <= QUILT_MAX_COLOUR) & (cost < best_cost)
            best_cost[better] = cost[better]
            best_oy[better], best_ox[better] = dy * k * t, dx * k * t
            searching &= ~found
    chosen = np.flatnonzero(np.isfinite(best_cost))
    # Texture contrast goes with brightness: a bright source lends a dark fill less of it.
    source = mean(sums_rgb, y0[chosen] + best_oy[chosen], x0[chosen] + best_ox[chosen])
    gains = np.clip(want[chosen].sum(axis=1) / np.maximum(source.sum(axis=1), 1.0), 0.5, 1.5)
    for i, gain in zip(chosen.tolist(), gains.tolist(), strict=True):
        oy, ox = int(best_oy[i]), int(best_ox[i])
        # Clip the square to the picture; its source moves with it (and stays inside).
        a0, b0 = max(0, int(y0[i])), max(0, int(x0[i]))
        a1, b1 = min(h, int(y0[i]) + size), min(w, int(x0[i]) + size)
        wgt = weight[a0 - y0[i] : a1 - y0[i], b0 - x0[i] : b1 - x0[i]] * np.float32(gain)
        acc[a0:a1, b0:b1] += detail[a0 + oy : a1 + oy, b0 + ox : b1 + ox] * wgt[..., None]
        total[a0:a1, b0:b1] += wgt / np.float32(gain)
    # Overlapping ramps sum to 1 inside the quilt; at its edge (a square whose neighbours found
    # nothing) they fall to 0, so the texture fades out instead of ending in a hard edge.
    return np.asarray(acc / np.maximum(total, 1.0)[..., None], np.float32)


def _inpaint(rgb: Frame, hole: npt.NDArray[np.uint8], untrusted: npt.NDArray[np.uint8]) -> Frame:
    """Fill ``hole`` plausibly for revealing: the smooth fill's colours plus fine texture
    quilted in from nearby known picture (wood grain, fabric, foliage) whose colour is about
    the fill's, so a different object nearby lends no detail. Neither takes anything from
    ``untrusted`` (the hole and a margin around it, where the subject's fringe may lie); the
    margin keeps its own pixels and the fill is matched to them at the hole's edge."""
    if not hole.any():
        return rgb.copy()
    smooth = _smooth_fill(rgb, untrusted)
    detail = _quilt_detail(rgb, untrusted, smooth)
    filled = np.clip(_seam_matched(rgb, hole, smooth) + detail + 0.5, 0, 255).astype(np.uint8)
    out = rgb.copy()
    out[hole > 0] = filled[hole > 0]
    return out


def _without_islands(hole: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The hole with the small specks of background it encloses (gaps in a lattice, between
    fingers) added: they hold the subject's fringes, not background to fill from."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (hole == 0).astype(np.uint8), connectivity=4
    )
    small = stats[:, cv2.CC_STAT_AREA] < 0.005 * hole.size
    small[0] = False  # label 0 is the hole itself
    if count <= 1 or not small.any():
        return hole
    return np.asarray(np.where(small[labels], 1, hole), np.uint8)


RIM_MIN_CONTRAST = 4.0
"""Levels (8-bit luma) by which a pixel just outside the subject must differ from the
background a little further out to count as the subject's rim."""
RIM_MIN_DEPTH = 8.0
"""Pixels from the hole's edge to its inside where a rim is looked for (not around thin parts)."""
RIM_NOISE_FACTOR = 2.5
"""...and by how many times that background's own fine texture (its high-pass spread)."""


def _with_rim(rgb: Frame, hole: npt.NDArray[np.uint8], reach: int) -> npt.NDArray[np.uint8]:
    """The hole grown over the subject's rim: pixels within ``reach`` of it, connected to it,
    that stand out from the background a little further out (a dark edge of hair, a soft
    shadow line) by more than that background's own texture. Left in the background layer a
    rim traces the subject's outline on the wall once the layers move apart; in the hole it
    travels with the subject (whose alpha is 1 there, so the rest view is still the input)."""

    def disk(r: int) -> npt.NDArray[np.uint8]:
        return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))

    inner = cv2.dilate(hole, disk(reach))
    near = (inner > 0) & (hole == 0)
    # Only beside the subject's body: around thin parts (a whisker, a wire) a rim would only
    # fatten them.
    deep = (cv2.distanceTransform(hole, cv2.DIST_L2, 3) >= RIM_MIN_DEPTH).astype(np.uint8)
    near &= cv2.dilate(deep, disk(int(RIM_MIN_DEPTH) + reach + 1)) > 0
    if not near.any():
        return hole
    # The background a little further out: its mean colour and fine-texture spread, spread
    # over the rim by normalised blurs.
    ref = ((cv2.dilate(hole, disk(reach + 8)) > 0) & (inner == 0)).astype(np.float32)
    box = (2 * reach + 9, 2 * reach + 9)  # box means: as good here as Gaussians, far cheaper
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    weight = cv2.blur(ref, box)
    norm = np.maximum(weight, 1e-3)
    mean = cv2.blur(luma * ref, box) / norm
    fine = luma - cv2.GaussianBlur(luma, (0, 0), 1.5)
    spread = np.sqrt(np.maximum(cv2.blur(fine * fine * ref, box) / norm, 0.0))
    contrast = np.abs(luma - mean)
    limit = np.maximum(RIM_MIN_CONTRAST, RIM_NOISE_FACTOR * spread)
    rim = near & (contrast > limit) & (weight > 0.02)
    grown = hole.copy()
    step = np.ones((3, 3), np.uint8)
    for _ in range(reach):
        grown = np.where(rim, cv2.dilate(grown, step), grown).astype(np.uint8)
    # Pixel-wise tests leave a ragged edge (spikes, notches) that would show on the subject's
    # outline once it moves: keep the rim's smooth shape (the hole itself never shrinks).
    smooth = cv2.medianBlur(grown * np.uint8(255), 5) > 127
    return np.asarray(np.where(smooth & inner.astype(bool), 1, hole), np.uint8)


HOLE_SOFT_ALPHA = 0.004
"""ISNet values above this near the subject go in the hole. Its mask is computed on a 1024-px
square, and on another copy of the photo (another size, another crop) a blurred ball's or
hand's faint tail reaches further: left on the background, that tail is what the later frame
shows of the subject where it stood."""
HOLE_SOFT_REACH = 0.02
"""...within this share of the canvas's long side of the matte (a faint glow elsewhere in
the picture is not the subject's)."""
CLEAN_REACH = 0.03
"""How far beyond the hole (share of the long side) the fill distrusts the subject's colours."""
CLEAN_NEARER = 0.5
"""A pixel that far out is taken for the subject's colour (and not filled from) when it is
nearer the subject's local colour than this share of the way to the local background's."""
CLEAN_MIN_CONTRAST = 15.0
"""...and the subject there stands out from that background by at least this (Delta E)."""


def _subject_coloured(
    canvas: Frame, hole: npt.NDArray[np.uint8], solid: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """Pixels near the hole whose colour is the subject's rather than the background's
    around it: a shadow, a blurred hand's tail, the dark side of a fringe. The fill must not
    take its colours or texture from them: drawn into the hole, they repaint the subject's
    silhouette where it stood (a dark figure on a light wall once the subject moves off).

    Colours are compared in CIELAB on a copy of at most ~320 px (local means: the subject's
    from its solid part nearby, the background's from what lies beyond this band, both by
    normalised blurs), the same test as the bench's ghost measure applies to the revealed
    area: nearer the subject than CLEAN_NEARER of the way to the background.
    """
    h, w = hole.shape
    side = max(h, w)
    scale = min(1.0, 320 / side)
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = np.asarray(cv2.resize(canvas, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    small_hole = (cv2.resize(hole, (sw, sh), interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    small_solid = (cv2.resize(solid, (sw, sh), interpolation=cv2.INTER_AREA) > 0).astype(np.float32)
    reach = CLEAN_REACH * max(sw, sh)
    dist = cv2.distanceTransform(1 - small_hole, cv2.DIST_L2, 3)
    band = (dist > 0) & (dist <= reach)
    if not band.any() or not small_solid.any():
        return np.zeros((h, w), np.uint8)
    beyond = (dist > reach).astype(np.float32)

    def local(weight: F32, sigma: float) -> F32:
        num = cv2.GaussianBlur(lab * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
        return np.asarray(num / np.maximum(den, 1e-4)[..., None], np.float32)

    s = local(small_solid, 0.03 * max(sw, sh))
    b = local(beyond, 0.05 * max(sw, sh))
    contrast = np.linalg.norm(s - b, axis=2)
    nearer = np.linalg.norm(lab - s, axis=2) < CLEAN_NEARER * contrast
    found = (band & nearer & (contrast >= CLEAN_MIN_CONTRAST)).astype(np.uint8)
    # Up to full size, a pixel or two wider (the small copy's pixels cover several).
    grown = cv2.dilate(found, np.ones((3, 3), np.uint8))
    return (cv2.resize(grown, (w, h), interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)


STANDING_MIN_GAP = 0.02
"""Rows of background (share of the canvas) below the subject for it to stand on something."""
STANDING_MAX_INV_DEPTH = 1.8 * SUBJECT_INV_DEPTH
"""The nearest a standing subject's top may come (its lean toward the camera is capped)."""


def standing_plane(
    bg_plane: F64, binary: npt.NDArray[np.uint8], centroid: tuple[float, float]
) -> F64:
    """The subject's plane: upright at depth 1, or, when the picture shows what it rests on
    (background below its lowest point: a branch, the ground, a table), leaning so that its
    lowest row lies on the background's plane and its centroid at depth 1 (so the subject as
    a whole still moves against the background as an upright one would).

    On a plane of its own the subject slides against its support: a squirrel's feet leave the
    branch, the part of the branch the mask took rides along, the rest slides away. Meeting
    the background at the contact, the feet stay put and parallax grows with height, as for
    anything standing on a surface; the plane still maps by one homography.
    """
    upright = np.array([0.0, 0.0, SUBJECT_INV_DEPTH])
    rows = np.flatnonzero(binary.any(axis=1))
    h = binary.shape[0]
    if rows.size == 0 or rows[-1] >= h - 1 - STANDING_MIN_GAP * h:
        return upright  # cut by the picture's bottom edge: what it stands on is not shown
    top, y_c = float(rows[0]), float(rows[-1])
    px, py = centroid
    if y_c - py < 0.1 * (y_c - top):
        return upright

    def bg(y: float) -> float:
        return float(bg_plane @ np.array([px, y, 1.0]))

    k = (SUBJECT_INV_DEPTH - bg(py)) / (y_c - py)  # inverse depth gained per row upward
    # Capped so the top comes no nearer than STANDING_MAX_INV_DEPTH.
    k = min(k, (STANDING_MAX_INV_DEPTH - bg(top)) / (y_c - top))
    if k <= 0.0:
        return upright
    return np.asarray(bg_plane + k * np.array([0.0, -1.0, y_c]), np.float64)


def upright(layout: Layout) -> Layout:
    """The layout with its subject upright at depth 1 (no lean onto its support): for a
    dolly zoom, whose point is a subject that keeps its size while the world grows behind it;
    leaning, the subject's lower part would grow with the ground."""
    if not layout.has_subject:
        return layout
    back, front = layout.layers
    plane = np.array([0.0, 0.0, SUBJECT_INV_DEPTH])
    if np.array_equal(front.plane, plane):
        return layout
    layers = (back, dataclasses.replace(front, plane=plane))
    return dataclasses.replace(layout, layers=layers, pivot_inv_depth=SUBJECT_INV_DEPTH)


def build_layout(canvas: Frame, mask: F32) -> Layout:
    """Layers for a canvas (the fitted photo plus margins, at output scale) and its soft mask."""
    ch, cw = mask.shape
    binary = (mask > 0.5).astype(np.uint8)
    area = float(binary.mean())
    has_subject = 0.005 < area < 0.92
    scale = min(1.0, 320 / max(ch, cw))
    sw, sh = max(8, round(cw * scale)), max(8, round(ch * scale))
    small = np.asarray(cv2.resize(canvas, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
    small_mask = np.asarray(
        cv2.resize(mask if has_subject else np.zeros_like(mask), (sw, sh)), np.float32
    )
    inv_small = _cue_depth(small, small_mask)
    bg_weight = (1.0 - np.clip(small_mask * 1.5, 0, 1)).astype(np.float32)
    bg_plane = _fit_plane(inv_small, bg_weight, scale)
    bg_plane = _clamp_plane(bg_plane, cw, ch, 0.12, 0.75 * SUBJECT_INV_DEPTH)
    inv_full = np.asarray(cv2.resize(inv_small, (cw, ch)), np.float32)
    full = np.ones((ch, cw), np.uint8)
    if not has_subject:
        # Scenery: one tilted plane; the focus point is the centre at that plane's depth.
        px, py = cw / 2.0, ch / 2.0
        w_c = float(bg_plane @ np.array([px, py, 1.0]))
        plane = bg_plane / w_c
        back = Layer("background", canvas, None, plane, (0, 0, cw, ch), _sides(full))
        return Layout((back,), (inv_full / w_c).astype(np.float32), (px, py), 1.0, False)
    # The subject's matte at full resolution: thin and blurred parts keep their partial
    # alpha (they travel with the subject instead of staying behind as ghosts).
    matte = refine_matte(canvas, mask)
    side = max(ch, cw)
    # (within 6 % of the long side of the solid mask, as the ghost measure's subject; by
    # distance, since a dilation that wide costs more than the rest of the layout)
    near_core = cv2.distanceTransform(1 - binary, cv2.DIST_L2, 3) <= 0.06 * side
    matte = np.where(near_core, matte, 0.0).astype(np.float32)
    # The hole holds every pixel the subject shows in, however faintly, the background specks
    # it encloses and its rim (a dark edge, a shadow line), so no remnant of it is left.
    r_hole = max(2, round(0.004 * min(ch, cw)))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_hole + 1, 2 * r_hole + 1))
    support = (matte > 0).astype(np.uint8)
    hole = _without_islands(support)
    coloured = _subject_coloured(canvas, hole, (matte >= 0.5).astype(np.uint8))
    # ISNet's faint tail next to the matte (a motion blur's end) is in the hole too where it
    # has the subject's colour (where it has the background's, it is background: carried
    # along, it would show as a halo around the subject).
    soft = (mask > HOLE_SOFT_ALPHA) & (coloured > 0)
    soft &= cv2.distanceTransform(1 - support, cv2.DIST_L2, 3) <= HOLE_SOFT_REACH * side
    if soft.any():
        hole = _without_islands(np.maximum(support, soft.astype(np.uint8)))
    hole = _with_rim(canvas, hole, r_hole + 1)
    # ...and a margin of ~3 px at 720p around it: ISNet's edges sit within a pixel or two of
    # the true edge, and the true edge left on the background traces the subject's outline
    # once the layers part. The fill takes nothing from a margin beyond that either, nor from
    # the subject-coloured pixels around the hole.
    hole = np.asarray(cv2.dilate(hole, disk), np.uint8)
    untrusted = np.asarray(cv2.dilate(hole, disk), np.uint8) | coloured
    background = _inpaint(canvas, hole, untrusted)
    # Rim, margin and enclosed specks travel with the subject whole (the rest view keeps them).
    attached = ((hole > 0) & (support == 0)).astype(np.float32)
    # The subject's alpha is its matte, 1 over what is attached to it (a thin ring of the old
    # background rides along, no more), and its fractional edge carries the subject's own
    # colour, not the background's.
    alpha_f = np.maximum(matte, attached)
    subject_rgb = foreground_colours(canvas, alpha_f, background)
    alpha = np.clip(alpha_f * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(alpha)
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    ys_in, xs_in = np.nonzero(binary)
    cx, cy = float(xs_in.mean()), float(ys_in.mean())
    subject_plane = standing_plane(bg_plane, binary, (cx, cy))
    # Favour the upper part of the subject (faces, tops) as the focus point.
    cy = cy + 0.4 * (bbox[1] - cy)
    pivot_inv = float(subject_plane @ np.array([cx, cy, 1.0]))
    back = Layer("background", background, None, bg_plane, (0, 0, cw, ch), _sides(full))
    front = Layer(
        "subject",
        subject_rgb,
        alpha,
        subject_plane,
        bbox,
        _sides((alpha > 0).astype(np.uint8)),
        matte=np.clip(matte * 255.0 + 0.5, 0, 255).astype(np.uint8),
    )
    return Layout((back, front), inv_full, (cx, cy), pivot_inv, True)
