"""Output sizes and fitting an input image to them."""

from __future__ import annotations

import cv2
import numpy as np

from kinora.video.frames import Frame
from kinora.vocab import ASPECT_RATIO_INFO

ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    ratio.value: (info.width, info.height) for ratio, info in ASPECT_RATIO_INFO.items()
}
"""aspect_ratio value -> (width, height) terms, from kinora.vocab.ASPECT_RATIO_INFO."""


def output_size(aspect_ratio: str, long_side: int = 1280) -> tuple[int, int]:
    """(width, height) for an aspect ratio, both even (H.264 with yuv420p needs even sizes)."""
    w, h = ASPECT_RATIOS[aspect_ratio]
    width: float = long_side if w >= h else long_side * w / h
    height: float = long_side * h / w if w >= h else long_side
    return int(round(width / 2) * 2), int(round(height / 2) * 2)


def nearest_aspect_ratio(width: int, height: int) -> str:
    """The standard ratio closest to an image's own (compared in log space)."""
    target = np.log(width / height)
    return min(
        ASPECT_RATIOS, key=lambda r: abs(np.log(ASPECT_RATIOS[r][0] / ASPECT_RATIOS[r][1]) - target)
    )


def cover_crop_box(
    src_w: int, src_h: int, dst_w: int, dst_h: int, center: tuple[float, float] = (0.5, 0.5)
) -> tuple[int, int, int, int]:
    """Largest box of the destination's aspect inside the source, centred near ``center``.

    ``center`` is a point in relative source coordinates (the subject, say); the box is moved
    as close to it as the borders allow. Returns (x, y, w, h) in source pixels.
    """
    scale = min(src_w / dst_w, src_h / dst_h)
    w = min(src_w, max(1, round(dst_w * scale)))
    h = min(src_h, max(1, round(dst_h * scale)))
    x = int(np.clip(round(center[0] * src_w - w / 2), 0, src_w - w))
    y = int(np.clip(round(center[1] * src_h - h / 2), 0, src_h - h))
    return x, y, w, h


def upscale(image: Frame, width: int, height: int) -> Frame:
    """Enlarge ``image`` to width x height keeping its edges sharp (a photo smaller than the
    output): Lanczos, then one step of back-projection, then each pixel kept within the range
    of the input's 3 x 3 neighbourhood around it.

    Interpolation alone leaves edges as wide as the enlargement (bicubic keeps 58 % of the
    gradient energy of the same photo taken at the output size, median of 12 corpus photos
    shrunk to 256 px and enlarged to 720 px). Back-projection adds back what shrinking the
    enlargement loses against the input (it shrinks to the input again, by area), which
    restores the steps at edges; the clamp keeps that from overshooting into halos or
    ringing, since no pixel gets brighter or darker than the input is around it. Measured:
    72 % of the gradient energy and +0.2 dB PSNR against the full-size photo (see
    tests/test_fit.py). No model, a few resizes.
    """
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(image)
    small = np.ascontiguousarray(image)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_LANCZOS4).astype(np.float32)
    back = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    big += cv2.resize(
        small.astype(np.float32) - back, (width, height), interpolation=cv2.INTER_CUBIC
    )
    near = np.ones((3, 3), np.uint8)
    lo = cv2.resize(cv2.erode(small, near), (width, height), interpolation=cv2.INTER_LINEAR)
    hi = cv2.resize(cv2.dilate(small, near), (width, height), interpolation=cv2.INTER_LINEAR)
    out = np.clip(big + 0.5, lo.astype(np.float32), hi.astype(np.float32))
    return np.ascontiguousarray(out.astype(image.dtype))


def cover_fit(
    image: Frame, width: int, height: int, center: tuple[float, float] = (0.5, 0.5)
) -> Frame:
    """Crop ``image`` to the output aspect (around ``center``) and resize to width x height:
    by area averaging when it shrinks, with :func:`upscale` (edges kept sharp) when the
    photo is smaller than the output."""
    x, y, w, h = cover_crop_box(image.shape[1], image.shape[0], width, height, center)
    crop = image[y : y + h, x : x + w]
    if w > width:
        return np.ascontiguousarray(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA))
    return upscale(crop, width, height)
