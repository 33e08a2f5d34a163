"""The fast perspective warp against OpenCV's own, on a real photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kinora.engines.base import Frame
from kinora.engines.geometry.warp import perspective_grid, perspective_map, warp_perspective

MILD = np.array([[1.03, 0.02, -25.0], [0.01, 1.02, -18.0], [2e-5, -1e-5, 1.0]])
"""About as curved as the camera paths get (an orbit's end)."""
STRONG = np.array([[1.1, 0.05, -60.0], [0.02, 1.05, -35.0], [6e-4, 2e-4, 1.0]])
"""Strongly receding: too curved for the grid, so OpenCV does it."""


@pytest.fixture(scope="module")
def photo(photos: dict[str, Frame]) -> Frame:
    big = cv2.resize(photos["rocket.jpg"], (1400, 900), interpolation=cv2.INTER_CUBIC)
    return np.asarray(big, np.uint8)


@pytest.mark.parametrize("h", [MILD, np.eye(3)], ids=["mild", "identity"])
@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE])
def test_matches_opencv_to_rounding(photo: Frame, h: np.ndarray, border: int) -> None:
    assert perspective_map(h, (1280, 720)) is not None  # the grid path, not OpenCV's own
    ours = warp_perspective(photo, h, (1280, 720), border=border)
    ref = cv2.warpPerspective(photo, h, (1280, 720), flags=cv2.INTER_LINEAR, borderMode=border)
    diff = np.abs(ours.astype(np.int16) - ref.astype(np.int16))
    assert diff.mean() < 0.01
    assert np.percentile(diff, 99.99) <= 2


def test_a_window_equals_the_same_part_of_the_whole(photo: Frame) -> None:
    whole = warp_perspective(photo, MILD, (1280, 720))
    part = warp_perspective(photo, MILD, (300, 200), origin=(400, 250))
    assert np.abs(part.astype(np.int16) - whole[250:450, 400:700]).max() <= 1


def test_grid_is_used_for_camera_moves_and_refused_when_too_curved() -> None:
    m = perspective_map(MILD, (1280, 720))
    assert m is not None and m.shape == (720, 1280, 2)
    ys, xs = np.mgrid[0:720, 0:1280].astype(np.float64)
    hinv = np.linalg.inv(MILD)
    w = hinv[2, 0] * xs + hinv[2, 1] * ys + hinv[2, 2]
    exact_x = (hinv[0, 0] * xs + hinv[0, 1] * ys + hinv[0, 2]) / w
    assert np.abs(m[..., 0] - exact_x).max() < 0.02
    assert perspective_map(STRONG, (1280, 720)) is None
    behind = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-0.002, 0.0, 1.0]])
    assert perspective_map(behind, (1280, 720)) is None


def _exact_map(h: np.ndarray, width: int, height: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    hinv = np.linalg.inv(h)
    w = hinv[2, 0] * xs + hinv[2, 1] * ys + hinv[2, 2]
    return np.dstack(
        [
            (hinv[0, 0] * xs + hinv[0, 1] * ys + hinv[0, 2]) / w,
            (hinv[1, 0] * xs + hinv[1, 1] * ys + hinv[1, 2]) / w,
        ]
    )


def test_half_size_grid_is_the_chroma_planes_own_map() -> None:
    grid = perspective_grid(MILD, (1280, 720))
    assert grid is not None
    half = grid.halved()
    # Chroma sample j sits at full-size 2j + 0.5, in the output and in the source.
    s = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]])
    exact = _exact_map(np.linalg.inv(s) @ MILD @ s, 640, 360)
    assert half.size == (640, 360)
    assert np.abs(half.map() - exact).max() < 0.01


def test_a_window_map_is_that_part_of_the_whole_map() -> None:
    grid = perspective_grid(MILD, (1280, 720))
    assert grid is not None
    whole = grid.map()
    for x, y, w, h in [(0, 0, 32, 32), (400, 250, 300, 200), (1250, 700, 30, 20)]:
        assert np.abs(grid.window_map(x, y, w, h) - whole[y : y + h, x : x + w]).max() < 1e-3
