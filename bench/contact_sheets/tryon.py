"""Contact sheets of the built-in virtual try-on (motion_type TryOnVideo), for docs/engines.md.

Two try-ons on real photos: the footballer of OpenCV's messi5.jpg in the khaki jacket worn in
the corpus portrait (portrait_jacket), and the astronaut of ../shared/testdata in the
footballer's striped shirt. Each sheet shows the person, the garment picture, the dressed
still, then frames of the render (auto camera: a slow push-in or orbit, with sway).

Usage: .venv/bin/python bench/contact_sheets/tryon.py [--out docs/images] [--models DIR]
The corpus photos come from bench/quality/corpus.py (run it first if .cache/quality is empty).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from kinora.config import default_models_dir
from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.people.tryon import TryOnEngine
from kinora.vocab import TryOnModel

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / ".cache" / "quality" / "photos"
TESTDATA = ROOT / ".." / "shared" / "testdata"
SHEET_WIDTH = 1000
TRY_ONS = (
    # name, person, garment, prompt, output size, seed
    ("jacket", CORPUS / "messi.png", CORPUS / "portrait_jacket.png", "jacket", (384, 240), 0),
    ("shirt", TESTDATA / "astronaut.png", CORPUS / "messi.png", "football shirt", (320, 320), 1),
)


def load(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"missing {path} (run bench/quality/corpus.py for the corpus photos)")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _label(image: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((22, image.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, image], axis=0)


def _row(images: list[np.ndarray], labels: list[str], height: int) -> np.ndarray:
    """Pictures scaled to one height, labelled, side by side, then fitted to SHEET_WIDTH."""
    tiles = []
    for image, text in zip(images, labels, strict=True):
        w = max(1, round(image.shape[1] * height / image.shape[0]))
        tiles.append(_label(cv2.resize(image, (w, height), interpolation=cv2.INTER_AREA), text))
        tiles.append(np.full((height + 22, 6, 3), 255, np.uint8))
    row = np.concatenate(tiles[:-1], axis=1)
    scale = SHEET_WIDTH / row.shape[1]
    size = (SHEET_WIDTH, max(1, round(row.shape[0] * scale)))
    return np.asarray(cv2.resize(row, size, interpolation=cv2.INTER_AREA), np.uint8)


def sheet(
    engine: TryOnEngine,
    person: np.ndarray,
    garment: np.ndarray,
    prompt: str,
    size: tuple[int, int],
    seed: int,
) -> tuple[np.ndarray, float]:
    config = RenderConfig(
        width=size[0],
        height=size[1],
        fps=8,
        duration=3.0,
        seed=seed,
        prompt=prompt,
        try_on_model=TryOnModel.FASHN.value,
    )
    start = time.perf_counter()
    render = engine.render(EngineInputs(images=[person, garment]), config)
    frames = list(render.frames)
    seconds = time.perf_counter() - start
    dressed = engine.dressed(person, garment, prompt)
    camera = engine.camera_config(config).camera
    top = _row(
        [person, garment, dressed.rgb],
        ["person", "garment picture", f"dressed ({dressed.garment.kind.value})"],
        360,
    )
    picks = np.linspace(0, len(frames) - 1, 4).round().astype(int)
    bottom = _row(
        [frames[i] for i in picks],
        [f"frame {i} ({camera}, sway)" if i == 0 else f"frame {i}" for i in picks],
        size[1],
    )
    gap = np.full((8, SHEET_WIDTH, 3), 255, np.uint8)
    return np.concatenate([top, gap, bottom], axis=0), seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--models", type=Path, default=default_models_dir())
    args = ap.parse_args()
    engine = TryOnEngine(args.models)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, person, garment, prompt, size, seed in TRY_ONS:
        image, seconds = sheet(engine, load(person), load(garment), prompt, size, seed)
        path = args.out / f"tryon-{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
            f"{image.shape[1]}x{image.shape[0]}, rendered in {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
