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

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from kinora.engines.geometry.easing import smoothstep, there_and_back
from kinora.vocab import CAMERA_PATH_INFO, CameraControl

Mat = npt.NDArray[np.float64]

CAMERA_PATHS: tuple[str, ...] = tuple(c.value for c in CameraControl)
"""The API's camera_control values (:class:`kinora.vocab.CameraControl`); "" lets
:func:`choose_auto_path` pick."""


def _auto_options(*, subject: bool) -> tuple[tuple[str, float], ...]:
    """The paths Auto may pick, with their weights, in their slots' order (from the vocabulary)."""
    picks = []
    for control, info in CAMERA_PATH_INFO.items():
        pick = info.auto_subject if subject else info.auto_scenery
        if pick is not None:
            picks.append((pick.slot, control.value, pick.weight))
    return tuple((value, weight) for _, value, weight in sorted(picks))


_SUBJECT_PATHS = _auto_options(subject=True)
_SCENERY_PATHS = _auto_options(subject=False)


@dataclass(frozen=True)
class CameraPose:
    """Where the camera is (world coordinates), how it is turned (world -> camera) and its zoom."""

    position: Mat
    rotation: Mat
    zoom: float = 1.0
    """The path's zoom (with the border-hiding zoom too when that has no centre of its own)."""
    cover: float = 1.0
    """The border-hiding zoom, when it scales about its own centre (``cover_center``)."""
    cover_center: tuple[float, float] | None = None
    """Output pixels the border-hiding zoom scales about (None: it is part of ``zoom``)."""


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
    subject: bool = True
    """The pivot is a subject in front of its background (else a point of the scenery)."""
    subject_share: float = 0.0
    """The share of the rest frame the subject covers (0 when unknown)."""
    cover_zoom: float = 0.0
    """Zoom added along the motion envelope so no border shows; set by the renderer."""
    cover_center: tuple[float, float] | None = None
    """Output pixels the cover zoom scales about; None: the path's zoom centre (the subject).
    About the frame's centre an off-centre subject's shifts and turns need less zoom to cover,
    and the zoom does not take back part of the move (see :func:`fit_cover`)."""


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


def progress(t: float, periodic: bool) -> float:
    """0 -> 1 (one-way, eased) or 0 -> 1 -> 0 (periodic, cosine: smooth across the seam)."""
    if periodic:
        return there_and_back(t)
    return smoothstep(t)


def frame_times(n: int, *, periodic: bool) -> list[float]:
    """Times of n frames: periodic paths stop one step short of t = 1 (that frame is the next
    pass's first), so repeating them makes a seam exactly like every other step."""
    if periodic:
        return [i / n for i in range(n)]
    return [i / max(1, n - 1) for i in range(n)]


def _path(name: str) -> CameraControl:
    try:
        return CameraControl(name)
    except ValueError:
        raise ValueError(f"unknown camera path {name!r}") from None


def envelope(move: CameraMove, t: float) -> float:
    """How far the move is from rest (0 at rest, up to 1): where border-hiding zoom goes."""
    return POSES[_path(move.path)].envelope(move, t)


def pose(move: CameraMove, t: float) -> CameraPose:
    """The camera at time t of a move."""
    path = POSES[_path(move.path)]
    p = np.asarray(move.pivot, dtype=np.float64)
    at = At(move, t, move.amplitude, p, float(np.linalg.norm(p)), progress(t, move.periodic))
    position, rot, zoom = path.pose(at)
    if move.push and path.pushes:
        position = position + p * (move.push * at.a * path.envelope(move, t))
    cover = 1.0 + move.cover_zoom * path.envelope(move, t)
    if move.cover_center is None:
        return CameraPose(np.asarray(position, dtype=np.float64), rot, zoom * cover)
    return CameraPose(np.asarray(position, dtype=np.float64), rot, zoom, cover, move.cover_center)


# ---------------------------------------------------------------- the paths' poses


@dataclass(frozen=True)
class At:
    """What every pose function reads: the move at time t."""

    move: CameraMove
    t: float
    a: float
    """The amplitude."""
    p: Mat
    """The pivot."""
    d: float
    """The pivot's distance."""
    s: float
    """Progress along the path (0 -> 1, or 0 -> 1 -> 0 when periodic)."""


PoseFn = Callable[[At], tuple[Mat, Mat, float]]
"""A path's pose before push and cover zoom: (position, rotation, zoom)."""
EnvelopeFn = Callable[[CameraMove, float], float]


def _away(move: CameraMove, t: float) -> float:
    return progress(t, move.periodic)


def _back(move: CameraMove, t: float) -> float:
    return 1.0 - progress(t, move.periodic)


def _never(move: CameraMove, t: float) -> float:
    return 0.0


def _turned(t: float) -> float:
    """How far round Rotate 360 is at t (0 -> 1): eased so the camera leaves and reaches its
    rest point at zero speed, t - sin(2 pi t) / (2 pi), whose speed 1 - cos(2 pi t) is the same
    after t = 1, so repeated passes stay smooth across the seam."""
    return t - math.sin(2.0 * math.pi * t) / (2.0 * math.pi)


def _circle(move: CameraMove, t: float) -> float:
    # The circle's distance from rest over its diameter, |sin(phi / 2)|. With the eased phase
    # it leaves 0 with zero slope (no kink in the cover zoom at the seam), and it follows the
    # camera's displacement, which is what the border-hiding zoom must keep up with: an
    # envelope that lags the displacement near rest (the earlier smoothed |sin(pi t)|) forced
    # three times the zoom at the top, or a third of the move.
    return abs(math.sin(math.pi * _turned(t)))


@dataclass(frozen=True)
class PathPose:
    """The code of one camera path (its data is its row of kinora.vocab.CAMERA_PATH_INFO)."""

    pose: PoseFn
    envelope: EnvelopeFn = _away
    """How far from rest it is at t (0 at rest, up to 1)."""
    pushes: bool = True
    """Takes the seeded push-in towards the pivot (moves that are not zooms already)."""
    loops: bool = False
    """Always periodic: it comes back to its start whatever the request's loop."""


SCENERY_HOLD = 0.5
"""The share of its look back at the pivot that a crane or Rotate 360 keeps over scenery:
there the pivot lies on the background, and looking back at it would hold the background
still (the move would show nothing)..."""


FILLED_HOLD = 0.5
"""The share of it kept when the subject fills the frame (from FILL_FROM to FILL_TO of it):
then the subject is most of what is seen, and holding it still would hold the view still."""
FILL_FROM, FILL_TO = 0.3, 0.7


def _hold(at: At, weight: float) -> float:
    """How much a move that keeps looking back at the pivot does so (see SCENERY_HOLD)."""
    if not at.move.subject:
        return SCENERY_HOLD * weight
    fill = min(1.0, max(0.0, (at.move.subject_share - FILL_FROM) / (FILL_TO - FILL_FROM)))
    return weight * (1.0 - (1.0 - FILLED_HOLD) * fill)


def _rest(at: At) -> tuple[Mat, Mat, float]:
    return np.zeros(3), np.eye(3), 1.0


def _zoom(sign: float) -> PoseFn:
    def zoom(at: At) -> tuple[Mat, Mat, float]:
        # A push towards the subject for depth, and the lens's zoom for size: a push alone
        # hardly grows a far background (1.1x), which is what a zoom is judged by.
        k = at.s if sign > 0 else 1.0 - at.s
        position = at.p * (0.12 * at.a * k)
        position = position + np.array([0.025 * at.a * at.move.drift * k * at.d, 0.0, 0.0])
        return position, look_at(position, at.p, 0.6), 1.0 + 0.2 * at.a * k

    return zoom


def _dolly_zoom(at: At) -> tuple[Mat, Mat, float]:
    # Pull back along the pivot ray while zooming in: the subject keeps its size, the
    # background looms (the zoom-in direction keeps borders hidden without extra zoom).
    k = 0.32 * at.a * at.s
    position = -at.p * k + np.array([0.02 * at.a * at.move.drift * at.s * at.d, 0.0, 0.0])
    zoom = float(np.linalg.norm(at.p - position)) / at.d
    return position, look_at(position, at.p, 1.0), zoom


def _pan(sign: float) -> PoseFn:
    def pan(at: At) -> tuple[Mat, Mat, float]:
        a, s, d = at.a, at.s, at.d
        # Mostly the head's turn (which moves every depth alike), some travel for parallax.
        position = np.array([sign * 0.09 * a * s * d, 0.03 * a * at.move.drift * s * d, 0.0])
        return position, rotation((0.0, 1.0, 0.0), -sign * math.radians(2.4) * a * s), 1.0

    return pan


def _crane(sign: float) -> PoseFn:
    def crane(at: At) -> tuple[Mat, Mat, float]:
        a, s, d = at.a, at.s, at.d
        # Rising while tilting to keep the subject nearly framed: the background slides past
        # it. (Looking only half-way back at it cancelled the background's motion near depth
        # 1.8, where most backgrounds lie.)
        position = np.array([0.03 * a * at.move.drift * s * d, sign * 0.18 * a * s * d, 0.0])
        return position, look_at(position, at.p, _hold(at, 0.85)), 1.0

    return crane


def _tilt(sign: float) -> PoseFn:
    def tilt(at: At) -> tuple[Mat, Mat, float]:
        # A pan-and-tilt head turns about a point behind the lens: a little parallax.
        a, s, d = at.a, at.s, at.d
        rot = rotation((1.0, 0.0, 0.0), sign * math.radians(4.0) * a * s)
        nodal = np.array([0.0, 0.0, -0.15 * d])
        position = nodal - rot.T @ nodal
        position = position + np.array([0.02 * a * at.move.drift * s * d, 0.0, 0.0])
        return position, rot, 1.0

    return tilt


def _roll(sign: float) -> PoseFn:
    def roll(at: At) -> tuple[Mat, Mat, float]:
        # Camera-centric like the other paths: rolling right turns the picture to the left.
        position = at.p * (0.05 * at.a * at.s)
        turn = rotation((0.0, 0.0, 1.0), sign * math.radians(7.0) * at.a * at.s)
        return position, turn @ look_at(position, at.p), 1.0

    return roll


def _orbit(sign: float) -> PoseFn:
    def orbit(at: At) -> tuple[Mat, Mat, float]:
        theta = sign * math.radians(5.0) * at.a * at.s
        # Rotate the rest camera about the pivot's vertical axis (camera moves sideways).
        r = rotation((0.0, 1.0, 0.0), -theta)
        position = at.p + r @ (-at.p)
        position = position + np.array([0.0, 0.03 * at.a * at.move.drift * at.s * at.d, 0.0])
        return position, look_at(position, at.p, 1.0), 1.0

    return orbit


def _rotate_360(at: At) -> tuple[Mat, Mat, float]:
    phi = 2.0 * math.pi * _turned(at.t)
    radius = 0.05 * at.a * at.d
    position = np.array(
        [radius * (math.cos(phi) - 1.0), at.move.spin * radius * math.sin(phi), 0.0]
    )
    return position, look_at(position, at.p, _hold(at, 1.0)), 1.0


def _aerial(at: At) -> tuple[Mat, Mat, float]:
    # Rising and flying forward while tilting up a little, like a drone's reveal: the climb
    # and the tilt both move the view down, so they add up at every depth (tilting down to
    # look back at the pivot cancelled the climb's shift near the pivot's depth, which over
    # scenery is the whole picture); the flight forward grows what is ahead.
    a, s = at.a, at.s
    position = np.array([0.04 * a * at.move.drift * s, -0.06 * a * s, 0.16 * a * s]) * at.d
    rot = rotation((1.0, 0.0, 0.0), -math.radians(1.5) * a * s)
    return position, rot, 1.0


C = CameraControl
POSES: Mapping[CameraControl, PathPose] = MappingProxyType(
    {
        # Never posed: plan_move resolves Auto to a path first.
        C.AUTO: PathPose(_rest),
        C.STATIC: PathPose(_rest, envelope=_never, pushes=False),
        C.CRANE_UP: PathPose(_crane(-1.0)),
        C.CRANE_DOWN: PathPose(_crane(1.0)),
        C.TILT_UP: PathPose(_tilt(-1.0)),
        C.TILT_DOWN: PathPose(_tilt(1.0)),
        C.PAN_RIGHT: PathPose(_pan(1.0)),
        C.PAN_LEFT: PathPose(_pan(-1.0)),
        C.ROLL_RIGHT: PathPose(_roll(-1.0)),
        C.ROLL_LEFT: PathPose(_roll(1.0)),
        C.ORBIT_RIGHT: PathPose(_orbit(1.0)),
        C.ORBIT_LEFT: PathPose(_orbit(-1.0)),
        C.ROTATE_360: PathPose(_rotate_360, envelope=_circle, loops=True),
        C.DOLLY_ZOOM: PathPose(_dolly_zoom, pushes=False),
        C.ZOOM_IN: PathPose(_zoom(1.0), pushes=False),
        C.ZOOM_OUT: PathPose(_zoom(-1.0), envelope=_back, pushes=False),
        C.AERIAL: PathPose(_aerial),
    }
)
"""Each camera path's pose code, keyed like kinora.vocab.CAMERA_PATH_INFO."""
del C


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
    pixels; the subject, so zooming never pushes it out of frame), else the principal point;
    then the pose's own border-hiding zoom about its centre: K' = S(cover) S(zoom) K.
    """
    centre = zoom_center if zoom_center is not None else (float(k_dst[0, 2]), float(k_dst[1, 2]))
    k_new = _scaled_about(k_dst, cam.zoom, centre)
    if cam.cover_center is not None:
        k_new = _scaled_about(k_new, cam.cover, cam.cover_center)
    t = -cam.rotation @ cam.position
    m = np.asarray(plane, dtype=np.float64).reshape(1, 3)
    h = k_new @ (cam.rotation @ np.linalg.inv(k_src) + t.reshape(3, 1) @ m)
    return np.asarray(h / h[2, 2], dtype=np.float64)


def _scaled_about(k: Mat, zoom: float, centre: tuple[float, float]) -> Mat:
    """Intrinsics whose image is scaled by ``zoom`` about the output pixel ``centre``."""
    out = k.copy()
    out[0, 0] *= zoom
    out[1, 1] *= zoom
    out[0, 2] = zoom * k[0, 2] + (1.0 - zoom) * centre[0]
    out[1, 2] = zoom * k[1, 2] + (1.0 - zoom) * centre[1]
    return out


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
    subject_share: float = 0.0,
) -> CameraMove:
    """Resolve a camera_control value and a seed into a concrete, reproducible move.

    The seed picks the auto path, jitters the amplitude (up to 20 % more: the paths' sizes are
    the least each should show), adds a small secondary drift and push, and the Rotate 360
    direction: same seed, same move; other seeds, other variants.
    """
    if camera not in CAMERA_PATHS:
        raise ValueError(f"unknown camera_control {camera!r}")
    path = camera or choose_auto_path(seed=seed, has_subject=has_subject)
    # Auto draws its variant from its own stream, so it never duplicates the explicit path.
    rng = np.random.default_rng([seed, 202, 0 if camera else 1])
    jitter = float(rng.uniform(1.0, 1.2))
    drift = float(rng.uniform(-1.0, 1.0))
    push = float(rng.uniform(0.0, 0.05))
    spin = 1.0 if rng.random() < 0.5 else -1.0
    return CameraMove(
        path=path,
        amplitude=amplitude_for(motion_range) * jitter,
        periodic=periodic or POSES[CameraControl(path)].loops,
        pivot=pivot,
        drift=drift,
        spin=spin,
        push=push,
        subject=has_subject,
        subject_share=subject_share,
    )


def with_cover_zoom(move: CameraMove, cover_zoom: float) -> CameraMove:
    return replace(move, cover_zoom=cover_zoom)


def fit_cover_zoom(
    move: CameraMove,
    covers: Callable[[float], bool],
    *,
    limit: float,
    steps: int,
    search: Literal["bisect", "ladder"] = "bisect",
) -> CameraMove | None:
    """The move with the least cover zoom that hides every border, or None if even ``limit``
    does not (then the caller chooses: take ``limit`` anyway, or make the move smaller).

    The zoom is added along the move's envelope (see :func:`pose`), so the rest frame keeps
    the input's framing. ``covers(zoom)`` is the engine's own test, for its own canvas: does
    every frame of the move with this cover zoom see only drawn picture? More zoom is assumed
    to cover at least as much. Two searches, each an engine's, kept so that its frames stay
    exactly as they were:

    - ``"bisect"`` (the one-image engine): zero if that covers, else None unless ``limit``
      covers, else ``steps`` halvings of [0, limit]; the answer is the upper end, so it
      always covers and is within ``limit / 2**steps`` of the least zoom that does.
    - ``"ladder"`` (the text engine): the first of the ``steps`` zooms 0, limit / steps,
      2 * limit / steps, ... below ``limit`` that covers; None when none does (``limit``
      itself is not tried).
    """
    if search == "ladder":
        step = limit / steps
        for k in range(steps):
            if covers(k * step):
                return with_cover_zoom(move, k * step)
        return None
    if covers(0.0):
        return with_cover_zoom(move, 0.0)
    if not covers(limit):
        return None
    lo, hi = 0.0, limit
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if covers(mid):
            hi = mid
        else:
            lo = mid
    return with_cover_zoom(move, hi)


def with_amplitude(move: CameraMove, amplitude: float) -> CameraMove:
    return replace(move, amplitude=amplitude)


class CoversAt(Protocol):
    """An engine's border test for a cover zoom scaling about ``center`` (None: the path's
    own zoom centre): does every frame of the move see only drawn picture?"""

    def __call__(self, zoom: float, *, center: tuple[float, float] | None) -> bool: ...


def frame_centre(width: int, height: int) -> tuple[float, float]:
    """The output frame's centre in pixels: where a border-hiding zoom needs least to cover a
    move that shifts or turns the view, without shifting the view itself (zooming about an
    off-centre subject, or about the side away from the move, takes back part of the move)."""
    return ((width - 1) / 2.0, (height - 1) / 2.0)


def fit_cover(
    move: CameraMove,
    covers: CoversAt,
    *,
    centers: Sequence[tuple[float, float] | None],
    limit: float,
    steps: int,
) -> CameraMove | None:
    """The move with the least cover zoom over every candidate centre (None: the path's own
    zoom centre) that hides every border, or None if none does within ``limit``.

    ``covers(zoom, center=...)`` is the engine's test, as for :func:`fit_cover_zoom` (bisection,
    per centre). Ties keep the earlier centre, so list the path's own centre (None) first to
    keep a move that needs no help exactly as it was.
    """
    best: CameraMove | None = None
    step = limit / 2**steps  # the bisection's resolution: closer than that is a tie
    for centre in centers:
        test = functools.partial(covers, center=centre)
        if best is not None and (best.cover_zoom < step or not test(best.cover_zoom - step)):
            continue  # cannot do better by a step: skip its search
        fitted = fit_cover_zoom(replace(move, cover_center=centre), test, limit=limit, steps=steps)
        if fitted is not None and (best is None or fitted.cover_zoom < best.cover_zoom - step):
            best = fitted
    return best
