"""Contact sheets of the character engine: a driven portrait and prompted performances.

Writes docs/images/character-driven.png (the driver's frames above the character's),
character-wave.png, character-dance.png and character-talk.png, each about 1000 px wide.

Usage: .venv/bin/python bench/contact_sheets/character.py [--out docs/images]
       [--models DIR (default: the installed models)] [--frames 5] [--fps 12]

Photos come from the quality corpus (.cache/quality, fetched by bench/quality/corpus.py) and
../shared/testdata; the driver is the close-up of frames 204-270 of Megamind.avi from Debian's
opencv-doc, got as the engine tests and bench/people_speed.py get it (tests/engines/
engine_helpers.opencv_doc: the installed package's file, else extracted once into
.cache/opencv-doc-files by ``apt-get download opencv-doc``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from kinora.config import default_models_dir
from kinora.engines.base import Clip, EngineInputs, Frame, RenderConfig
from kinora.engines.people.character import CharacterEngine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "engines"))
from engine_helpers import opencv_doc  # noqa: E402

CORPUS = ROOT / ".cache" / "quality" / "photos"
TESTDATA = ROOT.parent / "shared" / "testdata"
MEGAMIND = "examples/data/Megamind.avi"
"""A member of opencv-doc (see the module docstring)."""
SHEET_WIDTH = 1000


def load(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def driver_clip(start: int, stop: int) -> Clip:
    path = opencv_doc(MEGAMIND)
    cap = cv2.VideoCapture(str(path))
    frames: list[Frame] = []
    while len(frames) < stop:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    if len(frames) < stop:
        raise FileNotFoundError(f"{path} is shorter than {stop} frames")
    return Clip(frames=frames[start:stop], fps=float(cap.get(cv2.CAP_PROP_FPS)))


def strip(frames: list[Frame], count: int, label: str) -> Frame:
    """``count`` evenly spaced frames side by side, scaled to SHEET_WIDTH, with a label."""
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    h = frames[0].shape[0]
    gap = np.full((h, 4, 3), 255, np.uint8)
    row: list[Frame] = []
    for i in picks:
        row += [np.asarray(frames[i]), gap]
    wide = np.concatenate(row[:-1], axis=1)
    scale = SHEET_WIDTH / wide.shape[1]
    size = (SHEET_WIDTH, round(wide.shape[0] * scale))
    wide = np.asarray(cv2.resize(wide, size, interpolation=cv2.INTER_AREA), np.uint8)
    bar = np.full((22, SHEET_WIDTH, 3), 255, np.uint8)
    cv2.putText(bar, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, wide], axis=0)


def save(path: Path, image: Frame) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"wrote {path} ({image.shape[1]}x{image.shape[0]})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--fps", type=int, default=12)
    args = ap.parse_args()
    engine = CharacterEngine(args.models or default_models_dir())
    args.out.mkdir(parents=True, exist_ok=True)

    clip = driver_clip(204, 270)
    config = RenderConfig(width=320, height=320, fps=args.fps, duration=clip.seconds)
    started = time.perf_counter()
    inputs = EngineInputs(images=[load(TESTDATA / "astronaut.png")], driver=clip)
    frames = list(engine.frames(inputs, config))
    print(f"driven portrait: {len(frames)} frames in {time.perf_counter() - started:.1f} s")
    picks = [min(len(clip.frames) - 1, int(i / args.fps * clip.fps)) for i in range(len(frames))]
    theirs = []
    for i in picks:
        f = np.asarray(clip.frames[i])
        side = min(f.shape[:2])
        x0 = (f.shape[1] - side) // 2
        square = cv2.resize(f[:side, x0 : x0 + side], (320, 320), interpolation=cv2.INTER_AREA)
        theirs.append(np.asarray(square, np.uint8))
    sheet = np.concatenate(
        [
            strip(theirs, args.frames, "driver: Megamind trailer (opencv-doc), frames 204-270"),
            strip(frames, args.frames, "character: astronaut.png driven by it"),
        ],
        axis=0,
    )
    save(args.out / "character-driven.png", sheet)

    for name, photo, prompt, size in (
        ("wave", CORPUS / "messi.png", "waving hello", (384, 240)),
        ("dance", CORPUS / "messi.png", "dancing", (384, 240)),
        ("talk", CORPUS / "portrait_smile.png", "talking to the camera", (320, 320)),
    ):
        config = RenderConfig(
            width=size[0], height=size[1], fps=args.fps, duration=2.5, prompt=prompt
        )
        started = time.perf_counter()
        frames = list(engine.frames(EngineInputs(images=[load(photo)]), config))
        print(f"{name}: {len(frames)} frames in {time.perf_counter() - started:.1f} s")
        save(
            args.out / f"character-{name}.png",
            strip(frames, args.frames, f'{photo.name}, prompt "{prompt}"'),
        )


if __name__ == "__main__":
    main()
