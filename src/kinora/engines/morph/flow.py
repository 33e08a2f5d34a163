"""Optical flow helpers for two-image transitions and frame interpolation.

Everything expensive (features, homography, DIS flow in both directions, consistency) happens once
per image pair in :func:`compute_flow`; :class:`FlowInterpolator` then renders any time t with
cheap vectorised work (a forward splat at flow resolution and two ``cv2.remap`` at full size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AlignResult:
    """A global (camera) motion between two images, found from matched features."""

    homography: npt.NDArray[np.float64]
    """3x3, maps pixel coordinates of the first image to the second (identity if not ok)."""
    matches: int
    inliers: int
    ok: bool

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0


@dataclass(frozen=True)
class FlowField:
    """Dense flow both ways between two images, at a working scale of the images."""

    forward: FloatArray
    """(h, w, 2): displacement from each pixel of A to its match in B, in working pixels."""
    backward: FloatArray
    """(h, w, 2): displacement from each pixel of B to its match in A."""
    fb_error_forward: FloatArray
    """(h, w): |forward(x) + backward(x + forward(x))|; large where A is occluded in B."""
    fb_error_backward: FloatArray
    scale: float
    """Working size / image size (flows are in working pixels)."""
    align: AlignResult
    consistency: float
    """Fraction of pixels (both ways) whose forward-backward error is small."""
    photo_gain: float
    """How much the flow explains B: 1 - warped error / direct error (near 0: unrelated images)."""

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.forward.shape[0]), int(self.forward.shape[1])


def to_gray(image: Frame) -> npt.NDArray[np.uint8]:
    if image.ndim == 2:
        return image
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def align_global(
    a: Frame, b: Frame, *, max_features: int = 3000, min_inliers: int = 25
) -> AlignResult:
    """Homography A -> B from ORB matches, so large camera moves do not defeat the flow.

    Implausible homographies (strong scale change, flips) are rejected: they come from
    repetitive texture or unrelated images, and a wrong prior is worse than none.
    """
    ga, gb = to_gray(a), to_gray(b)
    orb = cv2.ORB.create(nfeatures=max_features, fastThreshold=10)
    ka, da = orb.detectAndCompute(ga, None)
    kb, db = orb.detectAndCompute(gb, None)
    identity = np.eye(3, dtype=np.float64)
    if da is None or db is None or len(ka) < 8 or len(kb) < 8:
        return AlignResult(identity, 0, 0, False)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    good = []
    for pair in matcher.knnMatch(da, db, k=2):
        if len(pair) == 2 and pair[0].distance < 0.8 * pair[1].distance:
            good.append(pair[0])
    if len(good) < 8:
        return AlignResult(identity, len(good), 0, False)
    pa = np.array([ka[m.queryIdx].pt for m in good], dtype=np.float32)
    pb = np.array([kb[m.trainIdx].pt for m in good], dtype=np.float32)
    h, mask = cv2.findHomography(pa, pb, cv2.RANSAC, 3.0)
    if h is None or mask is None:
        return AlignResult(identity, len(good), 0, False)
    inliers = int(mask.sum())
    hom = np.asarray(h, dtype=np.float64)
    det = float(np.linalg.det(hom[:2, :2]))
    plausible = 0.5 < det < 2.0 and abs(hom[2, 0]) < 2e-3 and abs(hom[2, 1]) < 2e-3
    ok = plausible and inliers >= min_inliers and inliers >= 0.25 * len(good)
    return AlignResult(hom if ok else identity, len(good), inliers, ok)


@lru_cache(maxsize=8)
def grid(height: int, width: int) -> tuple[FloatArray, FloatArray]:
    """Pixel coordinate maps (cached and read-only: every warp of a size shares them)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys


def magnitude(flow: FloatArray) -> FloatArray:
    return np.asarray(np.hypot(flow[..., 0], flow[..., 1]), dtype=np.float32)


def homography_flow(hom: npt.NDArray[np.float64], height: int, width: int) -> FloatArray:
    """The displacement field a homography induces (the prior for DIS)."""
    xs, ys = grid(height, width)
    pts = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(pts, hom).reshape(height, width, 2)
    return np.ascontiguousarray(moved - np.stack([xs, ys], axis=-1), dtype=np.float32)


def dis_flow(
    a: npt.NDArray[np.uint8],
    b: npt.NDArray[np.uint8],
    *,
    init: FloatArray | None = None,
    preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
) -> FloatArray:
    """DIS flow a -> b on grey images, optionally around a prior field.

    OpenCV's DIS takes no initial flow, so b is pre-warped by the prior and the residual flow
    is composed with it: F(x) = r(x) + prior(x + r(x)).
    """
    dis = cv2.DISOpticalFlow.create(preset)
    dis.setFinestScale(0)
    target = b if init is None else np.asarray(warp(b, init), dtype=np.uint8)
    out = np.zeros((a.shape[0], a.shape[1], 2), np.float32)
    residual = np.asarray(dis.calc(a, target, out), dtype=np.float32)
    if init is None:
        return residual
    return np.asarray(residual + warp(init, residual).astype(np.float32), dtype=np.float32)


def resize_flow(flow: FloatArray, height: int, width: int) -> FloatArray:
    """Resample a flow field to another size, scaling the vectors with it."""
    fh, fw = flow.shape[:2]
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / fw
    out[..., 1] *= height / fh
    return np.asarray(out, dtype=np.float32)


def warp(image: npt.NDArray[Any], flow: FloatArray) -> npt.NDArray[Any]:
    """Sample ``image`` at x + flow(x); borders replicate, so no black is pulled in."""
    h, w = flow.shape[:2]
    xs, ys = grid(h, w)
    return np.asarray(
        cv2.remap(
            image,
            xs + flow[..., 0],
            ys + flow[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
    )


def fb_error(forward: FloatArray, backward: FloatArray) -> FloatArray:
    """Forward-backward error: a round trip A -> B -> A should come back home."""
    back_at = warp(backward, forward).astype(np.float32)
    return magnitude(forward + back_at)


@dataclass(frozen=True)
class BidirectionalFlow:
    forward: FloatArray
    backward: FloatArray
    fb_error_forward: FloatArray
    fb_error_backward: FloatArray


def _inconsistent(err: FloatArray, flow: FloatArray) -> float:
    return float(np.mean(err > 1.0 + 0.05 * magnitude(flow)))


def multiscale_flow(
    a: npt.NDArray[np.uint8],
    b: npt.NDArray[np.uint8],
    *,
    init: FloatArray | None = None,
    scales: tuple[float, ...] = (1.0, 0.5),
    refine_above: float = 0.08,
) -> BidirectionalFlow:
    """DIS at several scales in both directions, fused per pixel by forward-backward error.

    The coarse scales catch large motions that the fine one loses; the fine scale keeps
    edges. Choosing by round-trip error uses whichever is self-consistent at each pixel. A
    coarser scale is only tried while more than ``refine_above`` of the pixels are
    inconsistent, so easy pairs cost one DIS per direction.
    """
    h, w = a.shape[:2]
    inv_init = None
    if init is not None:
        # backward prior: the inverse of the forward prior, sampled where B's pixels come from
        inv_init = -warp(init, -init).astype(np.float32)
    best: BidirectionalFlow | None = None
    for s in scales:
        if (
            best is not None
            and max(
                _inconsistent(best.fb_error_forward, best.forward),
                _inconsistent(best.fb_error_backward, best.backward),
            )
            <= refine_above
        ):
            break
        sw, sh = max(16, round(w * s)), max(16, round(h * s))
        if s == 1.0:
            sa, sb = a, b
        else:
            sa = np.asarray(cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
            sb = np.asarray(cv2.resize(b, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
        fi = None if init is None else resize_flow(init, sh, sw)
        bi = None if inv_init is None else resize_flow(inv_init, sh, sw)
        fwd = dis_flow(sa, sb, init=fi)
        bwd = dis_flow(sb, sa, init=bi)
        if s != 1.0:
            fwd, bwd = resize_flow(fwd, h, w), resize_flow(bwd, h, w)
        if best is not None:
            ef, eb = fb_error(fwd, bwd), fb_error(bwd, fwd)
            pick_f = cv2.GaussianBlur((ef < best.fb_error_forward).astype(np.float32), (0, 0), 2)
            pick_b = cv2.GaussianBlur((eb < best.fb_error_backward).astype(np.float32), (0, 0), 2)
            fwd = (best.forward * (1 - pick_f[..., None]) + fwd * pick_f[..., None]).astype(
                np.float32
            )
            bwd = (best.backward * (1 - pick_b[..., None]) + bwd * pick_b[..., None]).astype(
                np.float32
            )
        best = BidirectionalFlow(fwd, bwd, fb_error(fwd, bwd), fb_error(bwd, fwd))
    assert best is not None
    return best


def compute_flow(
    a: Frame,
    b: Frame,
    *,
    max_side: int = 320,
    align: bool = True,
    scales: tuple[float, ...] = (1.0, 0.5),
    prior: FloatArray | None = None,
) -> FlowField:
    """Everything the interpolator needs about a pair, computed once.

    ``prior`` (A -> B displacements at the images' size, e.g. from fitted planes) replaces the
    feature alignment as the field DIS refines.
    """
    h, w = a.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    fw, fh = max(16, round(w * scale)), max(16, round(h * scale))
    if scale < 1.0:
        sa = np.asarray(cv2.resize(a, (fw, fh), interpolation=cv2.INTER_AREA), dtype=np.uint8)
        sb = np.asarray(cv2.resize(b, (fw, fh), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    else:
        sa, sb = a, b
    ga, gb = to_gray(sa), to_gray(sb)
    result = align_global(ga, gb) if align and prior is None else None
    if result is None:
        result = AlignResult(np.eye(3), 0, 0, False)
    init = homography_flow(result.homography, fh, fw) if result.ok else None
    if prior is not None:
        init = resize_flow(prior, fh, fw)
    both = multiscale_flow(ga, gb, init=init, scales=scales)
    fwd, bwd = both.forward, both.backward
    ef, eb = both.fb_error_forward, both.fb_error_backward
    consistency = 1.0 - 0.5 * (_inconsistent(ef, fwd) + _inconsistent(eb, bwd))
    fa, fb = sa.astype(np.float32), sb.astype(np.float32)
    direct = float(np.mean(np.abs(fa - fb))) + 1e-3
    warped = float(np.mean(np.abs(fa - warp(fb, fwd).astype(np.float32))))
    return FlowField(
        forward=fwd,
        backward=bwd,
        fb_error_forward=ef,
        fb_error_backward=eb,
        scale=fw / w,
        align=result,
        consistency=consistency,
        photo_gain=1.0 - warped / direct,
    )


def splat(
    xs: FloatArray,
    ys: FloatArray,
    values: FloatArray,
    weights: FloatArray,
    height: int,
    width: int,
) -> tuple[FloatArray, FloatArray]:
    """Bilinear forward splat of per-pixel ``values`` (N, C) to positions (xs, ys).

    Returns the weighted sum (h, w, C) and the weight sum (h, w); bilinear taps keep the result
    continuous in the positions, so frames do not shimmer as points cross pixel borders.
    """
    x0 = np.floor(xs)
    y0 = np.floor(ys)
    fx = xs - x0
    fy = ys - y0
    x0i = x0.astype(np.int64)
    y0i = y0.astype(np.int64)
    idx_parts = []
    w_parts = []
    for dx, dy, wt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        xi, yi = x0i + dx, y0i + dy
        inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
        idx_parts.append(np.where(inside, yi * width + xi, 0))
        w_parts.append(np.where(inside, wt * weights, 0.0))
    idx = np.concatenate(idx_parts)
    wts = np.concatenate(w_parts)
    n = height * width
    wsum = np.bincount(idx, weights=wts, minlength=n).reshape(height, width)
    channels = [
        np.bincount(idx, weights=wts * np.tile(values[:, c], 4), minlength=n).reshape(height, width)
        for c in range(values.shape[1])
    ]
    return (
        np.stack(channels, axis=-1).astype(np.float32),
        wsum.astype(np.float32),
    )


@lru_cache(maxsize=4)
def dither(height: int, width: int) -> FloatArray:
    """A fixed per-pixel rounding offset in [0, 1), read-only.

    With the same blend weight over the picture, rounding by a constant 0.5 flips every pixel
    whose two sources differ by one level at the same t (at 1/2, then 1/4 and 3/4 for two
    levels), a visible pulse in an otherwise even in-between; a fixed random offset spreads
    those flips evenly over t.
    """
    noise = np.random.default_rng(0x4B4E).random((height, width, 1), dtype=np.float32)
    noise.flags.writeable = False
    return noise


@dataclass
class FlowInterpolator:
    """Frames between A and B at any t: both images warped toward t, blended by visibility.

    Flows to time t are found by forward-splatting each image's flow (weighted by its
    forward-backward consistency), so a pixel only A sees (occluded in B) is taken from A, and
    vice versa; where nothing lands, a linear flow approximation fills in.

    Where the two warped images still disagree (flow that failed: a fast, blurred hand, a
    parallax the flow missed), a mix of them would be a double image; there the blend is made
    decisive, switching from one to the other over a short span of t instead.
    """

    a: Frame
    b: Frame
    flow: FlowField
    decisive: bool = True
    _grid_lo: tuple[FloatArray, FloatArray] = field(init=False, repr=False)
    _grid_hi: tuple[FloatArray, FloatArray] = field(init=False, repr=False)
    _wa: FloatArray = field(init=False, repr=False)
    _wb: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        fh, fw = self.flow.shape
        self._grid_lo = grid(fh, fw)
        self._grid_hi = grid(self.a.shape[0], self.a.shape[1])
        mag_f = magnitude(self.flow.forward)
        mag_b = magnitude(self.flow.backward)
        tol_f = 1.0 + 0.05 * mag_f
        tol_b = 1.0 + 0.05 * mag_b
        self._wa = (0.02 + np.exp(-((self.flow.fb_error_forward / tol_f) ** 2))).astype(np.float32)
        self._wb = (0.02 + np.exp(-((self.flow.fb_error_backward / tol_b) ** 2))).astype(np.float32)

    @classmethod
    def from_images(cls, a: Frame, b: Frame, *, max_side: int = 320) -> FlowInterpolator:
        return cls(a, b, compute_flow(a, b, max_side=max_side))

    def flows_at(self, t: float) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(flow t->A, flow t->B, weight of A, weight of B) at working resolution."""
        fh, fw = self.flow.shape
        xs, ys = self._grid_lo
        f01, f10 = self.flow.forward, self.flow.backward
        # A's pixels travel x + t F01(x); B's travel y + (1 - t) F10(y)
        acc_a, den_a = splat(
            (xs + t * f01[..., 0]).ravel(),
            (ys + t * f01[..., 1]).ravel(),
            f01.reshape(-1, 2),
            self._wa.ravel(),
            fh,
            fw,
        )
        acc_b, den_b = splat(
            (xs + (1 - t) * f10[..., 0]).ravel(),
            (ys + (1 - t) * f10[..., 1]).ravel(),
            f10.reshape(-1, 2),
            self._wb.ravel(),
            fh,
            fw,
        )
        acc_a = np.asarray(cv2.GaussianBlur(acc_a, (5, 5), 1.0), dtype=np.float32)
        acc_b = np.asarray(cv2.GaussianBlur(acc_b, (5, 5), 1.0), dtype=np.float32)
        den_a = np.asarray(cv2.GaussianBlur(den_a, (5, 5), 1.0), dtype=np.float32)
        den_b = np.asarray(cv2.GaussianBlur(den_b, (5, 5), 1.0), dtype=np.float32)
        mean_a = acc_a / np.maximum(den_a, 1e-6)[..., None]
        mean_b = acc_b / np.maximum(den_b, 1e-6)[..., None]
        # linear approximation (valid for smooth flow), used only where nothing landed
        approx0 = -(1 - t) * t * f01 + t * t * f10
        approx1 = (1 - t) * (1 - t) * f01 - t * (1 - t) * f10
        hole = 1e-3
        ca, cb = den_a[..., None], den_b[..., None]
        norm = ca + cb + hole
        f_t0 = (ca * (-t * mean_a) + cb * (t * mean_b) + hole * approx0) / norm
        f_t1 = (ca * ((1 - t) * mean_a) + cb * (-(1 - t) * mean_b) + hole * approx1) / norm
        wa = (1 - t) * (den_a + hole)
        wb = t * (den_b + hole)
        return (
            f_t0.astype(np.float32),
            f_t1.astype(np.float32),
            wa.astype(np.float32),
            wb.astype(np.float32),
        )

    def frame(self, t: float) -> Frame:
        """The image at time t in [0, 1]; exactly A at 0 and exactly B at 1."""
        if t <= 0.0:
            return self.a.copy()
        if t >= 1.0:
            return self.b.copy()
        h, w = self.a.shape[:2]
        f_t0, f_t1, wa, wb = self.flows_at(t)
        f_t0 = resize_flow(f_t0, h, w)
        f_t1 = resize_flow(f_t1, h, w)
        xs, ys = self._grid_hi
        i0 = cv2.remap(
            self.a,
            xs + f_t0[..., 0],
            ys + f_t0[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        i1 = cv2.remap(
            self.b,
            xs + f_t1[..., 0],
            ys + f_t1[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        wa_hi = cv2.resize(wa, (w, h), interpolation=cv2.INTER_LINEAR)
        wb_hi = cv2.resize(wb, (w, h), interpolation=cv2.INTER_LINEAR)
        alpha = wb_hi / np.maximum(wa_hi + wb_hi, 1e-6)
        f0, f1 = i0.astype(np.float32), i1.astype(np.float32)
        if self.decisive:
            alpha = decisive_alpha(alpha, f0, f1)
        out = f0 * (1 - alpha[..., None]) + f1 * alpha[..., None]
        return np.ascontiguousarray(np.clip(out + dither(h, w), 0, 255).astype(np.uint8))


def decisive_alpha(alpha: FloatArray, f0: FloatArray, f1: FloatArray) -> FloatArray:
    """``alpha`` made a quick switch wherever the two warped images disagree.

    A disagreement above ~6 levels (mean over channels) reads as a double when mixed; from
    there to ~18 levels the soft blend gives way to a steep step (the middle 16 % of t).
    """
    diff = np.abs(f0 - f1).mean(axis=2) if f0.ndim == 3 else np.abs(f0 - f1)
    diff = np.asarray(cv2.GaussianBlur(diff, (0, 0), 2.0), dtype=np.float32)
    k = np.clip((diff - 6.0) / 12.0, 0.0, 1.0)
    u = np.clip((alpha - 0.42) / 0.16, 0.0, 1.0)
    step = u * u * (3 - 2 * u)
    return np.asarray(alpha * (1 - k) + step * k, dtype=np.float32)


def interpolate(a: Frame, b: Frame, t: float = 0.5, *, max_side: int = 320) -> Frame:
    """One in-between frame of two images of the same size (flow-based, no easing)."""
    return FlowInterpolator.from_images(a, b, max_side=max_side).frame(t)
