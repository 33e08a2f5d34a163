"""Camera paths as real 3D moves over a layered scene with known depths.

Engine-agnostic math. The world frame is the rest camera's frame (x right, y down, z forward);
each scene layer is a plane given by its inverse depth as an affine function of the rest view's
pixels, ``1/Z = m . (u, v, 1)``, so a layer maps to a new view by an exact homography. A path
gives, for t in [0, 1], the camera's position, rotation and zoom (focal multiplier). Distances
are in units of the pivot's depth (the subject or focus point), so amplitudes read the same for
any scene. ``periodic`` paths return to their start at t = 1 (seamless loops); one-way paths ease
in and out. Every path except "Zoom out" starts at the rest pose (the input framing); "Zoom out"
ends on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

Mat = npt.NDArray[np.float64]

CAMERA_PATHS: tuple[str, ...] = (
    "",
    "Static",
    "Crane up",
    "Crane down",
    "Tilt up",
    "Tilt down",
    "Pan right",
    "Pan left",
    "Roll right",
    "Roll left",
    "Orbit right",
    "Orbit left",
    "Rotate 360",
    "Dolly zoom",
    "Zoom in",
    "Zoom out",
    "Aerial",
)
"""The API's camera_control values; "" lets :func:`choose_auto_path` pick."""

_SUBJECT_PATHS = (
    ("Orbit right", 3.0),
    ("Orbit left", 3.0),
    ("Zoom in", 2.0),
    ("Dolly zoom", 1.5),
    ("Rotate 360", 1.5),
    ("Crane up", 1.0),
    ("Pan right", 1.0),
    ("Pan left", 1.0),
)
_SCENERY_PATHS = (
    ("Aerial", 2.0),
    ("Zoom in", 2.0),
    ("Pan right", 1.5),
    ("Pan left", 1.5),
    ("Crane up", 1.0),
    ("Orbit right", 1.0),
    ("Orbit left", 1.0),
)


@dataclass(frozen=True)
class CameraPose:
    """Where the camera is (world coordinates), how it is turned (world -> camera) and its zoom."""

    position: Mat
    rotation: Mat
    zoom: float = 1.0


@dataclass(frozen=True)
class CameraMove:
    """One concrete move: a path plus the seeded choices that make a variant."""

    path: str
    amplitude: float
    """1.0 at motion_range 5; scales every displacement and angle."""
    periodic: bool
    pivot: tuple[float, float, float]
    """The focus point in world units (the subject's centre; depth about 1)."""
    drift: float = 0.0
    """Secondary motion, as a fraction of the main one (seeded; signs give variants)."""
    spin: float = 1.0
    """Direction of Rotate 360 (+1 or -1)."""
    push: float = 0.0
    """Extra push-in towards the pivot, a fraction of the pivot's depth, for life."""
    cover_zoom: float = 0.0
    """Zoom added along the motion envelope so no border shows; set by the renderer."""


def intrinsics(focal: float, cx: float, cy: float) -> Mat:
    return np.array([[focal, 0.0, cx], [0.0, focal, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def rotation(axis: tuple[float, float, float] | Mat, angle: float) -> Mat:
    """Rodrigues rotation matrix (angle in radians)."""
    a = np.asarray(axis, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if n < 1e-12 or abs(angle) < 1e-15:
        return np.eye(3)
    x, y, z = a / n
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    out = np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k)
    return np.asarray(out, dtype=np.float64)


def _align(a: Mat, b: Mat) -> tuple[Mat, float]:
    """Axis and angle of the smallest rotation taking direction a onto direction b."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    angle = math.atan2(float(np.linalg.norm(axis)), float(np.dot(a, b)))
    return axis, angle


def look_at(position: Mat, pivot: Mat, weight: float = 1.0) -> Mat:
    """Rotation that keeps the pivot where the rest camera saw it (weight < 1: partly)."""
    # The camera at ``position`` sees the pivot along (pivot - position); turn so that ray
    # lands on the rest ray (pivot). R maps world to camera, so R @ (pivot - position) ∥ pivot.
    axis, angle = _align(pivot - position, pivot)
    return rotation(axis, angle * weight)


def ease(t: float) -> float:
    """Smoothstep: zero velocity at both ends, so one-way moves start and settle gently."""
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)


def progress(t: float, periodic: bool) -> float:
    """0 -> 1 (one-way, eased) or 0 -> 1 -> 0 (periodic, cosine: smooth across the seam)."""
    if periodic:
        return 0.5 - 0.5 * math.cos(2.0 * math.pi * t)
    return ease(t)


def frame_times(n: int, *, periodic: bool) -> list[float]:
    """Times of n frames: periodic paths stop one step short of t = 1 (that frame is the next
    pass's first), so repeating them makes a seam exactly like every other step."""
    if periodic:
        return [i / n for i in range(n)]
    return [i / max(1, n - 1) for i in range(n)]


def envelope(move: CameraMove, t: float) -> float:
    """How far the move is from rest (0 at rest, up to 1): where border-hiding zoom goes."""
    if move.path == "Static":
        return 0.0
    if move.path == "Rotate 360":
        # Smoothed |sin(phi/2)| (the circle's distance from rest), no kink at the seam.
        s = abs(math.sin(math.pi * t))
        eps = 0.12
        return (math.sqrt(s * s + eps * eps) - eps) / (math.sqrt(1 + eps * eps) - eps)
    s = progress(t, move.periodic)
    return 1.0 - s if move.path == "Zoom out" else s


def pose(move: CameraMove, t: float) -> CameraPose:
    """The camera at time t of a move."""
    a = move.amplitude
    p = np.asarray(move.pivot, dtype=np.float64)
    d = float(np.linalg.norm(p))
    s = progress(t, move.periodic)
    zero = np.zeros(3)
    name = move.path
    position, rot, zoom = zero, np.eye(3), 1.0
    if name in ("Static", ""):
        pass
    elif name in ("Zoom in", "Zoom out"):
        k = s if name == "Zoom in" else 1.0 - s
        position = p * (0.22 * a * k)
        position = position + np.array([0.025 * a * move.drift * k * d, 0.0, 0.0])
        rot = look_at(position, p, 0.6)
    elif name == "Dolly zoom":
        # Pull back along the pivot ray while zooming in: the subject keeps its size, the
        # background looms (the zoom-in direction keeps borders hidden without extra zoom).
        k = 0.32 * a * s
        position = -p * k + np.array([0.02 * a * move.drift * s * d, 0.0, 0.0])
        zoom = float(np.linalg.norm(p - position)) / d
        rot = look_at(position, p, 1.0)
    elif name in ("Pan right", "Pan left"):
        sign = 1.0 if name == "Pan right" else -1.0
        position = np.array([sign * 0.10 * a * s * d, 0.03 * a * move.drift * s * d, 0.0])
        rot = rotation((0.0, 1.0, 0.0), -sign * math.radians(1.5) * a * s)
    elif name in ("Crane up", "Crane down"):
        sign = -1.0 if name == "Crane up" else 1.0
        position = np.array([0.03 * a * move.drift * s * d, sign * 0.13 * a * s * d, 0.0])
        rot = look_at(position, p, 0.55)
    elif name in ("Tilt up", "Tilt down"):
        # A pan-and-tilt head turns about a point behind the lens: a little parallax.
        sign = -1.0 if name == "Tilt up" else 1.0
        rot = rotation((1.0, 0.0, 0.0), sign * math.radians(4.0) * a * s)
        nodal = np.array([0.0, 0.0, -0.15 * d])
        position = nodal - rot.T @ nodal
        position = position + np.array([0.02 * a * move.drift * s * d, 0.0, 0.0])
    elif name in ("Roll right", "Roll left"):
        # Camera-centric like the other paths: rolling right turns the picture to the left.
        sign = -1.0 if name == "Roll right" else 1.0
        position = p * (0.05 * a * s)
        rot = rotation((0.0, 0.0, 1.0), sign * math.radians(4.0) * a * s) @ look_at(position, p)
    elif name in ("Orbit right", "Orbit left"):
        sign = 1.0 if name == "Orbit right" else -1.0
        theta = sign * math.radians(5.0) * a * s
        # Rotate the rest camera about the pivot's vertical axis (camera moves sideways).
        r = rotation((0.0, 1.0, 0.0), -theta)
        position = p + r @ (-p)
        position = position + np.array([0.0, 0.03 * a * move.drift * s * d, 0.0])
        rot = look_at(position, p, 1.0)
    elif name == "Rotate 360":
        phi = 2.0 * math.pi * t
        radius = 0.05 * a * d
        position = np.array(
            [radius * (math.cos(phi) - 1.0), move.spin * radius * math.sin(phi), 0.0]
        )
        rot = look_at(position, p, 1.0)
    elif name == "Aerial":
        position = np.array([0.04 * a * move.drift * s, -0.07 * a * s, 0.16 * a * s]) * d
        rot = rotation((1.0, 0.0, 0.0), math.radians(2.0) * a * s) @ look_at(position, p, 0.3)
    else:
        raise ValueError(f"unknown camera path {name!r}")
    if move.push and name not in ("Static", "Zoom in", "Zoom out", "Dolly zoom"):
        position = position + p * (move.push * a * envelope(move, t))
    zoom *= 1.0 + move.cover_zoom * envelope(move, t)
    return CameraPose(position=np.asarray(position, dtype=np.float64), rotation=rot, zoom=zoom)


def plane_homography(
    cam: CameraPose,
    *,
    plane: Mat,
    k_src: Mat,
    k_dst: Mat,
    zoom_center: tuple[float, float] | None = None,
) -> Mat:
    """Homography from the rest view to ``cam`` for a plane with inverse depth ``plane . p``.

    With X = Z K^-1 p and 1/Z = m.p, the new camera sees R (X - C) = Z (R K^-1 + t m^T) p with
    t = -R C, so p' ~ K' (R K^-1 + t m^T) p. The zoom scales about ``zoom_center`` (output
    pixels; the subject, so zooming never pushes it out of frame), else the principal point.
    """
    k_new = k_dst.copy()
    k_new[0, 0] *= cam.zoom
    k_new[1, 1] *= cam.zoom
    if zoom_center is not None:
        k_new[0, 2] += (cam.zoom - 1.0) * (k_dst[0, 2] - zoom_center[0])
        k_new[1, 2] += (cam.zoom - 1.0) * (k_dst[1, 2] - zoom_center[1])
    t = -cam.rotation @ cam.position
    m = np.asarray(plane, dtype=np.float64).reshape(1, 3)
    h = k_new @ (cam.rotation @ np.linalg.inv(k_src) + t.reshape(3, 1) @ m)
    return np.asarray(h / h[2, 2], dtype=np.float64)


def choose_auto_path(*, seed: int, has_subject: bool) -> str:
    """The seeded pick for camera "": moves that show depth best for this kind of picture."""
    options = _SUBJECT_PATHS if has_subject else _SCENERY_PATHS
    weights = np.array([w for _, w in options], dtype=np.float64)
    rng = np.random.default_rng([seed, 101])
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def amplitude_for(motion_range: int) -> float:
    """motion_range 1-10 -> amplitude 0.2-2.0 (1.0 at the API's default of 5)."""
    return max(1, min(10, int(motion_range))) / 5.0


def plan_move(
    camera: str,
    *,
    motion_range: int,
    seed: int,
    periodic: bool,
    pivot: tuple[float, float, float],
    has_subject: bool = True,
) -> CameraMove:
    """Resolve a camera_control value and a seed into a concrete, reproducible move.

    The seed picks the auto path, jitters the amplitude (±15 %), adds a small secondary drift
    and push, and the Rotate 360 direction: same seed, same move; other seeds, other variants.
    """
    if camera not in CAMERA_PATHS:
        raise ValueError(f"unknown camera_control {camera!r}")
    path = camera or choose_auto_path(seed=seed, has_subject=has_subject)
    # Auto draws its variant from its own stream, so it never duplicates the explicit path.
    rng = np.random.default_rng([seed, 202, 0 if camera else 1])
    jitter = float(rng.uniform(0.85, 1.15))
    drift = float(rng.uniform(-1.0, 1.0))
    push = float(rng.uniform(0.0, 0.05))
    spin = 1.0 if rng.random() < 0.5 else -1.0
    return CameraMove(
        path=path,
        amplitude=amplitude_for(motion_range) * jitter,
        periodic=periodic or path == "Rotate 360",
        pivot=pivot,
        drift=drift,
        spin=spin,
        push=push,
    )


def with_cover_zoom(move: CameraMove, cover_zoom: float) -> CameraMove:
    return replace(move, cover_zoom=cover_zoom)


def with_amplitude(move: CameraMove, amplitude: float) -> CameraMove:
    return replace(move, amplitude=amplitude)
