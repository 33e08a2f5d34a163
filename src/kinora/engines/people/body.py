"""The person of a try-on: where the garment goes on them and what stays in front of it.

From the pose's landmarks and ISNet's person mask: the body points a garment's anchors pair
with (:attr:`Body.anchors`, the joints with the outline's margin around them), the torso's
quadrilateral (shoulders to hips, for measuring), and the parts of the person that are in
front of any garment: the head with its hair and neck, the hands, and forearms held in front
of the body (the pose's depth says which). A person the pose model cannot find, or one whose
shoulders it cannot see, is refused with :class:`BodyError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.people.landmarks import (
    POSE_LANDMARK_NAMES,
    Pose,
    detect_faces,
    detect_pose,
    face_mesh,
    resolve_models_dir,
)
from kinora.engines.people.masks import subject_mask

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.float32]
Point = tuple[float, float]


class BodyError(ValueError):
    """No body to dress in the person image (the reason is in the message)."""


JOINTS = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
FRONT_MARGIN = 0.12
"""How much nearer the camera than the torso (in shoulder widths of the pose's depth) a
forearm must be to be drawn in front of the garment rather than under its sleeve."""


@dataclass(frozen=True, eq=False)
class Body:
    pose: Pose
    mask: Mask = field(repr=False)
    """The person (ISNet), soft, at the picture's size."""
    anchors: dict[str, Point]
    """Joint name (and "neck") to picture point."""
    front: Mask = field(repr=False)
    """What is in front of a garment: head, hair, neck, hands, forearms held before the body."""
    shoulder_width: float
    size: tuple[int, int]
    """The picture's (width, height)."""

    def in_picture(self, name: str) -> bool:
        """Whether the landmark is inside the picture (not guessed beyond its edge)."""
        x, y = self.pose.point(name)
        present = self.pose.presence[POSE_LANDMARK_NAMES.index(name)] >= 0.5
        return bool(present and 0 <= x < self.size[0] and 0 <= y < self.size[1])

    def torso_quad(self) -> npt.NDArray[np.float32]:
        """Shoulders and hips (left shoulder, right shoulder, right hip, left hip)."""
        names = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
        return np.array([self.pose.point(n) for n in names], np.float32)


def _capsule(mask: npt.NDArray[np.uint8], a: Point, b: Point, radius: float) -> None:
    cv2.line(
        mask,
        (round(a[0]), round(a[1])),
        (round(b[0]), round(b[1])),
        1,
        thickness=max(1, round(2 * radius)),
        lineType=cv2.LINE_8,
    )
    for p in (a, b):
        cv2.circle(mask, (round(p[0]), round(p[1])), max(1, round(radius)), 1, -1)


def _head(image: Image, pose: Pose, sw: float, models_dir: Path | None) -> npt.NDArray[np.uint8]:
    """Head, hair and neck: the face mesh's outline when the face is big enough to detect,
    and always a region around the pose's face points reaching down to the neck's base."""
    h, w = image.shape[:2]
    head = np.zeros((h, w), np.uint8)
    face_ids = [POSE_LANDMARK_NAMES.index(n) for n in POSE_LANDMARK_NAMES[:11]]
    pts = pose.points[face_ids, :2]
    ears = np.array(pose.point("left_ear")) - np.array(pose.point("right_ear"))
    radius = max(float(np.hypot(*ears)) * 0.75, 0.22 * sw)
    cx, cy = pts.mean(axis=0)
    cv2.ellipse(
        head, (round(cx), round(cy)), (round(radius), round(radius * 1.3)), 0, 0, 360, 1, -1
    )
    faces = detect_faces(image, models_dir=models_dir)
    if faces:
        mesh = face_mesh(image, faces[0], models_dir=models_dir)
        if mesh.score >= 0.5:
            hull = cv2.convexHull(mesh.points[:, :2].astype(np.int32))
            cv2.fillConvexPoly(head, hull, 1)
    # The neck: from under the chin to just above the shoulders' line, as wide as the neck.
    ls, rs = np.array(pose.point("left_shoulder")), np.array(pose.point("right_shoulder"))
    neck_base = (ls + rs) / 2 - np.array([0.0, 0.12 * sw])
    _capsule(head, (float(cx), float(cy)), (float(neck_base[0]), float(neck_base[1])), 0.16 * sw)
    return head


FINGER_REACH = 1.9
"""The fingertips' distance from the wrist, in wrist-to-knuckle lengths."""


def _hands_and_forearms(pose: Pose, shape: tuple[int, int], sw: float) -> npt.NDArray[np.uint8]:
    out = np.zeros(shape, np.uint8)
    torso_z = float(
        np.mean(
            [
                pose.points[POSE_LANDMARK_NAMES.index(n), 2]
                for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
            ]
        )
    )
    for side in ("left", "right"):
        wrist = pose.point(f"{side}_wrist")
        knuckles = [pose.point(f"{side}_{f}") for f in ("pinky", "index", "thumb")]
        reach = max(float(np.hypot(k[0] - wrist[0], k[1] - wrist[1])) for k in knuckles)
        for k in knuckles:
            # BlazePose's hand points are the knuckles: the fingers reach about as far again
            # (a long sleeve must not cover them).
            tip = (
                wrist[0] + FINGER_REACH * (k[0] - wrist[0]),
                wrist[1] + FINGER_REACH * (k[1] - wrist[1]),
            )
            _capsule(out, wrist, tip, max(0.8 * reach, 0.05 * sw))
        elbow = pose.point(f"{side}_elbow")
        arm_z = float(
            np.mean(
                [
                    pose.points[POSE_LANDMARK_NAMES.index(f"{side}_{j}"), 2]
                    for j in ("elbow", "wrist")
                ]
            )
        )
        if arm_z < torso_z - FRONT_MARGIN * sw:
            _capsule(out, elbow, wrist, 0.11 * sw)
    return out


def find_body(image: Image, *, models_dir: Path | None = None) -> Body:
    """The person's body, or :class:`BodyError` saying why there is none to dress."""
    rgb = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    pose = detect_pose(rgb, models_dir=models_dir)
    if pose is None:
        raise BodyError("no person's body was found in the person image")
    if not (pose.visible("left_shoulder") and pose.visible("right_shoulder")):
        raise BodyError("the person's shoulders are not visible in the person image")
    ls, rs = np.array(pose.point("left_shoulder")), np.array(pose.point("right_shoulder"))
    sw = float(np.hypot(*(ls - rs)))
    h, w = rgb.shape[:2]
    if sw < 0.04 * max(h, w):
        raise BodyError("the person in the person image is too small to dress")
    person = subject_mask(rgb, models_dir=resolve_models_dir(models_dir)).mask
    anchors: dict[str, Point] = {n: pose.point(n) for n in JOINTS}
    mid = (ls + rs) / 2
    anchors["neck"] = (float(mid[0]), float(mid[1] - 0.12 * sw))
    front = _head(rgb, pose, sw, models_dir) | _hands_and_forearms(pose, (h, w), sw)
    # Only the person's own pixels are in front (the capsules are generous).
    front_soft = np.asarray(np.minimum(front.astype(np.float32), person), np.float32)
    return Body(
        pose=pose, mask=person, anchors=anchors, front=front_soft, shoulder_width=sw, size=(w, h)
    )
