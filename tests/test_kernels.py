"""The compiled warp and over kernels against OpenCV, which they replace in the one-image engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from kinora.engines.geometry import kernels
from kinora.engines.geometry.warp import Grid, perspective_grid
from tests.conftest import TESTDATA

U8 = npt.NDArray[np.uint8]

MOVES = {
    "shift": np.array([[1.0, 0.0, -13.3], [0.0, 1.0, 7.7], [0.0, 0.0, 1.0]]),
    "zoom and turn": np.array([[1.08, 0.05, -60.0], [-0.03, 1.06, -40.0], [0.0, 0.0, 1.0]]),
    "perspective": np.array([[1.05, 0.03, -60.0], [0.01, 1.04, -70.0], [4e-5, 2e-5, 1.0]]),
    # Half the output samples beyond the picture: borders.
    "out of frame": np.array([[0.7, 0.1, 300.0], [-0.1, 0.8, 200.0], [1e-4, 0.0, 1.0]]),
}


@pytest.fixture(autouse=True)
def _both_samplers() -> Iterator[None]:
    yield
    kernels.force_scalar(False)


@pytest.fixture(scope="module")
def picture() -> U8:
    grey = cv2.imread(str(TESTDATA / "coffee.png"), cv2.IMREAD_GRAYSCALE)
    return np.asarray(cv2.resize(grey, (700, 500), interpolation=cv2.INTER_CUBIC), np.uint8)


def _grid(name: str, size: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> Grid:
    grid = perspective_grid(MOVES[name], size, origin=origin)
    assert grid is not None
    return grid


def _assert_close(ours: U8, theirs: U8) -> None:
    """To OpenCV's rounding: a few pixels land 1/32 pixel apart (the map's last float bit),
    which on a sharp edge moves them by a few levels."""
    diff = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
    assert diff.max() <= 4
    assert np.count_nonzero(diff) <= 0.001 * diff.size


def test_make_install_builds_the_kernels() -> None:
    """`make install` compiles them; without them the engine falls back to OpenCV, slower."""
    assert kernels.LIBRARY.exists() and kernels.available()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    assert kernels.simd() == (" avx2" in flags and " fma" in flags)


@pytest.mark.parametrize("scalar", [False, True], ids=["simd", "plain"])
@pytest.mark.parametrize("move", list(MOVES))
def test_warp_matches_opencv_remap(picture: U8, move: str, scalar: bool) -> None:
    kernels.force_scalar(scalar)
    grid = _grid(move, (640, 360))
    for border, mode in (("replicate", cv2.BORDER_REPLICATE), ("zero", cv2.BORDER_CONSTANT)):
        out = np.zeros((360, 640), np.uint8)
        kernels.warp([kernels.Plane.of(picture, border=border)], grid, (0, 0, 640, 360), [out])
        theirs = cv2.remap(picture, grid.map(), None, cv2.INTER_LINEAR, borderMode=mode)
        _assert_close(out, theirs)


def test_warp_of_a_window_and_of_two_channels(picture: U8) -> None:
    """A part of a grid's window, and an interleaved pair (chroma) at half size."""
    grid = _grid("perspective", (640, 360), origin=(40, 20))
    out = np.zeros((100, 201), np.uint8)
    kernels.warp([kernels.Plane.of(picture, border="zero")], grid, (333, 211, 201, 100), [out])
    theirs = cv2.remap(picture, grid.window_map(333, 211, 201, 100), None, cv2.INTER_LINEAR)
    _assert_close(out, theirs)

    pair = np.dstack([picture[::2, ::2], 255 - picture[::2, ::2]])
    half = grid.halved()
    u, v = np.zeros((180, 320), np.uint8), np.zeros((180, 320), np.uint8)
    kernels.warp([kernels.Plane.of(pair, border="replicate")], half, (0, 0, 320, 180), [u, v])
    theirs2 = cv2.remap(pair, half.map(), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    _assert_close(u, theirs2[..., 0])
    _assert_close(v, theirs2[..., 1])


def _subject(picture: U8) -> tuple[U8, U8]:
    alpha = np.zeros(picture.shape, np.uint8)
    cv2.circle(alpha, (250, 200), 90, 255, -1)
    cv2.rectangle(alpha, (520, 60), (560, 400), 255, -1)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 2.0), np.uint8)
    premultiplied = np.rint(picture.astype(np.float32) * alpha / 255.0).astype(np.uint8)
    return premultiplied, alpha


@pytest.mark.parametrize("scalar", [False, True], ids=["simd", "plain"])
def test_over_matches_warps_and_blend_and_leaves_clear_cells_untouched(
    picture: U8, scalar: bool
) -> None:
    kernels.force_scalar(scalar)
    premultiplied, alpha = _subject(picture)
    grid = _grid("zoom and turn", (640, 360))
    back = np.asarray(np.random.default_rng(1).integers(0, 256, (360, 640)), np.uint8)
    out = back.copy()
    plane = kernels.Plane.of(np.dstack([premultiplied, alpha]), border="zero")
    blended = kernels.over([plane], grid, kernels.Coverage.of(alpha, 16), (0, 0, 640, 360), [out])

    warped = cv2.remap(np.dstack([premultiplied, alpha, alpha]), grid.map(), None, cv2.INTER_LINEAR)
    f, a = warped[..., 0].astype(np.int32), warped[..., 1].astype(np.int32)
    theirs = np.clip(f + np.rint(back * (255 - a) / 255.0), 0, 255).astype(np.uint8)
    _assert_close(out, theirs)
    # Only where the subject can show was anything sampled; elsewhere the back is untouched.
    assert 0 < blended < 0.6 * out.size
    clear = cv2.dilate((a > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    assert np.array_equal(out[clear], back[clear])


def test_simd_and_plain_c_render_the_same_pixels(picture: U8) -> None:
    premultiplied, alpha = _subject(picture)
    grid = _grid("perspective", (640, 360))
    results = []
    for scalar in (False, True):
        kernels.force_scalar(scalar)
        out = np.full((360, 640), 90, np.uint8)
        kernels.warp([kernels.Plane.of(picture, border="replicate")], grid, (0, 0, 640, 360), [out])
        pair = kernels.Plane.of(np.dstack([premultiplied, alpha]), border="zero")
        kernels.over([pair], grid, kernels.Coverage.of(alpha, 16), (0, 0, 640, 360), [out])
        results.append(out)
    assert np.array_equal(results[0], results[1])


def test_bad_arguments_raise_value_errors(picture: U8) -> None:
    grid = _grid("shift", (64, 64))
    small = kernels.Plane.of(picture[:100, :100], border="zero")
    big = kernels.Plane.of(picture, border="zero")
    out = np.zeros((64, 64), np.uint8)
    with pytest.raises(ValueError, match="same size"):
        kernels.warp([small, big], grid, (0, 0, 64, 64), [out, out])
    with pytest.raises(ValueError, match="1 or 2 channels"):
        kernels.Plane.of(np.zeros((8, 8, 3), np.uint8), border="zero")
    with pytest.raises(ValueError, match="same size and stride"):
        kernels.warp([big], grid, (0, 0, 64, 64), [np.zeros((64, 65), np.uint8)])
    wide = kernels.MAX_WIDTH + 2
    with pytest.raises(ValueError, match="pixels wide"):
        kernels.warp([big], grid, (0, 0, wide, 1), [np.zeros((1, wide), np.uint8)])


def test_workers_say_at_start_whether_the_kernels_are_built(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinora.jobs.worker import report_kernels

    with caplog.at_level("INFO", logger="kinora.jobs.worker"):
        assert report_kernels()
    assert "warp kernels: compiled" in caplog.text
    monkeypatch.setattr(kernels, "_enabled", False)
    caplog.clear()
    with caplog.at_level("INFO", logger="kinora.jobs.worker"):
        assert not report_kernels()
    assert "use OpenCV" in caplog.text and "make install" in caplog.text


@pytest.mark.parametrize("seed", range(4))
def test_random_planes_moves_and_windows_match_opencv(seed: int) -> None:
    """Odd and tiny planes, moves far outside them, windows anywhere in the grid's window,
    one or two channels, both borders, both samplers: what OpenCV's remap gives."""
    rng = np.random.default_rng(seed)
    compared = 0
    for case in range(40):
        kernels.force_scalar(bool(case % 2))
        h, w = (int(v) for v in rng.integers(3, 300, size=2))
        channels = 1 + case % 3 // 2
        shape = (h, w) if channels == 1 else (h, w, 2)
        picture = np.asarray(
            cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (0, 0), 1.0), np.uint8
        )
        scale = float(rng.uniform(0.3, 3.0))
        angle = float(rng.uniform(-0.5, 0.5))
        hom = np.array(
            [
                [scale * np.cos(angle), -scale * np.sin(angle), rng.uniform(-w, w)],
                [scale * np.sin(angle), scale * np.cos(angle), rng.uniform(-h, h)],
                [rng.uniform(-4e-4, 4e-4), rng.uniform(-4e-4, 4e-4), 1.0],
            ]
        )
        gw, gh = (int(v) for v in rng.integers(8, 400, size=2))
        grid = perspective_grid(hom, (gw, gh))
        if grid is None:
            continue
        x, y = int(rng.integers(0, gw)), int(rng.integers(0, gh))
        ww, wh = int(rng.integers(1, gw - x + 1)), int(rng.integers(1, gh - y + 1))
        border, mode = (
            ("replicate", cv2.BORDER_REPLICATE) if case % 4 < 2 else ("zero", cv2.BORDER_CONSTANT)
        )
        outs = [np.full((wh, ww), 7, np.uint8) for _ in range(channels)]
        kernels.warp([kernels.Plane.of(picture, border=border)], grid, (x, y, ww, wh), outs)
        theirs = cv2.remap(
            picture, grid.window_map(x, y, ww, wh), None, cv2.INTER_LINEAR, borderMode=mode
        ).reshape(wh, ww, channels)
        for c in range(channels):
            diff = np.abs(outs[c].astype(np.int16) - theirs[..., c].astype(np.int16))
            assert diff.max() <= 4, (seed, case)
            assert np.count_nonzero(diff) <= max(2, 0.003 * diff.size), (seed, case)
        compared += 1
    assert compared >= 30
