"""The character engine: a photographed person or figure performs a motion.

One image holds the character. It is segmented (ISNet), its body pose and face mesh are read
(MediaPipe's models), and a rig is built from them (:mod:`.skeleton`: the bones the photo
shows, with the character's own bone lengths). The motion comes from a driving video when one
is given (:mod:`.driving`: the driver's face and joint angles relative to its first frame, so
the character keeps its own face and build) or from the prompt (:mod:`.performances`: wave,
clap, dance, walk, jump, nod, look around, talk; an idle otherwise).

Each frame the face's parts are moved first on the photo (:mod:`.faceparts`: jaw, lids, brows,
a depth-weighted turn, a dark mouth interior), then the body: a triangle mesh over the
subject's mask, each vertex skinned to the bones near it, is posed by the bones' rigid maps
and the photo is resampled triangle by triangle (:mod:`.meshwarp`), legs behind the torso and
the arms in front. Where the character moves off, the background shows, filled once behind
the whole subject. The camera stays still unless ``camera`` asks for a gentle zoom or pan.

A body cut off by the picture's lower edge (a portrait) keeps its place: only its head and
arms move, so no gap opens at the edge; a face without a visible body turns about a neck
placed under the chin; a body whose face is too small or turned away moves without face parts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import (
    Clip,
    EngineInfo,
    EngineInputs,
    Frame,
    InputKind,
    ModelFile,
    MotionEngine,
    Render,
    RenderConfig,
)
from kinora.engines.parallax.segment import ISNET_FILENAME, isnet_path
from kinora.engines.people.driving import DrivenFrame, read_driver
from kinora.engines.people.faceparts import FaceRig, FaceState
from kinora.engines.people.landmarks import (
    MESH_MIN_SCORE,
    FaceMesh,
    detect_faces,
    detect_pose,
    face_mesh,
    pose_in_box,
)
from kinora.engines.people.masks import subject_mask
from kinora.engines.people.meshwarp import (
    Mesh,
    backward_map,
    blend_transforms,
    mask_mesh,
    pieces,
    skin_weights,
)
from kinora.engines.people.models import landmark_model_files
from kinora.engines.people.performances import Beat, Performance, Timeline, amplitude, pick
from kinora.engines.people.skeleton import (
    JOINTS,
    LIMBS,
    NECK,
    PELVIS,
    PoseState,
    Rig,
    pose_joints,
)
from kinora.errors import RenderError

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]

MESH_CELLS = 48
"""Mesh spacing: the picture's shorter side over this many cells."""
MAP_SAMPLES = 200
"""The body warp is computed on about this many samples across the shorter side."""
HEAD_SHIFT_SHARE = 0.7
SKIN_EXTENSION = {
    "l_forearm": 0.5,
    "r_forearm": 0.5,
    "l_foot": 0.3,
    "r_foot": 0.3,
    "head": 0.9,
}
"""How far past its end joint each chain-ending bone skins, as a share of its length."""
STILL_DISTANCE = 0.2
"""Subject parts farther than this share of the body's height from every bone stay put."""
SKIN_FADE = (0.2, 0.3)
"""A bone's skinning weight fades out between these shares of the body's height from it
(see meshwarp.skin_weights): a leg does not wobble with a waving arm, and a part that no
moving bone reaches is really still (and is not drawn again)."""
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
FILL_SIDE = 192
"""The background is inpainted at this longer side, then scaled up."""
CAMERA_ZOOM = 0.06
CAMERA_PAN = 0.035


@dataclass(frozen=True)
class Piece:
    """A connected part of one draw layer (an arm, the torso and head, a ball at the feet),
    mapped and composited on its own: over its own box, not one spanning the empty space
    between a layer's parts, and not at all in a frame where it has not moved."""

    triangles: I32
    """(M, 3) vertex indices, in draw order."""
    vertices: I32
    """The mesh vertices it uses."""
    source_box: tuple[int, int, int, int]
    """Where in the photo it samples (x0, y0, x1, y1: its rest box with a margin for the
    map's interpolation), to know whether the face's moves reach it."""


@dataclass
class Scene:
    """What the engine knows about one character photo at one output size."""

    rgba: npt.NDArray[np.uint8]
    """The fitted photo with the subject mask as alpha, its soft rim slightly hardened: that
    rim carries the old background's colour, which would show as a halo once a limb moves
    over the body."""
    background: Frame
    rig: Rig
    face: FaceRig | None
    mesh: Mesh
    weights: F32
    pieces: list[Piece]
    """The draw layers' connected parts, back to front (legs, torso and head, arms)."""
    anchored: bool
    """The subject touches the lower edge: the body stays put."""
    sides: dict[str, str]
    """Which arm a one-arm performance uses ("main")."""
    step: int
    """Pixels between the body warp's computed samples (see meshwarp.backward_map)."""
    on_edge_x: npt.NDArray[np.bool_]
    on_edge_y: npt.NDArray[np.bool_]
    """Mesh vertices on the picture's left or right (top or bottom) edge."""


def _fit(image: Frame, mask: F32, width: int, height: int) -> tuple[Frame, F32]:
    """Scaled to cover the output and cropped around the subject's centre."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    big = np.asarray(cv2.resize(image, (sw, sh), interpolation=interp), np.uint8)
    big_mask = np.asarray(cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_LINEAR), np.float32)
    ys, xs = np.nonzero(big_mask > 0.5)
    cx = float(xs.mean()) if xs.size else sw / 2
    cy = float(ys.mean()) if ys.size else sh / 2
    x0 = int(np.clip(round(cx - width / 2), 0, sw - width))
    y0 = int(np.clip(round(cy - height / 2), 0, sh - height))
    crop = np.ascontiguousarray(big[y0 : y0 + height, x0 : x0 + width])
    return crop, np.ascontiguousarray(big_mask[y0 : y0 + height, x0 : x0 + width])


def fill_background(rgb: Frame, mask: F32) -> F32:
    """The picture with the subject removed: inpainted at a small size (structure from the
    surroundings), scaled up, and given back grain like the photo's own, so the revealed
    area is not a smear."""
    h, w = mask.shape
    radius = max(3, round(0.015 * max(h, w)))
    hole = cv2.dilate((mask > 0.2).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=radius)
    f = min(1.0, FILL_SIDE / max(h, w))
    sw, sh = max(8, round(w * f)), max(8, round(h * f))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole, (sw, sh), interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)
    small_hole = np.asarray(cv2.dilate(small_hole, np.ones((3, 3), np.uint8)), np.uint8)
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    up = np.asarray(cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    up = np.asarray(cv2.GaussianBlur(up, (0, 0), 1.0 / f * 0.6), np.float32)
    keep = hole == 0
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)
    grain = float(detail[keep].std()) if keep.any() else 0.0
    noise = np.random.default_rng(0).normal(0.0, grain * 0.7, (h, w)).astype(np.float32)
    up += np.asarray(cv2.GaussianBlur(noise, (0, 0), 0.7), np.float32)[..., None]
    out = rgb.astype(np.float32)
    soft = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 2.0)[..., None]
    out = out * (1 - soft) + up * soft
    result: F32 = np.clip(out, 0, 255).astype(np.float32)
    return result


def _largest_face(image: Frame, mask: F32, models_dir: Path | None) -> FaceMesh | None:
    """The face mesh of the largest face on the subject, if one is found."""
    for face in detect_faces(image, models_dir=models_dir):
        x, y = face.keypoint("nose_tip")
        iy = int(np.clip(y, 0, mask.shape[0] - 1))
        ix = int(np.clip(x, 0, mask.shape[1] - 1))
        if mask[iy, ix] < 0.3:
            continue
        mesh = face_mesh(image, face, models_dir=models_dir)
        if mesh.score >= MESH_MIN_SCORE:
            return mesh
    return None


def _fallback_rig(mask: F32, face: FaceMesh | None) -> Rig:
    """No body found: a spine up the subject's middle, so it still breathes and sways."""
    ys, xs = np.nonzero(mask > 0.5)
    h, w = mask.shape
    joints = np.zeros((JOINTS, 2), np.float32)
    usable = np.zeros(JOINTS, bool)
    if ys.size:
        cx = float(np.median(xs))
        top, bottom = float(ys.min()), float(ys.max())
    else:
        cx, top, bottom = w / 2, 0.0, float(h - 1)
    joints[PELVIS] = (cx, bottom)
    joints[NECK] = (cx, top + 0.3 * (bottom - top))
    usable[[PELVIS, NECK]] = True
    return Rig.build(joints, usable, face)


def _meets(piece: Piece, box: tuple[int, int, int, int]) -> bool:
    """Whether the piece samples the photo inside ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = piece.source_box
    return x0 < box[2] and box[0] < x1 and y0 < box[3] and box[1] < y1


@dataclass(frozen=True)
class _Patch:
    """One piece as last resampled: the vertex positions and face it was made for, and the
    RGBA patch and coverage over its window at (x0, y0) (None: off the picture)."""

    moved: F32
    face: FaceState | None
    """The face it was sampled from; None when the face's moves do not reach it."""
    over: npt.NDArray[np.uint8] | None
    covered: npt.NDArray[np.uint8] | None
    x0: int
    y0: int


class DrawCache:
    """What one render's frames leave for the next: each piece's resampled patch with the
    vertices (and face) it was made for, the face-moved photo, and the composite of the
    leading pieces that have not moved. A piece that is where it was (the legs of a wave,
    a ball at the feet, everything in an idle hold) is not mapped again, and a frame whose
    leading pieces have not moved starts from their composite: exact reuse, the frame is
    the one drawn from scratch. One per render, not per scene, as concurrent renders share
    a scene."""

    def __init__(self) -> None:
        self.patches: dict[int, _Patch] = {}
        self.face: FaceState | None = None
        self.src: npt.NDArray[np.uint8] | None = None
        self.prefix: tuple[tuple[_Patch, ...], Frame] | None = None
        """The patches of the leading pieces and the background with them composited."""


def _over(under: Frame, rgba: npt.NDArray[np.uint8], covered: npt.NDArray[np.uint8]) -> None:
    """``rgba`` composited over ``under`` in place, its alpha scaled by ``covered`` (0-255):
    8-bit arithmetic on the window only (a float blend of the window costs twice as much)."""
    alpha = cv2.multiply(cv2.extractChannel(rgba, 3), covered, scale=1 / 255)
    a3 = cv2.merge([alpha, alpha, alpha])
    colour = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
    front = cv2.multiply(colour, a3, scale=1 / 255)
    back = cv2.multiply(under, cv2.bitwise_not(a3), scale=1 / 255)
    cv2.add(front, back, dst=under)


def _filmed(image: Frame, move: F64 | None, config: RenderConfig) -> Frame:
    """A drawn frame (or its matte) as the camera sees it: ``move`` maps output pixels to
    the drawing's (None: a still camera)."""
    if move is not None:
        image = np.asarray(
            cv2.warpAffine(
                image,
                move,
                (config.width, config.height),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            ),
            np.uint8,
        )
    return np.ascontiguousarray(image)


class CharacterEngine(MotionEngine):
    """A character photo performs a prompted motion or a driving video's (module docstring)."""

    info = EngineInfo(
        name="kinora-character",
        version="1.0",
        accepts=frozenset({InputKind.ONE_IMAGE}),
        needs_gpu=False,
        max_duration=10.0,
        description=(
            "Animates the person or figure in a photo: a prompted performance (wave, clap, "
            "dance, walk, jump, nod, look around, talk; an idle otherwise) or a driving video's "
            "face and body motion, by a skinned mesh warp of the segmented character over "
            "its inpainted background."
        ),
        honours=frozenset(
            {"character_animate", "prompt", "camera_control", "motion_range", "seed"}
        ),
    )

    @classmethod
    def model_files(cls, models_dir: Path) -> list[ModelFile]:
        """The face and pose models, and ISNet (without it the mask comes from GrabCut)."""
        return [
            *landmark_model_files(
                models_dir, which=("face_detector", "face_mesh", "pose_detector", "pose_landmarks")
            ),
            ModelFile(
                name=f"the ISNet segmentation model ({ISNET_FILENAME})",
                path=Path(models_dir) / ISNET_FILENAME,
            ),
        ]

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = Path(models_dir) if models_dir is not None else None
        self._scenes: OrderedDict[tuple[str, int, int], Scene] = OrderedDict()
        self._drivers: OrderedDict[tuple[str, int, float], list[DrivenFrame]] = OrderedDict()
        self._lock = threading.Lock()

    def service_version(self) -> str:
        method = "isnet-medium" if isnet_path(self.models_dir) else "grabcut-fallback"
        return f"{self.info.version}+{method}"

    # --- the character ---------------------------------------------------------------------

    def scene(self, image: Frame, width: int, height: int) -> Scene:
        """The character prepared for ``width`` x ``height`` (cached for a few photos)."""
        key = (hashlib.sha1(image.tobytes()).hexdigest(), width, height)
        with self._lock:
            if key in self._scenes:
                self._scenes.move_to_end(key)
                return self._scenes[key]
        seg = subject_mask(np.ascontiguousarray(image[..., :3]), models_dir=self.models_dir)
        rgb, mask = _fit(np.ascontiguousarray(image[..., :3]), seg.mask, width, height)
        scene = self._prepare(rgb, mask)
        with self._lock:
            self._scenes[key] = scene
            while len(self._scenes) > 3:
                self._scenes.popitem(last=False)
        return scene

    def driver(self, clip: Clip, frames: int, fps: float) -> list[DrivenFrame]:
        """The driving video read as ``frames`` output frames at ``fps`` (cached for a few
        videos): a request's variants share one driver, and its landmark pass (face mesh
        and pose on every driving frame, the driven render's largest cost) is done once."""
        digest = hashlib.sha1(f"{clip.fps}:{len(clip.frames)}".encode())
        for frame in clip.frames:
            digest.update(np.ascontiguousarray(frame).data)
        key = (digest.hexdigest(), frames, fps)
        with self._lock:
            if key in self._drivers:
                self._drivers.move_to_end(key)
                return self._drivers[key]
        driven = read_driver(clip, frames, fps, models_dir=self.models_dir)
        with self._lock:
            self._drivers[key] = driven
            while len(self._drivers) > 3:
                self._drivers.popitem(last=False)
        return driven

    def _prepare(self, rgb: Frame, mask: F32) -> Scene:
        h, w = mask.shape
        face = _largest_face(rgb, mask, self.models_dir)
        pose = detect_pose(rgb, models_dir=self.models_dir)
        if pose is None:
            # The detector keys on faces: a body with its face hidden is looked for in the
            # subject's own bounds instead.
            rows, cols = np.nonzero(mask > 0.5)
            if rows.size:
                bounds = (
                    float(cols.min()),
                    float(rows.min()),
                    float(cols.max()) + 1,
                    float(rows.max()) + 1,
                )
                pose = pose_in_box(rgb, bounds, models_dir=self.models_dir)
        if pose is not None:
            joints, usable = pose_joints(pose, (h, w))
            rig = Rig.build(joints, usable, face)
        else:
            rig = Rig.build(np.zeros((JOINTS, 2), np.float32), np.zeros(JOINTS, bool), face)
        if not rig.bones:
            rig = _fallback_rig(mask, face)
        spacing = max(5.0, min(h, w) / MESH_CELLS)
        # The mesh reaches past the mask's soft rim, so the triangles the outline drops
        # (in its concave nicks) are ones with nothing of the subject in them.
        reach = max(2, round(spacing * 0.6))
        solid = cv2.dilate(
            (mask > 0.1).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=reach
        )
        face_rig = FaceRig(face, (h, w)) if face is not None else None
        if face_rig is not None:
            # The face's parts move a little past its outline (a turn, a dropped jaw): the
            # body mesh covers its whole ring, or the moved edge would be cut off.
            ring = np.round(face_rig.all_points[len(face_rig.points) :]).astype(np.int32)
            cv2.fillPoly(solid, [ring], 1)
        extra = rig.joints[rig.usable]
        mesh = mask_mesh(solid > 0, spacing, extra)
        starts = np.array([rig.joints[b.start] for b in rig.bones], np.float32)
        # Bones that end a chain reach on past their last joint for skinning: a hand past
        # the wrist, the toes, the top of the head, so those follow their bone.
        ends = np.array(
            [
                rig.joints[b.end]
                + SKIN_EXTENSION.get(b.name, 0.0) * (rig.joints[b.end] - rig.joints[b.start])
                for b in rig.bones
            ],
            np.float32,
        )
        weights = skin_weights(
            mesh.vertices,
            starts,
            ends,
            reach=0.05 * rig.height,
            power=3.0,
            still=STILL_DISTANCE * rig.height,
            fade=(SKIN_FADE[0] * rig.height, SKIN_FADE[1] * rig.height),
        )
        dominant = weights[mesh.triangles].mean(axis=1).argmax(axis=1)
        layer_of = [*(b.layer for b in rig.bones), 1]  # the still column: with the torso
        tri_layer = np.array([layer_of[k] for k in dominant], np.int32)
        step = max(1, min(h, w) // MAP_SAMPLES)
        margin = 2 * step + 2
        parts: list[Piece] = []
        for layer in (0, 1, 2):
            in_layer = mesh.triangles[tri_layer == layer]
            for piece in pieces(in_layer):
                tris = in_layer[piece]
                used = np.unique(tris).astype(np.int32)
                lo = np.floor(mesh.vertices[used].min(axis=0)).astype(int) - margin
                hi = np.ceil(mesh.vertices[used].max(axis=0)).astype(int) + margin
                box = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
                parts.append(Piece(tris, used, box))
        edge = np.clip((mask - 0.2) / 0.6, 0.0, 1.0)
        alpha = edge * edge * (3 - 2 * edge)
        rgba = np.dstack([rgb, np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)])
        background = np.clip(fill_background(rgb, mask) + 0.5, 0, 255).astype(np.uint8)
        anchored = float((mask[-2:] > 0.5).mean()) > 0.02
        names = rig.names
        main = "r" if "r_forearm" in names else "l"
        return Scene(
            rgba=rgba,
            background=background,
            rig=rig,
            face=face_rig,
            mesh=mesh,
            weights=weights,
            pieces=parts,
            anchored=anchored,
            sides={"main": main},
            step=step,
            on_edge_x=(mesh.vertices[:, 0] <= 1.0) | (mesh.vertices[:, 0] >= w - 2.0),
            on_edge_y=(mesh.vertices[:, 1] <= 1.0) | (mesh.vertices[:, 1] >= h - 2.0),
        )

    # --- motion ----------------------------------------------------------------------------

    def _beat_state(self, scene: Scene, beat: Beat) -> tuple[PoseState, FaceState]:
        """A performance's moment as the character's pose and face."""
        rig = scene.rig
        names = rig.names
        turns: dict[str, float] = {}
        body: dict[str, tuple[float, float]] = {}
        root = (0.0, 0.0)
        stretch = 1.0
        for channel, value in beat.values.items():
            kind, _, limb = channel.partition(":")
            if kind in ("body", "main") and limb in LIMBS:
                sides: tuple[str, ...] = LIMBS[limb]
                if kind == "main":
                    sides = tuple(s for s in sides if s.startswith(scene.sides["main"] + "_"))
                for bone in sides:
                    if bone in names:
                        body[bone] = (math.radians(value), beat.weight)
            elif kind in ("turn", "swing") and limb in LIMBS:
                for bone in LIMBS[limb]:
                    if bone not in names:
                        continue
                    side = 1.0 if bone.startswith("l_") else -1.0
                    outward = side * rig.side_sign
                    sign = outward if kind == "turn" else outward * side
                    turns[bone] = turns.get(bone, 0.0) + math.radians(value) * sign
            elif kind == "turn" and limb in ("spine", "head"):
                turns[limb] = turns.get(limb, 0.0) + value
        if "root_x" in beat.values or "root_y" in beat.values:
            root = (
                beat.values.get("root_x", 0.0) * rig.height,
                beat.values.get("root_y", 0.0) * rig.height,
            )
        stretch = beat.values.get("stretch", 1.0)
        face_h = scene.face.height if scene.face is not None else 0.12 * rig.height
        head = (beat.values.get("head_x", 0.0) * face_h, beat.values.get("head_y", 0.0) * face_h)
        if scene.anchored:
            root = (0.0, 0.0)
            stretch = 1.0 + (stretch - 1.0) * 0.5
        face = FaceState(
            mouth=beat.values.get("mouth", 0.0),
            blink=(beat.blink, beat.blink),
            brow=beat.values.get("brow", 0.0),
            yaw=beat.values.get("yaw", 0.0),
            pitch=beat.values.get("pitch", 0.0),
        )
        return PoseState(turns, body, root, stretch, head), face

    def _driven_state(self, scene: Scene, driven: DrivenFrame) -> tuple[PoseState, FaceState]:
        """A driver's moment as the character's pose and face (at the driver's own size of
        motion: motion_range shapes performances, not a driver)."""
        rig = scene.rig
        turns = {k: v for k, v in driven.turns.items() if k in rig.names}
        turns["head"] = turns.get("head", 0.0) + driven.head_turn
        face_h = scene.face.height if scene.face is not None else 0.12 * rig.height
        # Less than the driver's own shift: part of it shows already in the turn (the face's
        # inner points move with yaw), and a head sliding its full way looks loose on a neck.
        head_shift = (
            driven.head_shift[0] * face_h * HEAD_SHIFT_SHARE,
            driven.head_shift[1] * face_h * HEAD_SHIFT_SHARE,
        )
        root = (driven.root_shift[0] * rig.height, driven.root_shift[1] * rig.height)
        if scene.anchored:
            root = (0.0, 0.0)
        elif driven.turns:
            head_shift = (0.0, 0.0)  # the driven body carries the head
        return PoseState(turns, {}, root, 1.0, head_shift), driven.face or FaceState()

    # --- drawing ---------------------------------------------------------------------------

    def draw(
        self, scene: Scene, pose: PoseState, face: FaceState, cache: DrawCache | None = None
    ) -> Frame:
        """One frame of the character in ``pose`` with ``face``. With the ``cache`` of the
        frames drawn before it in the same render, the pieces that have not moved are not
        mapped again (see :class:`DrawCache`); the frame is the same either way."""
        cache = cache if cache is not None else DrawCache()
        patches, still = self._patches(scene, pose, face, cache)
        # Start from the composite of the leading pieces when none of them changed.
        done = 0
        out = scene.background
        if cache.prefix is not None:
            kept, image = cache.prefix
            if len(kept) <= still and all(a is b for a, b in zip(kept, patches, strict=False)):
                done, out = len(kept), image
        out = out.copy()
        for i in range(done, len(patches)):
            patch = patches[i]
            if patch.over is not None and patch.covered is not None:
                hh, ww = patch.over.shape[:2]
                window = (slice(patch.y0, patch.y0 + hh), slice(patch.x0, patch.x0 + ww))
                _over(out[window], patch.over, patch.covered)
            if i + 1 == still and still > done:
                cache.prefix = (tuple(patches[:still]), out.copy())
        return out

    def draw_matte(
        self, scene: Scene, pose: PoseState, face: FaceState, cache: DrawCache | None = None
    ) -> Frame:
        """The character's own alpha in the frame :meth:`draw` makes for the same pose and
        face (uint8, 255 opaque; zero where only the background shows): the pieces' mask
        alphas composited as draw composites their colours."""
        cache = cache if cache is not None else DrawCache()
        patches, _still = self._patches(scene, pose, face, cache)
        out = np.zeros(scene.background.shape[:2], np.uint8)
        for patch in patches:
            if patch.over is None or patch.covered is None:
                continue
            hh, ww = patch.over.shape[:2]
            window = out[patch.y0 : patch.y0 + hh, patch.x0 : patch.x0 + ww]
            alpha = cv2.multiply(cv2.extractChannel(patch.over, 3), patch.covered, scale=1 / 255)
            behind = cv2.multiply(window, cv2.bitwise_not(alpha), scale=1 / 255)
            cv2.add(alpha, behind, dst=window)
        return out

    def _patches(
        self, scene: Scene, pose: PoseState, face: FaceState, cache: DrawCache
    ) -> tuple[list[_Patch], int]:
        """Each piece's patch for the pose (the cache's where the piece has not moved), and
        how many leading pieces kept last frame's patch."""
        if scene.face is None:
            src = scene.rgba
        elif cache.src is not None and cache.face == face:
            src = cache.src
        else:
            src = scene.face.apply(scene.rgba, face)
            cache.face, cache.src = face, src
        maps, _posed = scene.rig.solve(pose)
        transforms = np.stack([*(maps[b.name] for b in scene.rig.bones), IDENTITY])
        moved = blend_transforms(scene.weights, transforms, scene.mesh.vertices)
        # Where the picture's edge cuts the body, the cut stays on the edge (it may slide
        # along it): a turning torso must not open a gap between itself and the frame.
        rest = scene.mesh.vertices
        moved[:, 0] = np.where(scene.on_edge_x, rest[:, 0], moved[:, 0])
        moved[:, 1] = np.where(scene.on_edge_y, rest[:, 1], moved[:, 1])
        patches: list[_Patch] = []
        still = 0  # how many leading pieces kept last frame's patch
        for i, piece in enumerate(scene.pieces):
            here = moved[piece.vertices]
            sampled = face if scene.face is not None and _meets(piece, scene.face.window) else None
            patch = cache.patches.get(i)
            if patch is None or patch.face != sampled or not np.array_equal(patch.moved, here):
                patch = self._patch(scene, piece, moved, src, here, sampled)
                cache.patches[i] = patch
            elif still == i:
                still += 1
            patches.append(patch)
        return patches, still

    @staticmethod
    def _patch(
        scene: Scene,
        piece: Piece,
        moved: F32,
        src: npt.NDArray[np.uint8],
        here: F32,
        sampled: FaceState | None,
    ) -> _Patch:
        """One piece resampled from the photo at the mesh's ``moved`` vertices."""
        h, w = src.shape[:2]
        bmap = backward_map(scene.mesh.vertices, moved, piece.triangles, (h, w), step=scene.step)
        if bmap is None:
            return _Patch(here, sampled, None, None, 0, 0)
        # All four channels in one resampling (splitting the photo's colour from its alpha
        # would cost more than the remap), then blended in 8 bits.
        over = np.asarray(
            cv2.remap(
                src, bmap.map_x, bmap.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            ),
            np.uint8,
        )
        return _Patch(here, sampled, over, bmap.covered, bmap.x0, bmap.y0)

    @staticmethod
    def _camera(camera: str, t: float, amp: float, width: int, height: int) -> F64 | None:
        """The 2x3 map from output pixels to the drawn frame's for a gentle camera move at
        progress ``t`` (0-1): a slow zoom, or a pan or tilt inside a slight zoom (so no
        border shows); None for a still camera (the default, and any other path)."""
        ease = t * t * (3 - 2 * t)
        name = camera.strip().lower()
        dx = dy = 0.0
        if name == "zoom in":
            zoom = 1.0 + CAMERA_ZOOM * amp * ease
        elif name == "zoom out":
            zoom = 1.0 + CAMERA_ZOOM * amp * (1.0 - ease)
        elif name in ("pan left", "pan right"):
            zoom = 1.0 + CAMERA_PAN * amp * 2
            dx = CAMERA_PAN * amp * (1 - 2 * ease) * (1 if name == "pan left" else -1) * width
        elif name in ("tilt up", "tilt down", "crane up", "crane down"):
            zoom = 1.0 + CAMERA_PAN * amp * 2
            dy = CAMERA_PAN * amp * (1 - 2 * ease) * (1 if name.endswith("up") else -1) * height
        else:
            return None
        cx, cy = (width - 1) / 2, (height - 1) / 2
        return np.array(
            [[1 / zoom, 0.0, cx - cx / zoom + dx], [0.0, 1 / zoom, cy - cy / zoom + dy]]
        )

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        """The frames, and what moved the character: ``metadata["character"]`` names the
        performance (or "driver"), whether a face and which bones were found, and what the
        picture could not do (a wave with no arm in the picture)."""
        report: dict[str, Any] = {}
        return Render(self._frames(inputs, config, report), metadata={"character": report})

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return self._frames(inputs, config, {})

    renders_subject = True

    def mattes(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        """The character's alpha in each frame :meth:`frames` yields for the same inputs and
        config (the same performance or driver, the same camera move), for the downloads
        with a transparent background."""
        cache = DrawCache()
        for scene, pose, face, move in self._states(inputs, config, {}):
            yield _filmed(self.draw_matte(scene, pose, face, cache), move, config)

    def _frames(
        self, inputs: EngineInputs, config: RenderConfig, report: dict[str, Any]
    ) -> Iterator[Frame]:
        cache = DrawCache()
        for scene, pose, face, move in self._states(inputs, config, report):
            yield _filmed(self.draw(scene, pose, face, cache), move, config)

    def _states(
        self, inputs: EngineInputs, config: RenderConfig, report: dict[str, Any]
    ) -> Iterator[tuple[Scene, PoseState, FaceState, F64 | None]]:
        """Each frame's scene, pose, face and camera map (what :meth:`frames` draws and
        :meth:`mattes` draws the alpha of)."""
        if not inputs.images:
            raise RenderError("character animation needs the character's image")
        width, height = config.width, config.height
        total = config.total_frames
        per_loop = config.frames_per_motion
        driven: list[DrivenFrame] | None = None
        if inputs.driver is not None:
            driven = self.driver(inputs.driver, per_loop, config.fps)
        scene = self.scene(inputs.images[0], width, height)
        amp = amplitude(config.motion_range)
        timeline: Timeline | None = None
        report.update(face=scene.face is not None, bones=sorted(scene.rig.names))
        if driven is None:
            performance: Performance = pick(config.prompt or inputs.prompt)
            report["motion"] = performance.name
            if performance.needs_arms and not {"l_forearm", "r_forearm"} & scene.rig.names:
                report["note"] = f"no arm in the picture to {performance.name} with"
            timeline = Timeline(
                performance,
                per_loop / config.fps,
                motion_range=config.motion_range,
                seed=config.seed,
            )
        else:
            report["motion"] = "driver"
        for i in range(total):
            if driven is not None:
                pose, face = self._driven_state(scene, driven[i % per_loop])
                if config.options.get("mouth") == "speech":
                    face = dataclasses.replace(face, mouth=0.0)  # narration's lip sync moves it
            else:
                assert timeline is not None
                pose, face = self._beat_state(scene, timeline.at((i % per_loop) / config.fps))
            move = self._camera(config.camera, i / max(1, total - 1), amp, width, height)
            yield scene, pose, face, move
