"""Lip sync on finished frames: the face in the picture speaks the narration.

:class:`LipSync` is a frame filter. It finds the face in each rendered frame (the face mesh,
tracked from frame to frame), then moves the jaw, lips, eyelids and head by one smooth
displacement field around the face and paints the inside of the opened mouth
(:mod:`.mouth`). Working on the rendered frame rather than the input photo is what lets it
run under every engine and camera path: the one-image parallax under any move, the two-image
morph on whichever face is on screen, hosted providers' clips. It needs only the mouth track
per frame (how open, how spread or rounded: :mod:`kinora.audio.visemes` reads it from the
speech), handed in as plain arrays (engines do not import the audio package).

Which face: the largest the face detector finds when the track starts (``track_face``); the
track then follows that face and re-detects (the largest again) only when it loses it.

The warp, in the face's own axes (x along the eyes, y down the face, in pixels; origin the
mouth's centre):

- the jaw: below the lips' line everything moves down by the opening, full at the mouth's
  centre and across the chin, tapering to nothing at the mouth's corners (the lips stay joined
  there) and beyond the jaw's sides, and fading out over the neck under the chin, so nothing
  tears; the upper lip rises a little, fading out towards the nose;
- the lips' shape: spread ("ee") pulls the corners apart, rounded ("oo") draws them in;
- the gap: above the lips' line pixels come from above it (the upper lip), below from below
  (lower lip, chin); between the moved lips, what the photo showed between its lips (a
  smile's teeth, or the dark line of shut lips) stays under the upper lip, moved with it, and
  the newly opened rest is painted (:func:`.mouth.interior_colour`); at rest the face is the
  photo's own;
- a blink every 2.5-5.5 s (seeded): the upper lid's skin slides down to the lower lid;
- small head motion: a nod with the speech's emphasis and a slow sway and tilt, weighted to
  the head and fading before the frame's background.

The face mesh is smoothed over time in the face's own frame (its similarity to the first
mesh is taken fresh each frame, so a moving camera is followed without lag, while the shape's
jitter is averaged away), so the mouth does not shimmer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.people.landmarks import FaceMesh, track_face
from kinora.engines.people.mouth import interior_colour

Frame = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.floating[Any]]

UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
EYES = (
    # (upper lid from corner to corner, lower lid from corner to corner)
    ((33, 246, 161, 160, 159, 158, 157, 173, 133), (33, 7, 163, 144, 145, 153, 154, 155, 133)),
    (
        (263, 466, 388, 387, 386, 385, 384, 398, 362),
        (263, 249, 390, 373, 374, 380, 381, 382, 362),
    ),
)
CHEEKS = (50, 280, 205, 425)
EYE_LINE = (33, 263)
FACE_TOP, CHIN, BELOW_NOSE = 10, 152, 2
FACE_SIDES = (234, 454)

JAW_DROP = 0.075
"""The lower lip's drop at full opening, as a share of the face's height (forehead to chin:
a wide-open vowel parts the lips by about a tenth of it)."""
LIP_LIFT = 0.012
SPREAD = 0.1
"""The mouth's corners move out (spread) or in (rounded) by this share of its half-width."""
NECK_FADE = 0.3
"""Under the chin the jaw's movement fades out over this share of the face's height."""
HEAD_NOD = 0.006
HEAD_SWAY = 0.004
HEAD_TILT_DEGREES = 0.6
SHAPE_SMOOTHING = 0.4
"""Each frame's mesh shape counts this much against the running one (about 2 frames' lag
in the shape, none in the face's position, size and turn)."""
TEETH_SHOWN = 0.02
"""A photo whose lips part by more than this share of the face's height shows its own teeth:
no teeth are painted then (the photo's own stay under the upper lip)."""
BLINK_SECONDS = (0.07, 0.04, 0.11)
"""Closing, held shut, opening."""


def _smoothstep01(x: Floats) -> Floats:
    t = np.clip(x, 0.0, 1.0)
    result: Floats = t * t * (3.0 - 2.0 * t)
    return result


def _bump(x: Floats, flat: float = 0.3) -> Floats:
    """1 for |x| <= flat, falling smoothly to 0 at |x| = 1."""
    return 1.0 - _smoothstep01((np.abs(x) - flat) / (1.0 - flat))


def _profile(u: Floats, us: Floats, vs: Floats) -> Floats:
    """A contour's y at each x (held flat beyond its ends)."""
    order = np.argsort(us)
    result: Floats = np.interp(u, us[order], vs[order]).astype(np.float32)
    return result


TRACK_SIDE = 640
"""Frames are searched for the face at most this size (the mesh reads a 192-pixel crop of
the face anyway; a larger frame only costs the crop's shrinking)."""


class FaceTrack:
    """The largest face's mesh in successive frames, smoothed in the face's own frame.

    Each frame's mesh is fitted to the first by a similarity (shift, scale, turn: least
    squares over all 468 points, which averages their jitter away); the shape, expressed in
    the first mesh's frame, is averaged over time; the fitted similarity puts it back."""

    def __init__(self, *, models_dir: Path | None = None) -> None:
        self._models_dir = models_dir
        self._mesh: FaceMesh | None = None
        self._reference: npt.NDArray[np.float64] | None = None
        self._shape: npt.NDArray[np.float64] | None = None

    def update(self, frame: Frame) -> npt.NDArray[np.float32] | None:
        """(468, 2) points in pixel-index coordinates (pixel centres on integers), or None."""
        scale = min(1.0, TRACK_SIDE / max(frame.shape[:2]))
        small = (
            frame
            if scale == 1.0
            else cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        mesh = track_face(small, self._mesh, models_dir=self._models_dir)
        self._mesh = mesh
        if mesh is None:
            self._reference = self._shape = None
            return None
        points: npt.NDArray[np.float64] = mesh.points[:, :2].astype(np.float64) / scale - 0.5
        if self._reference is None or self._shape is None:
            self._reference = points
            self._shape = points.copy()
            return points.astype(np.float32)
        ref = self._reference[:, 0] + 1j * self._reference[:, 1]
        cur = points[:, 0] + 1j * points[:, 1]
        ref_mean, cur_mean = ref.mean(), cur.mean()
        a = np.vdot(ref - ref_mean, cur - cur_mean) / max(
            float(np.vdot(ref - ref_mean, ref - ref_mean).real), 1e-9
        )
        normalised = (cur - cur_mean) / a + ref_mean
        shape = self._shape[:, 0] + 1j * self._shape[:, 1]
        shape = shape + SHAPE_SMOOTHING * (normalised - shape)
        self._shape = np.stack([shape.real, shape.imag], axis=1)
        placed = a * (shape - ref_mean) + cur_mean
        return np.stack([placed.real, placed.imag], axis=1).astype(np.float32)


@dataclass(frozen=True)
class FacePose:
    """What the face does in one frame."""

    open: float = 0.0
    wide: float = 0.0
    blink: float = 0.0
    nod: float = 0.0
    """Head movement down, as a share of the face's height."""
    sway: float = 0.0
    tilt: float = 0.0
    """Radians, clockwise on screen."""


class _Face:
    """One frame's face in its own axes: x along the eyes, y down the face, origin the
    mouth's centre, in pixels."""

    def __init__(self, points: npt.NDArray[np.float32]) -> None:
        p = points.astype(np.float32)
        ex = p[EYE_LINE[1]] - p[EYE_LINE[0]]
        self.ex = (ex / max(float(np.hypot(*ex)), 1e-6)).astype(np.float32)
        self.ey = np.array([-self.ex[1], self.ex[0]], np.float32)
        self.origin = (p[13] + p[14]) / 2
        rel = p - self.origin
        self.u = (rel @ self.ex).astype(np.float32)
        self.v = (rel @ self.ey).astype(np.float32)
        self.points = p
        self.height = float(np.hypot(*(p[FACE_TOP] - p[CHIN])))
        self.width = float(np.hypot(*(p[FACE_SIDES[0]] - p[FACE_SIDES[1]])))
        left, right = self.u[UPPER_INNER[0]], self.u[UPPER_INNER[-1]]
        self.mouth_centre = float((left + right) / 2)
        self.half_width = max(float(abs(right - left) / 2), 1.0)
        self.chin = float(self.v[CHIN])
        self.nose = float(self.v[BELOW_NOSE])
        up = self.contour(UPPER_INNER, np.array([self.mouth_centre], np.float32))
        lo = self.contour(LOWER_INNER, np.array([self.mouth_centre], np.float32))
        self.mid_centre = float((up[0] + lo[0]) / 2)
        self.rest_gap = float(lo[0] - up[0])
        self.field_step = max(FIELD_STEP, self.height / FIELD_STEPS_PER_FACE)

    def contour(self, indices: tuple[int, ...], u: Floats) -> Floats:
        idx = list(indices)
        return _profile(u, self.u[idx], self.v[idx])

    def to_face(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        dx, dy = x - self.origin[0], y - self.origin[1]
        return dx * self.ex[0] + dy * self.ex[1], dx * self.ey[0] + dy * self.ey[1]

    def to_image(self, u: Floats, v: Floats) -> tuple[Floats, Floats]:
        return (
            self.origin[0] + u * self.ex[0] + v * self.ey[0],
            self.origin[1] + u * self.ex[1] + v * self.ey[1],
        )


class _Fields:
    """The displacement (in face axes) that moves the face for one pose: ``du`` across,
    ``dv_upper`` for what is above the lips' line, ``dv_lower`` for what is below it (the
    blink, which is not smooth at the lower lid, apart: :meth:`blink`)."""

    def __init__(self, face: _Face, pose: FacePose) -> None:
        self.face, self.pose = face, pose
        self.drop = pose.open * JAW_DROP * face.height
        self.lift = pose.open * LIP_LIFT * face.height

    def mid(self, u: Floats) -> Floats:
        f = self.face
        result: Floats = (f.contour(UPPER_INNER, u) + f.contour(LOWER_INNER, u)) / 2
        return result

    def __call__(self, u: Floats, v: Floats) -> tuple[Floats, Floats, Floats]:
        f, pose = self.face, self.pose
        x = (u - f.mouth_centre) / f.half_width
        mid = self.mid(u)
        below = np.maximum(v - mid, 0.0) / max(f.chin - f.mid_centre, 1.0)
        jaw_width = 1.0 + 0.9 * _smoothstep01(below)
        neck = 1.0 - _smoothstep01((v - f.chin) / (NECK_FADE * f.height))
        dv_lower = self.drop * _bump(x / jaw_width) * neck
        above = np.maximum(mid - v, 0.0) / max(f.mid_centre - f.nose, 1.0)
        dv_upper = -self.lift * _bump(x) * (1.0 - _smoothstep01(above))
        band = 1.0 - _smoothstep01((np.abs(v - f.mid_centre) - 0.05 * f.height) / (0.15 * f.height))
        du = (
            pose.wide
            * SPREAD
            * (u - f.mouth_centre)
            * (1.0 - _smoothstep01(np.abs(x) - 1.0))
            * band
        )
        head_u, head_v = self._head(u, v)
        return (
            (du + head_u).astype(np.float32),
            (dv_upper + head_v).astype(np.float32),
            (dv_lower + head_v).astype(np.float32),
        )

    def blink(self, u: Floats, v: Floats) -> Floats:
        """The eyelids' movement (down the face): the upper lid's skin slides towards the
        lower lid; nothing moves below the lower lid's edge."""
        out = np.zeros_like(u)
        if self.pose.blink <= 0.0:
            return out
        f = self.face
        for upper, lower in EYES:
            up = f.contour(upper, u)
            lo = f.contour(lower, u)
            width = abs(float(f.u[upper[0]] - f.u[upper[-1]]))
            brow = up - 0.6 * width
            reach = np.clip((v - brow) / np.maximum(lo - brow, 1.0), 0.0, 1.0)
            out += np.where(v <= lo, self.pose.blink * np.maximum(lo - up, 0.0) * reach, 0.0)
        return out

    def _head(self, u: Floats, v: Floats) -> tuple[Floats, Floats]:
        f, pose = self.face, self.pose
        if pose.nod == 0.0 and pose.sway == 0.0 and pose.tilt == 0.0:
            zero = np.zeros_like(u)
            return zero, zero
        centre_v = (f.v[FACE_TOP] + f.chin) / 2
        ellipse = np.hypot(
            (u - f.mouth_centre) / (0.52 * f.width), (v - centre_v) / (0.52 * f.height)
        )
        weight = 1.0 - _smoothstep01((ellipse - 1.0) / 0.3)  # nothing from 0.68
        pivot_v = f.chin + 0.15 * f.height
        c, s = math.cos(pose.tilt), math.sin(pose.tilt)
        ru, rv = u - f.mouth_centre, v - pivot_v
        du = (c * ru - s * rv - ru) + pose.sway * f.height
        dv = (s * ru + c * rv - rv) + pose.nod * f.height
        return du * weight, dv * weight


@dataclass
class LipSyncReport:
    """What the filter did over one render (recorded with the generation)."""

    frames: int = 0
    with_face: int = 0
    speaking: int = 0
    face_box: tuple[int, int, int, int] | None = None
    """The speaking face's mesh box (x0, y0, x1, y1) in the first frame it was found."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "built-in",
            "visemes": "from the speech's sound",
            "face": "the largest face",
            "face_box": list(self.face_box) if self.face_box else None,
            "frames": self.frames,
            "frames_with_face": self.with_face,
            "frames_speaking": self.speaking,
        }


def blink_curve(frames: int, fps: float, seed: int) -> Floats:
    """Eyelid closure (0 open .. 1 shut) per frame: a blink every 2.5-5.5 s, the first within
    1-2.5 s; seeded so a render is repeatable."""
    rng = np.random.default_rng(seed + 4099)
    out = np.zeros(frames, np.float32)
    close, hold, reopen = BLINK_SECONDS
    t = float(rng.uniform(1.0, 2.5))
    times = np.arange(frames) / fps
    while t < frames / fps:
        rel = times - t
        closing = np.clip(rel / close, 0.0, 1.0)
        opening = np.clip((rel - close - hold) / reopen, 0.0, 1.0)
        shape = np.where(rel < 0, 0.0, np.where(rel < close + hold, closing, 1.0 - opening))
        out = np.maximum(out, shape.astype(np.float32))
        t += float(rng.uniform(2.5, 5.5))
    return out


class LipSync:
    """Apply with :meth:`apply` to each frame of one render, in order.

    ``opening`` and ``shape`` hold the mouth per clip frame (0-1, and -1 rounded .. +1
    spread); ``apply(frame, index)`` takes the clip frame's index (the output's, lead-in
    included). Frames without a face pass unchanged (the report counts them)."""

    def __init__(
        self,
        opening: npt.ArrayLike,
        shape: npt.ArrayLike,
        *,
        fps: float,
        seed: int = 0,
        models_dir: Path | None = None,
    ) -> None:
        self.opening = np.asarray(opening, dtype=np.float32)
        self.shape = np.asarray(shape, dtype=np.float32)
        n = len(self.opening)
        self.blinks = blink_curve(n, fps, seed)
        # Emphasis for the nod: the opening, slowed to the pace of phrases (tau 0.25 s).
        alpha = 1.0 - math.exp(-1.0 / (0.25 * fps))
        slow = np.zeros(n, np.float32)
        level = 0.0
        for i, value in enumerate(self.opening):
            level += alpha * (float(value) - level)
            slow[i] = level
        rng = np.random.default_rng(seed + 31)
        phases = rng.uniform(0, 2 * math.pi, 3)
        t = np.arange(n) / fps
        self.nod = (HEAD_NOD * slow).astype(np.float32)
        self.sway = (HEAD_SWAY * np.sin(2 * math.pi * t / 3.7 + phases[0])).astype(np.float32)
        self.tilt = (
            math.radians(HEAD_TILT_DEGREES)
            * (
                0.7 * np.sin(2 * math.pi * t / 5.3 + phases[1])
                + 0.3 * np.sin(2 * math.pi * t / 2.3 + phases[2])
            )
        ).astype(np.float32)
        self._track = FaceTrack(models_dir=models_dir)
        self.report = LipSyncReport()

    def pose(self, index: int) -> FacePose:
        if not 0 <= index < len(self.opening):
            return FacePose()
        return FacePose(
            open=float(self.opening[index]),
            wide=float(self.shape[index]),
            blink=float(self.blinks[index]),
            nod=float(self.nod[index]),
            sway=float(self.sway[index]),
            tilt=float(self.tilt[index]),
        )

    def apply(self, frame: Frame, index: int) -> Frame:
        frame = np.ascontiguousarray(frame)
        self.report.frames += 1
        points = self._track.update(frame)
        if points is None:
            return frame
        self.report.with_face += 1
        if self.report.face_box is None:
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            self.report.face_box = (int(x0), int(y0), math.ceil(x1), math.ceil(y1))
        pose = self.pose(index)
        if pose.open > 0.05:
            self.report.speaking += 1
        return animate_face(frame, points, pose)


def _colour_at(frame: Frame, points: Floats) -> Floats:
    h, w = frame.shape[:2]
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
    result: Floats = frame[ys, xs].astype(np.float32).mean(axis=0)
    return result


FIELD_STEP = 4
FIELD_STEPS_PER_FACE = 60
"""The smooth part of the warp is computed every :data:`FIELD_STEP` pixels, or every
1/60th of the face's height when that is more (it varies over a tenth of the face), and
interpolated; the lips' gap and the eyelids are placed at full resolution."""


Box = tuple[int, int, int, int]


def _clip_box(box: tuple[float, float, float, float], w: int, h: int) -> Box | None:
    x0, y0, x1, y1 = box
    out = (
        int(max(0, x0)),
        int(max(0, y0)),
        int(min(w, math.ceil(x1) + 1)),
        int(min(h, math.ceil(y1) + 1)),
    )
    return out if out[2] - out[0] >= 8 and out[3] - out[1] >= 8 else None


def _resampled(
    face: _Face, box: Box, compute: Callable[[Floats, Floats], list[Floats]]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
    """``compute``'s channels for every pixel of ``box``: the first two are a source map (x,
    y in the picture), returned as one (h, w, 2) map for cv2.remap; a third, smooth value
    comes back beside it. Evaluated every ``face.field_step`` pixels, where cv2.resize
    samples its source, and interpolated; the map as displacements from each pixel
    (cv2.resize holds values flat beyond its outer samples, which is right for a
    displacement fading to nothing at the box's edge, and wrong for a coordinate)."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    step = face.field_step
    cw, ch = max(2, math.ceil(width / step)), max(2, math.ceil(height / step))
    gx = left + (np.arange(cw, dtype=np.float32) + 0.5) * (width / cw) - 0.5
    gy = top + (np.arange(ch, dtype=np.float32) + 0.5) * (height / ch) - 0.5
    grid_x, grid_y = np.meshgrid(gx, gy)
    channels = compute(*face.to_face(grid_x, grid_y))
    shift = np.dstack([channels[0] - grid_x, channels[1] - grid_y]).astype(np.float32)
    source = np.asarray(
        cv2.resize(shift, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.float32
    )
    source[..., 0] += np.arange(left, right, dtype=np.float32)[None, :]
    source[..., 1] += np.arange(top, bottom, dtype=np.float32)[:, None]
    extra = None
    if len(channels) > 2:
        extra = np.asarray(
            cv2.resize(
                np.asarray(channels[2], np.float32), (width, height), interpolation=cv2.INTER_LINEAR
            ),
            dtype=np.float32,
        )
    return source, extra


def _jaw_box(face: _Face, roi: Box) -> Box | None:
    """The pixels the jaw's movement reaches: the jaw's width, from the nose to the neck."""
    reach = 1.9 * face.half_width + 2 * face.field_step
    us = np.array([face.mouth_centre - reach, face.mouth_centre + reach], np.float32)
    vs = np.array(
        [face.nose, face.chin + NECK_FADE * face.height + 2 * face.field_step], np.float32
    )
    corners = np.array([[a, b] for a in us for b in vs], np.float32)
    xs, ys = face.to_image(corners[:, 0], corners[:, 1])
    left, top, right, bottom = roi
    box = (
        max(left, math.floor(float(xs.min()))),
        max(top, math.floor(float(ys.min()))),
        min(right, math.ceil(float(xs.max())) + 1),
        min(bottom, math.ceil(float(ys.max())) + 1),
    )
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def _eye_boxes(
    face: _Face, left: int, top: int, right: int, bottom: int
) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (clipped to the face's box) holding each eye and the lid above it."""
    boxes = []
    for upper, lower in EYES:
        pts = face.points[list(upper) + list(lower)]
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        width = x1 - x0
        box = (
            int(max(left, x0 - 0.15 * width)),
            int(max(top, y0 - 0.9 * width)),
            int(min(right, x1 + 0.15 * width + 1)),
            int(min(bottom, y1 + 0.15 * width + 1)),
        )
        if box[2] > box[0] and box[3] > box[1]:
            boxes.append(box)
    return boxes


def animate_face(frame: Frame, points: npt.NDArray[np.float32], pose: FacePose) -> Frame:
    """``frame`` with the face whose mesh is ``points`` (pixel-index coordinates) moved to
    ``pose``: a copy, changed only in a box around the face."""
    face = _Face(points)
    h, w = frame.shape[:2]
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    roi = _clip_box((x0 - 0.2 * bw, y0 - 0.2 * bh, x1 + 0.2 * bw, y1 + 0.35 * bh), w, h)
    if roi is None:
        return frame
    left, top, right, bottom = roi
    fields = _Fields(face, pose)

    # The lips' inner edges where the pose puts them (each moved by its own side's field).
    upper_idx, lower_idx = list(UPPER_INNER), list(LOWER_INNER)
    uu, uv = face.u[upper_idx], face.v[upper_idx]
    lu, lv = face.u[lower_idx], face.v[lower_idx]
    du_u, dvu_u, _ = fields(uu, uv)
    du_l, _, dvl_l = fields(lu, lv)
    upper_u, upper_v = uu + du_u, uv + dvu_u
    lower_u, lower_v = lu + du_l, lv + dvl_l

    def upper_map(u: Floats, v: Floats) -> list[Floats]:
        du, dv_upper, _ = fields(u, v)
        return list(face.to_image(u - du, v - dv_upper))

    def lower_map(u: Floats, v: Floats) -> list[Floats]:
        du, _, dv_lower = fields(u, v)
        mid = (_profile(u, upper_u, upper_v) + _profile(u, lower_u, lower_v)) / 2 - v
        return [*face.to_image(u - du, v - dv_lower), mid]

    # What is above the lips' line moves with the upper lip and head; what is below, with the
    # jaw, which moves only within the jaw's box.
    source, _ = _resampled(face, roi, upper_map)
    jaw = _jaw_box(face, roi)
    if jaw is not None and pose.open > 0.0:
        jaw_source, mid = _resampled(face, jaw, lower_map)
        assert mid is not None
        box = (slice(jaw[1] - top, jaw[3] - top), slice(jaw[0] - left, jaw[2] - left))
        below = (mid <= 0.0)[..., None]
        source[box] = np.where(below, jaw_source, source[box])
    if pose.blink > 0.0:
        for bx0, by0, bx1, by1 in _eye_boxes(face, left, top, right, bottom):
            ex, ey = np.meshgrid(
                np.arange(bx0, bx1, dtype=np.float32), np.arange(by0, by1, dtype=np.float32)
            )
            blink = fields.blink(*face.to_face(ex, ey))
            box = (slice(by0 - top, by1 - top), slice(bx0 - left, bx1 - left))
            source[box] -= blink[..., None] * face.ey
    warped: Frame = np.asarray(
        cv2.remap(  # type: ignore[call-overload]  # map2 None: map1 holds x and y
            frame, source, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ),
        dtype=np.uint8,
    )
    mouth = _mouth_box(face, upper_u, lower_u, lower_v, left, top, right, bottom)
    if mouth is not None:
        _paint_inside(
            frame, warped, face, fields, mouth, (left, top), upper_u, upper_v, lower_u, lower_v
        )
    out = frame.copy()
    out[top:bottom, left:right] = warped
    return out


def _mouth_box(
    face: _Face,
    upper_u: Floats,
    lower_u: Floats,
    lower_v: Floats,
    left: int,
    top: int,
    right: int,
    bottom: int,
) -> tuple[int, int, int, int] | None:
    """The pixel box holding the moved lips' gap, or None when they are shut."""
    us = np.concatenate([upper_u, lower_u])
    vs = np.array([float(face.v[list(UPPER_INNER)].min()) - 2.0, float(lower_v.max()) + 2.0])
    corners = np.array([[u, v] for u in (us.min(), us.max()) for v in vs], np.float32)
    xs, ys = face.to_image(corners[:, 0], corners[:, 1])
    box = (
        int(max(left, math.floor(xs.min()) - 1)),
        int(max(top, math.floor(ys.min()) - 1)),
        int(min(right, math.ceil(xs.max()) + 2)),
        int(min(bottom, math.ceil(ys.max()) + 2)),
    )
    return box if box[2] > box[0] and box[3] > box[1] else None


def _paint_inside(
    frame: Frame,
    warped: Frame,
    face: _Face,
    fields: _Fields,
    box: tuple[int, int, int, int],
    origin: tuple[int, int],
    upper_u: Floats,
    upper_v: Floats,
    lower_u: Floats,
    lower_v: Floats,
) -> None:
    """Paint the opened mouth's inside into ``warped`` (in place) within ``box``: the photo's
    own teeth where the lips' movement uncovers them, else :func:`interior_colour`."""
    bx0, by0, bx1, by1 = box
    u, v = face.to_face(
        *np.meshgrid(np.arange(bx0, bx1, dtype=np.float32), np.arange(by0, by1, dtype=np.float32))
    )
    upper_out = _profile(u, upper_u, upper_v)
    lower_out = _profile(u, lower_u, lower_v)
    gap = lower_out - upper_out
    inside = (
        np.clip(v - upper_out + 0.5, 0.0, 1.0)
        * np.clip(lower_out - v + 0.5, 0.0, 1.0)
        * np.clip(gap - 0.5, 0.0, 1.0)
    )
    rows, cols = np.nonzero(inside > 0.0)
    if rows.size == 0:
        return
    sel = (rows, cols)
    alpha = inside[sel]
    pu, pv, pgap, pupper = u[sel], v[sel], gap[sel], upper_out[sel]
    shows_teeth = face.rest_gap > TEETH_SHOWN * face.height
    points = face.points
    lips = _colour_at(frame, (points[list(UPPER_OUTER)] + points[list(UPPER_INNER)]) / 2)
    skin = _colour_at(frame, points[list(CHEEKS)])
    g = np.maximum(pgap, 1e-3)
    painted = interior_colour(
        np.clip((pv - pupper) / g, 0.0, 1.0)[:, None],
        (np.abs(pu - face.mouth_centre) / face.half_width)[:, None],
        g[:, None],
        face_height=face.height,
        lips=lips,
        skin=skin,
        teeth=not shows_teeth,
    )[:, 0]
    # What the photo shows between its lips (its teeth when it smiles; the dark line of shut
    # lips) belongs to the upper jaw, the skull: it stays under the upper lip, moved with it,
    # and the gap opens below it. At rest the mouth is then the photo's own.
    du, dv_upper, _ = fields(pu, pv)
    su, sv = pu - du, pv - dv_upper
    photo = np.clip(sv - face.contour(UPPER_INNER, su) + 0.5, 0.0, 1.0) * np.clip(
        face.contour(LOWER_INNER, su) - sv + 0.5, 0.0, 1.0
    )
    sx, sy = face.to_image(su, sv)
    own = cv2.remap(
        frame,
        sx[:, None].astype(np.float32),
        sy[:, None].astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )[:, 0].astype(np.float32)
    # Coverage of each pixel: by the photo's own mouth, by newly opened (painted) inside, and
    # the rest by the moved lips as warped.
    own_share = np.minimum(photo, alpha)[:, None]
    painted_share = np.maximum(alpha - photo, 0.0)[:, None]
    target = (rows + by0 - origin[1], cols + bx0 - origin[0])
    current = warped[target].astype(np.float32)
    mixed = current + (own - current) * own_share + (painted - current) * painted_share
    warped[target] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


__all__ = ["FacePose", "FaceTrack", "LipSync", "LipSyncReport", "animate_face", "blink_curve"]
