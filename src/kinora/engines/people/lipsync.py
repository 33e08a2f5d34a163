"""Lip sync on finished frames: the face in the picture speaks the narration.

:class:`LipSync` is a frame filter. It finds the face in each rendered frame (the face mesh,
tracked from frame to frame), then moves the jaw, lips, eyelids and head by one smooth
displacement field around the face and paints the inside of the opened mouth
(:mod:`.mouth`). Working on the rendered frame rather than the input photo is what lets it
run under every engine and camera path: the one-image parallax under any move, the two-image
morph on whichever face is on screen, hosted providers' clips. It needs only the mouth track
per frame (how open; how spread or rounded; for a track from phonemes also how pressed the
lips are, m/b/p, and how far the lower lip is tucked under the teeth, f/v:
:mod:`kinora.audio.visemes` makes it), handed in as plain arrays (engines do not import the
audio package).

Which face: the largest the face detector finds when the track starts (``track_face``), or
the one ``speaker`` names (left, right, center: :data:`kinora.vocab.SPEAKERS`, the request's
``audio_option.speaker``); the track then follows that face and re-detects (by the same
rule) only when it loses it.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.geometry import kernels
from kinora.engines.geometry.warp import Grid
from kinora.engines.people.landmarks import (
    MESH_MIN_SCORE,
    FaceBox,
    FaceMesh,
    Roi,
    detect_faces,
    face_mesh,
    track_face,
)
from kinora.engines.people.mouth import interior_colour
from kinora.video.colour import i420_planes, i420_to_rgb
from kinora.vocab import SPEAKERS

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
"""The mouth's corners move out (spread, "ee") by this share of its half-width."""
ROUND = 0.3
"""... and in (rounded, "oo") by this share: pursed lips narrow the mouth more than a smile
widens it, so the opening turns round."""
ROUND_TALLER = 0.35
SPREAD_FLATTER = 0.2
"""For the same jaw, a rounded opening is this much taller, a spread one this much flatter
(the lips' shape, not the jaw, makes the difference between "oo" and "ee")."""
PRESS = 0.008
"""Pressed lips (m, b, p) roll in: each lip's edge moves this share of the face's height
towards the other, so the lips look thinner."""
TUCK_LIFT = 0.014
"""Lower lip under the upper teeth (f, v): the upper lip rises this share of the face's
height, showing the teeth's edge resting on the lower lip."""
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


def _scaled_mesh(mesh: FaceMesh, factor: float, dx: float, dy: float) -> FaceMesh:
    """``mesh`` in a picture ``factor`` times larger, shifted by (dx, dy)."""
    points = mesh.points.astype(np.float64) * factor
    points[:, 0] += dx
    points[:, 1] += dy
    r = mesh.roi
    roi = Roi(
        r.center_x * factor + dx,
        r.center_y * factor + dy,
        r.width * factor,
        r.height * factor,
        r.rotation,
    )
    return FaceMesh(points.astype(np.float32), mesh.score, roi)


MESH_INPUT = 192
"""The face mesh model's input side."""
MESH_EVERY = 2
"""The face mesh is read on every second frame; between, the face's points move on at the
pace of the last two reads (camera paths are smooth, and the warp moves with whole pixels'
worth of the face at most, so a frame's prediction is within a fraction of a pixel)."""


SETTLE_READS = 3
"""A still face is taken as read only after this many reads: the first comes from the face
detector's box, the next from the mesh's own region, which places the points better."""


class _Picture:
    """A frame as the tracker reads it: its size, and RGB pixels of a box (or all of it)."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.height, self.width = frame.shape[:2]

    def rgb(self, box: tuple[int, int, int, int] | None = None) -> Frame:
        if box is None:
            return self.frame
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(self.frame[y0:y1, x0:x1])

    def shrunk(self, box: tuple[int, int, int, int], factor: int) -> Frame:
        """RGB of ``box`` at 1/``factor`` of its size (bilinear: at 2:1 each 2x2 block's
        mean)."""
        crop = self.rgb(box)
        if factor == 1:
            return crop
        x0, y0, x1, y1 = box
        size = (max(1, (x1 - x0) // factor), max(1, (y1 - y0) // factor))
        return np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR), np.uint8)

    def pixels(self, box: tuple[int, int, int, int]) -> tuple[Frame, ...]:
        """A copy of the frame's own pixels in ``box`` (to tell later whether they changed)."""
        x0, y0, x1, y1 = box
        return (self.frame[y0:y1, x0:x1].copy(),)

    def same(self, box: tuple[int, int, int, int], kept: tuple[Frame, ...]) -> bool:
        """Whether the frame's pixels in ``box`` are exactly ``kept`` (:meth:`pixels`)."""
        x0, y0, x1, y1 = box
        return _equal(self.frame[y0:y1, x0:x1], kept[0])


def _equal(a: Frame, b: Frame) -> bool:
    """Byte equality of two same-sized pixel blocks (cv2's maximum difference: several
    times faster than numpy's comparison, which makes a boolean array first)."""
    return a.shape == b.shape and (a.size == 0 or cv2.norm(a, b, cv2.NORM_INF) == 0.0)


class _I420Picture(_Picture):
    """An I420 frame (the encoder's own format): only the boxes asked for are converted."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.height, self.width = frame.shape[0] * 2 // 3, frame.shape[1]

    def rgb(self, box: tuple[int, int, int, int] | None = None) -> Frame:
        """RGB of ``box`` (converted from a box grown to even corners)."""
        x0, y0, x1, y1 = box or (0, 0, self.width, self.height)
        ex0, ey0, ex1, ey1 = _even_box((x0, y0, x1, y1))
        ex1, ey1 = min(self.width, ex1), min(self.height, ey1)
        rgb = i420_to_rgb(i420_box(self.frame, (ex0, ey0, ex1, ey1)))
        return rgb[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0]

    def shrunk(self, box: tuple[int, int, int, int], factor: int) -> Frame:
        """RGB of an even-cornered ``box`` at 1/``factor`` of its size. Halved, it is made
        at half size: the Y plane's 2x2 means beside the chroma planes as they are (a chroma
        sample sits at its block's centre, as the mean does), a quarter of the conversion."""
        if factor == 1:
            return self.rgb(box)
        x0, y0, x1, y1 = box
        y, u, v = i420_planes(self.frame)
        w2, h2 = (x1 - x0) // 2, (y1 - y0) // 2
        luma = cv2.resize(y[y0:y1, x0:x1], (w2, h2), interpolation=cv2.INTER_AREA)
        yuv = cv2.merge(
            (
                luma,
                u[y0 // 2 : y0 // 2 + h2, x0 // 2 : x0 // 2 + w2],
                v[y0 // 2 : y0 // 2 + h2, x0 // 2 : x0 // 2 + w2],
            )
        )
        half = np.asarray(cv2.transform(yuv, _YUV_TO_RGB), np.uint8)
        if factor == 2:
            return half
        size = (max(1, (x1 - x0) // factor), max(1, (y1 - y0) // factor))
        return np.asarray(cv2.resize(half, size, interpolation=cv2.INTER_LINEAR), np.uint8)

    def _planes(self, box: tuple[int, int, int, int]) -> tuple[Frame, Frame, Frame]:
        x0, y0, x1, y1 = _even_box(box)
        y, u, v = i420_planes(self.frame)
        chroma = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        return y[y0:y1, x0:x1], u[chroma], v[chroma]

    def pixels(self, box: tuple[int, int, int, int]) -> tuple[Frame, ...]:
        """A copy of the Y, U and V samples covering ``box``."""
        return tuple(plane.copy() for plane in self._planes(box))

    def same(self, box: tuple[int, int, int, int], kept: tuple[Frame, ...]) -> bool:
        return len(kept) == 3 and all(
            _equal(plane, k) for plane, k in zip(self._planes(box), kept, strict=True)
        )


_RGB_TO_YUV = np.array(
    [[0.257, 0.504, 0.098, 16.0], [-0.148, -0.291, 0.439, 128.0], [0.439, -0.368, -0.071, 128.0]],
    np.float32,
)
"""BT.601 limited range, as :mod:`kinora.video.colour` converts (Y as OpenCV's, U and V as
swscale's)."""
_YUV_TO_RGB = np.array(
    [
        [1.164, 0.0, 1.596, -222.912],
        [1.164, -0.392, -0.813, 135.616],
        [1.164, 2.017, 0.0, -276.8],
    ],
    np.float32,
)
"""Its inverse (:func:`kinora.video.colour.i420_to_rgb`'s)."""


def _even_box(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``box`` grown to even corners (whole 2x2 chroma blocks)."""
    x0, y0, x1, y1 = box
    return x0 - x0 % 2, y0 - y0 % 2, x1 + x1 % 2, y1 + y1 % 2


def i420_box(frame: Frame, box: tuple[int, int, int, int]) -> Frame:
    """The I420 frame of an even-cornered box of I420 ``frame``."""
    x0, y0, x1, y1 = box
    y, u, v = i420_planes(frame)
    w, h = x1 - x0, y1 - y0
    out = np.empty((h * 3 // 2, w), np.uint8)
    oy, ou, ov = i420_planes(out)
    oy[:] = y[y0:y1, x0:x1]
    ou[:] = u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
    ov[:] = v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
    return out


FACE_CHOSEN = {
    "largest": "the largest face",
    "left": "the face furthest to the left",
    "right": "the face furthest to the right",
    "center": "the face nearest the picture's centre",
}
"""How the history entry names the face that spoke, per speaker."""


def _speaking_face(rgb: Frame, speaker: str, *, models_dir: Path | None) -> FaceMesh | None:
    """The mesh of the face ``speaker`` names (:data:`kinora.vocab.SPEAKERS`) among those the
    detector finds, or None. Faces the mesh does not confirm are passed over."""
    if speaker == "largest":
        return track_face(rgb, models_dir=models_dir)
    faces = detect_faces(rgb, models_dir=models_dir)
    h, w = rgb.shape[:2]

    def centre(face: FaceBox) -> tuple[float, float]:
        return (face.x0 + face.x1) / 2, (face.y0 + face.y1) / 2

    if speaker == "left":
        faces.sort(key=lambda f: centre(f)[0])
    elif speaker == "right":
        faces.sort(key=lambda f: -centre(f)[0])
    else:
        faces.sort(key=lambda f: math.hypot(centre(f)[0] - w / 2, centre(f)[1] - h / 2))
    for face in faces:
        mesh = face_mesh(rgb, face, models_dir=models_dir)
        if mesh.score >= MESH_MIN_SCORE:
            return mesh
    return None


class FaceTrack:
    """The chosen face's mesh (the largest, unless ``speaker`` says otherwise) in successive
    frames, smoothed in the face's own frame.

    Each frame's mesh is fitted to the first by a similarity (shift, scale, turn: least
    squares over all 468 points, which averages their jitter away); the shape, expressed in
    the first mesh's frame, is averaged over time; the fitted similarity puts it back.

    The mesh is read on every :data:`MESH_EVERY`-th frame, from the last mesh's region only;
    the frames between get the points moved on at the pace of the last two reads. A lost
    face is noticed at the next read, and searched for on the whole frame.

    A frame whose pixels in the mesh's region are exactly those of the last read (a still
    camera: the engine renders the same picture again) is not read at all: the mesh would
    find the same face, so the last read's points stand, and the points stop moving. The
    first frame that differs is read at once (no frame is predicted from a still face's
    zero pace while the camera starts to move)."""

    def __init__(self, *, models_dir: Path | None = None, speaker: str = "largest") -> None:
        self._models_dir = models_dir
        if speaker not in SPEAKERS:
            raise ValueError(f"unknown speaker {speaker!r}")
        self._speaker = speaker
        self._mesh: FaceMesh | None = None
        self._reference: npt.NDArray[np.float64] | None = None
        self._shape: npt.NDArray[np.float64] | None = None
        self._last_read: npt.NDArray[np.float64] | None = None
        self._pace: npt.NDArray[np.float64] | None = None
        """The points' movement per frame between the last two reads (None: still, or one
        read so far)."""
        self._since_read = 0
        self._kept: tuple[tuple[int, int, int, int], tuple[Frame, ...]] | None = None
        """The last read's region and a copy of the frame's pixels in it."""
        self.reads = 0
        """How many frames the mesh was read on (the others were predicted or still)."""

    def _detect(self, picture: _Picture) -> FaceMesh | None:
        """A fresh detection on the frame shrunk to :data:`TRACK_SIDE`; the mesh comes back
        in the frame's own pixels."""
        frame = picture.rgb()
        scale = min(1.0, TRACK_SIDE / max(frame.shape[:2]))
        small: Frame = (
            frame
            if scale == 1.0
            else np.asarray(
                cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA),
                np.uint8,
            )
        )
        mesh = _speaking_face(small, self._speaker, models_dir=self._models_dir)
        if mesh is None or scale == 1.0:
            return mesh
        return _scaled_mesh(mesh, 1.0 / scale, 0.0, 0.0)

    def region(self, w: int, h: int) -> tuple[int, int, int, int] | None:
        """The pixel box the next frame's mesh is read from (even corners), or None."""
        if self._mesh is None:
            return None
        corners = self._mesh.next_roi().corners()
        x0, y0, x1, y1 = _even_box(
            (
                max(0, math.floor(float(corners[:, 0].min())) - 2),
                max(0, math.floor(float(corners[:, 1].min())) - 2),
                min(w, math.ceil(float(corners[:, 0].max())) + 2),
                min(h, math.ceil(float(corners[:, 1].max())) + 2),
            )
        )
        x1, y1 = min(x1, w), min(y1, h)
        return None if x1 - x0 < 16 or y1 - y0 < 16 else (x0, y0, x1, y1)

    def _follow(self, picture: _Picture) -> FaceMesh | None:
        """The mesh read from the last mesh's region only: the region's box is cut out, so
        no frame-sized copy or resize is made for a face that stays found (the mesh's own
        crop shrinks only the cut-out when it must)."""
        assert self._mesh is not None
        if self._mesh.score < MESH_MIN_SCORE:
            return None
        roi = self._mesh.next_roi()
        region = self.region(picture.width, picture.height)
        if region is None:
            return None
        x0, y0, x1, y1 = region
        # A large face is halved (bilinear at 2:1 averages each 2x2 block) until the mesh's
        # crop needs no area-averaged copy of its own, which costs several times more.
        factor = 1
        while min(roi.width, roi.height) / (factor * MESH_INPUT) > 2.0:
            factor *= 2
        crop = picture.shrunk(region, factor)
        sx, sy = crop.shape[1] / (x1 - x0), crop.shape[0] / (y1 - y0)
        local = Roi(
            (roi.center_x - x0) * sx,
            (roi.center_y - y0) * sy,
            roi.width * sx,
            roi.height * sy,
            roi.rotation,
        )
        mesh = face_mesh(np.ascontiguousarray(crop), local, models_dir=self._models_dir)
        if mesh.score < MESH_MIN_SCORE:
            return None
        points = mesh.points.astype(np.float64)
        points[:, 0] = points[:, 0] / sx + x0
        points[:, 1] = points[:, 1] / sy + y0
        points[:, 2] = points[:, 2] / sx
        return FaceMesh(points.astype(np.float32), mesh.score, roi)

    def update(self, frame: Frame | _Picture) -> npt.NDArray[np.float32] | None:
        """(468, 2) points in pixel-index coordinates (pixel centres on integers), or None."""
        picture = frame if isinstance(frame, _Picture) else _Picture(frame)
        last = self._last_read
        settled = self.reads >= SETTLE_READS
        if settled and last is not None and self._kept is not None and picture.same(*self._kept):
            self._pace = None  # still: nothing to carry on
            self._since_read = 0
            return last.astype(np.float32)
        self._since_read += 1
        if last is not None and self._pace is not None and self._since_read < MESH_EVERY:
            return (last + self._pace * self._since_read).astype(np.float32)
        gap, self._since_read = self._since_read, 0
        self.reads += 1
        placed = self._read(picture)
        if placed is None:
            self._last_read = self._pace = None
            self._kept = None
            return None
        read = placed.astype(np.float64)
        self._pace = (read - last) / gap if last is not None else None
        self._last_read = read
        region = self.region(picture.width, picture.height)
        self._kept = (region, picture.pixels(region)) if region is not None else None
        return placed

    def _read(self, picture: _Picture) -> npt.NDArray[np.float32] | None:
        """This frame's mesh, read and smoothed."""
        mesh = self._follow(picture) if self._mesh is not None else None
        if mesh is None:
            mesh = self._detect(picture)
        self._mesh = mesh
        if mesh is None:
            self._reference = self._shape = None
            return None
        points: npt.NDArray[np.float64] = mesh.points[:, :2].astype(np.float64) - 0.5
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
    press: float = 0.0
    """Lips pressed together (m, b, p), 0 .. 1."""
    teeth: float = 0.0
    """Lower lip under the upper teeth (f, v), 0 .. 1."""
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
        self.field_step = _field_step(self.height)

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
        # Rounded lips push forward and part taller for the same jaw; spread ones flatten.
        rounding, spreading = max(0.0, -pose.wide), max(0.0, pose.wide)
        shaped = 1.0 + ROUND_TALLER * rounding - SPREAD_FLATTER * spreading
        self.drop = pose.open * JAW_DROP * face.height * shaped
        self.lift = (pose.open * LIP_LIFT + pose.teeth * TUCK_LIFT) * face.height
        self.press = pose.press * PRESS * face.height

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
        if self.press > 0.0:
            # Both lips' edges roll in towards the line they meet on, fading over a lip's
            # thickness (which is what thins them).
            near = 1.0 - _smoothstep01(np.abs(v - mid) / (0.07 * f.height))
            rolled = self.press * _bump(x) * near
            dv_upper = dv_upper + rolled
            dv_lower = dv_lower - rolled
        band = 1.0 - _smoothstep01((np.abs(v - f.mid_centre) - 0.05 * f.height) / (0.15 * f.height))
        corners = pose.wide * (SPREAD if pose.wide > 0.0 else ROUND)
        du = corners * (u - f.mouth_centre) * (1.0 - _smoothstep01(np.abs(x) - 1.0)) * band
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
    visemes: str = "from the speech's sound"
    speaker: str = "largest"
    """Which face was asked to speak (:data:`kinora.vocab.SPEAKERS`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "built-in",
            "visemes": self.visemes,
            "face": FACE_CHOSEN[self.speaker],
            "speaker": self.speaker,
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
    spread; or ``shape`` (frames, 3): spread, lips pressed, lower lip under the teeth, as
    :meth:`kinora.audio.visemes.VisemeTrack.per_frame` gives a track from phonemes);
    ``visemes`` says where the track came from (for the report); ``apply(frame, index)``
    takes the clip frame's index (the output's, lead-in included). Frames without a face
    pass unchanged (the report counts them)."""

    def __init__(
        self,
        opening: npt.ArrayLike,
        shape: npt.ArrayLike,
        *,
        fps: float,
        seed: int = 0,
        models_dir: Path | None = None,
        visemes: str | None = None,
        speaker: str = "largest",
    ) -> None:
        self.opening = np.asarray(opening, dtype=np.float32)
        shapes = np.asarray(shape, dtype=np.float32)
        n = len(self.opening)
        if shapes.ndim == 2:  # wide, press, teeth: a track from phonemes
            self.shape = np.ascontiguousarray(shapes[:, 0])
            self.press = np.ascontiguousarray(shapes[:, 1])
            self.teeth = np.ascontiguousarray(shapes[:, 2])
        else:
            self.shape = shapes
            self.press = self.teeth = np.zeros(n, np.float32)
        source = visemes or (
            "from the phonemes and the speech's loudness"
            if shapes.ndim == 2
            else "from the speech's sound"
        )
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
        self._track = FaceTrack(models_dir=models_dir, speaker=speaker)
        self.report = LipSyncReport(visemes=source, speaker=speaker)

    def pose(self, index: int) -> FacePose:
        if not 0 <= index < len(self.opening):
            return FacePose()
        return FacePose(
            open=float(self.opening[index]),
            wide=float(self.shape[index]),
            press=float(self.press[index]),
            teeth=float(self.teeth[index]),
            blink=float(self.blinks[index]),
            nod=float(self.nod[index]),
            sway=float(self.sway[index]),
            tilt=float(self.tilt[index]),
        )

    def _step(
        self, picture: _Picture, index: int
    ) -> tuple[npt.NDArray[np.float32], FacePose] | None:
        self.report.frames += 1
        points = self._track.update(picture)
        if points is None:
            return None
        self.report.with_face += 1
        if self.report.face_box is None:
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            self.report.face_box = (int(x0), int(y0), math.ceil(x1), math.ceil(y1))
        pose = self.pose(index)
        if pose.open > 0.05:
            self.report.speaking += 1
        return points, pose

    def apply(self, frame: Frame, index: int) -> Frame:
        """The RGB ``frame`` (clip frame ``index``) with its face speaking: a copy."""
        frame = np.ascontiguousarray(frame)
        step = self._step(_Picture(frame), index)
        if step is None:
            return frame
        return animate_face(frame, *step)

    def apply_i420(self, frame: Frame, index: int) -> Frame:
        """The same for an I420 frame (the encoder's format): the Y, U and V planes are
        warped by one field, none converted to RGB (the tracker converts its small crop
        only); pixels the face's movement does not change keep their exact values."""
        picture = _I420Picture(np.ascontiguousarray(frame))
        step = self._step(picture, index)
        if step is None:
            return picture.frame
        return animate_face_i420(picture.frame, *step)


def _colour_at(frame: Frame, points: Floats) -> Floats:
    h, w = frame.shape[:2]
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
    result: Floats = frame[ys, xs].astype(np.float32).mean(axis=0)
    return result


def _colour_at_i420(frame: Frame, points: Floats) -> Floats:
    """:func:`_colour_at` of an I420 frame: the mean Y, U and V at the points, as RGB."""
    y, u, v = i420_planes(frame)
    h, w = y.shape
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
    planes = (y[ys, xs], u[ys // 2, xs // 2], v[ys // 2, xs // 2])
    yuv = np.array([float(p.astype(np.float32).mean()) for p in planes] + [1.0], np.float32)
    result: Floats = np.clip(_YUV_TO_RGB @ yuv, 0.0, 255.0)
    return result


FIELD_STEP = 4
FIELD_STEPS_PER_FACE = 60
"""The smooth part of the warp is computed every :data:`FIELD_STEP` pixels, or every
1/60th of the face's height when that is more (it varies over a tenth of the face), and
interpolated; the lips' gap and the eyelids are placed at full resolution."""


Box = tuple[int, int, int, int]


def _field_step(face_height: float) -> int:
    """The field's grid step for a face: 1/60th of its height, at least 4; from 7 up, the
    nearest multiple of 4 (the compiled kernels warp the chroma planes on half the step,
    which they take even)."""
    raw = face_height / FIELD_STEPS_PER_FACE
    if raw < 7.0:
        return max(FIELD_STEP, round(raw))
    return 4 * round(raw / 4)


def _clip_box(box: tuple[float, float, float, float], w: int, h: int) -> Box | None:
    x0, y0, x1, y1 = box
    out = (
        int(max(0, x0)),
        int(max(0, y0)),
        int(min(w, math.ceil(x1) + 1)),
        int(min(h, math.ceil(y1) + 1)),
    )
    return out if out[2] - out[0] >= 8 and out[3] - out[1] >= 8 else None


def _face_roi(points: npt.NDArray[np.float32], w: int, h: int) -> Box | None:
    """The pixels a face's movement can change: its mesh's box, a fifth wider each side and
    a third taller below (the jaw's drop and the neck's fade)."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    return _clip_box((x0 - 0.2 * bw, y0 - 0.2 * bh, x1 + 0.2 * bw, y1 + 0.35 * bh), w, h)


class _Grid:
    """Where the warp's smooth part is evaluated: every ``step`` (whole) pixels over a box
    and one step beyond each side, sample ``(i, j)`` at pixel ``origin + (i + 0.5) * step
    - 0.5``, where cv2.resize by ``step`` samples its source. Any block of samples resized
    so interpolates its values linearly to every pixel between them, with no clamping at a
    box's edge; a source map can then be interpolated as coordinates (linear functions come
    out exact: no identity grid to add, and zero movement stays whole pixels)."""

    def __init__(self, face: _Face, box: Box) -> None:
        left, top, right, bottom = box
        self.step = s = face.field_step
        self.ox, self.oy = left - s, top - s
        cols, rows = math.ceil((right - left) / s) + 2, math.ceil((bottom - top) / s) + 2
        gx = self.ox + (np.arange(cols, dtype=np.float32) + 0.5) * s - 0.5
        gy = self.oy + (np.arange(rows, dtype=np.float32) + 0.5) * s - 0.5
        self.u, self.v = face.to_face(*np.meshgrid(gx, gy))

    def cells(self, box: Box) -> tuple[slice, slice]:
        """The samples (rows, columns) to interpolate ``box``'s pixels from."""
        left, top, right, bottom = box
        s = self.step
        rows, cols = self.u.shape
        return (
            slice(max(0, (top - self.oy) // s - 1), min(rows, -(-(bottom - self.oy) // s) + 1)),
            slice(max(0, (left - self.ox) // s - 1), min(cols, -(-(right - self.ox) // s) + 1)),
        )

    def upsampled(self, values: Floats, box: Box, cells: tuple[slice, slice]) -> Floats:
        """``values`` (sampled at ``cells``) at every pixel of ``box``: a view."""
        rows, cols = cells
        s = self.step
        assert rows.start is not None and cols.start is not None
        h, w = values.shape[:2]
        fine = np.asarray(
            cv2.resize(values, (w * s, h * s), interpolation=cv2.INTER_LINEAR), np.float32
        )
        x = box[0] - (self.ox + cols.start * s)
        y = box[1] - (self.oy + rows.start * s)
        return fine[y : y + box[3] - box[1], x : x + box[2] - box[0]]


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


@dataclass
class _Warp:
    """One frame's movement of a face: where each pixel of ``box`` comes from, and the
    lips' inner edges where the pose puts them (face axes), for the mouth's inside.

    The smooth part lives on ``grid``'s coarse nodes (``nodes``: the upper lip's and head's
    source; ``jaw_nodes``: the same moved on by the jaw over ``jaw``'s cells), from which
    the compiled kernels warp the planes with no per-pixel map in memory; ``source``, the
    per-pixel map with the jaw and the lids placed, is made on first use (the RGB path and
    the I420 path without the kernels take it)."""

    face: _Face
    fields: _Fields
    box: Box
    grid: _Grid
    nodes: npt.NDArray[np.float32]
    """(rows, cols, 2): the upper lip's and head's source (x, y) at the grid's nodes."""
    upper_u: Floats
    upper_v: Floats
    lower_u: Floats
    lower_v: Floats
    jaw: Box | None
    """The box (within ``box``) the jaw's movement reaches, None when the jaw is still."""
    jaw_cells: tuple[slice, slice] | None
    jaw_nodes: npt.NDArray[np.float32] | None
    """``nodes`` with the jaw's drop added over ``jaw_cells``: the source below the lips."""
    jaw_mid: Floats | None
    """Over ``jaw_cells``: the lips' line minus v (positive above the line)."""
    blinks: bool
    mouth: Box | None
    """The box (even corners) holding the moved lips' gap, None when they are shut."""
    mouth_upper: npt.NDArray[np.float32] | None
    """The upper lip's and head's source map over ``mouth`` (before the jaw's): where the
    photo's own mouth under the upper lip comes from."""
    _source: npt.NDArray[np.float32] | None = None

    def below(self) -> npt.NDArray[np.uint8]:
        """Over ``jaw``: 1 where a pixel is below the lips' line (it moves with the jaw)."""
        assert self.jaw is not None and self.jaw_cells is not None and self.jaw_mid is not None
        mid = self.grid.upsampled(self.jaw_mid, self.jaw, self.jaw_cells)
        return (mid <= 0.0).view(np.uint8)

    def eye_boxes(self, *, even: bool = False) -> list[Box]:
        """The lids' boxes when the eyes blink (even corners if ``even``), else none."""
        if not self.blinks:
            return []
        boxes = _eye_boxes(self.face, *self.box)
        if even:
            boxes = [_even_box(b) for b in boxes]
            boxes = [_within(b, self.box) for b in boxes]
        return [b for b in boxes if b[2] > b[0] and b[3] > b[1]]

    def lid_map(self, box: Box) -> npt.NDArray[np.float32]:
        """The source map over an eye's ``box``: the upper field moved by the blink."""
        cells = self.grid.cells(box)
        source = self.grid.upsampled(self.nodes[cells], box, cells).copy()
        bx0, by0, bx1, by1 = box
        ex, ey = np.meshgrid(
            np.arange(bx0, bx1, dtype=np.float32), np.arange(by0, by1, dtype=np.float32)
        )
        blink = self.fields.blink(*self.face.to_face(ex, ey))
        source -= blink[..., None] * self.face.ey
        return source

    @property
    def source(self) -> npt.NDArray[np.float32]:
        """(h, w, 2): x, y in the picture for each pixel of ``box`` (a cv2.remap map)."""
        if self._source is not None:
            return self._source
        everywhere = (slice(0, None), slice(0, None))
        source = self.grid.upsampled(self.nodes, self.box, everywhere).copy()
        left, top = self.box[:2]
        if self.jaw is not None:
            assert self.jaw_cells is not None and self.jaw_nodes is not None
            cells = self.jaw_cells
            shift = self.jaw_nodes[cells] - self.nodes[cells]
            jaw = self.jaw
            view = source[jaw[1] - top : jaw[3] - top, jaw[0] - left : jaw[2] - left]
            cv2.add(view, self.grid.upsampled(shift, jaw, cells), dst=view, mask=self.below())
        for box in self.eye_boxes():
            bx0, by0, bx1, by1 = box
            source[by0 - top : by1 - top, bx0 - left : bx1 - left] = self.lid_map(box)
        self._source = source
        return source


def _within(box: Box, outer: Box) -> Box:
    return (
        max(box[0], outer[0]),
        max(box[1], outer[1]),
        min(box[2], outer[2]),
        min(box[3], outer[3]),
    )


def _warp(face: _Face, pose: FacePose, box: Box) -> _Warp:
    """The movement of ``box``: what is above the lips' line moves with the upper lip and
    head; what is below, with the jaw (which moves only within the jaw's box). The fields
    are evaluated once on one coarse grid; the jaw's is the upper one's moved on by their
    difference (along the face's y), and the line between them is placed per pixel."""
    fields = _Fields(face, pose)
    upper_idx, lower_idx = list(UPPER_INNER), list(LOWER_INNER)
    uu, uv = face.u[upper_idx], face.v[upper_idx]
    lu, lv = face.u[lower_idx], face.v[lower_idx]
    grid = _Grid(face, box)
    # One evaluation for the grid and the lips' inner edges (each moved by its own side's
    # field): the fields cost per call as much as per sample at these sizes.
    n, k = grid.u.size, len(upper_idx)
    du, dv_upper, dv_lower = fields(
        np.concatenate([grid.u.ravel(), uu, lu]), np.concatenate([grid.v.ravel(), uv, lv])
    )
    upper_u, upper_v = uu + du[n : n + k], uv + dv_upper[n : n + k]
    lower_u, lower_v = lu + du[n + k :], lv + dv_lower[n + k :]
    shape = grid.u.shape
    du, dv_upper, dv_lower = (a[:n].reshape(shape) for a in (du, dv_upper, dv_lower))
    nodes = np.ascontiguousarray(
        np.dstack(face.to_image(grid.u - du, grid.v - dv_upper)), dtype=np.float32
    )
    # A mouth at rest (a pause) is the photo's own moved with the head, which the warp makes:
    # its inside is not painted (painting it would give back the warped pixels, within a
    # level or two at the lips' edge).
    at_rest = pose.open <= 0.0 and pose.wide == 0.0 and pose.press <= 0.0 and pose.teeth <= 0.0
    mouth = None if at_rest else _mouth_box(face, upper_u, lower_u, lower_v, box)
    mouth_upper = None
    if mouth is not None:
        mouth = _within(_even_box(mouth), box)
        cells = grid.cells(mouth)
        mouth_upper = grid.upsampled(nodes[cells], mouth, cells).copy()
    jaw = _jaw_box(face, box) if pose.open > 0.0 or pose.press > 0.0 else None
    jaw_cells = jaw_nodes = jaw_mid = None
    if jaw is not None:
        jaw = _within(_even_box(jaw), box)
        jaw_cells = cells = grid.cells(jaw)
        u, v = grid.u[cells], grid.v[cells]
        jaw_mid = ((_profile(u, upper_u, upper_v) + _profile(u, lower_u, lower_v)) / 2 - v).astype(
            np.float32
        )
        apart = (dv_upper - dv_lower)[cells]
        jaw_nodes = nodes.copy()
        jaw_nodes[cells] += np.dstack([apart * face.ey[0], apart * face.ey[1]]).astype(np.float32)
    return _Warp(
        face,
        fields,
        box,
        grid,
        nodes,
        upper_u,
        upper_v,
        lower_u,
        lower_v,
        jaw,
        jaw_cells,
        jaw_nodes,
        jaw_mid,
        pose.blink > 0.0,
        mouth,
        mouth_upper,
    )


def animate_face(frame: Frame, points: npt.NDArray[np.float32], pose: FacePose) -> Frame:
    """``frame`` with the face whose mesh is ``points`` (pixel-index coordinates) moved to
    ``pose``: a copy, changed only in a box around the face."""
    face = _Face(points)
    h, w = frame.shape[:2]
    roi = _face_roi(points, w, h)
    if roi is None:
        return frame
    left, top, right, bottom = roi
    warp = _warp(face, pose, roi)
    warped: Frame = np.asarray(
        cv2.remap(  # type: ignore[call-overload]  # map2 None: map1 holds x and y
            frame, warp.source, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ),
        dtype=np.uint8,
    )
    if warp.mouth is not None:
        points_ = face.points
        lips = _colour_at(frame, (points_[list(UPPER_OUTER)] + points_[list(UPPER_INNER)]) / 2)
        skin = _colour_at(frame, points_[list(CHEEKS)])
        inside = _inside(warp, lips, skin)
        if inside is not None:
            own = _sampled(frame, inside.sx, inside.sy)
            target = (inside.ys - top, inside.xs - left)
            current = warped[target].astype(np.float32)
            mixed = (
                current
                + (own - current) * inside.own_share[:, None]
                + (inside.painted - current) * inside.painted_share[:, None]
            )
            warped[target] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    out = frame.copy()
    out[top:bottom, left:right] = warped
    return out


def animate_face_i420(frame: Frame, points: npt.NDArray[np.float32], pose: FacePose) -> Frame:
    """:func:`animate_face` for an I420 frame: a copy whose Y plane is warped by the source
    map and whose U and V planes (half size) by the same map at each 2x2 block's centre,
    halved, the mouth's inside painted into the planes. Pixels outside the face's box (whole
    chroma blocks) keep their exact values, as do unmoved ones in it."""
    face = _Face(points)
    h, w = frame.shape[0] * 2 // 3, frame.shape[1]
    roi = _face_roi(points, w, h)
    if roi is None:
        return frame
    ex0, ey0, ex1, ey1 = _even_box(roi)
    box = (ex0, ey0, min(ex1, w - w % 2), min(ey1, h - h % 2))
    warp = _warp(face, pose, box)
    out = frame.copy()
    if kernels.available() and face.field_step % 4 == 0 and face.field_step >= 8:
        _warp_planes_kernels(frame, out, warp)
    else:
        _warp_planes_maps(frame, out, warp)
    if warp.mouth is not None:
        _paint_inside_i420(frame, out, warp)
    return out


def _chroma_map(source: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A luma source map (even size) at each 2x2 block's centre, in chroma pixels: a chroma
    sample j covers pixels 2j and 2j + 1 (centre 2j + 0.5), so it comes from
    ``(x(2j + 0.5) - 0.5) / 2``; unmoved pixels come from themselves exactly."""
    half = (source[0::2, 0::2] + source[1::2, 1::2]) * 0.5
    half -= 0.5
    half *= 0.5
    return half


def _warp_planes_maps(frame: Frame, out: Frame, warp: _Warp) -> None:
    """Warp the face's box of ``frame``'s planes into ``out`` through per-pixel maps (cv2):
    the path without the compiled kernels."""
    left, top, right, bottom = warp.box
    y, u, v = i420_planes(frame)
    oy, ou, ov = i420_planes(out)
    # The Y plane through fixed-point maps (1/32 pixel, as cv2.remap turns float maps into
    # anyway): converting them once and remapping costs about two thirds of a float remap.
    fixed, fractions = cv2.convertMaps(warp.source, None, cv2.CV_16SC2)  # type: ignore[call-overload]
    cv2.remap(
        y,
        fixed,
        fractions,
        cv2.INTER_LINEAR,
        dst=oy[top:bottom, left:right],
        borderMode=cv2.BORDER_REPLICATE,
    )
    half = _chroma_map(warp.source)
    chroma = (slice(top // 2, bottom // 2), slice(left // 2, right // 2))
    for plane, into in ((u, ou), (v, ov)):
        cv2.remap(  # type: ignore[call-overload]
            plane,
            half,
            None,
            cv2.INTER_LINEAR,
            dst=into[chroma],
            borderMode=cv2.BORDER_REPLICATE,
        )


def _warp_planes_kernels(frame: Frame, out: Frame, warp: _Warp) -> None:
    """Warp the face's box of ``frame``'s planes into ``out`` with the compiled kernels,
    straight from the coarse nodes (no per-pixel map): the whole box by the upper field,
    the jaw's box again by the jaw's and kept below the lips' line, the blinking lids by
    their own maps. The source is a crop of the planes around every node's position,
    replicated at its edges as cv2's border replicates the picture's (only where the crop
    meets the picture's edge can a sample reach the padding)."""
    left, top, right, bottom = warp.box
    y, u, v = i420_planes(frame)
    oy, ou, ov = i420_planes(out)
    height, width = y.shape
    step = warp.face.field_step
    size = (right - left, bottom - top)
    chroma_size = (size[0] // 2, size[1] // 2)
    node_sets = [warp.nodes] if warp.jaw_nodes is None else [warp.nodes, warp.jaw_nodes]
    # (per channel: a reduction over the pairs' short axis is ten times slower)
    lo = [min(float(n[..., c].min()) for n in node_sets) for c in (0, 1)]
    hi = [max(float(n[..., c].max()) for n in node_sets) for c in (0, 1)]
    cx0 = max(0, min(width, math.floor(lo[0]) - 2)) & ~1
    cy0 = max(0, min(height, math.floor(lo[1]) - 2)) & ~1
    cx1 = min(width, max(cx0 + 2, math.ceil(hi[0]) + 4)) & ~1
    cy1 = min(height, max(cy0 + 2, math.ceil(hi[1]) + 4)) & ~1
    luma = kernels.Plane.of(y[cy0:cy1, cx0:cx1], border="replicate")
    chroma_planes = [
        kernels.Plane.of(p[cy0 // 2 : cy1 // 2, cx0 // 2 : cx1 // 2], border="replicate")
        for p in (u, v)
    ]
    offset = np.array([cx0, cy0], np.float32)

    def grids(nodes: npt.NDArray[np.float32]) -> tuple[Grid, Grid]:
        luma_nodes = nodes - offset
        chroma_nodes = (nodes - 0.5) * 0.5 - offset * 0.5
        return Grid(luma_nodes, step, size), Grid(chroma_nodes, step // 2, chroma_size)

    def put(nodes: tuple[Grid, Grid], rect: Box, into: tuple[Frame, Frame, Frame]) -> None:
        """Warp ``rect`` (picture pixels, even corners) into the planes ``into``, whose
        pixel (0, 0) is the rectangle's."""
        x0, y0, x1, y1 = rect
        if x1 <= x0 or y1 <= y0:
            return
        kernels.warp([luma], nodes[0], (x0 - left, y0 - top, x1 - x0, y1 - y0), [into[0]])
        window = ((x0 - left) // 2, (y0 - top) // 2, (x1 - x0) // 2, (y1 - y0) // 2)
        kernels.warp(chroma_planes, nodes[1], window, [into[1], into[2]])

    def planes(rect: Box) -> tuple[Frame, Frame, Frame]:
        x0, y0, x1, y1 = rect
        half = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        return oy[y0:y1, x0:x1], ou[half], ov[half]

    upper = grids(warp.nodes)
    if warp.jaw is None or warp.jaw_nodes is None:
        put(upper, warp.box, planes(warp.box))
    else:
        # Rows of the jaw's box wholly below the lips' line take only the jaw's warp, rows
        # wholly above only the upper one's; the few the line crosses take both, mixed by
        # the per-pixel mask.
        jx0, jy0, jx1, jy1 = warp.jaw
        below = warp.below()
        rows_all = below.all(axis=1)
        rows_any = below.any(axis=1)
        first_any = int(rows_any.argmax()) if rows_any.any() else len(below)
        last_partial = int(np.flatnonzero(~rows_all)[-1]) + 1 if not rows_all.all() else 0
        mixed0 = jy0 + (first_any & ~1)
        mixed1 = jy0 + min(len(below), last_partial + (last_partial & 1))
        mixed1 = max(mixed0, mixed1)
        for rect in (
            (left, top, right, mixed1),
            (left, mixed1, jx0, jy1),
            (jx1, mixed1, right, jy1),
            (left, jy1, right, bottom),
        ):
            put(upper, rect, planes(rect))
        jaw = grids(warp.jaw_nodes)
        put(jaw, (jx0, mixed1, jx1, jy1), planes((jx0, mixed1, jx1, jy1)))
        if mixed1 > mixed0:
            band = (jx0, mixed0, jx1, mixed1)
            moved: tuple[Frame, Frame, Frame] = (
                np.empty((mixed1 - mixed0, jx1 - jx0), np.uint8),
                np.empty(((mixed1 - mixed0) // 2, (jx1 - jx0) // 2), np.uint8),
                np.empty(((mixed1 - mixed0) // 2, (jx1 - jx0) // 2), np.uint8),
            )
            put(jaw, band, moved)
            mask = below[mixed0 - jy0 : mixed1 - jy0]
            half = np.ascontiguousarray(mask[0::2, 0::2])
            for plane, into, m in zip(moved, planes(band), (mask, half, half), strict=True):
                cv2.copyTo(plane, m, dst=into)
    for box in warp.eye_boxes(even=True):
        bx0, by0, bx1, by1 = box
        lids = warp.lid_map(box)
        cv2.remap(  # type: ignore[call-overload]
            y,
            lids,
            None,
            cv2.INTER_LINEAR,
            dst=oy[by0:by1, bx0:bx1],
            borderMode=cv2.BORDER_REPLICATE,
        )
        half_map = _chroma_map(lids)
        eye_chroma = (slice(by0 // 2, by1 // 2), slice(bx0 // 2, bx1 // 2))
        for plane, into in ((u, ou), (v, ov)):
            cv2.remap(  # type: ignore[call-overload]
                plane,
                half_map,
                None,
                cv2.INTER_LINEAR,
                dst=into[eye_chroma],
                borderMode=cv2.BORDER_REPLICATE,
            )


def _mouth_box(
    face: _Face, upper_u: Floats, lower_u: Floats, lower_v: Floats, within: Box
) -> Box | None:
    """The pixel box (inside ``within``) holding the moved lips' gap, or None when they
    are shut."""
    left, top, right, bottom = within
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


@dataclass
class _Inside:
    """The opened mouth's pixels (``ys``, ``xs`` in the picture) and what covers each: the
    photo's own mouth (sampled at ``sx``, ``sy``) by ``own_share``, the painted inside
    (``painted``, RGB) by ``painted_share``, the moved lips as warped by the rest."""

    ys: npt.NDArray[np.intp]
    xs: npt.NDArray[np.intp]
    sx: npt.NDArray[np.float32]
    sy: npt.NDArray[np.float32]
    painted: npt.NDArray[np.float32]
    own_share: npt.NDArray[np.float32]
    painted_share: npt.NDArray[np.float32]


def _inside(warp: _Warp, lips: Floats, skin: Floats) -> _Inside | None:
    """The opened mouth's inside (within ``warp.mouth``): the photo's own teeth where the
    lips' movement uncovers them, else :func:`interior_colour` (from the face's ``lips`` and
    ``skin`` RGB)."""
    face, fields = warp.face, warp.fields
    assert warp.mouth is not None and warp.mouth_upper is not None
    bx0, by0, bx1, by1 = warp.mouth
    u, v = face.to_face(
        *np.meshgrid(np.arange(bx0, bx1, dtype=np.float32), np.arange(by0, by1, dtype=np.float32))
    )
    upper_out = _profile(u, warp.upper_u, warp.upper_v)
    lower_out = _profile(u, warp.lower_u, warp.lower_v)
    gap = lower_out - upper_out
    inside = (
        np.clip(v - upper_out + 0.5, 0.0, 1.0)
        * np.clip(lower_out - v + 0.5, 0.0, 1.0)
        * np.clip(gap - 0.5, 0.0, 1.0)
    )
    rows, cols = np.nonzero(inside > 0.0)
    if rows.size == 0:
        return None
    sel = (rows, cols)
    alpha = inside[sel]
    pu, pv, pgap, pupper = u[sel], v[sel], gap[sel], upper_out[sel]
    shows_teeth = face.rest_gap > TEETH_SHOWN * face.height
    g = np.maximum(pgap, 1e-3)
    painted = interior_colour(
        np.clip((pv - pupper) / g, 0.0, 1.0)[:, None],
        (np.abs(pu - face.mouth_centre) / face.half_width)[:, None],
        g[:, None],
        face_height=face.height,
        lips=lips,
        skin=skin,
        teeth=not shows_teeth,
        bite=fields.pose.teeth,
    )[:, 0]
    # What the photo shows between its lips (its teeth when it smiles; the dark line of shut
    # lips) belongs to the upper jaw, the skull: it stays under the upper lip, moved with it,
    # and the gap opens below it. At rest the mouth is then the photo's own.
    sx, sy = warp.mouth_upper[sel].T
    su, sv = face.to_face(sx, sy)
    photo = np.clip(sv - face.contour(UPPER_INNER, su) + 0.5, 0.0, 1.0) * np.clip(
        face.contour(LOWER_INNER, su) - sv + 0.5, 0.0, 1.0
    )
    return _Inside(
        ys=rows + by0,
        xs=cols + bx0,
        sx=sx.astype(np.float32),
        sy=sy.astype(np.float32),
        painted=painted.astype(np.float32),
        own_share=np.minimum(photo, alpha).astype(np.float32),
        painted_share=np.maximum(alpha - photo, 0.0).astype(np.float32),
    )


def _sampled(image: Frame, sx: Floats, sy: Floats) -> npt.NDArray[np.float32]:
    """``image`` (one plane or RGB) bilinearly at the points: (n,) or (n, 3) float32."""
    got = cv2.remap(
        image,
        np.asarray(sx, np.float32)[:, None],
        np.asarray(sy, np.float32)[:, None],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(got, np.float32)[:, 0]


def _paint_inside_i420(frame: Frame, out: Frame, warp: _Warp) -> None:
    """Paint the opened mouth's inside into ``out``'s planes (in place) within
    ``warp.mouth`` (even corners): per pixel in Y; per 2x2 block in U and V, each block's chroma
    moved towards its pixels' mean cover as much as they are covered (the mix is linear,
    so this is what converting the painted RGB pixels would make)."""
    face = warp.face
    points = face.points
    lips = _colour_at_i420(frame, (points[list(UPPER_OUTER)] + points[list(UPPER_INNER)]) / 2)
    skin = _colour_at_i420(frame, points[list(CHEEKS)])
    inside = _inside(warp, lips, skin)
    if inside is None or warp.mouth is None:
        return
    box = warp.mouth
    y, u, v = i420_planes(frame)
    oy, ou, ov = i420_planes(out)
    painted = cv2.transform(inside.painted[:, None, :], _RGB_TO_YUV)[:, 0]
    own_share, painted_share = inside.own_share, inside.painted_share
    target = (inside.ys, inside.xs)
    current = oy[target].astype(np.float32)
    own = _sampled(y, inside.sx, inside.sy)
    mixed = current + (own - current) * own_share + (painted[:, 0] - current) * painted_share
    oy[target] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    bx0, by0, bx1, by1 = box
    local = (inside.ys - by0, inside.xs - bx0)
    size = ((bx1 - bx0) // 2, (by1 - by0) // 2)
    cover = np.zeros((by1 - by0, bx1 - bx0), np.float32)
    cover[local] = own_share + painted_share
    covered = np.asarray(cv2.resize(cover, size, interpolation=cv2.INTER_AREA), np.float32)
    blocks = covered > 0.0
    cx, cy = (inside.sx - 0.5) / 2, (inside.sy - 0.5) / 2
    for channel, (plane, into) in enumerate(((u, ou), (v, ov)), start=1):
        given = np.zeros_like(cover)
        given[local] = own_share * _sampled(plane, cx, cy) + painted_share * painted[:, channel]
        mean = np.asarray(cv2.resize(given, size, interpolation=cv2.INTER_AREA), np.float32)
        sub = into[by0 // 2 : by1 // 2, bx0 // 2 : bx1 // 2]
        mixed_c = sub.astype(np.float32) * (1.0 - covered) + mean
        sub[blocks] = np.clip(mixed_c[blocks] + 0.5, 0, 255).astype(np.uint8)


__all__ = [
    "FacePose",
    "FaceTrack",
    "LipSync",
    "LipSyncReport",
    "animate_face",
    "animate_face_i420",
    "blink_curve",
    "i420_box",
]
