"""Reading a driving video: per output frame, how its face and body moved since its start.

The character must perform the driver's *motion*, not take on the driver's face or build, so
everything here is relative and size-free: the mouth's opening above the driver's own shut
mouth, eye closure against its own open eyes, the brows against their usual height, head
turn, nod, tilt and position against the first frame (positions in face heights), and each
bone's angle change against the first frame (body shift in body heights). A frame where the
face or body is lost holds the nearest found value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kinora.engines.base import Clip
from kinora.engines.people.faceparts import BROWS, EYES, FaceMeasures, FaceState, face_measures
from kinora.engines.people.landmarks import Pose, detect_pose, pose_in_box, track_face
from kinora.engines.people.skeleton import BONES, NECK, PELVIS, angle_of, pose_joints, wrap
from kinora.errors import RenderError

F64 = npt.NDArray[np.float64]

MIN_FOUND = 0.5
"""The share of frames a face or a body must be found in for the video to drive anything."""
YAW_GAIN = 1.0 / 0.15
PITCH_GAIN = 1.0 / 0.12
FOOT_LIMIT = 0.5
"""Radians a driven foot may turn: the toe landmark is the pose's noisiest, and a foot spun by
its jitter drags whatever lies at it (a ball, the floor's edge)."""
"""FaceState units per unit of the measured yaw and pitch (what faceparts' warp moves them)."""


@dataclass(frozen=True)
class DrivenFrame:
    face: FaceState | None
    head_turn: float
    """Radians the head tilts (added to the head bone)."""
    head_shift: tuple[float, float]
    """Face-centre shift in face heights."""
    turns: dict[str, float]
    """Per bone, the local angle change in radians."""
    root_shift: tuple[float, float]
    """Body shift in body heights."""


def _fill(values: list[float | None]) -> F64:
    """Gaps held at the nearest found value."""
    arr = np.array([np.nan if v is None else v for v in values], np.float64)
    found = np.flatnonzero(~np.isnan(arr))
    if found.size == 0:
        return np.zeros(len(values))
    idx = np.arange(len(arr))
    nearest = found[np.abs(idx[:, None] - found[None, :]).argmin(axis=1)]
    out: F64 = arr[nearest]
    return out


def _brow_height(mesh_points: npt.NDArray[np.float32], height: float) -> float:
    lids = [mesh_points[list(up), 1].mean() for up, _lo, _c in EYES]
    brows = [mesh_points[list(b), 1].mean() for b in BROWS]
    return float(np.mean(lids) - np.mean(brows)) / max(height, 1e-6)


def _local_angles(pose: Pose, shape: tuple[int, int]) -> dict[str, float]:
    """Each bone's angle relative to its parent (to the picture for roots)."""
    joints, ok = pose_joints(pose, shape)
    world: dict[str, float] = {}
    local: dict[str, float] = {}
    for bone in BONES:
        if not (ok[bone.start] and ok[bone.end]):
            continue
        world[bone.name] = angle_of(joints[bone.end] - joints[bone.start])
        parent = world.get(bone.parent) if bone.parent else 0.0
        if parent is None:
            continue
        local[bone.name] = wrap(world[bone.name] - parent)
    return local


def _root(pose: Pose, shape: tuple[int, int]) -> tuple[float, float, float] | None:
    """(x, y, body height) of the body's root: the pelvis, else the neck."""
    joints, ok = pose_joints(pose, shape)
    for joint in (PELVIS, NECK):
        if ok[joint]:
            pts = joints[ok]
            height = float(pts[:, 1].max() - pts[:, 1].min())
            return float(joints[joint, 0]), float(joints[joint, 1]), max(height, 1.0)
    return None


def follow_pose(
    image: npt.ArrayLike, last: Pose | None, *, models_dir: Path | None = None
) -> Pose | None:
    """The body's pose in a driving frame: BlazePose's detector, which finds people by their
    faces; when it finds none (a dancer turning away, a hand over the face), the landmarks
    read where the body was in the frame before (its visible points' bounds, a fifth wider),
    as BlazePose's own video mode tracks."""
    pose = detect_pose(image, models_dir=models_dir)
    if pose is not None or last is None:
        return pose
    seen = last.points[last.visibility > 0.5, :2]
    if len(seen) < 4:
        return None
    h, w = np.asarray(image).shape[:2]
    (x0, y0), (x1, y1) = seen.min(axis=0), seen.max(axis=0)
    mx, my = 0.2 * (x1 - x0), 0.2 * (y1 - y0)
    box = (
        max(0.0, float(x0 - mx)),
        max(0.0, float(y0 - my)),
        min(float(w), float(x1 + mx)),
        min(float(h), float(y1 + my)),
    )
    return pose_in_box(image, box, models_dir=models_dir)


def read_driver(
    clip: Clip, frames: int, fps: float, *, models_dir: Path | None = None
) -> list[DrivenFrame]:
    """One :class:`DrivenFrame` per output frame (the driver resampled to ``fps``); raises
    RenderError when the video shows neither a face nor a person."""
    if not clip.frames:
        raise RenderError("the driving video has no frames")
    picks = [min(len(clip.frames) - 1, int(i / fps * clip.fps + 1e-6)) for i in range(frames)]
    faces: dict[int, FaceMeasures | None] = {}
    brows: dict[int, float] = {}
    poses: dict[int, Pose | None] = {}
    previous = None
    last_pose: Pose | None = None
    for index in sorted(set(picks)):
        image = np.asarray(clip.frames[index])
        mesh = track_face(image, previous, models_dir=models_dir)
        previous = mesh
        faces[index] = face_measures(mesh) if mesh is not None else None
        if mesh is not None:
            brows[index] = _brow_height(mesh.points[:, :2], mesh.face_height)
        last_pose = poses[index] = follow_pose(image, last_pose, models_dir=models_dir)
    used = sorted(faces)
    face_share = sum(faces[i] is not None for i in used) / len(used)
    shape = np.asarray(clip.frames[0]).shape[:2]
    bodies = sum((p := poses[i]) is not None and _root(p, shape) is not None for i in used)
    body_share = bodies / len(used)
    if face_share < MIN_FOUND and body_share < MIN_FOUND:
        raise RenderError(
            "the driving video shows no detectable person or face "
            f"(a face in {face_share:.0%} of its frames, a body in {body_share:.0%})"
        )
    return _relative(picks, faces, brows, poses, shape, face_share, body_share)


def _relative(
    picks: list[int],
    faces: dict[int, FaceMeasures | None],
    brows: dict[int, float],
    poses: dict[int, Pose | None],
    shape: tuple[int, int],
    face_share: float,
    body_share: float,
) -> list[DrivenFrame]:
    n = len(picks)

    def series(get: Callable[[FaceMeasures], float]) -> F64:
        return _fill([get(m) if (m := faces[i]) is not None else None for i in picks])

    use_face = face_share >= MIN_FOUND
    mouth = series(lambda m: m.mouth)
    eye_r = series(lambda m: m.eyes[0])
    eye_l = series(lambda m: m.eyes[1])
    yaw = series(lambda m: m.yaw)
    pitch = series(lambda m: m.pitch)
    roll = series(lambda m: m.roll)
    cx = series(lambda m: m.centre[0])
    cy = series(lambda m: m.centre[1])
    fh = series(lambda m: m.height)
    brow = _fill([brows.get(i) for i in picks])
    shut = float(np.percentile(mouth, 5))
    eye_open = (float(np.percentile(eye_r, 90)), float(np.percentile(eye_l, 90)))
    brow_mid = float(np.median(brow))
    scale = max(float(np.median(fh)), 1.0)

    use_body = body_share >= MIN_FOUND
    found = [poses[i] for i in picks]
    angles = [_local_angles(p, shape) if p is not None else {} for p in found]
    roots = [_root(p, shape) if p is not None else None for p in found]
    first_angles = next((a for a in angles if a), {})
    first_root = next((r for r in roots if r is not None), None)

    out: list[DrivenFrame] = []
    for k in range(n):
        face = None
        head_turn = 0.0
        head_shift = (0.0, 0.0)
        if use_face:
            closure = []
            for value, base in ((eye_r[k], eye_open[0]), (eye_l[k], eye_open[1])):
                ratio = value / max(base, 1e-6)
                closure.append(float(np.clip((0.75 - ratio) / 0.5, 0.0, 1.0)))
            face = FaceState(
                mouth=float(max(0.0, mouth[k] - shut)),
                blink=(closure[0], closure[1]),
                brow=float(np.clip(brow[k] - brow_mid, -0.03, 0.03)),
                yaw=float(np.clip((yaw[k] - yaw[0]) * YAW_GAIN, -1.0, 1.0)),
                pitch=float(np.clip((pitch[k] - pitch[0]) * PITCH_GAIN, -1.0, 1.0)),
            )
            head_turn = -wrap(float(roll[k] - roll[0]))
            head_shift = ((cx[k] - cx[0]) / scale, (cy[k] - cy[0]) / scale)
        turns: dict[str, float] = {}
        root_shift = (0.0, 0.0)
        if use_body:
            for name, value in angles[k].items():
                if name in first_angles and name != "head":
                    limit = FOOT_LIMIT if name.endswith("_foot") else 2.6
                    turns[name] = float(np.clip(wrap(value - first_angles[name]), -limit, limit))
            root = roots[k]
            if root is not None and first_root is not None:
                root_shift = (
                    (root[0] - first_root[0]) / first_root[2],
                    (root[1] - first_root[1]) / first_root[2],
                )
        out.append(DrivenFrame(face, head_turn, head_shift, turns, root_shift))
    return out
