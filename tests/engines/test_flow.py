"""Optical flow helpers: alignment, both-way flow, consistency, splatting, interpolation."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import cv2
import numpy as np

from kinora.engines.morph.flow import (
    FlowInterpolator,
    align_global,
    compute_flow,
    decisive_alpha,
    fb_error,
    homography_flow,
    interpolate,
    splat,
    warp,
)
from kinora.video.fit import cover_fit

sys.path.insert(0, str(Path(__file__).parent))  # works with or without tests/engines/__init__.py
from morph_helpers import photo, psnr, video_frames


def _shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float64([[1, 0, dx], [0, 1, dy]])
    h, w = image.shape[:2]
    return np.asarray(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT_101))


def test_align_global_recovers_a_camera_move() -> None:
    a = cover_fit(photo("coffee.png"), 480, 320)
    true = np.float64([[1.05, 0.02, -12.0], [-0.02, 1.05, 7.0], [0.0, 0.0, 1.0]])
    b = np.asarray(cv2.warpPerspective(a, true, (480, 320), borderMode=cv2.BORDER_REFLECT_101))
    result = align_global(a, b)
    assert result.ok and result.inliers >= 25 and result.inlier_ratio > 0.3
    pts = np.float32([[100, 80], [380, 80], [240, 240]]).reshape(-1, 1, 2)
    got = cv2.perspectiveTransform(pts, result.homography)
    want = cv2.perspectiveTransform(pts, true)
    assert float(np.abs(got - want).max()) < 1.5


def test_align_global_rejects_unrelated_images() -> None:
    a = cover_fit(photo("chelsea.png"), 320, 180)
    b = cover_fit(photo("rocket.jpg"), 320, 180)
    result = align_global(a, b)
    assert not result.ok
    assert np.allclose(result.homography, np.eye(3))


def test_flow_both_ways_on_a_translation() -> None:
    a = cover_fit(photo("chelsea.png"), 320, 192)
    b = _shifted(a, 6.0, -3.0)
    field = compute_flow(a, b, max_side=320)
    inner = (slice(20, -20), slice(20, -20))
    fwd = np.median(field.forward[inner].reshape(-1, 2), axis=0)
    bwd = np.median(field.backward[inner].reshape(-1, 2), axis=0)
    assert np.allclose(fwd, [6.0, -3.0], atol=0.3)
    assert np.allclose(bwd, [-6.0, 3.0], atol=0.3)
    assert field.consistency > 0.8 and field.photo_gain > 0.5


def test_fb_error_is_zero_for_inverse_fields_and_large_otherwise() -> None:
    f = np.zeros((40, 50, 2), np.float32)
    f[..., 0] = 3.0
    assert float(fb_error(f, -f).max()) < 1e-4
    assert float(fb_error(f, f).min()) > 5.9


def test_homography_flow_and_warp_agree() -> None:
    hom = np.float64([[1, 0, 4], [0, 1, -2], [0, 0, 1]])
    flow = homography_flow(hom, 30, 40)
    assert np.allclose(flow[..., 0], 4) and np.allclose(flow[..., 1], -2)
    img = np.arange(30 * 40, dtype=np.float32).reshape(30, 40)
    moved = warp(img, flow)
    assert np.allclose(moved[5:-5, 5:-5], img[3:-7, 9:-1])


def test_splat_keeps_mass_and_places_it_bilinearly() -> None:
    xs = np.float32([1.25, 3.0])
    ys = np.float32([2.5, 0.0])
    values = np.float32([[2.0], [5.0]])
    acc, den = splat(xs, ys, values, np.float32([1.0, 1.0]), 4, 5)
    assert abs(float(den.sum()) - 2.0) < 1e-5
    assert abs(float(den[2, 1]) - 0.375) < 1e-5 and abs(float(den[3, 2]) - 0.125) < 1e-5
    assert abs(float(acc[0, 3, 0]) - 5.0) < 1e-5


def test_interpolator_is_exact_at_the_ends_and_halfway_on_a_translation() -> None:
    base = cover_fit(photo("coffee.png"), 320, 192)
    a, mid, b = base, _shifted(base, 4.0, 2.0), _shifted(base, 8.0, 4.0)
    interp = FlowInterpolator.from_images(a, b, max_side=320)
    assert np.array_equal(interp.frame(0.0), a)
    assert np.array_equal(interp.frame(1.0), b)
    inner = (slice(16, -16), slice(16, -16))
    got = interp.frame(0.5)
    crossfade = ((a.astype(np.float32) + b) / 2 + 0.5).astype(np.uint8)
    assert psnr(got[inner], mid[inner]) > 33
    assert psnr(got[inner], mid[inner]) > psnr(crossfade[inner], mid[inner]) + 6


def test_interpolate_beats_crossfade_on_video_frames() -> None:
    frames = video_frames((400, 402, 404))
    a, mid, b = (
        cv2.resize(frames[i], (480, 270), interpolation=cv2.INTER_AREA) for i in (400, 402, 404)
    )
    got = interpolate(a, b, 0.5)
    crossfade = ((a.astype(np.float32) + b) / 2 + 0.5).astype(np.uint8)
    assert psnr(got, mid) > psnr(crossfade, mid) + 2


def test_blend_changes_evenly_over_t() -> None:
    # two nearly identical frames: the blend alone makes the change; rounding at a constant
    # 0.5 flipped every one-level difference at t=0.5 at once (a pulse 4x the other steps)
    a, b = (cover_fit(f, 320, 180) for f in video_frames((400, 401)).values())
    interp = FlowInterpolator(a, b, compute_flow(a, b))
    frames = [interp.frame(t).astype(np.int16) for t in np.linspace(0.3, 0.7, 21)]
    steps = [float(np.abs(y - x).mean()) for x, y in itertools.pairwise(frames)]
    assert max(steps) < 1.6 * float(np.median(steps))


def test_decisive_alpha_switches_where_the_warps_disagree() -> None:
    a = cover_fit(photo("chelsea.png"), 160, 96).astype(np.float32)
    other = cover_fit(photo("coffee.png"), 160, 96).astype(np.float32)
    f1 = a.copy()
    f1[:, 80:] = other[:, 80:]  # right half: the two warps show different things
    for t, (left, right) in ((0.3, (0.3, 0.0)), (0.7, (0.7, 1.0))):
        got = decisive_alpha(np.full((96, 160), t, np.float32), a, f1)
        assert abs(float(np.median(got[:, :60])) - left) < 0.02  # agreement: blend kept
        assert abs(float(np.median(got[:, 100:])) - right) < 0.02  # disagreement: a switch
