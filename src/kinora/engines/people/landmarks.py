"""Faces and bodies in a picture: face boxes, the 468-point face mesh, the 33-point body pose.

The lip-sync, character-animation and try-on engines need to know where a face's mouth,
eyes and jaw are, and where a body's shoulders, hips and wrists are, in every frame they
animate or read. MediaPipe's models answer that on a CPU in a few milliseconds; this module
runs them without MediaPipe (its wheel pins numpy<2 and brings a graph runtime) by feeding the
``.tflite`` files to ``ai-edge-litert`` and doing MediaPipe's pre- and post-processing here:

- :func:`detect_faces`: BlazeFace short range on the whole picture letterboxed to 128x128
  (SSD anchors, sigmoid scores, weighted non-maximum suppression), six keypoints per face.
- :func:`face_mesh`: the face landmark model on a 192x192 crop of the face's region, rotated
  so the eyes are level, as MediaPipe does (the model was trained on upright faces; a tilted
  head fed unrotated loses the mesh). :meth:`FaceMesh.roi` gives the next frame's region,
  so a video needs the detector only when the mesh loses the face (:func:`track_face`).
- :func:`detect_pose`: the BlazePose detector gives the body's region (centre at the hips,
  size and rotation from its body-circle keypoint); the 33-point landmark model runs on that
  region's 256x256 crop (fed the whole frame it places keypoints poorly), refined by its
  heatmap, with a visibility per point.

Every coordinate is in the input picture's pixels, continuous (pixel ``i`` spans ``[i, i+1)``,
MediaPipe's normalized coordinates times the picture's size); ``z`` is relative depth in the
same pixel scale (smaller is nearer the camera). Images are RGB ``uint8`` arrays (H, W, 3).

The models load once per process and file, on first use, behind a lock; each model runs under
its own lock too (a TFLite interpreter is not re-entrant), so threads may share them. Files are
found under ``<models dir>/mediapipe`` (``KINORA_MODELS_DIR`` or the installation's models
dir); :class:`LandmarkModelsMissing` says how to install them when they are absent.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from kinora.config import default_models_dir
from kinora.engines.people.models import (
    FACE_DETECTOR,
    FACE_MESH,
    FIX,
    POSE_DETECTOR,
    POSE_LANDMARKS,
    LandmarkModel,
)

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]

LITERT_THREADS = 1
"""Threads per interpreter: the models are small (1-14 ms on one core), and a worker's other
core encodes; one thread also keeps results identical run to run."""


class LandmarkModelsMissing(FileNotFoundError):
    """A landmark model file is not installed (or the TFLite runtime is not)."""


# --- models ---------------------------------------------------------------------------------


class _Model:
    """One TFLite interpreter; ``run`` is serialised because an interpreter is not re-entrant."""

    def __init__(self, path: Path) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise LandmarkModelsMissing(
                "the TFLite runtime ai-edge-litert is not installed: pip install ai-edge-litert"
            ) from exc
        self.path = path
        self._interpreter = Interpreter(model_path=str(path), num_threads=LITERT_THREADS)
        self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self.input_index = int(inp["index"])
        self.input_size = int(inp["shape"][1])
        self._outputs = [
            (int(d["index"]), tuple(int(s) for s in d["shape"]))
            for d in self._interpreter.get_output_details()
        ]
        self._lock = threading.Lock()

    def run(self, tensor: npt.NDArray[np.float32]) -> dict[tuple[int, ...], np.ndarray]:
        """Outputs by shape (the models' output names are not stable across conversions)."""
        with self._lock:
            self._interpreter.set_tensor(self.input_index, tensor[None])
            self._interpreter.invoke()
            return {
                shape: np.array(self._interpreter.get_tensor(index), dtype=np.float32)
                for index, shape in self._outputs
            }


_models: dict[Path, _Model] = {}
_models_lock = threading.Lock()


def resolve_models_dir(models_dir: Path | None) -> Path:
    """``models_dir``, else ``KINORA_MODELS_DIR``, else the installation's models dir."""
    if models_dir is None:
        models_dir = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir())
    return Path(models_dir).expanduser().resolve()


def _model(spec: LandmarkModel, models_dir: Path | None) -> _Model:
    path = spec.path(resolve_models_dir(models_dir))
    model = _models.get(path)
    if model is not None:
        return model
    with _models_lock:
        model = _models.get(path)
        if model is None:
            if not path.is_file():
                raise LandmarkModelsMissing(f"MediaPipe {spec.key} model missing: {path}; {FIX}")
            model = _models[path] = _Model(path)
        return model


# --- geometry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle of the picture a landmark model looks at.

    ``rotation`` is in radians, positive turning the rectangle's x axis clockwise on screen
    (image y points down): the region's point at offset (u, v) from its centre, in its own
    axes, is ``centre + R(rotation) @ (u, v)``. This is MediaPipe's NormalizedRect in pixels.
    """

    center_x: float
    center_y: float
    width: float
    height: float
    rotation: float = 0.0

    def to_image(self, size: int) -> npt.NDArray[np.float64]:
        """The 2x3 affine map from a ``size`` x ``size`` crop's pixels to the picture's."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        a = np.array([[c, -s], [s, c]]) @ np.diag([self.width / size, self.height / size])
        b = np.array([self.center_x, self.center_y]) - a @ np.array([size / 2.0, size / 2.0])
        return np.hstack([a, b[:, None]])

    def corners(self) -> Points:
        """The four corners in picture pixels (top-left, top-right, bottom-right, bottom-left
        of the region's own axes)."""
        m = self.to_image(1)
        unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)
        return (unit @ m[:, :2].T + m[:, 2]).astype(np.float32)


def _rotation(start: npt.ArrayLike, end: npt.ArrayLike, target: float) -> float:
    """MediaPipe's DetectionsToRects rotation: turn the start->end vector to ``target``
    radians (0 = pointing right, pi/2 = pointing up), normalised to [-pi, pi)."""
    x0, y0 = (float(v) for v in np.asarray(start)[:2])
    x1, y1 = (float(v) for v in np.asarray(end)[:2])
    angle = target - math.atan2(-(y1 - y0), x1 - x0)
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def _square_roi(cx: float, cy: float, w: float, h: float, rotation: float, scale: float) -> Roi:
    """RectTransformation with ``square_long``: the longer side, scaled, both ways."""
    side = max(w, h) * scale
    return Roi(cx, cy, side, side, rotation)


def _crop(
    image: Image,
    roi: Roi,
    size: int,
    *,
    value_range: tuple[float, float],
    border: int = cv2.BORDER_REPLICATE,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """The region resampled to ``size`` x ``size`` float32 in ``value_range``, and the map from
    crop pixels to picture pixels. A region much larger than the crop is taken from an
    area-averaged smaller copy first (bilinear sampling alone would alias)."""
    m = roi.to_image(size)
    src: np.ndarray = image
    shrink = min(roi.width, roi.height) / size
    if shrink > 2.0:
        h, w = image.shape[:2]
        factor = int(shrink)
        sw, sh = max(1, round(w / factor)), max(1, round(h / factor))
        src = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        m_src = np.diag([sw / w, sh / h]) @ m
    else:
        m_src = m
    # OpenCV puts pixel centres on integers; the maps here put them at +0.5.
    cv = m_src.copy()
    cv[:, 2] = m_src[:, :2] @ np.array([0.5, 0.5]) + m_src[:, 2] - 0.5
    crop = cv2.warpAffine(
        src,
        cv,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=border,
        borderValue=(0, 0, 0),
    )
    lo, hi = value_range
    tensor = crop.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
    return tensor, m


def _to_image(points: npt.NDArray[np.float32], m: npt.NDArray[np.float64]) -> Points:
    """Crop pixels (N, 2+) to picture pixels; a third column (depth) scales with the crop."""
    out = np.array(points, dtype=np.float64, copy=True)
    out[:, :2] = points[:, :2] @ m[:, :2].T + m[:, 2]
    if out.shape[1] > 2:
        out[:, 2] = points[:, 2] * math.hypot(m[0, 0], m[1, 0])
    return out.astype(np.float32)


def _rgb(image: npt.ArrayLike) -> Image:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr[..., :3])


def _sigmoid(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=np.float32), -80, 80)))).astype(
        np.float32
    )


# --- SSD detection (BlazeFace, BlazePose detector) --------------------------------------------


@cache
def _anchors(size: int, strides: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """SsdAnchorsCalculator with fixed anchor size, one aspect ratio: two anchors per layer and
    cell, layers of equal stride sharing a grid; centres in crop pixels."""
    centres: list[tuple[float, float]] = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        same = 0
        while i < len(strides) and strides[i] == stride:
            same += 1
            i += 1
        cells = math.ceil(size / stride)
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells * size, (y + 0.5) / cells * size)] * (2 * same)
    return np.array(centres, dtype=np.float32)


def _iou(box: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    iou: npt.NDArray[np.float32] = (inter / np.maximum(area + areas - inter, 1e-9)).astype(
        np.float32
    )
    return iou


def _ssd_detect(
    model: _Model,
    image: Image,
    strides: tuple[int, ...],
    *,
    keypoints: int,
    min_score: float,
    iou_threshold: float = 0.3,
) -> list[tuple[float, npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    """(score, box x0 y0 x1 y1, keypoints (K, 2)) in picture pixels, best first.

    The picture is letterboxed into the square input (black bars, as MediaPipe's
    keep-aspect-ratio crop pads), boxes are decoded against the anchors and merged with
    MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score,
    which steadies them frame to frame more than keeping the single best would.
    """
    h, w = image.shape[:2]
    size = model.input_size
    side = float(max(h, w))
    roi = Roi(w / 2.0, h / 2.0, side, side)
    tensor, m = _crop(image, roi, size, value_range=(-1.0, 1.0), border=cv2.BORDER_CONSTANT)
    anchors = _anchors(size, strides)
    outputs = model.run(tensor)
    coords = 4 + 2 * keypoints
    raw = outputs[(1, len(anchors), coords)][0]
    scores = _sigmoid(outputs[(1, len(anchors), 1)][0, :, 0])
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    raw, scores, anc = raw[keep], scores[keep], anchors[keep]
    cx = raw[:, 0] + anc[:, 0]
    cy = raw[:, 1] + anc[:, 1]
    half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    kps = raw[:, 4:].reshape(-1, keypoints, 2) + anc[:, None, :]

    found = []
    order = np.argsort(-scores, kind="stable")
    boxes, kps, scores = boxes[order], kps[order], scores[order]
    remaining = np.arange(len(scores))
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining]) > iou_threshold
        group = remaining[overlap]
        remaining = remaining[~overlap]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(axis=0) / weights.sum()
        kp = (kps[group] * weights[:, :, None]).sum(axis=0) / weights.sum()
        corners = _to_image(box.reshape(2, 2), m).reshape(4)
        found.append((float(scores[top]), corners, _to_image(kp, m)))
    return found


# --- faces ----------------------------------------------------------------------------------

FACE_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")
"""BlazeFace's keypoints, in order; "right" is the person's right (the picture's left side
for a face looking at the camera)."""

FACE_MIN_SCORE = 0.5
MESH_MIN_SCORE = 0.5
"""MediaPipe's thresholds: a detection and a mesh's face-presence score."""


def _freeze(*arrays: np.ndarray) -> None:
    for arr in arrays:
        arr.setflags(write=False)


@dataclass(frozen=True, eq=False)
class FaceBox:
    """A detected face: its box, BlazeFace's six keypoints, and its score. Its arrays are
    read-only (frozen like the rest); equality is identity (arrays have no single ==)."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    keypoints: Points = field(repr=False)
    """(6, 2): right eye, left eye, nose tip, mouth centre, right ear, left ear."""

    def __post_init__(self) -> None:
        _freeze(self.keypoints)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def keypoint(self, name: str) -> tuple[float, float]:
        x, y = self.keypoints[FACE_KEYPOINTS.index(name)]
        return float(x), float(y)

    def roi(self) -> Roi:
        """The face mesh's region: the box squared on its longer side and enlarged 1.5x,
        turned so the eyes (keypoints 0 -> 1) are level (MediaPipe's face_detection_to_roi)."""
        rotation = _rotation(self.keypoints[0], self.keypoints[1], 0.0)
        return _square_roi(
            (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2, self.width, self.height, rotation, 1.5
        )


def detect_faces(
    rgb: npt.ArrayLike, *, min_score: float = FACE_MIN_SCORE, models_dir: Path | None = None
) -> list[FaceBox]:
    """Faces in the picture, largest first. BlazeFace short range is made for faces near the
    camera: a face narrower than about an eighth of the picture's longer side (measured: 12%)
    is missed, so a group photo's distant faces are; crop to the region first for those."""
    image = _rgb(rgb)
    model = _model(FACE_DETECTOR, models_dir)
    found = _ssd_detect(model, image, (8, 16, 16, 16), keypoints=6, min_score=min_score)
    faces = [
        FaceBox(float(b[0]), float(b[1]), float(b[2]), float(b[3]), score, kp)
        for score, b, kp in found
    ]
    return sorted(faces, key=lambda f: f.area, reverse=True)


# Face mesh indices (MediaPipe's canonical face model).
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))
"""Upper and lower inner-lip points, left of centre, centre, right of centre."""
MOUTH_CORNERS = (61, 291)
FACE_TOP, CHIN = 10, 152
RIGHT_EYE = (33, 133, 159, 145)
"""Outer corner, inner corner, upper lid, lower lid (the person's right eye)."""
LEFT_EYE = (263, 362, 386, 374)
NOSE_TIP = 1


@dataclass(frozen=True, eq=False)
class FaceMesh:
    """The 468-point face mesh in picture pixels (x, y, z), with the region it was read from."""

    points: Points = field(repr=False)
    """(468, 3) float32, read-only."""
    score: float
    """Face presence (0-1); below 0.5 the crop held no face (the track is lost)."""
    roi: Roi

    def __post_init__(self) -> None:
        _freeze(self.points)

    def _dist(self, a: int, b: int) -> float:
        return float(np.hypot(*(self.points[a, :2] - self.points[b, :2])))

    @property
    def mouth_gap(self) -> float:
        """The inner lips' distance in pixels, averaged over three upper/lower pairs (one pair
        alone jitters with the lip's shape)."""
        return float(np.mean([self._dist(a, b) for a, b in INNER_LIP_PAIRS]))

    @property
    def mouth_width(self) -> float:
        """Corner to corner of the mouth, in pixels."""
        return self._dist(*MOUTH_CORNERS)

    @property
    def face_height(self) -> float:
        """Forehead top to chin, in pixels."""
        return self._dist(FACE_TOP, CHIN)

    def mouth_opening(
        self, relative_to: Literal["mouth_width", "face_height"] = "mouth_width"
    ) -> float:
        """How open the mouth is, independent of the face's size in the picture: the inner-lip
        gap (:attr:`mouth_gap`) over the mouth's width (the "mouth aspect ratio": about 0 shut,
        0.1-0.3 talking, 0.5 and more wide open or a yawn) or over the face's height (about
        0-0.15; steadier when the lips also spread or round, as in "ee" and "oo", which
        change the width but not the height much, while a dropping jaw lengthens the face a
        little)."""
        gap = self.mouth_gap
        if relative_to == "mouth_width":
            return gap / max(self.mouth_width, 1e-6)
        if relative_to == "face_height":
            return gap / max(self.face_height, 1e-6)
        raise ValueError(f"relative_to must be mouth_width or face_height, not {relative_to!r}")

    def eye_opening(self) -> tuple[float, float]:
        """Lid gap over eye width for the person's right and left eye (about 0.25-0.35 open,
        under 0.1 shut): for blinks."""
        out = []
        for outer, inner, upper, lower in (RIGHT_EYE, LEFT_EYE):
            out.append(self._dist(upper, lower) / max(self._dist(outer, inner), 1e-6))
        return out[0], out[1]

    def box(self) -> tuple[float, float, float, float]:
        """The mesh's bounding box (x0, y0, x1, y1)."""
        x0, y0 = self.points[:, :2].min(axis=0)
        x1, y1 = self.points[:, :2].max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def next_roi(self) -> Roi:
        """The region to read the next video frame's mesh from: the mesh's box squared and
        enlarged 1.5x, turned so the eye corners (33 -> 263) are level (MediaPipe's
        face_landmarks_to_roi); tracking so skips the detector while the face stays found."""
        x0, y0, x1, y1 = self.box()
        rotation = _rotation(self.points[RIGHT_EYE[0]], self.points[LEFT_EYE[0]], 0.0)
        return _square_roi((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation, 1.5)


def face_mesh(
    rgb: npt.ArrayLike, face: FaceBox | Roi, *, models_dir: Path | None = None
) -> FaceMesh:
    """The face mesh of one face, from its detection (:func:`detect_faces`) or a region
    (:meth:`FaceMesh.next_roi` of the previous frame). Check :attr:`FaceMesh.score`: a
    region holding no face still yields points, with a low score."""
    image = _rgb(rgb)
    roi = face.roi() if isinstance(face, FaceBox) else face
    model = _model(FACE_MESH, models_dir)
    tensor, m = _crop(image, roi, model.input_size, value_range=(0.0, 1.0))
    outputs = model.run(tensor)
    raw = outputs[(1, 1, 1, 1404)].reshape(468, 3)
    score = float(_sigmoid(outputs[(1, 1, 1, 1)].reshape(()))[()])
    return FaceMesh(_to_image(raw, m), score, roi)


def track_face(
    rgb: npt.ArrayLike,
    previous: FaceMesh | None = None,
    *,
    models_dir: Path | None = None,
) -> FaceMesh | None:
    """The largest face's mesh in a video frame, following ``previous`` (the last frame's
    mesh) when it is given and still finds a face; else from a fresh detection. None when no
    face is found. This is MediaPipe's face mesh in video mode."""
    image = _rgb(rgb)
    if previous is not None and previous.score >= MESH_MIN_SCORE:
        mesh = face_mesh(image, previous.next_roi(), models_dir=models_dir)
        if mesh.score >= MESH_MIN_SCORE:
            return mesh
    faces = detect_faces(image, models_dir=models_dir)
    if not faces:
        return None
    mesh = face_mesh(image, faces[0], models_dir=models_dir)
    return mesh if mesh.score >= MESH_MIN_SCORE else None


# --- bodies ---------------------------------------------------------------------------------

POSE_LANDMARK_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
"""BlazePose's 33 landmarks, in order; left and right are the person's."""

POSE_MIN_SCORE = 0.5
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True, eq=False)
class Pose:
    """One body's 33 landmarks in picture pixels (x, y, z) with visibility and presence."""

    points: Points = field(repr=False)
    """(33, 3) float32; z is depth relative to the hips, in the same pixel scale."""
    visibility: npt.NDArray[np.float32] = field(repr=False)
    """(33,) how likely each point is visible (not occluded) in the picture, 0-1."""
    presence: npt.NDArray[np.float32] = field(repr=False)
    """(33,) how likely each point is inside the picture at all, 0-1."""
    score: float
    """The landmark model's pose presence (0-1)."""
    detection_score: float
    roi: Roi

    def __post_init__(self) -> None:
        _freeze(self.points, self.visibility, self.presence)

    def point(self, name: str) -> tuple[float, float]:
        x, y = self.points[POSE_LANDMARK_NAMES.index(name), :2]
        return float(x), float(y)

    def visible(self, name: str, threshold: float = 0.5) -> bool:
        return bool(self.visibility[POSE_LANDMARK_NAMES.index(name)] >= threshold)


def _refine_from_heatmap(xy: npt.NDArray[np.float32], heatmap: npt.NDArray[np.float32]) -> None:
    """MediaPipe's RefineLandmarksFromHeatmap: each point (in [0, 1] of the crop) moves to the
    confidence-weighted mean of its 7x7 heatmap neighbourhood when that is confident. In place."""
    hh, hw, _ = heatmap.shape
    offset = (HEATMAP_KERNEL - 1) // 2
    for i in range(xy.shape[0]):
        col, row = int(xy[i, 0] * hw), int(xy[i, 1] * hh)
        if not (0 <= col < hw and 0 <= row < hh):
            continue
        r0, r1 = max(0, row - offset), min(hh, row + offset + 1)
        c0, c1 = max(0, col - offset), min(hw, col + offset + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i])
        total = float(conf.sum())
        if float(conf.max()) < HEATMAP_MIN_CONFIDENCE or total <= 0:
            continue
        rows, cols = np.mgrid[r0:r1, c0:c1]
        xy[i, 0] = float((cols * conf).sum()) / hw / total
        xy[i, 1] = float((rows * conf).sum()) / hh / total


def detect_pose(
    rgb: npt.ArrayLike, *, min_score: float = POSE_MIN_SCORE, models_dir: Path | None = None
) -> Pose | None:
    """The most confident person's pose, or None when the detector finds no person or the
    landmark model sees none in the region (presence under ``min_score``)."""
    image = _rgb(rgb)
    detector = _model(POSE_DETECTOR, models_dir)
    found = _ssd_detect(detector, image, (8, 16, 32, 32, 32), keypoints=4, min_score=min_score)
    if not found:
        return None
    det_score, _box, kps = found[0]
    # Keypoint 0 is the hips' centre, keypoint 1 a point on the circle enclosing the body:
    # the region is that circle's square, upright when the body is (target 90 degrees).
    hips, circle = kps[0], kps[1]
    radius = float(np.hypot(*(circle - hips)))
    rotation = _rotation(hips, circle, math.pi / 2)
    roi = _square_roi(float(hips[0]), float(hips[1]), 2 * radius, 2 * radius, rotation, 1.25)
    return pose_in_roi(image, roi, detection_score=det_score, models_dir=models_dir)


def pose_in_box(
    rgb: npt.ArrayLike,
    box: tuple[float, float, float, float],
    *,
    min_score: float = POSE_MIN_SCORE,
    models_dir: Path | None = None,
) -> Pose | None:
    """The body's landmarks in a box known to hold one person (x0, y0, x1, y1: a subject
    mask's bounds), upright. BlazePose's detector finds people by their faces, so a body
    whose face is hidden or turned away is found this way instead (``detection_score`` 0:
    no detector saw it). The landmark model's confidence swings with the region's margin
    (measured on a footballer with his face covered: 0.96 at the box's own size, 0.28 at
    1.15x, 0.80 at 1.5x), so three margins are tried and the surest kept."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 8 or h < 8:
        return None
    image = _rgb(rgb)
    best: Pose | None = None
    for scale in (1.0, 1.25, 1.5):
        roi = _square_roi((x0 + x1) / 2, (y0 + y1) / 2, w, h, 0.0, scale)
        pose = pose_in_roi(
            image, roi, detection_score=0.0, min_score=min_score, models_dir=models_dir
        )
        if pose is not None and (best is None or pose.score > best.score):
            best = pose
    return best


def pose_in_roi(
    rgb: npt.ArrayLike,
    roi: Roi,
    *,
    detection_score: float = 1.0,
    min_score: float = POSE_MIN_SCORE,
    models_dir: Path | None = None,
) -> Pose | None:
    """The 33-point landmarks of the body in ``roi`` (from :func:`detect_pose`, or a region an
    engine already knows); None when the model sees no body there."""
    image = _rgb(rgb)
    model = _model(POSE_LANDMARKS, models_dir)
    size = model.input_size
    tensor, m = _crop(image, roi, size, value_range=(0.0, 1.0))
    outputs = model.run(tensor)
    score = float(outputs[(1, 1)].reshape(()))  # a probability already (a sigmoid in the model)
    if score < min_score:
        return None
    raw = outputs[(1, 195)].reshape(39, 5)[:33]
    heatmap = outputs[(1, 64, 64, 39)][0]
    xy = (raw[:, :2] / size).astype(np.float32)
    _refine_from_heatmap(xy, heatmap)
    crop_points = np.concatenate([xy * size, raw[:, 2:3]], axis=1).astype(np.float32)
    return Pose(
        points=_to_image(crop_points, m),
        visibility=_sigmoid(raw[:, 3]),
        presence=_sigmoid(raw[:, 4]),
        score=score,
        detection_score=detection_score,
        roi=roi,
    )


def loaded_models() -> list[Path]:
    """The model files this process has loaded (for diagnostics)."""
    with _models_lock:
        return list(_models)


__all__: list[str] = [
    "FACE_KEYPOINTS",
    "POSE_LANDMARK_NAMES",
    "FaceBox",
    "FaceMesh",
    "LandmarkModelsMissing",
    "Pose",
    "Roi",
    "detect_faces",
    "detect_pose",
    "face_mesh",
    "pose_in_roi",
    "track_face",
]
