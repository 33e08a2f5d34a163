"""The quality bench's automatic measures, on plain RGB frames (no engine, no corpus).

Every measure reads only rendered frames (and, for the ghost measure, a subject mask of the
rest frame), so it judges any engine the same way and survives engine changes.

Camera motion (:func:`largest_move`, :func:`camera_motion`, :func:`decompose`)
    SIFT features of the rest frame are matched to a later frame (Lowe's ratio test) and a
    RANSAC homography is fitted: on the background only (features outside the subject mask
    dilated by 2 % of the frame) for the camera's move, on the subject only (inside the mask
    eroded) for the subject's. Inliers covering under 15 % of the frame are refitted as a
    similarity (a small patch cannot hold a homography's perspective); a fit that is no
    plausible move (scale beyond 2x, strong perspective) is rejected. Along a clip the
    background is followed frame to frame (:func:`largest_move`: matches must agree with the
    previous frame's homography; chained steps and ECC where the rest frame's features are
    lost). With under 80 background features the whole picture's features are used and the
    render is flagged (``background_only`` False: no parallax, no ghost). A homography ``H``
    (rest -> later frame) is decomposed at the frame's centre ``c``: translation
    ``H(c) - c`` as % of the frame's width (x) and height (y), and from the Jacobian ``J`` of
    ``H`` at ``c`` the rotation ``atan2(J10, J00)`` (how the horizontal through the centre
    turns, in degrees; positive turns the picture clockwise on screen, y down; the shear of a
    tilted ground plane under a sideways move leaves it 0) and the scale ``sqrt(det J)``.

Parallax (:func:`parallax`)
    Where the subject's centroid goes under the subject's homography minus where the
    background's homography sends it, as % of the frame's width. A zoom about the subject
    scales subject and background differently but moves neither off the other (near 0); an
    orbit slides the background behind the subject (well above 0). It is the residual that
    one homography of the background leaves on the subject.

Sharpness (:func:`gradient_energy`)
    Mean squared Sobel gradient of the grey frame. Pairs report the middle frame's energy
    over the mean of the two ends'.

Homography fit (:func:`homography_fit_psnr`)
    A homography from one end frame to the middle frame (features, RANSAC), the end warped
    by it, and the PSNR over the pixels it covers: a middle frame that is one view of the
    scene fits at high PSNR; a patchy dissolve or doubled structures do not.

Crossfade fit (:func:`crossfade_fit_psnr`)
    The middle frame against the best mix ``a * A + (1 - a) * B`` of the two ends (``a`` by
    least squares): high when the middle frame is a dissolve (double images).

Pace (:func:`pace`)
    Mean absolute difference of consecutive frames; its coefficient of variation (0 for an
    even pace) and the largest step's share of the total change.

Ghost (:func:`ghost`)
    Subject remnants left in the revealed area, for one-image renders. The subject is the rest
    frame's segmentation thresholded low (alpha > 0.1, so faint thin parts such as an antenna or
    hair count as subject) near its core (alpha > 0.5, at least 0.5 % of the frame; pieces of it
    under 5 % of the largest dropped; within 6 % of the frame's long side of it:
    :func:`subject_region`); a picture without such a core has no ghost value. In the later
    frame (the frame of largest move), the *revealed area* R is where the rest frame's subject
    lay once moved with the background (the background homography), minus where the subject is
    now (the subject's homography, dilated by ~0.6 % of the frame; a subject cut by the rest
    frame's edge is taken to continue past it, as the photo beyond the frame does, so a part
    of it that the move brings into view is not counted as its own remnant), within the
    picture. The
    right content there is background (filled); a remnant is the subject's own colour left in
    place. For each pixel of R, in CIELAB: s = the rest frame's pixel that the background brings
    there (the subject at rest), b = the local background colour around the subject at rest (the
    rest frame outside the dilated subject, Gaussian-averaged over ~5 % of the frame by
    normalised convolution, carried by the same homography), v = the later frame's pixel. Only
    pixels where the subject stood out from its background count (|s - b| >= 15 Delta E); a
    pixel is a remnant when v is nearer the subject's colour than half the way to the
    background's, |v - s| < 0.5 |s - b|. **ghost = remnant pixels / counted pixels of R** (0 %:
    the hole is clean; 100 %: the subject was left behind whole). Edge remnants are reported
    beside it: the rest frame's edges on the subject (Canny, its outline included) carried by
    the background homography into R, and the share of them that still have an edge within 1 px
    in the later frame, minus the share of R near any edge of the later frame (chance).
    Renders whose R covers under 0.5 % of the frame (the subject hardly moved against the
    background), or whose counted pixels cover under 0.25 % of it (a subject of the
    background's own colour), have no ghost value; nor have renders whose subject or
    background could not be followed (bench/quality/run.py).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Mat = npt.NDArray[np.float64]

MIN_MATCHES = 12
MIN_BACKGROUND = 20
MIN_BACKGROUND_FEATURES = 80
GHOST_ALPHA = 0.1
GHOST_MIN_CONTRAST = 15.0
GHOST_NEARER = 0.5
GHOST_MIN_AREA = 0.005
GHOST_MIN_COUNTED = 0.0025

_sift = cv2.SIFT_create(nfeatures=1500, contrastThreshold=0.02)
_sift_dense = cv2.SIFT_create(nfeatures=2500, contrastThreshold=0.01)


def grey(image: Image) -> Image:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


@dataclass(frozen=True)
class Features:
    points: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.float32] | None


def features(
    image: Image, mask: npt.NDArray[np.uint8] | None = None, *, dense: bool = False
) -> Features:
    """SIFT features (``dense``: every one found, with a lower contrast threshold)."""
    keypoints, desc = (_sift_dense if dense else _sift).detectAndCompute(grey(image), mask)
    pts = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
    return Features(pts, desc)


def match(
    a: Features,
    b: Features,
    ratio: float = 0.75,
    guess: Mat | None = None,
    radius: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched point pairs (Lowe's ratio test).

    With ``guess`` (a homography a -> b, e.g. the previous frame's), a match must also land
    within ``radius`` px of where the guess sends its point, and the ratio test is looser.
    """
    empty = np.zeros((0, 2), np.float32)
    if a.descriptors is None or b.descriptors is None:
        return empty, empty
    if len(a.points) < 2 or len(b.points) < 2:
        return empty, empty
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(a.descriptors, b.descriptors, k=2)
    if guess is not None:
        ratio = max(ratio, 0.85)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if not good:
        return empty, empty
    src = np.array([a.points[m.queryIdx] for m in good], np.float32)
    dst = np.array([b.points[m.trainIdx] for m in good], np.float32)
    if guess is not None:
        predicted = cv2.perspectiveTransform(src.reshape(-1, 1, 2).astype(np.float64), guess)
        near = np.linalg.norm(predicted.reshape(-1, 2) - dst, axis=1) <= radius
        src, dst = src[near], dst[near]
    return src, dst


@dataclass(frozen=True)
class Fit:
    H: Mat
    inliers: int
    matches: int
    rms: float
    """Reprojection RMS of the inliers (px)."""
    chained: bool = False
    """Chained from frame to frame (see :func:`largest_move`)."""
    method: str = "features"
    """"features" (SIFT + RANSAC homography), "similarity" (the same, 4 degrees of freedom, for
    a small patch) or "ecc" (intensity alignment)."""
    support: float = float("nan")
    """Share of the frame that the inliers' convex hull covers (background fits)."""


def fit_homography(
    src: np.ndarray,
    dst: np.ndarray,
    threshold: float = 2.0,
    *,
    size: tuple[int, int] | None = None,
) -> Fit | None:
    """RANSAC homography src -> dst (None: too few inliers, or an implausible camera move).

    With ``size`` (the frame's width, height), inliers spread over less than 15 % of the frame
    (a small patch of background, which would let a homography extrapolate wildly) are
    refitted as a similarity (translation, rotation, scale: ``method`` "similarity").
    """
    if len(src) < MIN_MATCHES:
        return None
    H, mask = cv2.findHomography(src, dst, cv2.RANSAC, threshold, maxIters=4000, confidence=0.999)
    if H is None or mask is None:
        return None
    keep = mask.ravel().astype(bool)
    if keep.sum() < MIN_MATCHES:
        return None
    method = "features"
    support = float("nan")
    if size is not None:
        hull = cv2.convexHull(src[keep].reshape(-1, 1, 2).astype(np.float32))
        support = float(cv2.contourArea(hull)) / (size[0] * size[1])
        if support < 0.15:
            A, amask = cv2.estimateAffinePartial2D(
                src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=4000
            )
            if A is None or amask is None or amask.sum() < MIN_MATCHES:
                return None
            H = np.vstack([A, [0.0, 0.0, 1.0]])
            keep = amask.ravel().astype(bool)
            method = "similarity"
    J = jacobian(H / H[2, 2], 0.0, 0.0)
    det = float(np.linalg.det(J))
    if not 0.25 < det < 4.0 or abs(H[2, 0] / H[2, 2]) > 2e-3 or abs(H[2, 1] / H[2, 2]) > 2e-3:
        return None  # not a camera move between two frames of one clip: a spurious fit
    proj = cv2.perspectiveTransform(src[keep].reshape(-1, 1, 2), H).reshape(-1, 2)
    rms = float(np.sqrt(np.mean(np.sum((proj - dst[keep]) ** 2, axis=1))))
    return Fit(H / H[2, 2], int(keep.sum()), len(src), rms, method=method, support=support)


def apply(H: Mat, x: float, y: float) -> tuple[float, float]:
    v = H @ np.array([x, y, 1.0])
    return float(v[0] / v[2]), float(v[1] / v[2])


def jacobian(H: Mat, x: float, y: float) -> Mat:
    v = H @ np.array([x, y, 1.0])
    w = v[2]
    u = v[:2] / w
    return (H[:2, :2] - np.outer(u, H[2, :2])) / w


@dataclass(frozen=True)
class Motion:
    tx: float
    """Translation of the frame's centre, % of the frame's width (negative: leftwards)."""
    ty: float
    """Translation of the frame's centre, % of the frame's height (negative: upwards)."""
    rotation: float
    """Degrees (positive: clockwise on screen)."""
    scale: float

    @property
    def shift(self) -> float:
        """The larger translation component, % of the frame."""
        return max(abs(self.tx), abs(self.ty))

    @property
    def zoom(self) -> float:
        """Scale as a zoom factor either way (>= 1)."""
        return max(self.scale, 1.0 / self.scale) if self.scale > 0 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def decompose(H: Mat, width: int, height: int) -> Motion:
    cx, cy = width / 2.0, height / 2.0
    x, y = apply(H, cx, cy)
    J = jacobian(H, cx, cy)
    # How the horizontal through the centre turns: a roll turns it, while the shear that a
    # tilted plane (the ground) shows under a sideways move or a tilt leaves it level.
    rotation = math.degrees(math.atan2(J[1, 0], J[0, 0]))
    det = float(np.linalg.det(J))
    scale = math.sqrt(det) if det > 0 else 0.0
    return Motion(100.0 * (x - cx) / width, 100.0 * (y - cy) / height, rotation, scale)


def corner_displacement(H: Mat, width: int, height: int) -> float:
    """Mean displacement of the frame's corners and centre under ``H``, px."""
    pts = np.array(
        [[0, 0], [width, 0], [0, height], [width, height], [width / 2, height / 2]], np.float64
    )
    moved = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), H).reshape(-1, 2)
    return float(np.mean(np.linalg.norm(moved - pts, axis=1)))


def _odd(n: float) -> int:
    k = max(1, round(n))
    return k if k % 2 else k + 1


def corner_difference(a: Mat, b: Mat, width: int, height: int) -> float:
    """Mean distance between where two homographies send the frame's corners and centre, px."""
    pts = np.array(
        [[0, 0], [width, 0], [0, height], [width, height], [width / 2, height / 2]], np.float64
    ).reshape(-1, 1, 2)
    pa = cv2.perspectiveTransform(pts, a).reshape(-1, 2)
    pb = cv2.perspectiveTransform(pts, b).reshape(-1, 2)
    return float(np.mean(np.linalg.norm(pa - pb, axis=1)))


def masks_for(
    subject: npt.NDArray[np.float32] | None, shape: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8] | None, npt.NDArray[np.uint8] | None]:
    """(background mask, subject mask) for feature detection, or (None, None) without subject."""
    if subject is None:
        return None, None
    h, w = shape
    fg = (subject > 0.5).astype(np.uint8)
    if fg.sum() < 0.005 * h * w:
        return None, None
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.04 * max(h, w)),) * 2)
    shrink = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.012 * max(h, w)),) * 2)
    bg = (1 - cv2.dilate(fg, grow)) * 255
    inner = cv2.erode(fg, shrink) * 255
    return bg.astype(np.uint8), inner.astype(np.uint8)


def ecc_homography(
    a: Image, b: Image, mask: npt.NDArray[np.uint8] | None = None, init: Mat | None = None
) -> Fit | None:
    """Homography a -> b by ECC (intensity alignment, coarse to fine), for featureless pictures.

    ``mask``: the pixels of ``a`` to align. Returns a Fit with ``inliers`` = 0 and ``rms`` the
    aligned pixels' RMS grey difference; None when it does not converge or aligns badly.
    """
    ga = cv2.GaussianBlur(grey(a), (0, 0), 1.0).astype(np.float32)
    gb = cv2.GaussianBlur(grey(b), (0, 0), 1.0).astype(np.float32)
    H = np.eye(3) if init is None else init / init[2, 2]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        for scale in (0.25, 0.5, 1.0):
            S = np.diag([scale, scale, 1.0])
            Hs = (S @ H @ np.linalg.inv(S)).astype(np.float32)
            size = (max(8, round(ga.shape[1] * scale)), max(8, round(ga.shape[0] * scale)))
            sa = cv2.resize(ga, size, interpolation=cv2.INTER_AREA)
            sb = cv2.resize(gb, size, interpolation=cv2.INTER_AREA)
            sm = None
            if mask is not None:
                sm = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
            _, Hs = cv2.findTransformECC(sa, sb, Hs, cv2.MOTION_HOMOGRAPHY, criteria, sm, 5)
            H = np.linalg.inv(S) @ Hs.astype(np.float64) @ S
    except cv2.error:
        return None
    H = H / H[2, 2]
    warped = cv2.warpPerspective(gb, H, (ga.shape[1], ga.shape[0]), flags=cv2.WARP_INVERSE_MAP)
    valid = cv2.warpPerspective(
        np.ones(gb.shape, np.uint8), H, (ga.shape[1], ga.shape[0]), flags=cv2.WARP_INVERSE_MAP
    )
    if mask is not None:
        valid &= (mask > 0).astype(np.uint8)
    if valid.sum() < 0.05 * valid.size:
        return None
    rms = float(np.sqrt(np.mean((warped - ga)[valid > 0] ** 2)))
    if rms > 12.0:
        return None
    return Fit(H, 0, 0, rms, method="ecc")


@dataclass(frozen=True)
class CameraMotion:
    background: Fit | None
    subject: Fit | None
    motion: Motion | None
    subject_motion: Motion | None
    parallax: float | None
    background_only: bool
    """True when the background had enough features of its own (else all features)."""


@dataclass(frozen=True)
class FirstFeatures:
    background: Features
    """Features outside the dilated subject, or everywhere when the background has too few."""
    subject: Features | None
    background_only: bool
    """False when the picture had too little background of its own (all features used)."""
    background_mask: npt.NDArray[np.uint8] | None = None
    subject_mask: npt.NDArray[np.uint8] | None = None


def first_analysis(first: Image, subject: npt.NDArray[np.float32] | None) -> FirstFeatures:
    bg_mask, fg_mask = masks_for(subject, first.shape[:2])
    if bg_mask is None:
        return FirstFeatures(features(first, dense=True), None, True)
    background = features(first, bg_mask, dense=True)
    fg = features(first, fg_mask)
    if len(background.points) < MIN_BACKGROUND_FEATURES:
        whole = features(first, dense=True)
        return FirstFeatures(whole, fg, False, None, fg_mask)
    return FirstFeatures(background, fg, True, bg_mask, fg_mask)


def subject_fit(
    first: Image, later: Image, ff: FirstFeatures, later_f: Features, h_bg: Mat | None
) -> Fit | None:
    """The subject's homography first -> later (features, else ECC from the background's)."""
    if ff.subject is None:
        return None
    fit = fit_homography(*match(ff.subject, later_f))
    if fit is None and ff.subject_mask is not None and h_bg is not None:
        fit = ecc_homography(first, later, ff.subject_mask, h_bg)
    return fit


def _result(
    first: Image,
    bg: Fit | None,
    fg: Fit | None,
    subject: npt.NDArray[np.float32] | None,
    ff: FirstFeatures,
) -> CameraMotion:
    h, w = first.shape[:2]
    motion = decompose(bg.H, w, h) if bg is not None else None
    subject_motion = decompose(fg.H, w, h) if fg is not None else None
    par = None
    if bg is not None and fg is not None and subject is not None and ff.background_only:
        par = parallax(bg.H, fg.H, subject, w)
    return CameraMotion(bg, fg, motion, subject_motion, par, ff.background_only)


def camera_motion(
    first: Image,
    later: Image,
    subject: npt.NDArray[np.float32] | None = None,
    *,
    first_features: FirstFeatures | None = None,
) -> CameraMotion:
    """Background (camera) and subject motion from ``first`` to ``later``, fitted directly.

    ``subject``: the first frame's soft mask (None: the whole frame is background). For a
    whole clip, :func:`largest_move` tracks the background from frame to frame instead.
    """
    ff = first_features or first_analysis(first, subject)
    later_f = features(later, dense=True)
    bg = fit_homography(*match(ff.background, later_f), size=(first.shape[1], first.shape[0]))
    if bg is not None and bg.inliers < MIN_BACKGROUND:
        bg = None
    if bg is None:
        bg = ecc_homography(first, later, ff.background_mask)
    fg = subject_fit(first, later, ff, later_f, bg.H if bg is not None else None)
    return _result(first, bg, fg, subject, ff)


@dataclass(frozen=True)
class LargestMove:
    frame: int
    motion: CameraMotion | None
    displacements: dict[int, float]
    """Frame -> mean corner displacement of the background (px), for the frames measured."""
    tracked_to: int
    """The last frame the background could be followed to (from the rest frame)."""


def largest_move(
    frames: list[Image],
    ref: int,
    subject: npt.NDArray[np.float32] | None,
    *,
    samples: int = 16,
) -> LargestMove:
    """The frame (of about ``samples`` measured) whose background moved most from ``ref``.

    Frames are visited away from ``ref``; each is fitted directly to the rest frame's
    background features, the matches kept within 4 % of the frame's diagonal of where the
    previous frame's homography sends them (no jumps to a spurious fit). Where too few match
    (the background shrinks or blurs away), the step from the previous measured frame is
    fitted instead (its background: the rest frame's background mask carried by the
    background's homography, minus where the subject now is) and chained; ECC when features
    fail. The search stops where the background cannot be followed.
    """
    rest = frames[ref]
    h, w = rest.shape[:2]
    diag = math.hypot(w, h)
    ff = first_analysis(rest, subject)
    step = max(1, len(frames) // samples)
    order = sorted({*range(0, len(frames), step), len(frames) - 1} - {ref})
    if ref:
        order.reverse()
    found: dict[int, Fit] = {}
    later_fs: dict[int, Features] = {}
    regions: dict[int, npt.NDArray[np.uint8] | None] = {}
    h_prev, prev_f, prev = np.eye(3), ff.background, rest
    tracked = ref
    radius = 0.04 * diag
    for k in order:
        later_f = features(frames[k], dense=True)
        fit = fit_homography(
            *match(ff.background, later_f, guess=h_prev, radius=radius), size=(w, h)
        )
        if fit is not None and fit.inliers < MIN_BACKGROUND:
            fit = None
        if fit is None:
            stepped = fit_homography(
                *match(prev_f, later_f, guess=np.eye(3), radius=radius), size=(w, h)
            )
            if stepped is None or stepped.inliers < MIN_BACKGROUND:
                stepped = ecc_homography(prev, frames[k], regions.get(tracked))
            if stepped is not None:
                H = stepped.H @ h_prev
                fit = Fit(H / H[2, 2], stepped.inliers, stepped.matches, stepped.rms, True)
                fit = replace(fit, method=stepped.method, support=stepped.support)
        if fit is None:
            break
        found[k], later_fs[k] = fit, later_f
        regions[k] = _background_now(ff, fit.H, later_f, (w, h))
        prev_f = _within(later_f, regions[k])
        h_prev, prev, tracked = fit.H, frames[k], k
    displacements = {k: corner_displacement(f.H, w, h) for k, f in found.items()}
    if not displacements:
        return LargestMove(ref, None, {}, ref)
    best = max(displacements, key=displacements.__getitem__)
    bg = found[best]
    later_f = later_fs[best]
    fg = subject_fit(rest, frames[best], ff, later_f, bg.H)
    return LargestMove(best, _result(rest, bg, fg, subject, ff), displacements, tracked)


def _background_now(
    ff: FirstFeatures, h_bg: Mat, later_f: Features, size: tuple[int, int]
) -> npt.NDArray[np.uint8] | None:
    """Where the rest frame's background is in a later frame, minus where the subject went."""
    if ff.background_mask is None:
        return None
    region = cv2.warpPerspective(ff.background_mask, h_bg, size, flags=cv2.INTER_NEAREST)
    if ff.subject is not None and ff.subject_mask is not None:
        fg = fit_homography(*match(ff.subject, later_f))
        if fg is not None:
            moved = cv2.warpPerspective(ff.subject_mask, fg.H, size, flags=cv2.INTER_NEAREST)
            grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.08 * max(size)),) * 2)
            region[cv2.dilate(moved, grow) > 0] = 0
    return region


def _within(f: Features, region: npt.NDArray[np.uint8] | None) -> Features:
    if region is None or f.descriptors is None or not len(f.points):
        return f
    h, w = region.shape
    x = np.clip(f.points[:, 0].round().astype(int), 0, w - 1)
    y = np.clip(f.points[:, 1].round().astype(int), 0, h - 1)
    keep = region[y, x] > 0
    return Features(f.points[keep], f.descriptors[keep])


def parallax(h_bg: Mat, h_subject: Mat, subject: npt.NDArray[np.float32], width: int) -> float:
    """How far the subject's centroid moves off the background, % of the frame's width."""
    ys, xs = np.nonzero(subject > 0.5)
    if len(xs) == 0:
        return 0.0
    cx, cy = float(xs.mean()), float(ys.mean())
    a = np.array(apply(h_subject, cx, cy))
    b = np.array(apply(h_bg, cx, cy))
    return float(100.0 * np.linalg.norm(a - b) / width)


def gradient_energy(image: Image) -> float:
    g = grey(image).astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean(gx * gx + gy * gy))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    sq = diff * diff
    if sq.ndim == 3:
        sq = sq.mean(axis=2)
    mse = float(sq[mask > 0].mean()) if mask is not None else float(sq.mean())
    return 99.0 if mse <= 1e-10 else 10.0 * math.log10(255.0 * 255.0 / mse)


@dataclass(frozen=True)
class HomographyFit:
    psnr: float
    coverage: float
    """Share of the middle frame covered by the warped end."""
    end: str
    """"first" or "last": the end that fits better."""
    inliers: int


def homography_fit_psnr(first: Image, middle: Image, last: Image) -> HomographyFit | None:
    """The better single-homography fit of either end onto the middle frame."""
    h, w = middle.shape[:2]
    mid_f = features(middle)
    erode = np.ones((5, 5), np.uint8)
    best: HomographyFit | None = None
    for name, end in (("first", first), ("last", last)):
        fit = fit_homography(*match(features(end), mid_f), threshold=3.0)
        if fit is None:
            continue
        warped = cv2.warpPerspective(end, fit.H, (w, h), flags=cv2.INTER_LINEAR)
        valid = cv2.warpPerspective(np.full(end.shape[:2], 255, np.uint8), fit.H, (w, h))
        valid = cv2.erode(valid, erode)
        coverage = float((valid > 0).mean())
        if coverage < 0.3:
            continue
        value = psnr(warped, middle, valid)
        if best is None or value > best.psnr:
            best = HomographyFit(value, coverage, name, fit.inliers)
    return best


def crossfade_fit_psnr(first: Image, middle: Image, last: Image) -> tuple[float, float]:
    """(PSNR, a) of the best ``a * first + (1 - a) * last`` against the middle frame."""
    a = first.astype(np.float64).ravel()
    b = last.astype(np.float64).ravel()
    m = middle.astype(np.float64).ravel()
    d = a - b
    denom = float(d @ d)
    alpha = 0.5 if denom < 1e-9 else float(np.clip(((m - b) @ d) / denom, 0.0, 1.0))
    mix = alpha * first.astype(np.float64) + (1 - alpha) * last.astype(np.float64)
    return psnr(mix, middle), alpha


def pace(frames: list[Image]) -> tuple[float, float]:
    """(coefficient of variation of the per-step change, largest step's share of it all)."""
    steps = np.array(
        [
            float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))
            for a, b in itertools.pairwise(frames)
        ]
    )
    total = float(steps.sum())
    if total <= 1e-9:
        return 0.0, 0.0
    return float(steps.std() / steps.mean()), float(steps.max() / total)


@dataclass(frozen=True)
class Ghost:
    revealed: float
    """Revealed area, % of the frame."""
    counted: int
    """Pixels of the revealed area where the subject stood out from its background."""
    remnant: int
    ghost: float | None
    """remnant / counted, % (None when the revealed area is too small)."""
    edges: float | None
    """Share of the subject's carried edges still on an edge, minus chance, % (or None)."""
    edges_chance: float | None
    revealed_mask: npt.NDArray[np.uint8]
    remnant_mask: npt.NDArray[np.uint8]

    @staticmethod
    def empty(height: int, width: int) -> Ghost:
        """No value: no subject, or no background motion of its own to judge it against."""
        none = np.zeros((height, width), np.uint8)
        return Ghost(0.0, 0, 0, None, None, None, none, none)


def subject_region(subject: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8] | None:
    """The rest frame's subject for the ghost measure (None: no subject to speak of).

    The core is the mask above 0.5 (at least 0.5 % of the frame, as the engine's own test for
    a subject), its pieces of at least 5 % of the largest; the subject is the mask above
    GHOST_ALPHA within 6 % of the frame's long side of that core (faint thin parts near the
    body count, a stray speck elsewhere in the picture does not).
    """
    h, w = subject.shape[:2]
    core = (subject > 0.5).astype(np.uint8)
    if core.sum() < 0.005 * h * w:
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    keep[1:] = areas >= 0.05 * areas.max()
    core = keep[labels].astype(np.uint8)
    near = cv2.dilate(
        core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.12 * max(h, w)),) * 2)
    )
    return ((subject > GHOST_ALPHA) & (near > 0)).astype(np.uint8)


def _lab(image: Image) -> npt.NDArray[np.float32]:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def ghost(
    rest: Image,
    later: Image,
    subject: npt.NDArray[np.float32],
    h_bg: Mat,
    h_subject: Mat | None,
    later_subject: npt.NDArray[np.float32] | None = None,
) -> Ghost:
    """Subject remnants in the revealed area of ``later`` (see the module docstring).

    ``subject``: the rest frame's soft mask. ``h_bg`` / ``h_subject``: rest -> later for the
    background and the subject. Without ``h_subject``, ``later_subject`` (the later frame's
    own soft mask) says where the subject is now.
    """
    h, w = rest.shape[:2]
    size = (w, h)
    side = max(h, w)
    s_rest = subject_region(subject)
    if s_rest is None:
        return Ghost.empty(h, w)
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.012 * side),) * 2)
    if h_subject is not None:
        # A subject cut by the rest frame's edge continues past it (the engine's canvas holds
        # more picture than the frame shows): a move that brings that part into view shows the
        # subject there, not a remnant, so the mask is carried on past the edge.
        now = cv2.warpPerspective(
            s_rest, h_subject, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE
        )
    elif later_subject is not None:
        now = (later_subject > GHOST_ALPHA).astype(np.uint8)
    else:
        now = np.zeros((h, w), np.uint8)
    now = cv2.dilate(now, grow)
    was = cv2.warpPerspective(s_rest, h_bg, size, flags=cv2.INTER_NEAREST)
    inside = cv2.warpPerspective(np.ones((h, w), np.uint8), h_bg, size, flags=cv2.INTER_NEAREST)
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8))
    border = np.zeros((h, w), np.uint8)
    border[3:-3, 3:-3] = 1
    revealed = (was & (1 - now) & inside & border).astype(np.uint8)
    area = float(revealed.mean())

    lab_rest = _lab(rest)
    lab_later = _lab(later)
    s = cv2.warpPerspective(lab_rest, h_bg, size, flags=cv2.INTER_LINEAR)
    keep = (1 - cv2.dilate(s_rest, grow)).astype(np.float32)
    sigma = 0.05 * side
    num = cv2.GaussianBlur(lab_rest * keep[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(keep, (0, 0), sigma)
    local_bg = num / np.maximum(den, 1e-3)[..., None]
    b = cv2.warpPerspective(local_bg, h_bg, size, flags=cv2.INTER_LINEAR)
    contrast = np.linalg.norm(s - b, axis=2)
    to_subject = np.linalg.norm(lab_later - s, axis=2)
    counted = (revealed > 0) & (contrast >= GHOST_MIN_CONTRAST)
    remnant = counted & (to_subject < GHOST_NEARER * contrast)
    n_counted, n_remnant = int(counted.sum()), int(remnant.sum())

    ghost_value = edges = chance = None
    if area >= GHOST_MIN_AREA and n_counted >= GHOST_MIN_COUNTED * h * w:
        ghost_value = 100.0 * n_remnant / n_counted
        edge_rest = cv2.Canny(cv2.GaussianBlur(grey(rest), (3, 3), 0), 50, 150)
        on_subject = cv2.dilate(s_rest, np.ones((3, 3), np.uint8))
        carried = cv2.warpPerspective(
            (edge_rest > 0).astype(np.uint8) & on_subject, h_bg, size, flags=cv2.INTER_NEAREST
        )
        # The outline's edge pixels can fall just outside the mask: R grown by 1 px.
        region = cv2.dilate(revealed, np.ones((3, 3), np.uint8)) & (1 - now) & inside
        carried &= region
        edge_later = cv2.Canny(cv2.GaussianBlur(grey(later), (3, 3), 0), 50, 150)
        near = cv2.dilate((edge_later > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
        if carried.sum() >= 20:
            hit = float((carried & near).sum()) / float(carried.sum())
            chance = float((region & near).sum()) / float(region.sum())
            edges = 100.0 * (hit - chance)
            chance *= 100.0
    return Ghost(
        revealed=100.0 * area,
        counted=n_counted,
        remnant=n_remnant,
        ghost=ghost_value,
        edges=edges,
        edges_chance=chance,
        revealed_mask=revealed,
        remnant_mask=remnant.astype(np.uint8),
    )
