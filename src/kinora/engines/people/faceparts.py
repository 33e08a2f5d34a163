"""Moving a photographed face's parts: jaw and lips, eyelids, brows, a small head turn.

The face mesh (468 points) of the character's photo is triangulated together with a fixed
ring of points around the face, and each frame's :class:`FaceState` moves the mesh points:
the lower lip, chin and jaw drop to open the mouth, the upper lids slide down to the lower
ones to blink, the brows rise, and the face's inner points shift by depth (the nose most,
the outline least) to suggest the head turning or nodding. A piecewise-affine warp
(:mod:`.meshwarp`) takes the photo there, so each part keeps the character's own skin; the
ring stays put, so the warp fades out into the hair and neck around the face.

An opened mouth shows the space between the moved inner lips: it is painted as a dark
interior (a shadowed red-black with a soft edge) rather than the stretched closed lips.

Measurements (:func:`face_measures`) read the same quantities off any face mesh, so a
driver's face and the rendered frames are compared in one scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from scipy.spatial import Delaunay

from kinora.engines.people.landmarks import CHIN, FACE_TOP, FaceMesh

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375, 95, 88, 178, 87, 14, 317, 402, 318, 324)
UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409, 191, 80, 81, 82, 13, 312, 311, 310, 415)
CORNERS = (61, 291, 78, 308)
INNER_LOWER = (308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78)
EYES = (
    # upper lid, lower lid, corners (outer, inner)
    ((246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155), (33, 133)),
    ((466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382), (263, 362)),
)
BROWS = (
    (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
CHEEK_RIGHT, CHEEK_LEFT = 234, 454
NOSE = 1

FIXED_POINT_STEPS = 4
"""Iterations inverting the face's displacement field (moves of a few pixels converge in 2-3)."""
RING_POINTS = 28
RING_SCALE = 1.55
"""The fixed ring: this many points on an ellipse this much larger than the face's box."""

MOUTH_INTERIOR = np.array([46.0, 18.0, 18.0], np.float32)
"""The mouth's inside (RGB): a dark, slightly red shadow."""
MOUTH_INTERIOR_DEEP = np.array([14.0, 5.0, 6.0], np.float32)


@dataclass(frozen=True)
class FaceState:
    """One frame's face, as changes from the photo."""

    mouth: float = 0.0
    """Extra inner-lip gap as a fraction of the face's height (0.08: talking wide)."""
    blink: tuple[float, float] = (0.0, 0.0)
    """Right and left eye closure, 0 open to 1 shut."""
    brow: float = 0.0
    """Brow raise as a fraction of the face's height (negative: frown)."""
    yaw: float = 0.0
    """Head turn, -1..1 (positive: toward the picture's right)."""
    pitch: float = 0.0
    """Head nod, -1..1 (positive: chin down)."""


@dataclass(frozen=True)
class FaceMeasures:
    """What a face mesh shows, in size-free units (for transfer and for tests)."""

    mouth: float
    """Inner-lip gap over face height."""
    eyes: tuple[float, float]
    yaw: float
    """Nose offset from the cheeks' midpoint over the face's width, along the eye line."""
    pitch: float
    """Nose height between the eye line and the chin, 0-1."""
    roll: float
    """Eye line's angle in radians."""
    centre: tuple[float, float]
    height: float


def _frame(points: F32) -> tuple[F32, F32]:
    """The face's unit axes: along the eye line (toward the picture's right) and down."""
    right, left = points[33, :2], points[263, :2]
    u = left - right
    u = u / max(float(np.hypot(*u)), 1e-6)
    if u[0] < 0:
        u = -u
    v = np.array([-u[1], u[0]], np.float32)
    return u.astype(np.float32), v


def face_measures(mesh: FaceMesh) -> FaceMeasures:
    p = mesh.points[:, :2]
    u, v = _frame(p)
    width = abs(float((p[CHEEK_LEFT] - p[CHEEK_RIGHT]) @ u))
    mid = (p[CHEEK_LEFT] + p[CHEEK_RIGHT]) / 2
    yaw = float((p[NOSE] - mid) @ u) / max(width, 1e-6)
    eye_line = (p[33] + p[263]) / 2
    span = float((p[CHIN] - eye_line) @ v)
    pitch = float((p[NOSE] - eye_line) @ v) / max(span, 1e-6)
    roll = math.atan2(float(u[1]), float(u[0]))
    centre = p[list(FACE_OVAL)].mean(axis=0)
    return FaceMeasures(
        mouth=mesh.mouth_opening("face_height"),
        eyes=mesh.eye_opening(),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        centre=(float(centre[0]), float(centre[1])),
        height=mesh.face_height,
    )


def _smooth(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    t = np.clip(x, 0.0, 1.0)
    out: npt.NDArray[np.float32] = (t * t * (3 - 2 * t)).astype(np.float32)
    return out


class FaceRig:
    """The character's face, ready to move (see the module docstring)."""

    def __init__(self, mesh: FaceMesh, shape: tuple[int, int]) -> None:
        h, w = shape
        pts = (mesh.points[:, :2] - 0.5).astype(np.float32)
        self.points = pts
        self.u, self.v = _frame(pts)
        self.height = float(np.hypot(*(pts[CHIN] - pts[FACE_TOP])))
        self.width = float(np.hypot(*(pts[CHEEK_LEFT] - pts[CHEEK_RIGHT])))
        self.mouth_centre = (pts[13] + pts[14]) / 2
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx, ry = (x1 - x0) / 2 * RING_SCALE, (y1 - y0) / 2 * RING_SCALE
        t = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
        ring = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1).astype(np.float32)
        self.all_points = np.vstack([pts, ring]).astype(np.float32)
        self.triangles: I32 = Delaunay(self.all_points).simplices.astype(np.int32)
        self.window = (
            max(0, int(cx - rx) - 2),
            max(0, int(cy - ry) - 2),
            min(w, int(cx + rx) + 3),
            min(h, int(cy + ry) + 3),
        )
        z = mesh.points[:, 2]
        self.depth = ((z.max() - z) / max(float(z.max() - z.min()), 1e-6)).astype(np.float32)
        rel = pts - self.mouth_centre
        self.along = (rel @ self.u).astype(np.float32)
        self.below = (rel @ self.v).astype(np.float32)
        self.rest_gap = float(np.hypot(*(pts[13] - pts[14])))

    def moved(self, state: FaceState) -> F32:
        """The mesh points (468 + ring) for ``state``."""
        pts = self.points.copy()
        u, v = self.u, self.v
        drop = state.mouth * self.height
        if drop > 0:
            reach = self.width * 0.55
            across = 1.0 - _smooth((np.abs(self.along) - self.width * 0.18) / reach)
            ramp = 0.45 + 0.55 * _smooth(self.below / (0.08 * self.height))
            dv = np.where(self.below > 0, drop * across * ramp, 0.0)
            dv[list(LOWER_LIP)] = drop
            dv[list(UPPER_LIP)] = -0.12 * drop
            dv[list(CORNERS)] = 0.4 * drop
            pts += dv[:, None].astype(np.float32) * v
        for closure, (upper, lower, (outer, inner)) in zip(state.blink, EYES, strict=True):
            if closure <= 0:
                continue
            lid_gap = np.array(
                [
                    float((self.points[lo] - self.points[up]) @ v)
                    for up, lo in zip(upper, lower, strict=True)
                ]
            )
            eye_w = float(np.hypot(*(self.points[outer] - self.points[inner])))
            top = self.points[list(upper)] @ v
            centre = (self.points[outer] + self.points[inner]) / 2
            # Skin between the brow and the lid follows the lid, less the higher it is.
            rel = self.points - centre
            span_u = np.abs(rel @ u) < eye_w * 0.6
            lid_v = float(top.mean())
            above = (self.points @ v < lid_v) & (self.points @ v > lid_v - eye_w * 0.6) & span_u
            fall = 1.0 - (lid_v - self.points @ v) / (eye_w * 0.6)
            shift = closure * 0.9 * float(np.clip(lid_gap, 0, None).mean())
            pts[above] += (shift * 0.5 * fall[above])[:, None].astype(np.float32) * v
            for k, up in enumerate(upper):
                pts[up] = self.points[up] + closure * 0.95 * max(0.0, lid_gap[k]) * v
        if state.brow:
            for brow in BROWS:
                pts[list(brow)] -= state.brow * self.height * v
        if state.yaw or state.pitch:
            # Depth-weighted: the nose moves most, the outline hardly (it turns in place).
            turn = (0.15 * self.depth)[:, None]
            pts += turn * (state.yaw * self.width * u + state.pitch * self.height * v)
        return np.vstack([pts, self.all_points[len(pts) :]]).astype(np.float32)

    def _barycentrics(self) -> None:
        """Per pixel of the face's window: the rest triangle holding it and its barycentric
        weights, so a frame's displacement field is three lookups (outside the ring: none)."""
        x0, y0, x1, y1 = self.window
        ids = np.full((y1 - y0, x1 - x0), -1, np.int32)
        scale = 1 << 4
        fixed = np.round((self.all_points - np.array([x0, y0])) * scale).astype(np.int32)
        for k, tri in enumerate(self.triangles):
            cv2.fillConvexPoly(ids, fixed[tri], k, lineType=cv2.LINE_8, shift=4)
        corners = self.all_points[self.triangles].astype(np.float64)  # (M, 3, 2)
        homo = np.concatenate([corners, np.ones((*corners.shape[:2], 1))], axis=2)
        det_ok = np.abs(np.linalg.det(homo)) > 1e-9
        inverse = np.zeros_like(homo)
        inverse[det_ok] = np.linalg.inv(homo[det_ok].transpose(0, 2, 1))
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        pix = np.stack([gx, gy, np.ones_like(gx)], axis=-1)
        bary = np.einsum("hwij,hwj->hwi", inverse[np.maximum(ids, 0)], pix)
        bary[ids < 0] = 0.0
        self.vertex_ids = self.triangles[np.maximum(ids, 0)]  # (h, w, 3)
        self.bary = bary.astype(np.float32)
        self.grid = np.stack([gx, gy], axis=-1).astype(np.float32)

    def apply(self, rgba: npt.NDArray[np.uint8], state: FaceState) -> npt.NDArray[np.uint8]:
        """``rgba`` (H, W, 4: the photo and its subject mask) with the face moved.

        The points' moves are spread over the face as a smooth displacement field on the
        photo's own triangulation (which never folds, however far a point moves), and the
        field is inverted by a few fixed-point steps: output pixel p shows the photo at the
        s with s + F(s) = p."""
        if state == FaceState():
            return rgba
        dst = self.moved(state)
        if not hasattr(self, "bary"):
            self._barycentrics()
        disp = dst - self.all_points
        field = (self.bary[..., :, None] * disp[self.vertex_ids]).sum(axis=2).astype(np.float32)
        x0, y0, x1, y1 = self.window
        sample = self.grid - field
        for _ in range(FIXED_POINT_STEPS):
            at = sample - np.array([x0, y0], np.float32)
            moved = cv2.remap(field, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderValue=0)
            sample = self.grid - moved
        out = rgba.copy()
        out[y0:y1, x0:x1] = cv2.remap(
            rgba, sample[..., 0], sample[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        self._paint_mouth(out, dst, state)
        return out

    def _paint_mouth(self, out: npt.NDArray[np.uint8], dst: F32, state: FaceState) -> None:
        """The dark inside of an opened mouth: the band the jaw opened, between where the
        photo's lower lip would be had it stayed with the upper one and where it went. A
        photo that shows teeth keeps them above the band (they move with the upper lip)."""
        gap = state.mouth * self.height
        if gap < 0.8:
            return
        lower = list(INNER_LOWER)
        lift = dst[13] - self.points[13]
        top = self.points[lower] + lift
        poly = np.vstack([top[::-1], dst[lower]])
        x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 4
        h, w = out.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            return
        scale = 1 << 4
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        fixed = np.round((poly - np.array([x0, y0])) * scale).astype(np.int32)
        cv2.fillPoly(mask, [fixed], 1.0, lineType=cv2.LINE_AA, shift=4)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, gap * 0.12))
        # Shallower toward the corners, where the lips meet and little of the inside shows.
        across = ((np.arange(x0, x1, dtype=np.float32) + 0.0)[None, :] - self.mouth_centre[0]) / (
            max(self.width * 0.25, 1.0)
        )
        mask *= np.clip(1.15 - across * across * 0.6, 0.35, 1.0)
        strength = min(1.0, gap / max(2.0, 0.03 * self.height))
        rows = np.linspace(0.0, 1.0, y1 - y0, dtype=np.float32)[:, None, None]
        inside = MOUTH_INTERIOR_DEEP + (MOUTH_INTERIOR - MOUTH_INTERIOR_DEEP) * (
            1.0 - np.abs(rows - 0.55) * 1.6
        ).clip(0, 1)
        a = (mask * strength)[..., None]
        region = out[y0:y1, x0:x1, :3]
        region[...] = np.clip(region * (1 - a) + inside * a + 0.5, 0, 255).astype(np.uint8)
