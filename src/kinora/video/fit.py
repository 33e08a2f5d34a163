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


def cover_fit(
    image: Frame, width: int, height: int, center: tuple[float, float] = (0.5, 0.5)
) -> Frame:
    """Crop ``image`` to the output aspect (around ``center``) and resize to width x height."""
    x, y, w, h = cover_crop_box(image.shape[1], image.shape[0], width, height, center)
    crop = image[y : y + h, x : x + w]
    interp = cv2.INTER_AREA if w > width else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, (width, height), interpolation=interp))
