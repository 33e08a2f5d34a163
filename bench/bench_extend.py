"""Extend's cost: the seconds an extension adds, against a fresh render of the same seconds
(issue 20: "extend costs no more than a fresh render of the same seconds").

Both sides go through what a worker runs for a generation (``render_generation``: decode the
inputs, route, plan, render, encode, and for the extension decode the previous video's last
frame and join the two videos), in one process, interleaved, the one-image engine's caches
emptied before every run (each side starts from a picture the engine has not seen, as a user's
new photo or a new last frame is):

(a) fresh: a 5 s 720p render of the photo (Pan left);
(c) fresh from the same picture: a 5 s 720p render of (b)'s starting picture as a photo,
    so that b / c is what extending adds to rendering those seconds (the join);
(b) extend: 5 s more after a 5 s 720p video of the same photo (Zoom in), from its last frame,
    joined into one 10 s video.

Printed: the medians of ``--repeats`` runs and the ratio b / a (wall and CPU time).
Run from the repo root after ``make install``: ``.venv/bin/python bench/bench_extend.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from kinora.config import Settings, default_models_dir
from kinora.domain.requests import MediaCreate
from kinora.engines import registry
from kinora.pipeline.generation import render_generation
from kinora.pipeline.render import RenderedVideo
from kinora.spec import Extension, GenerationSpec, InputRef
from kinora.storage import build_storage
from kinora.video.encode import probe

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "testdata" / "astronaut.png"
MODELS = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()


def _spec(camera: str, photo_key: str | None) -> GenerationSpec:
    spec = MediaCreate.model_validate({"prompt": "", "camera_control": camera}).to_spec()
    if photo_key is not None:
        spec = spec.with_inputs(
            [InputRef(kind="image", position="First", name=PHOTO.name, key=photo_key)]
        )
    return spec.seeded()


def _forget() -> None:
    """Empty the built-in engines' per-picture caches (segmentation, layers)."""
    for instance in getattr(registry._built, "engines", {}).values():
        for name in ("_segments", "_scenes"):
            cache = getattr(instance, name, None)
            if cache is not None:
                cache.clear()


def _run(
    spec: GenerationSpec, settings: Settings, work: Path
) -> tuple[float, float, RenderedVideo]:
    _forget()
    t0, c0 = time.perf_counter(), time.process_time()
    done = render_generation(
        spec, work, settings=settings, on_message=lambda *a: None, cancelled=lambda: False
    )
    return time.perf_counter() - t0, time.process_time() - c0, done.videos[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(
            data_dir=tmp / "data",
            models_dir=MODELS,
            warm_up=False,
            output_long_side=1280,
        )
        storage = build_storage(settings)
        storage.put_file("bench/photo.png", PHOTO)
        # The video to extend (not timed), then its extension's spec.
        first = tmp / "first"
        first.mkdir()
        _, _, previous = _run(_spec("Zoom in", "bench/photo.png"), settings, first)
        storage.put_file("bench/previous.mp4", previous.path)
        assert previous.last_frame is not None
        storage.put_file("bench/last.png", previous.last_frame)
        info = probe(previous.path)
        extension = _spec("Pan left", None).model_copy(
            update={
                "extends": Extension(
                    key="bench/previous.mp4",
                    bullet_version="1",
                    frames=int(info["frames"]),
                    fps=24,
                    width=int(info["width"]),
                    height=int(info["height"]),
                    last_frame="bench/last.png",
                ),
                "aspect_ratio": None,
            }
        )
        fresh = _spec("Pan left", "bench/photo.png")
        same_start = _spec("Pan left", "bench/last.png")
        sides: dict[str, list[tuple[float, float]]] = {"fresh": [], "extend": [], "same": []}
        for i in range(args.repeats):
            for name, spec in (("fresh", fresh), ("extend", extension), ("same", same_start)):
                work = tmp / f"{name}{i}"
                work.mkdir()
                wall, cpu, video = _run(spec, settings, work)
                sides[name].append((wall, cpu))
                if name == "extend":
                    assert abs(probe(video.path)["duration"] - 2 * info["duration"]) < 0.2
        print(
            f"5 s 720p at 24 fps, {PHOTO.name}, medians of {args.repeats}, load average "
            f"{os.getloadavg()[0]:.1f}:"
        )
        for k, clock in enumerate(("wall", "CPU")):
            a, b, c = (
                statistics.median(t[k] for t in sides[name]) for name in ("fresh", "extend", "same")
            )
            print(
                f"{clock}: (a) fresh {a:.2f} s  (b) extend {b:.2f} s  (c) fresh from the "
                f"same last frame {c:.2f} s: b / a = {b / a:.2f}, b / c = {b / c:.2f}"
            )


if __name__ == "__main__":
    main()
