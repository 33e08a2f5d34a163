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


OPENCV_DOC = "usr/share/doc/opencv-doc"
OPENCV_DOC_CACHE = ROOT / ".cache" / "opencv-doc-files"
OPENCV_DOC_MEMBERS = (
    "examples/data/messi5.jpg",  # a footballer, full body
    "examples/data/fruits.jpg",  # nobody
    "examples/data/Megamind.avi",  # a cartoon face that turns and talks
    "opencv4/html/230501201_1.jpg",  # a man in a jacket, head and shoulders (portrait_jacket)
    "opencv4/html/227943776_1.jpg",  # a smiling portrait (portrait_smile)
    "examples/data/starry_night.jpg",  # a painting in a black mat
    "opencv4/html/boat.jpg",  # a stitched panorama with black wedges (harbour_panorama)
    "opencv4/html/ldr_debevec.jpg",  # a night sky over a building (night_capitol)
    "examples/text/scenetext02.jpg",  # a dark forest with a sign (forest_sign)
)
"""OpenCV's sample photos and video (Debian's opencv-doc, Apache-2.0/BSD-3-Clause) that the
people tests use: real faces and bodies not among ../shared/testdata."""


def opencv_doc(member: str) -> Path:
    """A file of Debian's opencv-doc: the installed package's, else extracted once (with every
    member of :data:`OPENCV_DOC_MEMBERS`) from ``apt-get download opencv-doc``."""
    import subprocess
    import tempfile

    assert member in OPENCV_DOC_MEMBERS, member
    installed = Path("/") / OPENCV_DOC / member
    if installed.is_file():
        return installed
    cached = OPENCV_DOC_CACHE / OPENCV_DOC / member
    if cached.is_file():
        return cached
    OPENCV_DOC_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OPENCV_DOC_CACHE) as tmp:
        got = subprocess.run(
            ["apt-get", "download", "opencv-doc"], cwd=tmp, capture_output=True, text=True
        )
        debs = sorted(Path(tmp).glob("opencv-doc_*.deb"))
        if not debs:
            pytest.fail(f"apt-get download opencv-doc failed: {got.stderr.strip()[-400:]}")
        names = " ".join(f"'./{OPENCV_DOC}/{m}'" for m in OPENCV_DOC_MEMBERS)
        tree = Path(tmp) / "tree"
        tree.mkdir()
        tar = subprocess.run(
            f"dpkg-deb --fsys-tarfile '{debs[0]}' | tar -x -C '{tree}' {names}",
            shell=True,
            capture_output=True,
            text=True,
        )
        if tar.returncode != 0:
            pytest.fail(f"extracting opencv-doc failed: {tar.stderr.strip()[-400:]}")
        for m in OPENCV_DOC_MEMBERS:
            target = OPENCV_DOC_CACHE / OPENCV_DOC / m
            target.parent.mkdir(parents=True, exist_ok=True)
            (tree / OPENCV_DOC / m).replace(target)
    return cached
