"""A 2-D bone rig on BlazePose's 33 landmarks: rest pose from a photo, forward kinematics.

A performance or a driving video says how joints turn; the character's own photo says how
long its bones are and how it stands. :class:`Rig` holds the character's rest joints (the
detected landmarks, plus two derived joints: the neck between the shoulders and the pelvis
between the hips) and the bones that the photo really shows (both ends detected, visible and
inside the picture). :meth:`Rig.solve` turns a :class:`PoseState` (per-bone angle changes,
a root shift) into each bone's rigid 2x3 map from rest to posed, which the mesh warp blends.

Angles are in radians in picture coordinates, measured from "straight down" toward picture
+x (``direction(a) = (sin a, cos a)``), so a bone's world angle grows when it swings toward the
picture's right. A limb's *body angle* is its angle from the body's downward axis, positive
away from the body's midline on its own side: the same value raises the left or the right arm
outward, which is how performances are written once for both sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kinora.engines.people.landmarks import CHIN, FACE_TOP, NOSE_TIP, FaceMesh, Pose

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

NECK = 33
PELVIS = 34
JOINTS = 35
"""The 33 landmarks plus the two derived joints."""


@dataclass(frozen=True)
class Bone:
    name: str
    start: int
    end: int
    parent: str | None
    side: int = 0
    """+1 the person's left, -1 the right, 0 the midline."""
    layer: int = 1
    """Draw order group: 0 legs, 1 torso and head, 2 arms (in front)."""


BONES: tuple[Bone, ...] = (
    Bone("spine", PELVIS, NECK, None),
    Bone("head", NECK, 0, "spine"),
    Bone("l_clavicle", NECK, 11, "spine", 1),
    Bone("r_clavicle", NECK, 12, "spine", -1),
    Bone("l_upper_arm", 11, 13, "l_clavicle", 1, 2),
    Bone("l_forearm", 13, 15, "l_upper_arm", 1, 2),
    Bone("r_upper_arm", 12, 14, "r_clavicle", -1, 2),
    Bone("r_forearm", 14, 16, "r_upper_arm", -1, 2),
    Bone("l_hip", PELVIS, 23, None, 1, 0),
    Bone("r_hip", PELVIS, 24, None, -1, 0),
    Bone("l_thigh", 23, 25, "l_hip", 1, 0),
    Bone("l_shin", 25, 27, "l_thigh", 1, 0),
    Bone("l_foot", 27, 31, "l_shin", 1, 0),
    Bone("r_thigh", 24, 26, "r_hip", -1, 0),
    Bone("r_shin", 26, 28, "r_thigh", -1, 0),
    Bone("r_foot", 28, 32, "r_shin", -1, 0),
)

LIMBS = {
    "clavicle": ("l_clavicle", "r_clavicle"),
    "upper_arm": ("l_upper_arm", "r_upper_arm"),
    "forearm": ("l_forearm", "r_forearm"),
    "thigh": ("l_thigh", "r_thigh"),
    "shin": ("l_shin", "r_shin"),
}
"""Limb names a performance uses, and the two bones each one means."""

MIN_VISIBILITY = 0.5


def angle_of(vector: npt.ArrayLike) -> float:
    """The picture-coordinate angle of a vector (0 pointing down, growing toward +x)."""
    x, y = (float(v) for v in np.asarray(vector, dtype=np.float64)[:2])
    return math.atan2(x, y)


def wrap(angle: float) -> float:
    """``angle`` in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation(angle: float) -> F64:
    """The 2x2 matrix that adds ``angle`` to a vector's angle (see the module docstring)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [-s, c]])


def pose_joints(pose: Pose, shape: tuple[int, int]) -> tuple[F32, npt.NDArray[np.bool_]]:
    """A pose's joints in OpenCV pixel coordinates (JOINTS, 2) and which ones are usable
    (visible, present and inside the picture, with a small margin)."""
    h, w = shape
    pts = np.zeros((JOINTS, 2), np.float32)
    pts[:33] = pose.points[:, :2] - 0.5
    ok = np.zeros(JOINTS, bool)
    inside = (
        (pts[:33, 0] >= -0.02 * w)
        & (pts[:33, 0] <= 1.02 * w)
        & (pts[:33, 1] >= -0.02 * h)
        & (pts[:33, 1] <= 1.02 * h)
    )
    ok[:33] = (pose.visibility >= MIN_VISIBILITY) & (pose.presence >= MIN_VISIBILITY) & inside
    pts[NECK] = (pts[11] + pts[12]) / 2
    ok[NECK] = ok[11] and ok[12]
    pts[PELVIS] = (pts[23] + pts[24]) / 2
    ok[PELVIS] = ok[23] and ok[24]
    return pts, ok


@dataclass(frozen=True)
class PoseState:
    """One frame's pose, as changes from the rest pose."""

    turns: dict[str, float] = field(default_factory=dict)
    """Per bone, radians added to its local angle (children follow)."""
    body_angles: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per bone, (target body angle, weight): the bone is turned toward that body angle by
    ``weight`` (0 rest, 1 the target); applied before ``turns``."""
    root_shift: tuple[float, float] = (0.0, 0.0)
    """Pixels the whole body moves."""
    spine_stretch: float = 1.0
    """Spine length factor (breathing, a crouch)."""
    head_shift: tuple[float, float] = (0.0, 0.0)
    """Pixels the head moves on its neck (a driver's head moving while the body stays)."""


@dataclass
class Rig:
    """The character's rest skeleton: joints, the bones present and their rest angles."""

    joints: F32
    usable: npt.NDArray[np.bool_]
    bones: list[Bone]
    height: float
    """The body's visible height in pixels (top of the head to its lowest usable joint)."""
    side_sign: float = 1.0
    """+1 when the person's left is on the picture's right (facing the camera)."""

    @classmethod
    def build(cls, joints: F32, usable: npt.NDArray[np.bool_], face: FaceMesh | None = None) -> Rig:
        """The rig of the bones whose two joints are usable and whose parent is present
        (a forearm without its upper arm is left out: it would have nothing to hang from).
        A portrait without shoulders gets a neck under the chin from the face mesh, so its
        head still turns about a neck."""
        joints = joints.copy()
        usable = usable.copy()
        if face is not None:
            chin = face.points[CHIN, :2] - 0.5
            top = face.points[FACE_TOP, :2] - 0.5
            nose = face.points[NOSE_TIP, :2] - 0.5
            if not usable[NECK]:
                joints[NECK] = chin + (chin - top) * 0.35
                usable[NECK] = True
            joints[0] = nose
            usable[0] = True
        bones: list[Bone] = []
        names: set[str] = set()
        for bone in BONES:
            if not (usable[bone.start] and usable[bone.end]):
                continue
            orphan = bone.parent is not None and bone.parent not in names
            if orphan and not (bone.start == NECK and "spine" not in names):
                continue
            bones.append(bone)
            names.add(bone.name)
        pts = joints[usable]
        top_y = float(pts[:, 1].min()) if len(pts) else 0.0
        if face is not None:
            top_y = min(top_y, float(face.points[FACE_TOP, 1]) - 0.5)
        elif usable[0] and usable[NECK]:
            top_y = min(top_y, float(joints[0, 1] - 0.6 * abs(joints[NECK, 1] - joints[0, 1])))
        height = max(1.0, float(pts[:, 1].max()) - top_y) if len(pts) else 1.0
        side = 1.0
        if usable[11] and usable[12]:
            side = 1.0 if joints[11, 0] >= joints[12, 0] else -1.0
        return cls(joints, usable, bones, height, side)

    @property
    def names(self) -> set[str]:
        return {b.name for b in self.bones}

    def down_angle(self, joints: F32 | None = None) -> float:
        """The body's downward axis: from neck to pelvis, else perpendicular to the
        shoulders, else straight down."""
        j = self.joints if joints is None else joints
        if "spine" in self.names:
            return angle_of(j[PELVIS] - j[NECK])
        if self.usable[11] and self.usable[12]:
            across = j[11] - j[12] if self.side_sign > 0 else j[12] - j[11]
            return wrap(angle_of(across) - math.pi / 2)
        return 0.0

    def rest_angle(self, bone: Bone) -> float:
        return angle_of(self.joints[bone.end] - self.joints[bone.start])

    def world_from_body(self, bone: Bone, body: float, down: float) -> float:
        """A body angle of ``bone`` as a world angle, given the body's downward axis."""
        sign = bone.side * self.side_sign if bone.side else 1.0
        return wrap(down + body * sign)

    def solve(self, state: PoseState) -> tuple[dict[str, F64], F32]:
        """Each present bone's 2x3 rest-to-posed map, and the posed joints."""
        present = {b.name: b for b in self.bones}
        rest_world = {b.name: self.rest_angle(b) for b in self.bones}
        down = self.down_angle()
        world: dict[str, float] = {}
        posed = self.joints.copy()
        shift = np.array(state.root_shift, np.float32)
        maps: dict[str, F64] = {}
        for bone in self.bones:
            angle = rest_world[bone.name]
            parent = present.get(bone.parent) if bone.parent else None
            if parent is not None:
                angle += world[parent.name] - rest_world[parent.name]
            if bone.name in state.body_angles:
                target, weight = state.body_angles[bone.name]
                sway = world["spine"] - rest_world["spine"] if "spine" in world else 0.0
                goal = self.world_from_body(bone, target, down + sway)
                angle += wrap(goal - angle) * weight
            angle += state.turns.get(bone.name, 0.0)
            world[bone.name] = angle
            if parent is None and bone.start in (NECK, PELVIS):
                start = self.joints[bone.start] + shift
                if bone.start == NECK and "spine" in present:
                    start = posed[NECK]
            else:
                start = posed[bone.start]
            if bone.name == "head":
                start = start + np.array(state.head_shift, np.float32)
            length = float(np.hypot(*(self.joints[bone.end] - self.joints[bone.start])))
            if bone.name == "spine":
                length *= state.spine_stretch
            end = start + length * np.array([math.sin(angle), math.cos(angle)], np.float32)
            posed[bone.start] = start
            posed[bone.end] = end
            turn = rotation(angle - rest_world[bone.name])
            if bone.name == "spine" and state.spine_stretch != 1.0:
                axis = np.array([math.sin(angle), math.cos(angle)])
                turn = (np.eye(2) + (state.spine_stretch - 1.0) * np.outer(axis, axis)) @ turn
            offset = start - turn @ self.joints[bone.start]
            maps[bone.name] = np.hstack([turn, offset[:, None]])
        self._carry_unrigged(posed, maps, shift)
        return maps, posed

    def _carry_unrigged(self, posed: F32, maps: dict[str, F64], shift: F32) -> None:
        """Joints no bone ends at (hands' fingers, face points, eyes) follow the bone they hang
        from, so measurements and later bones see them where the body put them."""
        hang = {
            "l_forearm": (17, 19, 21),
            "r_forearm": (18, 20, 22),
            "head": tuple(range(1, 11)),
            "l_shin": (29,),
            "r_shin": (30,),
        }
        for bone, points in hang.items():
            if bone in maps:
                m = maps[bone]
                for p in points:
                    posed[p] = m[:, :2] @ self.joints[p] + m[:, 2]
        if not self.bones:
            posed += shift
