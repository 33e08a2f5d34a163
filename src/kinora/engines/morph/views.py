"""Two shots of one scene as a camera move: every frame is one view, never a dissolve.

A single homography (or, where no homography is plausible, a similarity) relates the two
views. The camera travels from A's view to B's along a path that interpolates the frame's
corners in log-polar form about its centre (so a turn stays a turn and a zoom a zoom), and each
frame is rendered from the nearer end, warped. The hand-over from A to B happens in a short
window beside the middle; there the residual (what the view change does not explain:
parallax, moving things) is carried by optical flow between A and B-registered-into-A,
started from the motion of further planes fitted to the matches, so parts that are not on the
main plane slide into place instead of doubling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import Frame
from kinora.engines.morph.flow import (
    FlowField,
    FlowInterpolator,
    compute_flow,
    fb_error,
    resize_flow,
    warp,
)

FloatArray = npt.NDArray[np.float32]
Mat = npt.NDArray[np.float64]

HOMOGRAPHY = "homography"
SIMILARITY = "similarity"


@dataclass(frozen=True)
class Plane:
    """One region's homography A -> B and the A-side points (output pixels) that support it."""

    homography: Mat
    points: FloatArray


@dataclass(frozen=True)
class ViewMatch:
    """How B's view relates to A's, found from matched SIFT features (output pixels)."""

    homography: Mat
    """3x3 mapping A's pixels to B's (identity when not ``ok``)."""
    model: str
    """:data:`HOMOGRAPHY`, :data:`SIMILARITY` (no plausible homography), or "" (none)."""
    matches: int
    inliers: int
    planes: tuple[Plane, ...] = ()
    """The regions' homographies (a wall, a book, a board, a facade), found one after the
    other among the matches the earlier ones left over; the first is the largest."""

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0

    @property
    def ok(self) -> bool:
        return bool(self.model)


def _corners(width: int, height: int) -> FloatArray:
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)


def _project(hom: Mat, pts: FloatArray) -> FloatArray:
    return np.asarray(
        cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), hom).reshape(-1, 2),
        dtype=np.float32,
    )


def area_scale(hom: Mat, x: float, y: float, eps: float = 1.0) -> float:
    """How much ``hom`` magnifies area at (x, y) (its Jacobian's determinant)."""
    probe = np.array([[x, y], [x + eps, y], [x, y + eps]], np.float32)
    p = _project(hom, probe)
    jac = np.stack([p[1] - p[0], p[2] - p[0]], axis=1) / eps
    return float(np.linalg.det(jac))


def plausible_view_change(hom: Mat, width: int, height: int) -> bool:
    """Whether ``hom`` could be a camera move: no fold, no extreme stretch anywhere in frame.

    A homography fitted to one foreshortened plane, or to a few wrong matches, folds or
    stretches the rest of the frame; the local area scale at each corner and the centre must
    stay within 1/3..3 of each other and of 1, and the mapped frame must stay convex.
    """
    pts = np.vstack([_corners(width, height), [[width / 2, height / 2]]]).astype(np.float32)
    scales = [area_scale(hom, float(x), float(y), 0.01 * max(width, height)) for x, y in pts]
    if min(scales) <= 0:
        return False
    if max(scales) / min(scales) > 3.0 or not (1 / 3 < scales[-1] < 3.0):
        return False
    quad = _project(hom, _corners(width, height)).reshape(-1, 1, 2)
    return bool(cv2.isContourConvex(quad))


def fit_planes(
    pa: FloatArray, pb: FloatArray, thresh: float, *, most: int = 4, min_inliers: int = 30
) -> list[Plane]:
    """Homographies of the matches one region at a time (sequential RANSAC), largest first.

    Each fit takes its inliers out of the pool; a region is kept only if it does not fold
    (its area scale at its own points stays positive).
    """
    planes: list[Plane] = []
    left = np.arange(len(pa))
    while len(planes) < most and len(left) >= min_inliers:
        hom, mask = cv2.findHomography(pa[left], pb[left], cv2.USAC_MAGSAC, thresh)
        if hom is None or mask is None or int(mask.sum()) < min_inliers:
            break
        plane = np.asarray(hom / hom[2, 2], dtype=np.float64)
        keep = mask.ravel().astype(bool)
        cx, cy = pa[left[keep]].mean(axis=0)
        if area_scale(plane, float(cx), float(cy)) > 0:
            planes.append(Plane(plane, pa[left[keep]]))
        left = left[~keep]
    return planes


def match_views(a: Frame, b: Frame, *, max_side: int = 512) -> ViewMatch:
    """The view change A -> B of two same-size images, or ``model == ""`` if there is none.

    SIFT (scale and rotation invariant, so a zoomed or turned second shot still matches) with
    Lowe's ratio test; a homography by MAGSAC when it is a plausible camera move, else a
    similarity fitted to the same matches (a street seen from two places along it has no
    single plane; a zoom-and-pan stand-in keeps its frames undistorted).
    """
    h, w = a.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    size = (max(16, round(w * scale)), max(16, round(h * scale)))
    grey = []
    for img in (a, b):
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        grey.append(g if scale == 1.0 else cv2.resize(g, size, interpolation=cv2.INTER_AREA))
    sift = cv2.SIFT.create(nfeatures=1500)
    ka, da = sift.detectAndCompute(grey[0], None)
    kb, db = sift.detectAndCompute(grey[1], None)
    none = ViewMatch(np.eye(3), "", 0, 0)
    if da is None or db is None or len(ka) < 8 or len(kb) < 8:
        return none
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(da, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < 12:
        return ViewMatch(np.eye(3), "", len(good), 0)
    pa = np.array([ka[m.queryIdx].pt for m in good], np.float32) / scale
    pb = np.array([kb[m.trainIdx].pt for m in good], np.float32) / scale
    thresh = 3.0 * max(w, h) / 384
    planes = tuple(fit_planes(pa, pb, thresh))
    hom, mask = cv2.findHomography(pa, pb, cv2.USAC_MAGSAC, thresh)
    if hom is not None and mask is not None:
        hom = np.asarray(hom / hom[2, 2], dtype=np.float64)
        inl = int(mask.sum())
        if inl >= 20 and plausible_view_change(hom, w, h):
            return ViewMatch(hom, HOMOGRAPHY, len(good), inl, planes)
    sim, smask = cv2.estimateAffinePartial2D(
        pa, pb, method=cv2.RANSAC, ransacReprojThreshold=2 * thresh, maxIters=4000
    )
    if sim is None or smask is None:
        return ViewMatch(np.eye(3), "", len(good), 0)
    hom = np.vstack([np.asarray(sim, np.float64), [0.0, 0.0, 1.0]])
    inl = int(smask.sum())
    if inl >= 20 and plausible_view_change(hom, w, h):
        return ViewMatch(hom, SIMILARITY, len(good), inl, planes)
    return ViewMatch(np.eye(3), "", len(good), inl)


def view_shift(hom: Mat, width: int, height: int) -> float:
    """Mean displacement of the frame's corners under ``hom``, as a share of the diagonal."""
    c = _corners(width, height)
    return float(np.mean(np.linalg.norm(_project(hom, c) - c, axis=1))) / math.hypot(width, height)


def camera_path(hom: Mat, width: int, height: int, t: float) -> Mat:
    """The view at t: a homography from frame pixels to A's pixels (identity at 0, H^-1 at 1).

    Each corner's offset from the frame centre is interpolated in angle and log length, the
    centre along a straight line: a rotation turns at an even rate and a zoom scales at one.
    """
    c0 = _corners(width, height).astype(np.float64)
    inv = np.asarray(np.linalg.inv(hom), dtype=np.float64)
    c1 = _project(inv, c0.astype(np.float32)).astype(np.float64)
    centre0 = np.array([width / 2, height / 2])
    centre1 = _project(inv, centre0.reshape(1, 2).astype(np.float32)).astype(np.float64)[0]
    o0, o1 = c0 - centre0, c1 - centre1
    ang0, ang1 = np.arctan2(o0[:, 1], o0[:, 0]), np.arctan2(o1[:, 1], o1[:, 0])
    dang = (ang1 - ang0 + math.pi) % (2 * math.pi) - math.pi
    r0, r1 = np.hypot(o0[:, 0], o0[:, 1]), np.hypot(o1[:, 0], o1[:, 1])
    ang = ang0 + t * dang
    rad = np.exp((1 - t) * np.log(r0) + t * np.log(np.maximum(r1, 1e-6)))
    centre = (1 - t) * centre0 + t * centre1
    dst = centre + np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    return np.asarray(
        cv2.getPerspectiveTransform(c0.astype(np.float32), dst.astype(np.float32)), np.float64
    )


def plane_prior(a: Frame, b: Frame, view: ViewMatch, *, max_side: int = 160) -> FloatArray:
    """Residual displacements A -> B-registered-into-A from the fitted planes, per pixel.

    A pixel on plane k is seen in B at H_k x, that is in B-in-A at H^-1 H_k x (H the view
    change the camera move uses). Each pixel takes the plane under which A and B agree best
    in a small neighbourhood, with a cost for lying far from that plane's own matches
    (repetitive texture, a chessboard, agrees under a plane shifted by one period too), so
    each region of a parallax-rich pair starts the flow from its own motion instead of none.
    """
    h, w = a.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    sw, sh = max(16, round(w * scale)), max(16, round(h * scale))
    down = np.diag([scale, scale, 1.0])
    up = np.diag([1 / scale, 1 / scale, 1.0])
    small_a = cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    inv = np.linalg.inv(view.homography)
    xs, ys = np.meshgrid(np.arange(sw, dtype=np.float32), np.arange(sh, dtype=np.float32))
    pts = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)
    small_b = cv2.resize(b, (sw, sh), interpolation=cv2.INTER_AREA)
    reach = 0.1 * math.hypot(sw, sh)
    flows: list[FloatArray] = []
    errors: list[FloatArray] = []
    # the view change itself (no residual) is a candidate everywhere, at the cost of a pixel
    # one reach away from a region's matches
    candidates: list[tuple[Mat, FloatArray | None]] = [(view.homography, None)]
    candidates += [(region.homography, region.points) for region in view.planes]
    for plane, points in candidates:
        to_b = down @ plane @ up  # small A pixels -> small B pixels
        seen = cv2.warpPerspective(
            small_b,
            to_b,
            (sw, sh),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        ).astype(np.float32)
        err = cv2.blur(np.abs(seen - small_a).mean(axis=2), (7, 7))
        if points is None:
            far = np.full((sh, sw), reach, np.float32)
        else:
            support = np.full((sh, sw), 255, np.uint8)
            for x, y in np.round(points * scale).astype(int):
                if 0 <= x < sw and 0 <= y < sh:
                    support[y, x] = 0
            far = cv2.distanceTransform(support, cv2.DIST_L2, 3)
        moved = cv2.perspectiveTransform(pts.astype(np.float64), down @ inv @ plane @ up)
        flow = (moved.reshape(sh, sw, 2) - pts.reshape(sh, sw, 2)).astype(np.float32)
        cost = err + 20.0 * np.minimum(far / reach, 3.0)
        # a plane extrapolated far beyond its region can send pixels anywhere: not there
        cost[np.hypot(flow[..., 0], flow[..., 1]) > 0.25 * math.hypot(sw, sh)] = np.inf
        flows.append(flow)
        errors.append(cost.astype(np.float32))
    best = np.argmin(np.stack(errors), axis=0)
    prior = np.take_along_axis(np.stack(flows), best[None, ..., None], axis=0)[0]
    # a median per component cleans single-pixel label noise without blurring region borders
    prior = np.stack(
        [cv2.medianBlur(np.ascontiguousarray(prior[..., c]), 5) for c in range(2)], axis=-1
    )
    return resize_flow(np.asarray(prior, dtype=np.float32), h, w)


def prefer_planes(a: Frame, b: Frame, prior: FloatArray, flow: FlowField) -> FlowField:
    """The planes' own motion wherever it explains B about as well as the refined flow does.

    A plane moves rigidly, so it cannot tear; DIS is kept only where it predicts B clearly
    better (8 grey levels): off every plane, or where something moved between the shots.
    """
    fh, fw = flow.shape
    sa = cv2.resize(a, (fw, fh), interpolation=cv2.INTER_AREA).astype(np.float32)
    sb = cv2.resize(b, (fw, fh), interpolation=cv2.INTER_AREA).astype(np.float32)
    fwd_p = resize_flow(prior, fh, fw)
    bwd_p = np.asarray(-warp(fwd_p, -fwd_p), dtype=np.float32)

    def error(src: FloatArray, target: FloatArray, f: FloatArray) -> FloatArray:
        diff = np.abs(target - warp(src, f).astype(np.float32)).mean(axis=2)
        return np.asarray(cv2.blur(diff, (7, 7)), dtype=np.float32)

    def pick(src: FloatArray, target: FloatArray, f_p: FloatArray, f_r: FloatArray) -> FloatArray:
        better = (error(src, target, f_r) + 8.0 < error(src, target, f_p)).astype(np.float32)
        w = cv2.GaussianBlur(better, (0, 0), 1.5)[..., None]
        return np.asarray(f_p * (1 - w) + f_r * w, dtype=np.float32)

    fwd = pick(sb, sa, fwd_p, flow.forward)
    bwd = pick(sa, sb, bwd_p, flow.backward)
    return replace(
        flow,
        forward=fwd,
        backward=bwd,
        fb_error_forward=fb_error(fwd, bwd),
        fb_error_backward=fb_error(bwd, fwd),
    )


def _smooth(field_: FloatArray) -> FloatArray:
    parts = [cv2.medianBlur(np.ascontiguousarray(field_[..., c]), 5) for c in range(2)]
    out = cv2.GaussianBlur(np.stack(parts, axis=-1), (0, 0), 2.0)
    return np.asarray(out, dtype=np.float32)


def smooth_flow(flow: FlowField) -> FlowField:
    """The residual flow without its small-scale breaks.

    On repetitive texture (a chessboard, a patterned cloth) DIS locks patches onto the
    neighbouring period: photometrically right, geometrically torn. The hand-over lasts a few
    frames of fast motion, where a smooth stretch reads as motion and a tear as a fault.
    """
    fwd, bwd = _smooth(flow.forward), _smooth(flow.backward)
    return replace(
        flow,
        forward=fwd,
        backward=bwd,
        fb_error_forward=fb_error(fwd, bwd),
        fb_error_backward=fb_error(bwd, fwd),
    )


def _zoom_about_centre(zoom: float, width: int, height: int) -> Mat:
    """Frame pixels -> frame pixels of a view ``zoom`` times closer about the centre."""
    cx, cy = width / 2, height / 2
    return np.array([[1 / zoom, 0, cx - cx / zoom], [0, 1 / zoom, cy - cy / zoom], [0, 0, 1.0]])


def _inside(frame_to_image: Mat, width: int, height: int) -> npt.NDArray[np.bool_]:
    """Which frame pixels sample inside the image (same size as the frame)."""
    xs, ys = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    pts = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)
    got = cv2.perspectiveTransform(pts, frame_to_image).reshape(height, width, 2)
    return np.asarray(
        (got[..., 0] >= 0) & (got[..., 0] <= width) & (got[..., 1] >= 0) & (got[..., 1] <= height)
    )


def cover_zoom(hom: Mat, width: int, height: int, *, most: float = 1.2) -> float:
    """The largest extra zoom the move needs so each frame stays inside its nearer end.

    Part way through a turn or a shift the view reaches past the pictures' edges; the move
    then zooms in by up to this much in the middle (``1 + (z - 1) sin(pi t)``, 1 at the ends,
    so they stay exact). Checked on a small grid at nine times of the move.
    """
    scale = 96 / max(width, height)
    sw, sh = max(8, round(width * scale)), max(8, round(height * scale))
    down = np.diag([scale, scale, 1.0])
    up = np.diag([1 / scale, 1 / scale, 1.0])
    need = 1.0
    for t in np.linspace(0.1, 0.9, 9):
        to_a = camera_path(hom, width, height, float(t))
        zoom = 1.0
        while zoom < most:
            view = to_a @ _zoom_about_centre(zoom, width, height)
            # the nearer end alone: the other one, filling in past its edge, differs there by
            # whatever parallax the view change leaves, a visible seam
            nearer = view if t < 0.5 else hom @ view
            if float(_inside(down @ nearer @ up, sw, sh).mean()) >= 0.995:
                break
            zoom += 0.02
        need = max(need, 1 + (zoom - 1) / math.sin(math.pi * t))
    return float(min(need, most))


def _pull(image: Frame, frame_to_image: Mat, width: int, height: int) -> Frame:
    return np.asarray(
        cv2.warpPerspective(
            image,
            frame_to_image,
            (width, height),
            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        ),
        dtype=np.uint8,
    )


def _coverage(frame_to_image: Mat, width: int, height: int) -> FloatArray:
    """1 where the frame's pixel comes from inside the image, fading to 0 over 3 px outside."""
    ones = np.ones((height, width), np.float32)
    inside = cv2.warpPerspective(
        ones,
        frame_to_image,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    inside = cv2.erode((inside > 0.999).astype(np.uint8), np.ones((3, 3), np.uint8))
    return np.asarray(cv2.blur(inside.astype(np.float32), (5, 5)), dtype=np.float32)


def _over(top: Frame, alpha: FloatArray, under: Frame) -> Frame:
    al = alpha[..., None]
    out = top.astype(np.float32) * al + under.astype(np.float32) * (1.0 - al)
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


@dataclass
class CameraMove:
    """Frames of the camera move from A's view to B's (t in [0, 1], exact ends).

    ``handover`` is the share of the pass next to its middle in which the residual flow
    carries A's geometry into B's; outside it every frame is one end, warped. It lies beside
    the middle rather than straddling it so that the move's midpoint is itself a true view,
    the frame a viewer and the bench judge the move by: from the end with more detail there
    (B's if B is the closer shot, whose pixels are then shrunk rather than A's enlarged).
    """

    a: Frame
    b: Frame
    view: ViewMatch
    handover: float = 0.2
    flow_max_side: int = 320
    _residual: FlowInterpolator = field(init=False, repr=False)
    _overlap: FloatArray = field(init=False, repr=False)
    _start: float = field(init=False, repr=False)
    _zoom: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        h, w = self.a.shape[:2]
        hom = self.view.homography
        self._zoom = cover_zoom(hom, w, h)
        b_closer = area_scale(hom, w / 2, h / 2) > 1.0
        self._start = 0.5 - self.handover if b_closer else 0.5
        # B registered into A's frame: where they agree the hand-over is invisible; the flow
        # between them is the parallax the single view change leaves over.
        b_in_a = _pull(self.b, hom, w, h)
        self._overlap = _coverage(hom, w, h)
        b_in_a = _over(b_in_a, self._overlap, self.a)
        prior = plane_prior(self.a, self.b, self.view) if self.view.planes else None
        flow = compute_flow(
            self.a,
            b_in_a,
            max_side=self.flow_max_side,
            align=False,
            scales=(1.0, 0.5, 0.25),
            prior=prior,
        )
        if prior is not None:
            flow = prefer_planes(self.a, b_in_a, prior, flow)
        self._residual = FlowInterpolator(self.a, b_in_a, smooth_flow(flow))

    @property
    def residual_flow(self) -> FlowField:
        """The flow between A and B registered into A (the parallax left over)."""
        return self._residual.flow

    @property
    def handover_middle(self) -> float:
        """The t at which the hand-over is half done."""
        return self._start + self.handover / 2

    def blend_at(self, t: float) -> float:
        """How far the hand-over from A to B has gone at t (0 before the window, 1 after)."""
        u = (t - self._start) / max(self.handover, 1e-6)
        u = min(1.0, max(0.0, u))
        return u * u * (3 - 2 * u)

    def __call__(self, t: float) -> Frame:
        if t <= 0:
            return self.a.copy()
        if t >= 1:
            return self.b.copy()
        h, w = self.a.shape[:2]
        zoom = 1 + (self._zoom - 1) * math.sin(math.pi * t)
        to_a = camera_path(self.view.homography, w, h, t) @ _zoom_about_centre(zoom, w, h)
        to_b = self.view.homography @ to_a
        s = self.blend_at(t)
        cov_a, cov_b = _coverage(to_a, w, h), _coverage(to_b, w, h)
        pure_a, pure_b = _pull(self.a, to_a, w, h), _pull(self.b, to_b, w, h)
        if s <= 0.0:
            # A's view where A has content; B's (registered by the same move) beyond A's edge
            return _over(pure_a, cov_a, pure_b)
        if s >= 1.0:
            return _over(pure_b, cov_b, pure_a)
        nearer, other = (pure_a, pure_b) if s < 0.5 else (pure_b, pure_a)
        cov_n = cov_a if s < 0.5 else cov_b
        fallback = _over(nearer, cov_n, other)
        morph = _pull(self._residual.frame(s), to_a, w, h)
        carried = cov_a * np.asarray(
            cv2.warpPerspective(
                self._overlap,
                to_a,
                (w, h),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0.0,
            ),
            dtype=np.float32,
        )
        return _over(morph, carried, fallback)
