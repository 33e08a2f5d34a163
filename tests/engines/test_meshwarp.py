"""The character engine's mesh warp on its own: the vectorised rasteriser covers what OpenCV's
polygon fill covers (no cracks between neighbouring triangles, later triangles on top), and a
backward map moves the photo as the mesh moved."""

from __future__ import annotations

import cv2
import numpy as np

from kinora.engines.people.meshwarp import backward_map, mask_mesh, rasterise


def _mesh() -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((120, 160), bool)
    cv2.ellipse(mask.view(np.uint8), (80, 60), (60, 40), 15, 0, 360, 1, -1)
    mesh = mask_mesh(mask, 9.0)
    return mesh.vertices, mesh.triangles


def test_rasterise_covers_the_mesh_without_cracks_and_later_triangles_win() -> None:
    vertices, triangles = _mesh()
    jitter = np.random.default_rng(3).normal(0.0, 0.8, vertices.shape).astype(np.float32)
    points = vertices + jitter
    ids = rasterise(points, triangles, (120, 160))
    # The union OpenCV fills, pixel centre by pixel centre, is covered (a crack would be a
    # pixel inside the mesh's outline that no triangle took).
    union = np.zeros((120, 160), np.uint8)
    for tri in triangles:
        cv2.fillConvexPoly(union, np.round(points[tri] * 16).astype(np.int32), 1, shift=4)
    inner = cv2.erode(union, np.ones((3, 3), np.uint8)) > 0
    assert inner.sum() > 5000
    assert (ids[inner] >= 0).all()
    assert ((ids >= 0) & ~cv2.dilate(union, np.ones((5, 5), np.uint8)).astype(bool)).sum() == 0
    # Draw order: a big last triangle over everything takes every pixel it covers.
    cover = np.array([[10, 10], [150, 10], [80, 110]], np.float32)
    more = np.vstack([points, cover])
    n = len(points)
    last = np.vstack([triangles, [[n, n + 1, n + 2]]]).astype(np.int32)
    ids2 = rasterise(more, last, (120, 160))
    inside = np.zeros((120, 160), np.uint8)
    cv2.fillConvexPoly(inside, np.round(cover * 16).astype(np.int32), 1, shift=4)
    core = cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0
    assert (ids2[core] == len(triangles)).all()


def test_a_degenerate_triangle_covers_nothing() -> None:
    points = np.array([[1, 1], [20, 20], [40, 40]], np.float32)
    assert (rasterise(points, np.array([[0, 1, 2]], np.int32), (50, 50)) < 0).all()


def test_backward_map_shifts_the_photo_with_the_mesh() -> None:
    vertices, triangles = _mesh()
    moved = vertices + np.array([7.0, -4.0], np.float32)
    photo = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    bmap = backward_map(vertices, moved, triangles, (120, 160), step=3)
    assert bmap is not None
    out = cv2.remap(photo, bmap.map_x, bmap.map_y, cv2.INTER_LINEAR)
    hh, ww = bmap.map_x.shape
    inside = bmap.covered == 255
    ys, xs = np.nonzero(inside)
    src = photo[ys + bmap.y0 + 4, xs + bmap.x0 - 7]
    assert np.abs(out[ys, xs].astype(int) - src.astype(int)).max() <= 1
    assert inside.sum() > 4000 and bmap.covered.dtype == np.uint8
    assert (hh, ww) == (bmap.covered.shape[0], bmap.covered.shape[1])
