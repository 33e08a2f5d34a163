"""Shared helpers of the two-image engine tests and bench (data loading, statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from kinora.engines.base import Frame
from kinora.video.encode import iter_frames

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata"
VIDEO = TESTDATA / "big_buck_bunny_0_30.webm"


@lru_cache(maxsize=4)
def video_frames(indices: tuple[int, ...]) -> dict[int, Frame]:
    """Decode only the wanted frames of the Big Buck Bunny clip (stops after the last one)."""
    wanted = set(indices)
    out: dict[int, Frame] = {}
    for i, frame in enumerate(iter_frames(VIDEO)):
        if i in wanted:
            out[i] = frame
        if i >= max(wanted):
            break
    missing = wanted - set(out)
    if missing:
        raise ValueError(f"video has no frames {sorted(missing)}")
    return out


def photo(name: str) -> Frame:
    return np.asarray(Image.open(TESTDATA / name).convert("RGB"), dtype=np.uint8)


def psnr(a: Frame, b: Frame) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def steps(frames: Sequence[Frame]) -> list[float]:
    """Mean absolute difference between consecutive frames."""
    return [
        float(np.mean(np.abs(frames[i + 1].astype(np.int16) - frames[i].astype(np.int16))))
        for i in range(len(frames) - 1)
    ]


def jump_ratio(frames: Sequence[Frame]) -> float:
    """Largest frame-to-frame step over the median step (the 'no jumps' statistic)."""
    s = steps(frames)
    return max(s) / max(float(np.median(s)), 1e-9)


def contact_sheet(frames: Sequence[Frame], *, cols: int = 6, width: int = 240) -> Frame:
    """A grid of evenly spaced frames, for looking at a transition at a glance."""
    rows = []
    h0, w0 = frames[0].shape[:2]
    th = round(h0 * width / w0)
    tiles = [cv2.resize(f, (width, th), interpolation=cv2.INTER_AREA) for f in frames]
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    for r in range(0, len(tiles), cols):
        rows.append(np.hstack(tiles[r : r + cols]))
    return np.ascontiguousarray(np.vstack(rows))


def pick(frames: Sequence[Frame], count: int) -> list[Frame]:
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in idx]
