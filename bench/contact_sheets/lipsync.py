"""Contact sheets of lip sync: a narrated portrait's face, close up, frame by frame.

Renders a portrait with narration through the real pipeline (``prepare`` then ``render_all``,
as the worker does: the one-image engine under a moving camera, then the lip-sync filter on
its frames), decodes the MP4, and lays out close-ups of the face in evenly spaced frames
(each labelled with its time and the mouth's opening, measured by the face mesh on the
decoded frame), above a strip plotting the speech's loudness against that opening over the
whole clip. Writes docs/images/lipsync-closeup.png (a shut-mouthed portrait) and
docs/images/lipsync-smile.png (a smile that shows teeth), each 1000 px wide.

Usage: .venv/bin/python bench/contact_sheets/lipsync.py [--out docs/images] [--camera "Zoom in"]
       [--long-side 384] [--frames 8]

Photos come from the quality corpus (.cache/quality, fetched by bench/quality/corpus.py).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import av
import cv2
import numpy as np

from kinora.audio.visemes import loudness_per_frame
from kinora.config import Settings
from kinora.domain.requests import MediaCreate
from kinora.engines.base import Frame
from kinora.engines.people.landmarks import track_face
from kinora.pipeline.render import render_all, scratch_dir
from kinora.pipeline.run import prepare
from kinora.spec import InputRef

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / ".cache" / "quality" / "photos"
SHEET_WIDTH = 1000
NARRATION = (
    "Hello there. My name is Joe, and today I will show you the harbour. It is a lovely morning."
)
SHEETS = {"lipsync-closeup.png": "portrait_jacket", "lipsync-smile.png": "portrait_smile"}


def render(photo: Path, args: argparse.Namespace, work: Path) -> tuple[list[Frame], np.ndarray]:
    """The decoded frames and the speech's loudness (dB) per frame."""
    request = MediaCreate.model_validate(
        {
            "prompt": "",
            "camera_control": args.camera,
            "seed": 1,
            "audio_option": {"narrator": "George", "narration": NARRATION},
        }
    )
    ref = InputRef(kind="image", position="First", name=photo.name, key=str(photo))
    spec = request.to_spec().with_inputs([ref])
    settings = Settings(data_dir=work / "data", warm_up=False)
    prepared = prepare(spec, Path, settings=settings, long_side=args.long_side, variants=1)
    outcome = render_all(engine=prepared.route.engine, job=prepared.job, out_dir=work)
    video = outcome.videos[0]
    print(photo.stem, video.metadata.get("lip_sync"), [i.to_dict() for i in outcome.ignored])
    with av.open(str(video.path)) as container:
        frames = [
            np.ascontiguousarray(f.to_ndarray(format="rgb24"))
            for f in container.decode(container.streams.video[0])
        ]
    speech = prepared.audio.speech if prepared.audio is not None else None
    assert speech is not None
    loud = loudness_per_frame(
        speech.samples,
        speech.rate,
        fps=video.config.fps,
        frames=len(frames),
        offset_seconds=speech.offset_seconds,
    )
    return frames, loud


def sheet(frames: list[Frame], loud: np.ndarray, count: int, fps: int, label: str) -> Frame:
    meshes = []
    previous = None
    for frame in frames:
        previous = track_face(frame, previous)
        meshes.append(previous)
    opening = np.array([m.mouth_opening("face_height") if m else np.nan for m in meshes])
    tile = (SHEET_WIDTH - 4 * (count - 1)) // count
    picks = np.linspace(fps // 2, len(frames) - 1, count).round().astype(int)
    row: list[Frame] = []
    for i in picks:
        mesh = meshes[i] or next(m for m in meshes if m is not None)
        x0, y0, x1, y1 = mesh.box()
        cx, cy, r = (x0 + x1) / 2, y0 + 0.62 * (y1 - y0), 0.42 * (y1 - y0)
        h, w = frames[i].shape[:2]
        a, b = int(max(0, cy - r)), int(min(h, cy + r))
        c, d = int(max(0, cx - r)), int(min(w, cx + r))
        crop = cv2.resize(frames[i][a:b, c:d], (tile, tile), interpolation=cv2.INTER_CUBIC)
        text = f"{i / fps:.2f}s open {opening[i]:.3f}"
        cv2.putText(crop, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1)
        row += [crop, np.full((tile, 4, 3), 255, np.uint8)]
    faces = np.concatenate(row[:-1], axis=1)
    faces = np.pad(faces, ((0, 0), (0, SHEET_WIDTH - faces.shape[1]), (0, 0)), constant_values=255)
    plot = np.full((110, SHEET_WIDTH, 3), 255, np.uint8)
    xs = np.linspace(4, SHEET_WIDTH - 4, len(frames))
    level = np.clip((loud + 60) / 60, 0, 1)
    shown = np.nan_to_num(opening / max(np.nanmax(opening), 1e-6))
    for values, colour in ((level, (120, 120, 120)), (shown, (200, 40, 40))):
        pts = np.stack([xs, 100 - 88 * values], axis=1).astype(np.int32)
        cv2.polylines(plot, [pts], False, colour, 2, cv2.LINE_AA)
    for i in picks:
        cv2.line(plot, (int(xs[i]), 8), (int(xs[i]), 102), (180, 200, 240), 1)
    ok = ~np.isnan(opening)
    corr = float(np.corrcoef(opening[ok], np.maximum(loud, -60)[ok])[0, 1])
    caption = f"{label}   grey: speech loudness, red: mouth opening (face mesh)   r = {corr:.2f}"
    bar = np.full((22, SHEET_WIDTH, 3), 255, np.uint8)
    cv2.putText(bar, caption, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, faces, plot], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--camera", default="Zoom in")
    ap.add_argument("--long-side", type=int, default=384)
    ap.add_argument("--frames", type=int, default=8)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, photo in SHEETS.items():
        work = scratch_dir()
        try:
            frames, loud = render(CORPUS / f"{photo}.png", args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        image = sheet(frames, loud, args.frames, 24, f"{photo}, {args.camera}")
        path = args.out / name
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        print(f"wrote {path} ({image.shape[1]}x{image.shape[0]})")


if __name__ == "__main__":
    main()
