"""Piecewise-affine mesh warps: a triangle mesh over a mask, skinning weights, backward maps.

The character engine moves a photographed body by moving the vertices of a triangle mesh laid
over it and resampling the photo triangle by triangle. Each output pixel belongs to one
destination triangle, and inside it the map back to the photo is that triangle's affine map,
so the warp is continuous across shared edges (no seams) and exact at the vertices.

Rasterising is vectorised (:func:`rasterise` writes each triangle's index into an id image,
later triangles covering earlier ones) and the per-pixel source coordinates come from one
vectorised lookup of the triangles' affine maps: a frame costs a few milliseconds whatever
the triangle count.

Coordinates here are OpenCV's: pixel ``(i, j)``'s centre is at ``(j, i)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh: vertices (N, 2) in pixels and triangles (M, 3) of vertex indices."""

    vertices: F32
    triangles: I32


def _resample_contour(contour: F32, spacing: float) -> F32:
    """Points every ``spacing`` pixels along a closed contour."""
    closed = np.vstack([contour, contour[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    length = float(seg.sum())
    if length < spacing * 3:
        return contour
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.arange(0.0, length, spacing)
    xs = np.interp(at, cum, closed[:, 0])
    ys = np.interp(at, cum, closed[:, 1])
    return np.stack([xs, ys], axis=1).astype(np.float32)


def mask_mesh(mask: npt.NDArray[np.bool_], spacing: float, extra: F32 | None = None) -> Mesh:
    """A mesh covering ``mask``: its outline resampled every ``spacing`` pixels, a grid of the
    same spacing inside, and ``extra`` points (joints, so bones bend at vertices); Delaunay
    triangles whose centre and edge midpoints fall inside the mask are kept, so concave gaps
    (between an arm and the body) stay open and the arm can move away from the body."""
    binary = mask.astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    min_area = spacing * spacing * 2
    points: list[F32] = []
    for contour in contours:
        if cv2.contourArea(contour) < min_area:
            continue
        points.append(_resample_contour(contour[:, 0, :].astype(np.float32), spacing))
    inner = cv2.erode(binary, np.ones((3, 3), np.uint8), iterations=max(1, int(spacing * 0.4)))
    h, w = mask.shape
    step = max(2, int(spacing))
    gy, gx = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    on = inner[gy, gx] > 0
    points.append(np.stack([gx[on], gy[on]], axis=1).astype(np.float32))
    if extra is not None and len(extra):
        inside = extra[
            (extra[:, 0] >= 0) & (extra[:, 0] < w) & (extra[:, 1] >= 0) & (extra[:, 1] < h)
        ]
        ix = np.clip(inside[:, 0].astype(int), 0, w - 1)
        iy = np.clip(inside[:, 1].astype(int), 0, h - 1)
        points.append(inside[binary[iy, ix] > 0].astype(np.float32))
    vertices = np.vstack(points).astype(np.float32)
    vertices = np.unique(np.round(vertices, 1), axis=0).astype(np.float32)
    if len(vertices) < 3:
        return Mesh(vertices, np.zeros((0, 3), np.int32))
    tri = Delaunay(vertices).simplices.astype(np.int32)
    corners = vertices[tri]  # (M, 3, 2)
    probes = np.concatenate(
        [corners.mean(axis=1, keepdims=True), (corners + np.roll(corners, 1, axis=1)) / 2], axis=1
    )
    px = np.clip(np.round(probes[..., 0]).astype(int), 0, w - 1)
    py = np.clip(np.round(probes[..., 1]).astype(int), 0, h - 1)
    keep = (binary[py, px] > 0).all(axis=1)
    return Mesh(vertices, tri[keep])


def pieces(triangles: I32) -> list[I32]:
    """The indices of ``triangles`` split into connected pieces (triangles sharing a vertex
    are connected), each in its original order, the pieces ordered by their first triangle.
    A draw layer's parts that lie apart (two arms, a body and a ball at its feet) are mapped
    over their own boxes rather than one box spanning the empty space between them."""
    if len(triangles) == 0:
        return []
    m, n = len(triangles), int(triangles.max()) + 1
    # Triangle-vertex incidence as one bipartite graph: triangles 0..m-1, vertices after.
    rows = np.repeat(np.arange(m), 3)
    incidence = coo_matrix(
        (np.ones(rows.size, np.int8), (rows, m + triangles.ravel())), shape=(m + n, m + n)
    )
    _count, labels = connected_components(incidence, directed=False)
    tri_labels = labels[:m]
    order = np.unique(tri_labels, return_index=True)[1]
    first = tri_labels[np.sort(order)]
    return [np.flatnonzero(tri_labels == label).astype(np.int32) for label in first]


def point_segment_distance(points: F32, a: F32, b: F32) -> F32:
    """Distance from each point (N, 2) to each segment a[k]-b[k] (K, 2): (N, K)."""
    ab = (b - a)[None, :, :]
    ap = points[:, None, :] - a[None, :, :]
    denom = np.maximum((ab * ab).sum(axis=2), 1e-9)
    t = np.clip((ap * ab).sum(axis=2) / denom, 0.0, 1.0)
    closest = a[None, :, :] + t[..., None] * ab
    out: F32 = np.hypot(*(points[:, None, :] - closest).transpose(2, 0, 1)).astype(np.float32)
    return out


def skin_weights(
    points: F32,
    starts: F32,
    ends: F32,
    reach: float,
    power: float = 4.0,
    *,
    still: float | None = None,
    fade: tuple[float, float] | None = None,
) -> F32:
    """Linear-blend-skinning weights (N, K), rows summing to 1: inverse distance to each bone
    segment raised to ``power``, softened by ``reach`` pixels. A high power keeps each limb
    rigid (its points follow their nearest bone) while points near a joint blend the two
    bones meeting there, which bends the skin instead of tearing it.

    With ``still`` (pixels), a last column weighs "no bone" as if it were that far from
    every point: parts of the subject far from all bones (a ball at the feet, a held sign)
    stay where they are instead of swinging with whichever limb is nearest.

    With ``fade`` (pixels), a bone's weight fades out between those two distances from it:
    inverse distances never reach zero, so without it a waving forearm's small share of a
    hip or a foot moves them by pixels (the legs and a ball at them wobble with the arm),
    and nothing far from a moving limb is ever quite still for a renderer to skip. Points
    nearer than ``fade[0]`` to a bone blend with it as before."""
    d = point_segment_distance(points, starts, ends)
    w = 1.0 / np.power(d + reach, power)
    if fade is not None:
        # Smoothly from 1 at fade[0] to 0 at fade[1]; a point no bone reaches keeps its
        # nearest one (or the still column).
        x = np.clip((fade[1] - d) / max(fade[1] - fade[0], 1e-6), 0.0, 1.0)
        faded = w * (x * x * (3 - 2 * x))
        lost = faded.sum(axis=1) <= 0
        faded[lost] = np.where(d[lost] <= d[lost].min(axis=1, keepdims=True), w[lost], 0.0)
        w = faded
    if still is not None:
        w = np.concatenate([w, np.full((len(points), 1), 1.0 / (still + reach) ** power)], axis=1)
    out: F32 = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def blend_transforms(weights: F32, transforms: F64, points: F32) -> F32:
    """Each point moved by its weighted mix of the bones' 2x3 affine maps (K, 2, 3)."""
    homo = np.concatenate([points, np.ones((len(points), 1), np.float32)], axis=1)
    mixed = np.einsum("nk,kij->nij", weights.astype(np.float64), transforms)
    out: F32 = np.einsum("nij,nj->ni", mixed, homo.astype(np.float64)).astype(np.float32)
    return out


def _affines(src: F32, dst: F32, triangles: I32) -> F64:
    """Per triangle, the 2x3 map from destination to source pixels (M, 2, 3); degenerate
    destination triangles (which cover no pixel) get the identity. In closed form (the
    inverse of each triangle's 2x2 edge matrix): a batched solver costs more in its calls
    than in its arithmetic for a couple of thousand triangles a frame."""
    d = dst[triangles].astype(np.float64)  # (M, 3, 2)
    s = src[triangles].astype(np.float64)
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-6
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    # L = [f1 f2] @ [e1 e2]^-1, with [e1 e2]^-1 = [[e2y, -e2x], [-e1y, e1x]] / det.
    out = np.empty((len(triangles), 2, 3))
    for r in range(2):
        out[:, r, 0] = (f1[:, r] * e2[:, 1] - f2[:, r] * e1[:, 1]) * inv
        out[:, r, 1] = (f2[:, r] * e1[:, 0] - f1[:, r] * e2[:, 0]) * inv
        out[:, r, 2] = s[:, 0, r] - out[:, r, 0] * d[:, 0, 0] - out[:, r, 1] * d[:, 0, 1]
    out[~ok] = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return out


EDGE_REACH = 0.5
"""A pixel belongs to a triangle when its centre is inside or at most this far (in pixels)
outside each edge: as a drawn outline covers the pixels its edge passes through, so
neighbouring triangles share their edge pixels and no crack opens between them."""


BOX_SIDES = (6, 9, 16)
"""Triangles are rasterised in groups by their box's longer side (at most 6 pixels, 9, 16,
more: a limb stretched far), each group's boxes as large as its largest, so a few large
triangles do not enlarge every box."""


def rasterise(points: F32, triangles: I32, shape: tuple[int, int]) -> I32:
    """The index of the triangle covering each pixel of ``shape`` (h, w), -1 where none;
    where triangles overlap the later one wins (draw order). Pixel ``(i, j)``'s centre is at
    ``(j, i)``; degenerate triangles cover nothing.

    Vectorised: every pixel of every triangle's box is tested against its three edges in one
    pass, so a frame's couple of thousand triangles cost a few array operations rather than
    a call each."""
    h, w = shape
    ids = np.full(h * w, -1, np.int32)
    if len(triangles) == 0:
        return ids.reshape(shape)
    c = points[triangles].astype(np.float32)  # (M, 3, 2)
    e = np.roll(c, -1, axis=1) - c  # edge k runs from corner k to corner k + 1
    area = e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0]
    length = np.hypot(e[..., 0], e[..., 1])
    ok = (np.abs(area) > 1e-6) & (length.min(axis=1) > 1e-6)
    # Unit normals pointing inside (whichever way round the triangle is).
    sign = np.where(area > 0, 1.0, -1.0).astype(np.float32)[:, None]
    nx = -e[..., 1] * sign / np.maximum(length, 1e-6)
    ny = e[..., 0] * sign / np.maximum(length, 1e-6)
    off = nx * c[..., 0] + ny * c[..., 1]
    lo = np.maximum(np.ceil(c.min(axis=1) - EDGE_REACH), 0).astype(np.int32)
    hi = np.minimum(np.floor(c.max(axis=1) + EDGE_REACH), np.array([w - 1, h - 1]))
    size = np.maximum(hi.astype(np.int32) - lo + 1, 0)
    size[~ok] = 0
    side = size.max(axis=1)
    bucket = np.searchsorted(np.array(BOX_SIDES), side)
    for b in range(len(BOX_SIDES) + 1):
        group = np.flatnonzero(bucket == b)
        if group.size == 0:
            continue
        # Every pixel of each triangle's box (the box's size rounded up to the group's
        # largest), tested against the three edges; separable, so the full-size arrays are
        # only the sums and the tests.
        bx, by = (int(v) for v in size[group].max(axis=0))
        if bx == 0 or by == 0:
            continue
        xs = lo[group, 0][:, None] + np.arange(bx, dtype=np.int32)  # (G, bx)
        ys = lo[group, 1][:, None] + np.arange(by, dtype=np.int32)  # (G, by)
        inside = (xs < w)[:, None, :] & (ys < h)[:, :, None]
        fx, fy = xs.astype(np.float32), ys.astype(np.float32)
        for j in range(3):
            across = nx[group, j, None] * fx  # (G, bx)
            down = ny[group, j, None] * fy - off[group, j, None] + EDGE_REACH  # (G, by)
            inside &= across[:, None, :] + down[:, :, None] >= 0
        flat = ys[:, :, None] * w + xs[:, None, :]
        k = np.broadcast_to(group[:, None, None].astype(np.int32), inside.shape)
        np.maximum.at(ids, flat[inside], k[inside])
    return ids.reshape(shape)


@dataclass(frozen=True)
class BackwardMap:
    """Source coordinates per output pixel (for ``cv2.remap``) and how much of each pixel a
    triangle covered (0-255, 8 bits as the compositing is), over the window ``(x0, y0)`` of
    size ``map_x.shape``."""

    map_x: F32
    map_y: F32
    covered: npt.NDArray[np.uint8]
    x0: int
    y0: int


def backward_map(
    src: F32,
    dst: F32,
    triangles: I32,
    shape: tuple[int, int],
    *,
    window: tuple[int, int, int, int] | None = None,
    step: int = 1,
) -> BackwardMap | None:
    """The piecewise-affine map taking the mesh at ``src`` to ``dst``, sampled on the output
    pixels of ``shape`` (h, w) inside ``window`` (x0, y0, x1, y1; default: the box of
    ``triangles`` at ``dst``). Triangles are drawn in order: a later one covers an earlier
    one. None when nothing lands in the picture.

    With ``step`` > 1 the map is computed every ``step`` pixels and scaled up bilinearly:
    inside a triangle the map is affine, so that is exact there, and across shared edges it
    is continuous; samples just outside the mesh take their neighbour's triangle so the
    outline interpolates cleanly. A large frame so costs a fraction of the lookups."""
    h, w = shape
    if len(triangles) == 0:
        return None
    if window is None:
        # The box of these triangles only: a layer of a few limbs need not be mapped over
        # the whole body's box.
        corners = dst[triangles.ravel()]
        lo = np.floor(corners.min(axis=0)).astype(int) - step
        hi = np.ceil(corners.max(axis=0)).astype(int) + 2 * step
        window = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
    x0, y0 = max(0, window[0]), max(0, window[1])
    x1, y1 = min(w, window[2]), min(h, window[3])
    if x1 <= x0 or y1 <= y0:
        return None
    lw, lh = -(-(x1 - x0) // step), -(-(y1 - y0) // step)
    # A window of whole steps (moved back from the edge if it can be) scales up exactly.
    x0, y0 = max(0, x1 - lw * step), max(0, y1 - lh * step)
    lw, lh = -(-(x1 - x0) // step), -(-(y1 - y0) // step)
    centre = (step - 1) / 2.0
    low = ((dst - np.array([x0 + centre, y0 + centre], np.float32)) / step).astype(np.float32)
    ids = rasterise(low, triangles, (lh, lw))
    covered = np.where(ids >= 0, np.uint8(255), np.uint8(0))
    if step > 1:
        grown = np.asarray(cv2.dilate(ids.astype(np.float32), np.ones((3, 3), np.uint8)))
        ids = np.where(ids >= 0, ids, grown.astype(np.int32))
    affine = _affines(src, dst, triangles).reshape(-1, 6).T.astype(np.float32)  # (6, M)
    at = np.maximum(ids, 0)
    gx = (np.arange(lw, dtype=np.float32) * step + (x0 + centre))[None, :]
    gy = (np.arange(lh, dtype=np.float32) * step + (y0 + centre))[:, None]
    map_x = affine[0][at] * gx + affine[1][at] * gy + affine[2][at]
    map_y = affine[3][at] * gx + affine[4][at] * gy + affine[5][at]
    if step > 1:
        size = (x1 - x0, y1 - y0)
        full = (lw * step, lh * step)
        map_x = np.asarray(cv2.resize(map_x, full, interpolation=cv2.INTER_LINEAR))
        map_y = np.asarray(cv2.resize(map_y, full, interpolation=cv2.INTER_LINEAR))
        covered = np.asarray(cv2.resize(covered, full, interpolation=cv2.INTER_LINEAR))
        if full != size:
            map_x, map_y = map_x[: size[1], : size[0]], map_y[: size[1], : size[0]]
            covered = covered[: size[1], : size[0]]
    return BackwardMap(
        np.ascontiguousarray(map_x, np.float32),
        np.ascontiguousarray(map_y, np.float32),
        np.ascontiguousarray(covered, np.uint8),
        x0,
        y0,
    )
