"""Two-image engine: a camera move, a flow in-between, or a designed transition.

The case is decided per pair (recorded in the render's metadata):

- **same scene** (SIFT matches fit a plausible view change that moves the frame by >= 2 % of
  its diagonal): a camera move from A's view to B's (:mod:`kinora.engines.morph.views`); every
  frame is one end warped, the hand-over carried by residual flow, so nothing doubles.
- **consecutive** (little view change, and dense flow explains B: its round trips are
  consistent): flow in-betweening at an even pace (linear time), with a decisive blend where
  the flow failed, so a fast hand switches instead of doubling.
- **unrelated**: a designed transition that moves: a push through A into B, a slide, or a
  reveal from B's subject, chosen from the seed or from ``config.camera``. None mixes the two
  pictures over a person: the push cuts under its peak blur, the slide has a hard edge, and
  the reveal swaps each person whole.

Endpoints are exact (t=0 is A, t=1 is B after the aspect fit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import (
    EngineInfo,
    EngineInputs,
    Frame,
    InputKind,
    MotionEngine,
    Render,
    RenderConfig,
)
from kinora.engines.geometry.easing import sine_bump, smoothstep, smoothstep_with_linear
from kinora.engines.geometry.framing import salient_centre
from kinora.engines.morph.flow import FlowField, FlowInterpolator, compute_flow
from kinora.engines.morph.views import CameraMove, match_views, view_shift
from kinora.engines.parallax.segment import segment
from kinora.video.fit import cover_fit
from kinora.vocab import CAMERA_PATH_INFO

FloatArray = npt.NDArray[np.float32]

RELATED = "flow-morph"
CAMERA_MOVE = "camera-move"
SAME_SCENE = "same scene"
CONSECUTIVE = "consecutive"
UNRELATED = "unrelated"
MIN_VIEW_SHIFT = 0.02
"""Corner displacement (share of the diagonal) above which matched views are a camera move."""
REVEAL = "reveal"
ZOOM = "zoom-through"
WHIP = "whip-pan"
CREATIVE_KINDS: tuple[str, ...] = (REVEAL, ZOOM, WHIP)
KEYFRAMES = "keyframes"
"""The plan's kind and case for keyframes: a chain of pairs, each with its own plan."""
AUTO_KINDS: tuple[str, ...] = (ZOOM, WHIP)
"""What the seed picks from: the push and the slide move each picture whole, so no person is
cut apart; the reveal's iris can cross one, so it is only taken on request (camera Static)."""


def pass_times(frames_per_motion: int, loop: int) -> list[float]:
    """Raw (un-eased) t of every output frame of a ping-pong loop.

    The first pass includes both ends (A ... B); later passes drop their first sample, which
    would repeat the previous pass's last frame, and still land exactly on their endpoint.
    """
    n = frames_per_motion
    times: list[float] = []
    for p in range(loop):
        first = p == 0
        us = [i / (n - 1) if first else (i + 1) / n for i in range(n)]
        times.extend(us if p % 2 == 0 else [1.0 - u for u in us])
    return times


def _similarity(
    center: tuple[float, float], scale: float, angle_deg: float, shift: tuple[float, float] = (0, 0)
) -> npt.NDArray[np.float64]:
    """2x3 map from source to output pixels: zoom/roll about ``center``, then a shift."""
    m = cv2.getRotationMatrix2D(center, angle_deg, scale)
    m[0, 2] += shift[0]
    m[1, 2] += shift[1]
    return np.asarray(m, dtype=np.float64)


def _affine(
    image: Frame, m: npt.NDArray[np.float64], border: int = cv2.BORDER_REFLECT_101
) -> Frame:
    h, w = image.shape[:2]
    return np.asarray(
        cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=border),
        dtype=np.uint8,
    )


def _mix(a: Frame, b: Frame, alpha: FloatArray | float) -> Frame:
    al = alpha[..., None] if isinstance(alpha, np.ndarray) else alpha
    out = a.astype(np.float32) * (1.0 - al) + b.astype(np.float32) * al
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- camera

# Each camera path's 2D stand-in is its ``morph`` in kinora.vocab.CAMERA_PATH_INFO, keyed here
# by the lower-case value the engine compares.
_CAMERA_CONTENT_MOTION: dict[str, tuple[float, float]] = {
    # direction the picture content moves on screen for each camera move
    c.value.lower(): m.direction
    for c, i in CAMERA_PATH_INFO.items()
    if (m := i.morph) is not None and m.kind == "shift"
}
_CAMERA_ZOOM: dict[str, float] = {
    c.value.lower(): m.sign
    for c, i in CAMERA_PATH_INFO.items()
    if (m := i.morph) is not None and m.kind == "zoom"
}
_CAMERA_ROLL: dict[str, float] = {
    c.value.lower(): m.sign
    for c, i in CAMERA_PATH_INFO.items()
    if (m := i.morph) is not None and m.kind == "roll"
}


def camera_overlay(
    frame: Frame, *, camera: str, t: float, amount: float, center: tuple[float, float]
) -> Frame:
    """A 2D camera excursion on top of a flow morph, identity at both ends of a pass.

    A related pair fixes both endpoints, so the camera cannot travel net; it pushes in, drifts
    or rolls and settles back (a sine profile), always zoomed >= 1 so no border shows.
    """
    key = camera.strip().lower()
    if not key or key == "static" or amount <= 0:
        return frame
    h, w = frame.shape[:2]
    bump = sine_bump(t)
    if bump <= 0:
        return frame
    cx, cy = center[0] * w, center[1] * h
    zoom, angle, shift = 1.0, 0.0, (0.0, 0.0)
    if key in _CAMERA_CONTENT_MOTION:
        dx, dy = _CAMERA_CONTENT_MOTION[key]
        zoom = 1.0 + amount * bump
        cx, cy = w / 2, h / 2
        shift = (dx * (zoom - 1) * w / 2 * 0.95, dy * (zoom - 1) * h / 2 * 0.95)
    elif key in _CAMERA_ZOOM:
        zoom = 1.0 + 1.5 * amount * bump
    elif key in _CAMERA_ROLL:
        angle = _CAMERA_ROLL[key] * 20.0 * amount * bump
        rad = math.radians(abs(angle))
        zoom = math.cos(rad) + max(w / h, h / w) * math.sin(rad)
        cx, cy = w / 2, h / 2
    else:
        return frame
    return _affine(frame, _similarity((cx, cy), zoom, angle, shift), cv2.BORDER_REPLICATE)


# ---------------------------------------------------------------- transitions


def defocus(image: FloatArray, sigma: float) -> FloatArray:
    """A wide Gaussian blur, cheaply (at a quarter size for large sigmas)."""
    if sigma < 0.5:
        return image
    h, w = image.shape[:2]
    k = 4 if sigma > 8 else 1
    small = cv2.resize(image, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / k)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


@dataclass
class ZoomThrough:
    """Fly into A's subject and out of B's: magnification changes at one log rate throughout.

    A grows from 1 to S while B grows from S**-0.35 to 1 (mirrored edges fill the thin margin
    while B is small), so the motion never reverses. The switch from A to B takes 30 % of
    the pass at the peak of the zoom blur, under a defocus that peaks with it: the two are
    mixed only as fields of colour with no shapes left to double (a cut would be a jump).
    """

    a: Frame
    b: Frame
    center_a: tuple[float, float]
    center_b: tuple[float, float]
    strength: float = 2.2
    direction: float = 1.0
    roll: float = 0.0

    def __call__(self, t: float) -> Frame:
        if t <= 0:
            return self.a.copy()
        if t >= 1:
            return self.b.copy()
        h, w = self.a.shape[:2]
        log_s = math.log(self.strength) * self.direction
        blur = 0.12 * 4 * t * (1 - t) * abs(log_s)
        ca = (self.center_a[0] * w, self.center_a[1] * h)
        cb = (self.center_b[0] * w, self.center_b[1] * h)
        alpha = smoothstep((t - 0.35) / 0.3)

        # one tap per ~3 px of smear at the frame's corners: fewer would show as copies
        spread = blur * 0.5 * math.hypot(w, h)
        taps = int(min(8, max(2, math.ceil(spread / 3))))

        def layer(img: Frame, c: tuple[float, float], lg: float, ang: float) -> FloatArray:
            acc = np.zeros(img.shape, np.float32)
            for k in range(taps):
                s = math.exp(lg + blur * (k / (taps - 1) - 0.5) * np.sign(log_s or 1))
                acc += _affine(img, _similarity(c, s, ang)).astype(np.float32)
            return np.asarray(acc / taps, dtype=np.float32)

        la = layer(self.a, ca, log_s * t, self.roll * t) if alpha < 1 else None
        lb = (
            layer(self.b, cb, 0.35 * log_s * (t - 1), 0.35 * self.roll * (t - 1))
            if alpha > 0
            else None
        )
        if la is None and lb is not None:
            out = lb
        elif lb is None and la is not None:
            out = la
        else:
            assert la is not None and lb is not None
            out = la * (1 - alpha) + lb * alpha
        out = defocus(
            out, 0.06 * math.hypot(w, h) * math.sin(math.pi * min(1, max(0, (t - 0.3) / 0.4)))
        )
        return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


@dataclass
class WhipPan:
    """A fast camera swing: A leaves, B arrives from the other side, with motion blur.

    Both images ride one strip, so the motion is a single continuous pan; blur grows with the
    speed. The seam between them is hard (a 2 px edge): a soft one would show both pictures,
    one through the other, over whatever it crosses.
    """

    a: Frame
    b: Frame
    motion: tuple[float, float] = (-1.0, 0.0)
    """Direction the content moves on screen (unit, along one axis)."""
    blur: float = 0.12

    def __call__(self, t: float) -> Frame:
        if t <= 0:
            return self.a.copy()
        if t >= 1:
            return self.b.copy()
        h, w = self.a.shape[:2]
        mx, my = self.motion
        horizontal = abs(mx) >= abs(my)
        length = w if horizontal else h
        sign = (mx if horizontal else my) or 1.0
        d = t * length
        shift_a = (sign * d, 0.0) if horizontal else (0.0, sign * d)
        shift_b = (sign * (d - length), 0.0) if horizontal else (0.0, sign * (d - length))
        ia = _affine(self.a, np.array([[1, 0, shift_a[0]], [0, 1, shift_a[1]]], dtype=np.float64))
        ib = _affine(self.b, np.array([[1, 0, shift_b[0]], [0, 1, shift_b[1]]], dtype=np.float64))
        coord = np.arange(length, dtype=np.float32)
        # position along the motion axis measured from the side B enters
        pos = coord if sign > 0 else (length - 1 - coord)
        feather = 2.0
        alpha_line = np.clip((d - pos) / feather + 0.5, 0.0, 1.0).astype(np.float32)
        alpha = (
            np.broadcast_to(alpha_line[None, :], (h, w))
            if horizontal
            else np.broadcast_to(alpha_line[:, None], (h, w))
        )
        out = _mix(ia, ib, np.ascontiguousarray(alpha))
        k = round(self.blur * length * 4 * t * (1 - t))
        if k >= 2:
            out = np.asarray(cv2.blur(out, (k, 1) if horizontal else (1, k)), dtype=np.uint8)
        return out


SWITCH_SPAN = 0.1
"""Half the share of the pass a held subject part takes to change pictures under its pulse
(at least :data:`SWITCH_FRAMES` frames: a shorter swap of a large subject reads as a jump)."""
SWITCH_FRAMES = 5
WHOLE_SWITCH_SPAN = 0.3
"""A whole frame's swap spreads over the middle 60 % of the pass: the defocus comes and goes
at an even pace instead of one sudden change in a still picture."""
PULSE_SIGMA = 0.03
"""The defocus at the pulse's peak, a share of the frame's diagonal: no shape survives it."""


def fill_holes(solid: npt.NDArray[np.bool_]) -> FloatArray:
    """``solid`` with every region it encloses (not reachable from the border) filled in."""
    h, w = solid.shape
    outside = np.zeros((h + 2, w + 2), np.uint8)
    outside[1:-1, 1:-1] = solid
    flood = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(outside, flood, (0, 0), 2)
    return np.asarray(outside[1:-1, 1:-1] != 2, dtype=np.float32)


def cut_by_frame(subject: FloatArray, *, share: float = 0.15) -> bool:
    """Whether the subject runs out of the frame's bottom edge over ``share`` of its width.

    A bust or a close-up: the segmenter's matte of it is least sure at the frame's edge (a
    portrait's shoulders and shirt are often left out), so a reveal that keeps "the subject"
    whole would cut the person at the matte's edge. Such pairs swap the whole frame at once,
    under the defocus pulse.
    """
    h = subject.shape[0]
    rows = subject[max(0, h - max(2, h // 50)) :]
    return bool(float(np.mean(rows > 0.5)) >= share)


def hold_parts(
    dist: FloatArray, quant: FloatArray, subject: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each connected part of ``subject`` held whole over the iris, and its switch time.

    Returns ``(hold, switch_at)``: the subject's soft matte (0 outside it) and, per pixel, the
    time its part switches to B, the moment the iris would have covered half of the part
    (clamped to the middle of the pass, so a part is never held to the last frame and then
    jumps). The matte, not a grown box, is held, so no rim of A's background rides with it.
    Parts closer than 1 % of the frame are one part (a hand beside a body, loose hair).
    """
    h, w = dist.shape
    grow = max(1, round(0.01 * max(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    # held firmly: a half-sure matte would let B show through the subject (a double image),
    # and so would a hole inside it (a collar, the gap under an arm)
    soft = np.clip((np.asarray(subject, np.float32) - 0.2) / 0.4, 0.0, 1.0)
    matte = np.maximum(soft * soft * (3.0 - 2.0 * soft), fill_holes(subject > 0.5))
    solid = cv2.dilate((matte > 0.5).astype(np.uint8), kernel)
    count, labels = cv2.connectedComponents(solid)
    switch_at = np.ones((h, w), np.float32)
    hold = np.zeros((h, w), np.float32)
    ts = np.linspace(0.0, 1.0, len(quant))
    for k in range(1, count):
        part = labels == k
        core = part & (matte > 0.5)
        if not core.any():
            continue
        at = float(np.interp(float(np.median(dist[core])), quant, ts))
        switch_at[part] = min(0.8, max(0.25, at))
        hold[part] = matte[part]
    return hold, switch_at


@dataclass
class Reveal:
    """B opens from its subject outward through an organic iris while both images push in.

    The radius follows the quantiles of the distance map, so the revealed area grows evenly
    with t (even per-frame change) however off-centre the subject is. With ``subject_a`` (A's
    people or main subject, a mask), the iris never cuts it: each part of it stays whole over
    B until its moment (:func:`hold_parts`), then B's picture replaces it at once; with
    ``subject_b`` B's subject likewise appears whole at its moment, behind A's.
    """

    a: Frame
    b: Frame
    center_a: tuple[float, float]
    center_b: tuple[float, float]
    seed: int = 0
    push: float = 0.08
    subject_a: FloatArray | None = None
    subject_b: FloatArray | None = None
    frames: int = 120
    """Frames in one pass: the swap under the pulse lasts at least 2 * SWITCH_FRAMES."""
    switch_span: float = SWITCH_SPAN
    """Half the share of the pass each swap's pulse lasts (a whole-frame swap takes longer)."""
    """B's subject, held back until its moment and then shown whole (the iris cuts neither)."""
    _dist: FloatArray = field(init=False, repr=False)
    _quant: FloatArray = field(init=False, repr=False)
    _feather: float = field(init=False, repr=False)
    _holds: dict[str, tuple[FloatArray, FloatArray]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        h, w = self.a.shape[:2]
        rng = np.random.default_rng(self.seed)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        dx, dy = xs - self.center_b[0] * w, ys - self.center_b[1] * h
        theta = np.arctan2(dy, dx)
        lobes = int(rng.integers(3, 7))
        phase = float(rng.uniform(0, 2 * math.pi))
        wobble = (
            1.0
            + 0.1 * np.sin(lobes * theta + phase)
            + 0.04 * np.sin((lobes + 3) * theta - 2 * phase)
        )
        self._dist = (np.hypot(dx, dy) * wobble).astype(np.float32)
        self._feather = 0.02 * math.hypot(w, h)  # a narrow rim: a wide one shows both pictures
        self._quant = np.quantile(self._dist, np.linspace(0, 1, 257)).astype(np.float32)
        self._holds = {}
        for side, subject in (("b", self.subject_b), ("a", self.subject_a)):
            if subject is not None:
                self._holds[side] = hold_parts(self._dist, self._quant, subject)

    def __call__(self, t: float) -> Frame:
        if t <= 0:
            return self.a.copy()
        if t >= 1:
            return self.b.copy()
        h, w = self.a.shape[:2]
        q = float(np.interp(t, np.linspace(0, 1, 257), self._quant))
        radius = q + self._feather * (t - 0.5)
        mask = np.clip((radius - self._dist) / self._feather + 0.5, 0.0, 1.0).astype(np.float32)
        ca = (self.center_b[0] * w, self.center_b[1] * h)
        cb = ca
        push_a = _similarity(ca, 1.0 + self.push * t, 0.0)
        push_b = _similarity(cb, 1.0 + self.push * (1.0 - t), 0.0)
        # B's subject first, then A's on top: A's person stays in front until it leaves
        pulse = np.zeros((h, w), np.float32)
        for side, push in (("b", push_b), ("a", push_a)):
            if side not in self._holds:
                continue
            hold, switch_at = self._holds[side]
            u = (t - switch_at) / max(self.switch_span, SWITCH_FRAMES / max(1, self.frames))
            # the swap happens under the peak of a defocus pulse: the two are mixed only as
            # fields of colour, never as two sharp subjects one through the other
            switched = np.clip(u + 0.5, 0.0, 1.0)
            switched = switched * switched * (3.0 - 2.0 * switched) * hold
            blur = np.where(np.abs(u) < 1.0, 0.5 + 0.5 * np.cos(np.pi * np.clip(u, -1, 1)), 0.0)
            # the held matte rides with its picture's push, so it stays on the outline
            maps = np.dstack([hold, switched, blur * hold]).astype(np.float32)
            moved = cv2.warpAffine(np.ascontiguousarray(maps), push, (w, h), flags=cv2.INTER_LINEAR)
            mask = (mask * (1.0 - moved[..., 0]) + moved[..., 1]).astype(np.float32)
            # what this layer covers (its held part, not yet switched) hides the pulse below
            pulse *= 1.0 - moved[..., 0] + moved[..., 1]
            own = moved[..., 2]
            if float(own.max()) > 0.01:  # softened so the pulse has no hard edge of its own
                soft = cv2.GaussianBlur(own, (0, 0), 0.25 * PULSE_SIGMA * math.hypot(w, h))
                pulse = np.maximum(pulse, np.maximum(own, soft))
        ia = _affine(self.a, push_a)
        ib = _affine(self.b, push_b)
        out = _mix(ia, ib, mask)
        if float(pulse.max()) > 0.01:
            weight = np.clip(pulse * 1.2, 0.0, 1.0)[..., None]
            blurred = defocus(out.astype(np.float32), PULSE_SIGMA * math.hypot(w, h))
            out = np.clip(out * (1.0 - weight) + blurred * weight + 0.5, 0, 255).astype(np.uint8)
        return out


# ---------------------------------------------------------------- engine


@dataclass(frozen=True)
class TransitionPlan:
    """What the engine decided for a pair (recorded in the render's metadata, logs, tests)."""

    kind: str
    """:data:`CAMERA_MOVE`, :data:`RELATED` (flow in-between) or one of CREATIVE_KINDS."""
    case: str
    """:data:`SAME_SCENE`, :data:`CONSECUTIVE` or :data:`UNRELATED`."""
    related: bool
    consistency: float
    photo_gain: float
    aligned: bool
    params: dict[str, Any]


def ease_in(u: float) -> float:
    """From rest to the linear pace: 2u^2 - u^3 (slope 0 at 0, 1 at 1)."""
    return 2.0 * u * u - u * u * u


def ease_out(u: float) -> float:
    """From the linear pace to rest (the mirror of :func:`ease_in`)."""
    return 1.0 - ease_in(1.0 - u)


@dataclass(frozen=True)
class ChainSegment:
    """One keyframe-to-keyframe transition, placed on the chain's 0-1 time."""

    render: Callable[[float], Frame]
    start: float
    end: float
    from_rest: bool
    """It starts from rest (the chain's start, or a hold): eased in, else at full pace."""
    to_rest: bool
    ease: Callable[[float], float]
    """The pair's own easing, used when it both starts and ends at rest."""
    plan: TransitionPlan

    def local(self, t: float) -> float:
        u = min(1.0, max(0.0, (t - self.start) / (self.end - self.start)))
        if self.ease is _linear:  # consecutive frames play at an even pace throughout
            return u
        if self.from_rest and self.to_rest:
            return self.ease(u)
        if self.from_rest:
            return ease_in(u)
        if self.to_rest:
            return ease_out(u)
        return u


@dataclass
class KeyframeChain:
    """Keyframes: the pictures' transitions back to back, each exact at its keyframe's frame.

    Between keyframes the pace does not drop to zero (a segment that neither starts nor ends
    at rest runs at its linear pace), so the video passes through each picture without a
    stop unless that keyframe holds; before the first keyframe's time and during a hold the
    picture stays.
    """

    segments: list[ChainSegment]

    def __call__(self, t: float) -> Frame:
        for seg in self.segments:
            if t < seg.start:  # before it: the rest on its first picture (a hold, or a late at)
                return seg.render(0.0)
            if t <= seg.end:
                return seg.render(seg.local(t))
        return self.segments[-1].render(1.0)


@dataclass
class _Prepared:
    plan: TransitionPlan
    render: Callable[[float], Frame]
    camera_center: tuple[float, float]
    ease: Callable[[float], float] = smoothstep_with_linear


def _linear(t: float) -> float:
    return t


def is_related(flow: FlowField) -> bool:
    """Whether flow explains the pair: round trips mostly consistent, or B well predicted.

    Measured on Big Buck Bunny pairs and unrelated photos at 320x180 to 640x360: related pairs
    score consistency >= 0.3 (or >= 0.1 with photometric gain > 0.5), unrelated ones <= 0.08.
    """
    return flow.consistency >= 0.3 or (flow.consistency >= 0.1 and flow.photo_gain >= 0.5)


def midpoint(a: Frame, b: Frame, *, max_side: int = 320) -> Frame:
    """The pure flow interpolation at t=0.5 of two same-size images (no easing, no camera)."""
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} != {b.shape}")
    return FlowInterpolator(a, b, compute_flow(a, b, max_side=max_side)).frame(0.5)


class MorphEngine(MotionEngine):
    """Start frame + end frame -> a camera move, a flow in-between or a designed transition."""

    info = EngineInfo(
        name="kinora-morph",
        version="2.1",
        accepts=frozenset({InputKind.TWO_IMAGES}),
        needs_gpu=False,
        max_duration=10.0,
        description=(
            "Two views of one scene become a camera move (SIFT homographies, one view per "
            "frame); consecutive frames an even optical-flow in-between; unrelated images a "
            "push through or a slide."
        ),
        honours=frozenset({"camera_control", "motion_range", "seed", "keyframes"}),
    )

    def __init__(self, *, flow_max_side: int = 320, models_dir: Path | None = None) -> None:
        self.flow_max_side = flow_max_side
        self.models_dir = models_dir
        """Where the ISNet segmenter lives (the reveal keeps A's subject whole with it)."""

    def plan(self, inputs: EngineInputs, config: RenderConfig) -> TransitionPlan:
        """Decide the transition without rendering (cost: one flow computation)."""
        return self._prepare(inputs, config).plan

    def _prepare(self, inputs: EngineInputs, config: RenderConfig) -> _Prepared:
        if len(inputs.images) < 2:
            raise ValueError("the morph engine needs two images (start and end)")
        if inputs.keyframes:
            return self._chain(inputs, config)
        return self._pair(inputs.images[0], inputs.images[1], config)

    def _chain(self, inputs: EngineInputs, config: RenderConfig) -> _Prepared:
        """Keyframes: a transition between each image and the next, played back to back."""
        if len(inputs.keyframes) != len(inputs.images):
            raise ValueError("one (at, hold) per keyframe image")
        n = config.frames_per_motion

        def frame_t(share: float) -> float:
            # the frame shown at that share of the pass (at * fps; the last frame at its end)
            return min(n - 1, round(share * n)) / (n - 1)

        segments = []
        centre = (0.5, 0.5)
        for i in range(len(inputs.images) - 1):
            (at, hold), (next_at, next_hold) = inputs.keyframes[i], inputs.keyframes[i + 1]
            pair = self._pair(inputs.images[i], inputs.images[i + 1], config, seed_offset=i)
            centre = pair.camera_center if i == 0 else centre
            start, end = frame_t(at + hold), frame_t(next_at)
            if end <= start:
                raise ValueError(f"keyframes {i} and {i + 1} leave no frame of motion")
            last = i == len(inputs.images) - 2
            segments.append(
                ChainSegment(
                    pair.render,
                    start,
                    end,
                    from_rest=i == 0 or hold > 0,
                    to_rest=last or next_hold > 0,
                    ease=pair.ease,
                    plan=pair.plan,
                )
            )
        plans = [seg.plan for seg in segments]
        plan = TransitionPlan(
            KEYFRAMES,
            KEYFRAMES,
            all(p.related for p in plans),
            min(p.consistency for p in plans),
            min(p.photo_gain for p in plans),
            all(p.aligned for p in plans),
            {
                "keyframes": [
                    {
                        "at": round(k[0] * config.duration, 3),
                        "hold": round(k[1] * config.duration, 3),
                    }
                    for k in inputs.keyframes
                ],
                "segments": [{"case": p.case, "transition": p.kind} for p in plans],
            },
        )
        return _Prepared(plan, KeyframeChain(segments), centre, _linear)

    def _pair(
        self, a_raw: Frame, b_raw: Frame, config: RenderConfig, *, seed_offset: int = 0
    ) -> _Prepared:
        w, h = config.width, config.height
        a = cover_fit(np.asarray(a_raw, dtype=np.uint8), w, h)
        b = cover_fit(np.asarray(b_raw, dtype=np.uint8), w, h)
        amp = min(10, max(1, config.motion_range)) / 5.0
        camera = config.camera.strip().lower()
        view = match_views(a, b)
        facts: dict[str, Any] = {
            "model": view.model,
            "matches": view.matches,
            "inliers": view.inliers,
            "view_shift": round(view_shift(view.homography, w, h), 4),
        }
        center = salient_centre(b) if camera else (0.5, 0.5)
        if view.ok and facts["view_shift"] >= MIN_VIEW_SHIFT:
            move = CameraMove(a, b, view, flow_max_side=self.flow_max_side)
            res = move.residual_flow  # what the view change leaves over, between A and B-in-A
            plan = TransitionPlan(
                CAMERA_MOVE, SAME_SCENE, True, res.consistency, res.photo_gain, True, facts
            )
            return _Prepared(plan, move, center)
        flow = compute_flow(a, b, max_side=self.flow_max_side)
        if is_related(flow):
            interp = FlowInterpolator(a, b, flow)
            plan = TransitionPlan(
                RELATED, CONSECUTIVE, True, flow.consistency, flow.photo_gain, view.ok, facts
            )
            # small motion plays through at one speed: an eased start would hold the first
            # frames still and then hurry
            return _Prepared(plan, interp.frame, center, _linear)
        # (a chain's later pairs draw their own; the first keeps a plain pair's draw)
        rng = np.random.default_rng(
            [config.seed, 0x4B494E, *([seed_offset] if seed_offset else [])]
        )
        kind = AUTO_KINDS[int(rng.integers(len(AUTO_KINDS)))]
        motion = [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)][int(rng.integers(4))]
        zoom_dir = 1.0 if rng.random() < 0.75 else -1.0
        roll = 0.0
        if camera in _CAMERA_CONTENT_MOTION:
            kind, motion = WHIP, _CAMERA_CONTENT_MOTION[camera]
        elif camera in _CAMERA_ZOOM:
            kind, zoom_dir = ZOOM, _CAMERA_ZOOM[camera]
        elif camera in _CAMERA_ROLL:
            kind, zoom_dir, roll = ZOOM, 1.0, 45.0 * _CAMERA_ROLL[camera]
        elif camera == "static":
            kind = REVEAL
        ca, cb = salient_centre(a), salient_centre(b)
        render: Callable[[float], Frame]
        params: dict[str, Any]
        if kind == WHIP:
            # a blur near the per-frame travel: a slide, not a smear
            render = WhipPan(a, b, motion=motion, blur=0.04 * amp)
            params = {"motion": motion}
        elif kind == ZOOM:
            strength = 1.0 + 1.2 * amp
            render = ZoomThrough(a, b, ca, cb, strength=strength, direction=zoom_dir, roll=roll)
            params = {"direction": "in" if zoom_dir > 0 else "out", "roll": roll}
        else:
            sa = segment(a, models_dir=self.models_dir).mask
            sb: FloatArray | None = None
            whole = cut_by_frame(sa)
            if not whole:  # (B's matte is not needed when A's already decides)
                sb = segment(b, models_dir=self.models_dir).mask
                whole = cut_by_frame(sb)
            if whole:  # the mattes of a bust miss its shoulders: the iris would cut them
                sa, sb = np.ones_like(sa), None
            render = Reveal(
                a,
                b,
                ca,
                cb,
                seed=config.seed,
                push=0.06 * amp,
                subject_a=sa,
                subject_b=sb,
                frames=config.frames_per_motion,
                switch_span=WHOLE_SWITCH_SPAN if whole else SWITCH_SPAN,
            )
            params = {
                "center": (round(cb[0], 3), round(cb[1], 3)),
                "reveal": "whole frame" if whole else "iris",
            }
        plan = TransitionPlan(
            kind, UNRELATED, False, flow.consistency, flow.photo_gain, view.ok, facts | params
        )
        return _Prepared(plan, render, (0.5, 0.5))

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        """The frames, with the case the engine decided for this pair in ``metadata``."""
        prepared = self._prepare(inputs, config)
        plan = asdict(prepared.plan)
        metadata: dict[str, Any] = {
            "two_images": {
                "case": plan["case"],
                "transition": plan["kind"],
                **{k: v for k, v in plan["params"].items() if isinstance(v, (int, float, str))},
            }
        }
        if prepared.plan.kind == KEYFRAMES:
            params = prepared.plan.params
            metadata["keyframes"] = [
                {**k, **seg}
                for k, seg in zip(params["keyframes"], [*params["segments"], {}], strict=True)
            ]
        return Render(self._frames(prepared, config), metadata)

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return self._frames(self._prepare(inputs, config), config)

    def _frames(self, prepared: _Prepared, config: RenderConfig) -> Iterator[Frame]:
        amount = 0.04 * min(10, max(1, config.motion_range)) / 5.0
        overlay = prepared.plan.related and bool(config.camera.strip())
        for raw in pass_times(config.frames_per_motion, config.loop):
            t = prepared.ease(raw)
            frame = prepared.render(t)
            if overlay:
                frame = camera_overlay(
                    frame, camera=config.camera, t=t, amount=amount, center=prepared.camera_center
                )
            yield np.ascontiguousarray(frame, dtype=np.uint8)
