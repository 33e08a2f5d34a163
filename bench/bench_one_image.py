"""Benchmark of the one-image engine (kinora-parallax), side by side with its yardsticks.

  (a) engine frames for a 5 s 1280x720 clip, in the encoder's I420 as the pipeline takes them,
      vs encoding the same frames with PyAV (libx264, preset veryfast, crf 20, as Mp4Writer
      does): target render <= 2x encode;
  (b) engine render + encode, through the pipeline's own ``render_all``, vs ffmpeg's zoompan
      making a 5 s 1280x720 zoom with the same encoder settings: target faster. For context,
      both again without encoding (engine frames alone; zoompan into ffmpeg's null muxer), and
      the engine streamed without its compiled kernels (OpenCV's warps);
  (c) peak memory (max RSS) of a 10 s 1920x1080 render + encode in a fresh subprocess:
      target < 1.5 GB.

Usage: .venv/bin/python bench/bench_one_image.py [--image rocket.jpg] [--camera "Orbit right"]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from kinora.config import default_models_dir

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / ".." / "shared" / "testdata"
MODELS = default_models_dir()


def load(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _stream(engine: object, image: np.ndarray, config: object, out: Path) -> float:
    """Render and encode through the pipeline (frames streamed into the writer, thumbnail)."""
    from kinora.engines.base import EngineInputs
    from kinora.pipeline.render import RenderJob, render_all

    job = RenderJob(inputs=EngineInputs(images=[image]), configs=[config], aspect_ratio="16:9")
    t0 = time.perf_counter()
    render_all(engine=engine, job=job, out_dir=out)  # type: ignore[arg-type]
    return time.perf_counter() - t0


def bench_render_vs_encode(
    image_path: Path, camera: str, tmp: Path, repeats: int
) -> dict[str, float]:
    from kinora.engines.base import EngineInputs, RenderConfig
    from kinora.engines.parallax.engine import ParallaxEngine
    from kinora.video.encode import Mp4Writer

    image = load(image_path)
    config = RenderConfig(width=1280, height=720, fps=24, duration=5.0, camera=camera, seed=1)
    # End to end once, with a fresh engine: segmentation included.
    total_s = _stream(ParallaxEngine(MODELS), image, config, tmp / "first")
    engine = ParallaxEngine(MODELS)
    t0 = time.perf_counter()
    engine.segmentation(image)
    seg_s = time.perf_counter() - t0
    render, encode, streamed, zoompan, zoompan_alone = [], [], [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        frames = list(engine.frames_i420(EngineInputs(images=[image]), config))
        # Segmentation and layers cached (as for a request's second variant): move + frames.
        render.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with Mp4Writer(tmp / "encode_only.mp4", width=1280, height=720, fps=24) as w:
            for f in frames:
                w.write_i420(f)
        encode.append(time.perf_counter() - t0)
        del frames
        # (b): the engine streaming into the encoder, then zoompan, interleaved.
        streamed.append(_stream(engine, image, config, tmp / "engine"))
        zp = bench_zoompan(image_path, tmp)
        zp_alone = bench_zoompan(image_path, tmp, encode=False)
        if zp is not None and zp_alone is not None:
            zoompan.append(zp)
            zoompan_alone.append(zp_alone)
    # For context: the same stream without the compiled kernels (OpenCV's warps and blends).
    from kinora.engines.geometry import kernels

    was = kernels.enable(False)
    try:
        opencv = [_stream(engine, image, config, tmp / "opencv") for _ in range(repeats)]
    finally:
        kernels.enable(was)
    return {
        "kernels": float(kernels.available()),
        "opencv_stream_s": statistics.median(opencv),
        "frames": float(config.total_frames),
        "segment_s": seg_s,
        "render_s": statistics.median(render),
        "encode_s": statistics.median(encode),
        "stream_s": statistics.median(streamed),
        "zoompan_s": statistics.median(zoompan) if zoompan else float("nan"),
        "zoompan_alone_s": statistics.median(zoompan_alone) if zoompan else float("nan"),
        "total_s": total_s,
        "faster_runs": float(sum(s < z for s, z in zip(streamed, zoompan, strict=False))),
    }


def bench_zoompan(image_path: Path, tmp: Path, *, encode: bool = True) -> float | None:
    """ffmpeg CLI defaults for libx264 threading (frame threads), as Mp4Writer sets them; with
    ``encode=False`` the frames go to ffmpeg's null muxer (the filter's own cost)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    vf = (
        "scale=2560:-2,zoompan=z='min(zoom+0.0015,1.5)':d=120"
        ":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':s=1280x720:fps=24,format=yuv420p"
    )
    output = (
        ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(tmp / "zoompan.mp4")]
        if encode
        else ["-f", "null", "-"]
    )
    cmd = [ffmpeg, "-v", "error", "-y", "-i", str(image_path), "-vf", vf, "-frames:v", "120"]
    t0 = time.perf_counter()
    subprocess.run([*cmd, *output], check=True)
    return time.perf_counter() - t0


def _memory_child(image_path: str, camera: str, out: str) -> None:
    from kinora.engines.base import EngineInputs, RenderConfig
    from kinora.engines.parallax.engine import ParallaxEngine
    from kinora.video.encode import Mp4Writer

    image = load(Path(image_path))
    config = RenderConfig(width=1920, height=1080, fps=24, duration=10.0, camera=camera, seed=2)
    t0 = time.perf_counter()
    with Mp4Writer(out, width=1920, height=1080, fps=24) as w:
        for f in ParallaxEngine(MODELS).frames_i420(EngineInputs(images=[image]), config):
            w.write_i420(f)
    elapsed = time.perf_counter() - t0
    # VmHWM is this process's own peak; ru_maxrss after fork+exec can report the parent's.
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                rss_kb = int(line.split()[1])
    print(json.dumps({"maxrss_mb": rss_kb / 1024, "seconds": elapsed}))


def bench_memory(image_path: Path, camera: str, tmp: Path) -> dict[str, float]:
    code = (
        "import sys; sys.path.insert(0, {!r}); import bench_one_image as b; "
        "b._memory_child({!r}, {!r}, {!r})"
    ).format(str(Path(__file__).parent), str(image_path), camera, str(tmp / "mem.mp4"))
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="rocket.jpg")
    ap.add_argument("--camera", default="Orbit right")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    image_path = (TESTDATA / args.image).resolve()
    if not (MODELS / "isnet-medium.onnx").exists():
        print("note: ISNet not installed (run `make install`); the fallback segmenter is timed")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        r = bench_render_vs_encode(image_path, args.camera, tmp, args.repeats)
        mem = bench_memory(image_path, args.camera, tmp)
    n = int(r["frames"])
    k = args.repeats
    zp = r["zoompan_s"]
    rows = [
        ("segmentation (once per image)", f"{r['segment_s']:.2f} s", ""),
        (
            f"(a) engine frames (I420), {n} x 1280x720",
            f"{r['render_s']:.2f} s",
            f"{1000 * r['render_s'] / n:.1f} ms/frame (median of {k})",
        ),
        (
            f"(a) PyAV encode of the same {n} frames",
            f"{r['encode_s']:.2f} s",
            f"ratio {r['render_s'] / r['encode_s']:.2f} (target <= 2)",
        ),
        (
            "(b) engine render + encode, streamed (scene cached)",
            f"{r['stream_s']:.2f} s",
            f"median of {k}; faster than zoompan in {int(r['faster_runs'])} of {k} runs",
        ),
        (
            "(b) ffmpeg zoompan 5 s 1280x720 + encode",
            f"{zp:.2f} s",
            f"engine/zoompan {r['stream_s'] / zp:.2f} (target < 1)",
        ),
        (
            "(b) without encoding: engine frames / zoompan alone",
            f"{r['render_s']:.2f} / {r['zoompan_alone_s']:.2f} s",
            f"ratio {r['render_s'] / r['zoompan_alone_s']:.2f}",
        ),
        (
            "(b) for context: render + encode without the compiled kernels",
            f"{r['opencv_stream_s']:.2f} s",
            f"median of {k}; OpenCV warps (what runs where `make install` built no kernels)",
        ),
        ("(b) first render end to end (segmentation included)", f"{r['total_s']:.2f} s", ""),
        (
            "(c) 10 s 1920x1080 render+encode, peak RSS",
            f"{mem['maxrss_mb']:.0f} MB",
            f"{mem['seconds']:.1f} s wall (target < 1536 MB)",
        ),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    kernels = "compiled kernels" if r["kernels"] else "NO compiled kernels (OpenCV)"
    print(f"kinora-parallax, {args.image}, camera {args.camera!r}, {kernels}")
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>16}  {c}")


if __name__ == "__main__":
    main()
