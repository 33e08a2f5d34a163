"""The subject's matte and its edge colours, on a real photo and its ISNet mask."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from engine_helpers import MODELS_DIR, load_photo, require_isnet

from kinora.engines.base import Frame
from kinora.engines.parallax.matting import MATTE_CLEAR, foreground_colours, refine_matte
from kinora.engines.parallax.segment import segment

F32 = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def cat() -> tuple[Frame, F32]:
    """Chelsea the cat at 480 px with her ISNet mask (whiskers and fur: soft, thin edges)."""
    require_isnet()
    image = load_photo("chelsea.png")
    mask = segment(image, models_dir=MODELS_DIR).mask
    h, w = image.shape[:2]
    size = (480, round(480 * h / w))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    return small, np.asarray(cv2.resize(mask, size, interpolation=cv2.INTER_AREA), np.float32)


def test_matte_keeps_what_isnet_saw_and_is_solid_inside(cat: tuple[Frame, F32]) -> None:
    image, mask = cat
    matte = refine_matte(image, mask)
    assert matte.shape == mask.shape and matte.dtype == np.float32
    seen = mask > MATTE_CLEAR
    # Nothing ISNet took is faded (the fill would show through), thin parts included.
    assert np.all(matte[seen] >= mask[seen] - 1e-6)
    # Inside the subject, away from its outline, the matte is solid even where ISNet hesitates.
    core = cv2.erode((mask > 0.5).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert np.all(matte[core] == 1.0)
    # Far from anything ISNet saw, nothing is added.
    far = cv2.dilate(seen.astype(np.uint8), np.ones((31, 31), np.uint8)) == 0
    assert np.all(matte[far] == 0.0)
    # The edge is soft (partial alpha is kept, not thresholded away).
    assert np.count_nonzero((matte > 0.0) & (matte < 1.0)) > 0.002 * matte.size


def test_edge_colours_are_the_subjects_not_the_old_backgrounds(cat: tuple[Frame, F32]) -> None:
    """The cat composited with her own soft matte over another real photo (the coffee table):
    at the fractional edge, the estimated subject colour is much nearer her true colour than
    the mixed pixel is, and over a fill like the real background it gives the picture back."""
    subject, mask = cat
    alpha = refine_matte(subject, mask)
    h, w = alpha.shape
    other = np.asarray(
        cv2.resize(load_photo("coffee.png"), (w, h), interpolation=cv2.INTER_AREA), np.float32
    )
    a = alpha[..., None]
    mixed = np.clip(a * subject + (1.0 - a) * other + 0.5, 0, 255).astype(np.uint8)
    fill = np.asarray(cv2.GaussianBlur(other, (0, 0), 2.0), np.uint8)  # a plausible fill
    estimate = foreground_colours(mixed, alpha, fill)
    edge = (alpha > 0.15) & (alpha < 0.85)
    assert np.count_nonzero(edge) > 500
    truth = subject.astype(np.float32)[edge]
    before = float(np.abs(mixed.astype(np.float32)[edge] - truth).mean())
    after = float(np.abs(estimate.astype(np.float32)[edge] - truth).mean())
    assert after < 0.6 * before, (before, after)
    # Solid and clear pixels are the picture's own.
    untouched = (alpha == 0.0) | (alpha == 1.0)
    assert np.array_equal(estimate[untouched], mixed[untouched])
    # Over the fill, the estimate composites back to the mixed picture.
    rest = a * estimate.astype(np.float32) + (1.0 - a) * fill.astype(np.float32)
    assert float(np.abs(rest - mixed.astype(np.float32))[edge].mean()) < 3.0
