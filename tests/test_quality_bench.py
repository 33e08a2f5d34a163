"""The quality bench's measures (bench/quality/measures.py) on cases whose answer is known.

Synthetic frames only (no corpus, no engine): a textured picture shifted, turned or zoomed by a
known amount must measure that amount; a subject left behind must measure as a ghost and a
clean reveal must not.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "quality" / "measures.py"
_spec = importlib.util.spec_from_file_location("quality_measures", _PATH)
assert _spec is not None and _spec.loader is not None
measures = importlib.util.module_from_spec(_spec)
sys.modules["quality_measures"] = measures
_spec.loader.exec_module(measures)

W, H = 400, 240


def texture(width: int, height: int, seed: int = 3) -> np.ndarray:
    """A photo-like texture: noise at several scales and some hard-edged shapes."""
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((1.0, 0.25), (3.0, 0.35), (9.0, 0.4)):
        noise = rng.normal(0.0, 1.0, (height, width, 3)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), sigma)
        out += weight * noise / (noise.std() + 1e-6)
    img = np.clip(128 + 40 * out, 0, 255).astype(np.uint8)
    for _ in range(60):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(4, 18)), colour, -1)
        else:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(6, 30)), y + 12), colour, -1)
    return img


def crop(big: np.ndarray, cx: float, cy: float) -> np.ndarray:
    x0, y0 = round(cx - W / 2), round(cy - H / 2)
    return np.ascontiguousarray(big[y0 : y0 + H, x0 : x0 + W])


def background_motion(a: np.ndarray, b: np.ndarray):
    result = measures.camera_motion(a, b, None)
    assert result.motion is not None
    assert result.background.inliers >= 50
    return result.motion


def test_a_shift_by_ten_percent_measures_ten_percent() -> None:
    big = texture(3 * W, 2 * H)
    first = crop(big, 1.2 * W, H)
    # The view moves right by 10 % of the frame: the picture slides left by 40 px.
    later = crop(big, 1.2 * W + 0.10 * W, H)
    motion = background_motion(first, later)
    assert motion.tx == pytest.approx(-10.0, abs=0.3)
    assert motion.ty == pytest.approx(0.0, abs=0.3)
    assert motion.shift == pytest.approx(10.0, abs=0.3)
    assert motion.rotation == pytest.approx(0.0, abs=0.2)
    assert motion.scale == pytest.approx(1.0, abs=0.01)


def test_a_vertical_shift_is_a_share_of_the_height() -> None:
    big = texture(3 * W, 3 * H)
    first = crop(big, 1.5 * W, 1.2 * H)
    later = crop(big, 1.5 * W, 1.2 * H - 0.06 * H)
    motion = background_motion(first, later)
    assert motion.ty == pytest.approx(6.0, abs=0.3)
    assert motion.tx == pytest.approx(0.0, abs=0.3)


def test_a_rotation_by_eight_degrees_measures_eight_degrees() -> None:
    big = texture(2 * W, 3 * H)
    centre = (big.shape[1] / 2, big.shape[0] / 2)
    # OpenCV's positive angle turns the picture anticlockwise on screen; -8 turns it clockwise.
    turn = cv2.getRotationMatrix2D(centre, -8.0, 1.0)
    turned = cv2.warpAffine(big, turn, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR)
    motion = background_motion(crop(big, *centre), crop(turned, *centre))
    assert motion.rotation == pytest.approx(8.0, abs=0.2)
    assert motion.scale == pytest.approx(1.0, abs=0.01)
    assert motion.shift == pytest.approx(0.0, abs=0.3)


def test_a_zoom_by_one_point_three_measures_one_point_three() -> None:
    big = texture(2 * W, 2 * H)
    centre = (big.shape[1] / 2, big.shape[0] / 2)
    zoom = cv2.getRotationMatrix2D(centre, 0.0, 1.3)
    zoomed = cv2.warpAffine(big, zoom, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR)
    motion = background_motion(crop(big, *centre), crop(zoomed, *centre))
    assert motion.scale == pytest.approx(1.3, abs=0.01)
    assert motion.zoom == pytest.approx(1.3, abs=0.01)
    assert motion.rotation == pytest.approx(0.0, abs=0.2)
    assert motion.shift == pytest.approx(0.0, abs=0.3)
    # Zooming out is the same zoom factor the other way.
    back = background_motion(crop(zoomed, *centre), crop(big, *centre))
    assert back.scale == pytest.approx(1 / 1.3, abs=0.01)
    assert back.zoom == pytest.approx(1.3, abs=0.02)


def scene(bg: np.ndarray, bg_dx: int, subject_at: tuple[int, int], left_behind: bool = False):
    """A frame of the background moved by bg_dx with a red disc subject at subject_at."""
    frame = np.ascontiguousarray(np.roll(bg, -bg_dx, axis=1)[:H, :W])
    if left_behind:
        cv2.circle(frame, (120 - bg_dx, 120), 40, (230, 30, 30), -1, cv2.LINE_AA)
    cv2.circle(frame, subject_at, 40, (230, 30, 30), -1, cv2.LINE_AA)
    return frame


def test_parallax_and_the_ghost_measure_on_a_moving_subject() -> None:
    bg = cv2.GaussianBlur(texture(2 * W, H, seed=5), (0, 0), 1.0)
    # A red subject with texture of its own, so its motion can be matched.
    rest = scene(bg, 0, (120, 120))
    mask = np.zeros((H, W), np.float32)
    cv2.circle(mask, (120, 120), 40, 1.0, -1)
    h_bg = np.array([[1.0, 0, -6], [0, 1, 0], [0, 0, 1]])
    h_subject = np.array([[1.0, 0, 50], [0, 1, 0], [0, 0, 1]])
    # Subject moves 50 px right, the background 6 px left: parallax 56 px = 14 % of 400.
    assert measures.parallax(h_bg, h_subject, mask, W) == pytest.approx(14.0, abs=0.1)

    clean = scene(bg, 6, (170, 120))
    result = measures.ghost(rest, clean, mask, h_bg, h_subject)
    assert result.revealed > 1.0
    assert result.ghost is not None and result.ghost < 2.0
    assert result.edges is not None and result.edges < 10.0

    ghosted = scene(bg, 6, (170, 120), left_behind=True)
    result = measures.ghost(rest, ghosted, mask, h_bg, h_subject)
    assert result.ghost is not None and result.ghost > 95.0
    assert result.edges is not None and result.edges > 30.0

    # The subject hardly moving against the background reveals nothing to judge.
    still = measures.ghost(rest, rest, mask, np.eye(3), np.eye(3))
    assert still.ghost is None


def test_pair_measures_tell_one_view_from_a_dissolve() -> None:
    big = texture(2 * W, 2 * H, seed=7)
    centre = (big.shape[1] / 2, big.shape[0] / 2)
    first = crop(big, centre[0] - 20, centre[1])
    last = crop(big, centre[0] + 20, centre[1])
    middle = crop(big, *centre)
    fit = measures.homography_fit_psnr(first, middle, last)
    assert fit is not None and fit.psnr > 35.0
    sharp = measures.gradient_energy(middle) / np.mean(
        [measures.gradient_energy(first), measures.gradient_energy(last)]
    )
    assert sharp == pytest.approx(1.0, abs=0.05)

    dissolve = ((first.astype(np.uint16) + last) // 2).astype(np.uint8)
    fit = measures.homography_fit_psnr(first, dissolve, last)
    assert fit is None or fit.psnr < 26.0
    psnr, alpha = measures.crossfade_fit_psnr(first, dissolve, last)
    assert psnr > 40.0 and alpha == pytest.approx(0.5, abs=0.02)
    soft = measures.gradient_energy(dissolve) / np.mean(
        [measures.gradient_energy(first), measures.gradient_energy(last)]
    )
    assert soft < 0.8

    frames = [crop(big, centre[0] - 20 + 4 * i, centre[1]) for i in range(11)]
    cv, largest = measures.pace(frames)
    assert cv < 0.2 and largest == pytest.approx(0.1, abs=0.03)
    jumpy = frames[:1] * 8 + frames[-3:]
    cv, largest = measures.pace(jumpy)
    assert cv > 1.0 and largest > 0.4


def test_decompose_reads_a_rotation_about_the_centre_exactly() -> None:
    angle = math.radians(8.0)
    c, s = math.cos(angle), math.sin(angle)
    cx, cy = W / 2, H / 2
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    to = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1.0]])
    back = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    motion = measures.decompose(to @ turn @ back, W, H)
    assert motion.rotation == pytest.approx(8.0, abs=1e-9)
    assert motion.scale == pytest.approx(1.0, abs=1e-9)
    assert motion.shift == pytest.approx(0.0, abs=1e-9)


def test_the_shear_of_a_ground_plane_is_not_read_as_a_roll() -> None:
    # A sideways move over a tilted plane: lower rows (nearer) slide further than upper ones.
    shear = np.array([[1.0, 0.12, -0.12 * H / 2], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    motion = measures.decompose(shear, W, H)
    assert motion.rotation == pytest.approx(0.0, abs=1e-9)
    assert motion.scale == pytest.approx(1.0, abs=1e-9)
