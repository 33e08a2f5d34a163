"""Contact sheets of the one-image engine: a few frames of each camera path, side by side.

Usage: .venv/bin/python bench/contact_sheets.py [--image astronaut.png] [--out docs/images]
       [--models DIR (default: the installed models)] [--width 384 --height 216] [--frames 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from kinora.config import default_models_dir
from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.geometry.camera import CAMERA_PATHS
from kinora.engines.parallax.engine import ParallaxEngine

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / ".." / "shared" / "testdata"


def load(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def sheet(
    engine: ParallaxEngine, image: np.ndarray, camera: str, args: argparse.Namespace
) -> np.ndarray:
    config = RenderConfig(
        width=args.width,
        height=args.height,
        fps=args.fps,
        duration=args.duration,
        camera=camera,
        motion_range=args.range,
        seed=args.seed,
        loop=args.loop,
    )
    frames = list(engine.frames(EngineInputs(images=[image]), config))
    picks = np.linspace(0, len(frames) - 1, args.frames).round().astype(int)
    gap = np.full((args.height, 4, 3), 255, np.uint8)
    row: list[np.ndarray] = []
    for i in picks:
        row += [frames[i], gap]
    strip = np.concatenate(row[:-1], axis=1)
    label = np.full((22, strip.shape[1], 3), 255, np.uint8)
    name = camera or f"auto (seed {args.seed})"
    cv2.putText(label, name, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([label, strip], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="astronaut.png")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--models", type=Path, default=default_models_dir())
    ap.add_argument("--width", type=int, default=384)
    ap.add_argument("--height", type=int, default=216)
    ap.add_argument("--fps", type=int, default=12)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--range", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loop", type=int, default=1)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--cameras", default=",".join(CAMERA_PATHS))
    ap.add_argument("--single", action="store_true", help="one PNG with all paths")
    args = ap.parse_args()
    image = load(TESTDATA / args.image)
    engine = ParallaxEngine(args.models)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for camera in args.cameras.split(","):
        start = time.perf_counter()
        s = sheet(engine, image, camera, args)
        print(f"{camera or 'auto':12s} {time.perf_counter() - start:5.2f} s")
        if args.single:
            rows.append(s)
        else:
            slug = (camera or "auto").lower().replace(" ", "-")
            out = args.out / f"camera-{slug}.png"
            # 256-colour PNGs keep the docs light (the 17 sheets stay well under 3 MB).
            small = Image.fromarray(s).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            small.save(out, optimize=True)
    if args.single:
        out = args.out / f"sheet-{Path(args.image).stem}.png"
        cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
        print(out)


if __name__ == "__main__":
    main()
