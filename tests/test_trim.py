"""Trimming mats, letterbox bars and stitching wedges (kinora.video.trim) on real pictures."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kinora.video.trim import trim_borders
from tests.engines.engine_helpers import opencv_doc


def rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))


def jpeg(image: np.ndarray, quality: int = 85) -> np.ndarray:
    """The picture as a JPEG would bring it back (blurred bar edges, block noise)."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return np.ascontiguousarray(
        cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    )


def framed(image: np.ndarray, *, bar_y: int, bar_x: int, level: int, noise: float) -> np.ndarray:
    h, w = image.shape[:2]
    rng = np.random.default_rng(7)
    out = np.clip(rng.normal(level, noise, (h + 2 * bar_y, w + 2 * bar_x, 1)), 0, 255)
    out = np.repeat(out.astype(np.uint8), 3, axis=2)
    out[bar_y : bar_y + h, bar_x : bar_x + w] = image
    return jpeg(out)


def dark_edge_shares(image: np.ndarray, dark: int = 20) -> list[float]:
    b = image.max(axis=2)
    return [float((line <= dark).mean()) for line in (b[0], b[-1], b[:, 0], b[:, -1])]


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "astronaut.png"])
@pytest.mark.parametrize(
    ("bar_y", "bar_x", "level", "noise"),
    [(40, 0, 0, 0.0), (0, 60, 0, 0.0), (30, 30, 9, 2.0)],
    ids=["letterbox", "pillarbox", "scanned mat"],
)
def test_bars_and_mats_are_trimmed_to_the_picture(
    testdata: Path, name: str, bar_y: int, bar_x: int, level: int, noise: float
) -> None:
    photo = rgb(testdata / name)
    out = trim_borders(framed(photo, bar_y=bar_y, bar_x=bar_x, level=level, noise=noise))
    h, w = photo.shape[:2]
    # All of the bar goes, and at most the sliver taken for a mat's inner edge line (1 %) more.
    assert h - 0.02 * h - 2 <= out.shape[0] <= h
    assert w - 0.02 * w - 2 <= out.shape[1] <= w
    assert max(dark_edge_shares(out)) < 0.5


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"])
@pytest.mark.parametrize("dim", [1.0, 0.3, 0.12])
def test_pictures_without_a_border_are_left_alone_even_when_dark(
    testdata: Path, name: str, dim: float
) -> None:
    photo = (rgb(testdata / name).astype(np.float32) * dim).astype(np.uint8)
    assert trim_borders(photo) is photo


def night_sky(image: np.ndarray, rows: int) -> np.ndarray:
    """A real photo under a dark night sky reaching the top edge: it brightens towards the
    horizon, carries sensor noise and stars, and ends on the photo's skyline."""
    w = image.shape[1]
    rng = np.random.default_rng(3)
    ramp = np.linspace(3.0, 34.0, rows)[:, None, None]
    sky = np.clip(ramp + rng.normal(0.0, 2.5, (rows, w, 1)), 0, 255)
    sky = np.repeat(sky, 3, axis=2)
    stars = rng.random((rows, w)) < 0.004
    sky[stars] = 230.0
    return jpeg(np.concatenate([sky.astype(np.uint8), image], axis=0))


@pytest.mark.parametrize("rows", [30, 120])
def test_a_night_sky_reaching_the_edge_is_not_a_bar(testdata: Path, rows: int) -> None:
    photo = night_sky(rgb(testdata / "rocket.jpg"), rows)
    out = trim_borders(photo)
    assert out.shape[0] >= photo.shape[0] - 2


def test_black_space_around_a_subject_is_kept(testdata: Path) -> None:
    # The astronaut on a black field: the field is picture, it has no straight edge.
    photo = rgb(testdata / "astronaut.png")
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (0.45 * w) ** 2
    on_black = jpeg(np.where(disc[..., None], photo, 0).astype(np.uint8))
    assert trim_borders(on_black).shape[:2] == (h, w)


def test_a_paintings_mat_and_a_panoramas_wedges_are_trimmed() -> None:
    """OpenCV's sample pictures (the quality corpus' starry_night, harbour_panorama, and three
    dark photos whose darkness is content, not a border)."""
    starry = rgb(opencv_doc("examples/data/starry_night.jpg"))
    out = trim_borders(starry)
    assert out.shape[0] >= 0.9 * starry.shape[0] and out.shape[1] >= 0.9 * starry.shape[1]
    assert max(dark_edge_shares(out)) < 0.5  # the black mat was 66-100 % of each edge line
    harbour = rgb(opencv_doc("opencv4/html/boat.jpg"))
    out = trim_borders(harbour)
    assert out.shape[0] >= 0.8 * harbour.shape[0] and out.shape[1] >= 0.95 * harbour.shape[1]
    b = out.max(axis=2)
    corners = [b[:6, :40], b[:6, -40:], b[-6:, :40], b[-6:, -40:]]
    assert all(float((c <= 8).mean()) < 0.1 for c in corners)  # the wedges were there
    for member in (
        "opencv4/html/ldr_debevec.jpg",
        "examples/text/scenetext02.jpg",
        "opencv4/html/227943776_1.jpg",
    ):
        photo = rgb(opencv_doc(member))
        assert trim_borders(photo) is photo, member
