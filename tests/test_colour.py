"""The YUV 4:2:0 planes engines render straight into, against the encoder's own conversion."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kinora.video.colour import (
    i420_planes,
    i420_to_rgb,
    premultiplied_yuv_planes,
    rgb_to_i420,
    yuv_planes,
)
from kinora.video.encode import Mp4Writer, read_frames


@pytest.fixture
def photo(testdata: Path) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(testdata / "coffee.png")), cv2.COLOR_BGR2RGB)
    return np.asarray(cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA), np.uint8)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255**2 / mse)


def test_i420_comes_back_to_rgb_as_4_2_0_allows(photo: np.ndarray) -> None:
    back = i420_to_rgb(rgb_to_i420(photo))
    assert back.shape == photo.shape and back.dtype == np.uint8
    assert _psnr(back, photo) > 38  # chroma at half size is all that is lost
    grey = np.full((64, 64, 3), 90, np.uint8)
    assert np.abs(i420_to_rgb(rgb_to_i420(grey)).astype(int) - 90).max() <= 1


def test_planes_match_the_encoder_conversion(photo: np.ndarray) -> None:
    y, chroma = yuv_planes(photo)
    ey, eu, ev = i420_planes(rgb_to_i420(photo))
    assert np.array_equal(y, ey)
    assert chroma.shape == (240, 320, 3) and not chroma[..., 2].any()
    assert np.abs(chroma[..., 0].astype(int) - eu).max() <= 1
    assert np.abs(chroma[..., 1].astype(int) - ev).max() <= 1
    with pytest.raises(ValueError, match="even"):
        yuv_planes(photo[:-1])


def test_premultiplied_planes_are_the_planes_scaled_by_coverage(photo: np.ndarray) -> None:
    y, chroma = yuv_planes(photo)
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[:, 320:] = 255
    alpha[:, 300:320] = 128
    yp, a, cp = premultiplied_yuv_planes(photo, alpha)
    assert np.array_equal(a, alpha)
    assert not yp[:, :300].any() and not cp[:, :150].any()
    assert np.abs(yp[:, 320:].astype(int) - y[:, 320:]).max() <= 1
    assert np.abs(cp[:, 160:, :2].astype(int) - chroma[:, 160:, :2]).max() <= 1
    assert (cp[:, 160:, 2] == 255).all() and (cp[:, 150:160, 2] == 128).all()
    half = yp[:, 300:320].astype(int) - np.rint(y[:, 300:320].astype(float) * 128 / 255)
    assert np.abs(half).max() <= 1


def test_writer_takes_i420_without_converting(tmp_path: Path, photo: np.ndarray) -> None:
    frame = rgb_to_i420(photo)
    with Mp4Writer(tmp_path / "a.mp4", width=640, height=480, fps=12) as w:
        for _ in range(4):
            w.write_i420(frame)
        with pytest.raises(ValueError, match="I420"):
            w.write_i420(photo)
    back = read_frames(tmp_path / "a.mp4")
    assert len(back) == 4
    assert _psnr(back[2], photo) > 33
