"""Flow interpolation to 60 fps vs a plain encode of the same output, side by side.

Five seconds of the Big Buck Bunny clip at 720p and 24 fps go to 60 fps: ``tween`` makes the
missing frames and they stream into the encoder (what a provider's video at ``fps=60`` costs
in a render), against encoding the same 300 output frames alone (the peer: no work but the
encode). Runs alternate, the median of each is reported with their ratio (issue goal: within
2x). For scale, ffmpeg's own ``minterpolate`` (motion-compensated) and ``framerate`` (blend)
filters on the same clip, whole process.

    .venv/bin/python bench/bench_fps.py [--runs 3] [--out bench/results/fps.md]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from kinora.engines.morph.tween import tween
from kinora.video.encode import Mp4Writer, iter_frames

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "testdata" / "big_buck_bunny_0_30.webm"
START, SECONDS, FPS_IN, FPS_OUT = 400, 5, 24, 60


def source_frames() -> list[np.ndarray]:
    out = []
    for index, frame in enumerate(iter_frames(VIDEO)):
        if index >= START:
            out.append(np.ascontiguousarray(cv2.resize(frame, (1280, 720))))
        if len(out) == SECONDS * FPS_IN:
            break
    return out


def interpolated(frames: list[np.ndarray], path: Path) -> float:
    started = time.perf_counter()
    with Mp4Writer(path, width=1280, height=720, fps=FPS_OUT) as writer:
        for frame in tween(iter(frames), len(frames), SECONDS * FPS_OUT):
            writer.write(frame)
    return time.perf_counter() - started


def plain(frames: list[np.ndarray], path: Path) -> float:
    started = time.perf_counter()
    with Mp4Writer(path, width=1280, height=720, fps=FPS_OUT) as writer:
        for frame in frames:
            writer.write(frame)
    return time.perf_counter() - started


def ffmpeg_filter(clip: Path, out: Path, vf: str) -> float | None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    started = time.perf_counter()
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(clip), "-vf", vf, "-c:v", "libx264",
         "-preset", "veryfast", "-crf", "20", str(out)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fps.md")
    args = parser.parse_args()
    frames = source_frames()
    output = list(tween(iter(frames), len(frames), SECONDS * FPS_OUT))
    ours, peer = [], []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        clip = d / "clip24.mp4"
        plain(frames, clip)  # the 24 fps input for ffmpeg's filters (timed by nobody)
        for _ in range(args.runs):
            ours.append(interpolated(frames, d / "ours.mp4"))
            peer.append(plain(output, d / "plain.mp4"))
        mci = ffmpeg_filter(clip, d / "mci.mp4", f"minterpolate=fps={FPS_OUT}:mi_mode=mci")
        blend = ffmpeg_filter(clip, d / "blend.mp4", f"framerate=fps={FPS_OUT}")
    a, b = statistics.median(ours), statistics.median(peer)
    lines = [
        f"5 s of 720p at {FPS_IN} fps to {FPS_OUT} fps ({len(output)} frames), median of "
        f"{args.runs} alternating runs:",
        "",
        "| run | seconds | vs plain encode |",
        "|---|---|---|",
        f"| tween + encode (Kinora) | {a:.2f} | {a / b:.2f}x |",
        f"| plain encode of the 300 output frames | {b:.2f} | 1.00x |",
    ]
    if mci is not None:
        lines.append(f"| ffmpeg minterpolate (mci), whole process | {mci:.2f} | {mci / b:.2f}x |")
    if blend is not None:
        lines.append(
            f"| ffmpeg framerate (blend), whole process | {blend:.2f} | {blend / b:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
