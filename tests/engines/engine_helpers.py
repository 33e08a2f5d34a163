"""Helpers shared by the engine tests (imported by name: tests/engines is on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from kinora.config import default_models_dir
from kinora.engines.base import EngineInputs, Frame, RenderConfig
from kinora.engines.parallax.engine import ParallaxEngine
from kinora.engines.parallax.segment import ISNET_FILENAME

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / ".." / "shared" / "testdata"
MODELS_DIR = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")


def load_photo(name: str) -> Frame:
    bgr = cv2.imread(str(TESTDATA / name), cv2.IMREAD_COLOR)
    assert bgr is not None, f"missing test photo {TESTDATA / name}"
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def require_isnet() -> Path:
    path = MODELS_DIR / ISNET_FILENAME
    if not path.is_file():
        pytest.fail(f"ISNet model not installed at {path}: run `make install` (or `make models`)")
    return path


def render(engine: ParallaxEngine, image: Frame, **kwargs: object) -> list[Frame]:
    opts: dict[str, object] = {"width": 256, "height": 144, "fps": 12, "duration": 1.0}
    opts.update(kwargs)
    config = RenderConfig(**opts)  # type: ignore[arg-type]
    return list(engine.frames(EngineInputs(images=[image]), config))


def psnr(a: Frame, b: Frame) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def mean_diff(a: Frame, b: Frame) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def border_defects(frame: Frame, strip: int = 2) -> list[str]:
    """Black or smeared borders, measurably.

    Black: an outer row/column whose mean is near 0 while the frame is not dark overall.
    Smeared (replicated or stretched edge pixels): along the outer lines the picture still has
    texture, yet across them nothing changes; real picture edges change both ways.
    """
    g = cv2.GaussianBlur(frame, (3, 3), 0).astype(np.float32).mean(axis=2)
    problems: list[str] = []
    sides = {"top": g, "bottom": g[::-1], "left": g.T, "right": g[:, ::-1].T}
    overall = float(g.mean())
    for name, a in sides.items():
        if overall > 30 and float(a[0].mean()) < 8:
            problems.append(f"{name}: black edge")
        along = np.abs(np.diff(a[:strip], axis=1)).max(axis=0)
        across = np.abs(np.diff(a[: strip + 1], axis=0))[:, :-1].max(axis=0)
        sel = along > 3.0
        if sel.sum() >= max(8, 0.15 * a.shape[1]):
            ratio = float(across[sel].mean() / along[sel].mean())
            if ratio < 0.03:
                problems.append(f"{name}: smeared edge (across/along {ratio:.3f})")
    return problems
