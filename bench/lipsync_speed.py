"""Lip sync's cost: what narration's talking face adds to a 5 s 720p portrait render, against
a plain encode of the same number of frames (issue 18: "lip sync adds at most 1x a plain
encode's time").

Three sides, interleaved in one process on the same machine, as bench/people_speed.py does:

(a) plain: the frames of render (b), pre-rendered, encoded with the pipeline's own writer
    settings (Mp4Writer: libx264 veryfast crf 20) at 1280x720;
(b) render: the portrait through the real pipeline (``prepare`` then ``render_all``: the
    one-image engine, Static camera, the soundtrack, the encoder) with the narration's
    soundtrack but the lip-sync job taken out, so the clip, its length and its sound are the
    same as (c)'s;
(c) lip sync: the same job with its lip-sync filter on (the face mesh on every second frame,
    the warp of the Y, U and V planes, the painted mouth: the render streams the engine's
    I420 frames through :meth:`LipSync.apply_i420`).

Printed: the medians of ``--repeats`` runs and the ratio (c - b) / a, in wall time and in CPU
time (the process's, all threads: the encoder's too). On a machine shared with other jobs
the wall times stretch with the load and by chance; the CPU times much less, so their ratio
is the steadier figure there (on a quiet machine the wall ratio is the one the issue
means). Also, without the soundtrack and the pipeline around them, the engine's I420 frames
streamed into the writer with and without :meth:`LipSync.apply_i420`: (e - d) / a. The
narration is Piper's (George) by default, whose phoneme timeline is flite's fitted to Piper's
audio.

Run from the repo root after ``make install``:
``.venv/bin/python bench/lipsync_speed.py`` (``--profile`` writes cProfile stats of one
lip-synced render to /tmp/lipsync.prof; ``--narrator Sarah`` for a flite voice).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kinora.config import Settings, default_models_dir
from kinora.domain.requests import MediaCreate
from kinora.engines.base import Frame
from kinora.pipeline.render import RenderJob, render_all
from kinora.pipeline.run import Prepared, prepare
from kinora.spec import InputRef
from kinora.video.encode import Mp4Writer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "engines"))
from engine_helpers import opencv_doc  # noqa: E402

MODELS = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()
WIDTH, HEIGHT, FPS = 1280, 720, 24
PORTRAIT = "opencv4/html/230501201_1.jpg"
"""The portrait the lip-sync tests use (a man in a jacket, face in the upper middle)."""
NARRATION = "Hello there, my name is George. It is a lovely morning."
"""About 3.9 s of speech: with the 0.3 s lead and the tail, a clip of about 5 s."""


def _prepared(
    tmp: Path,
    narrator: str,
    photo_name: str = PORTRAIT,
    *,
    aspect: str = "16:9",
    camera: str = "Static",
) -> Prepared:
    shared = REPO.parent / "shared" / "testdata" / photo_name
    photo = shared if shared.is_file() else opencv_doc(photo_name)
    request = MediaCreate.model_validate(
        {
            "prompt": "",
            "camera_control": camera,
            "aspect_ratio": aspect,
            "audio_option": {"narrator": narrator, "narration": NARRATION},
        }
    )
    spec = request.to_spec().with_inputs(
        [InputRef(kind="image", position="First", name=photo.name, key=str(photo))]
    )
    settings = Settings(data_dir=tmp / "data", models_dir=MODELS, warm_up=False)
    return prepare(spec, Path, settings=settings, long_side=WIDTH, fps=FPS, variants=1)


Times = tuple[float, float]
"""Wall seconds, CPU seconds (the process's: every thread's)."""


def _since(start: Times) -> Times:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def _now() -> Times:
    return time.perf_counter(), time.process_time()


def _render(ready: Prepared, job: RenderJob) -> tuple[Times, int]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = _now()
        outcome = render_all(engine=ready.route.engine, job=job, out_dir=Path(tmp))
        return _since(t0), outcome.videos[0].frames


def _plain(frames: list[Frame], width: int, height: int) -> Times:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = _now()
        with Mp4Writer(Path(tmp) / "plain.mp4", width=width, height=height, fps=FPS) as w:
            for f in frames:
                w.write(f)
        return _since(t0)


def _i420_stream(ready: Prepared, frames: int, *, lip: bool) -> Times:
    """The engine's I420 frames into the writer, through ``apply_i420`` when ``lip``."""
    job = ready.job
    config = job.configs[0]
    engine = ready.route.engine
    filt = job.lip_sync.filter(config, frames) if lip and job.lip_sync is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = _now()
        native = engine.frames_i420(job.inputs, config)
        assert native is not None, "the engine renders no I420"
        with Mp4Writer(
            Path(tmp) / "i420.mp4", width=config.width, height=config.height, fps=FPS
        ) as w:
            for i, frame in enumerate(native):
                w.write_i420(filt.apply_i420(frame, i) if filt is not None else frame)
        return _since(t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--narrator", default="George")
    ap.add_argument(
        "--photo",
        default=PORTRAIT,
        help="an opencv-doc path, or a file of ../shared/testdata (astronaut.png: a smaller face)",
    )
    ap.add_argument(
        "--aspect",
        default="16:9",
        help="the render's aspect ratio (9:16: portrait_jacket's mouth in the frame)",
    )
    ap.add_argument("--camera", default="Static", help="camera_control (e.g. 'Zoom in')")
    ap.add_argument("--profile", action="store_true", help="cProfile one lip-synced render")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        ready = _prepared(
            Path(tmp), args.narrator, args.photo, aspect=args.aspect, camera=args.camera
        )
    assert ready.job.lip_sync is not None, "no lip sync planned: is the face mesh installed?"
    synced = ready.job
    plain_job = dataclasses.replace(synced, lip_sync=None)
    config = synced.configs[0]
    engine = ready.route.engine
    _render(ready, synced)  # first render: the engine's per-photo work, the models' loading
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        _render(ready, synced)
        prof.disable()
        prof.dump_stats("/tmp/lipsync.prof")
        print("profile written to /tmp/lipsync.prof")
    encode: list[Times] = []
    render: list[Times] = []
    lipsync: list[Times] = []
    bare: list[Times] = []
    bare_lip: list[Times] = []
    frames_out = 0
    for _ in range(args.repeats):
        times, frames_out = _render(ready, plain_job)
        render.append(times)
        times, _ = _render(ready, synced)
        lipsync.append(times)
        frames = list(engine.frames(synced.inputs, config))
        # The same number of frames as the video (lead-in and lead-out included).
        frames = (frames * (frames_out // len(frames) + 1))[:frames_out]
        height, width = frames[0].shape[:2]
        encode.append(_plain(frames, width, height))
        del frames
        bare.append(_i420_stream(ready, config.total_frames, lip=False))
        bare_lip.append(_i420_stream(ready, config.total_frames, lip=True))
    print(
        f"{frames_out} frames {config.width}x{config.height} at {FPS} fps "
        f"({frames_out / FPS:.2f} s), {args.photo}, {args.aspect}, camera {args.camera}, "
        f"narrator {args.narrator}, "
        f"medians of {args.repeats}, load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end:"
    )
    rows = []
    for k, clock in enumerate(("wall", "CPU")):
        a, b, c, d, e = (
            statistics.median(t[k] for t in side)
            for side in (encode, render, lipsync, bare, bare_lip)
        )
        worst = max(
            (ci[k] - bi[k]) / ai[k] for ai, bi, ci in zip(encode, render, lipsync, strict=True)
        )
        print(
            f"{clock}: (a) plain encode {a:.2f}s  (b) render {b:.2f}s  (c) render + lip sync "
            f"{c:.2f}s: (c - b) / a = {(c - b) / a:.2f} (worst {worst:.2f}); I420 stream "
            f"(d) {d:.2f}s, (e) with apply_i420 {e:.2f}s: (e - d) / a = {(e - d) / a:.2f}"
        )
        rows.append(
            f"| {clock} | {a:.2f} | {b:.2f} | {c:.2f} | **{(c - b) / a:.2f}** ({worst:.2f}) "
            f"| {d:.2f} | {e:.2f} | {(e - d) / a:.2f} |"
        )
    print(
        "\n| clock | (a) plain encode (s) | (b) render, no lip sync (s) "
        "| (c) render + lip sync (s) | (c - b) / a (worst) "
        "| (d) I420 stream (s) | (e) + apply_i420 (s) | (e - d) / a |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
