"""Text engine speed: a 5 s 1280x720 scene, render + encode, against a plain PyAV encode.

Both sides encode with Mp4Writer's settings (libx264 veryfast crf 20). The plain side encodes
the same frames, pre-rendered. The headline ratio is (render + encode, streamed as the pipeline
does) / plain encode, the stricter reading of "render time at most 3x a plain encode"; the
render alone / encode is printed too. Medians of ``--repeats`` runs. Run from the repo:
``.venv/bin/python bench/bench_text.py`` (needs ``make install``: icons and MiniLM).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kinora.config import default_models_dir
from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.scene.engine import SceneEngine
from kinora.video.encode import Mp4Writer

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()
PROMPTS = [
    "A cute bunny jumping through a magical forest with sparkling fairy dust",
    "An automobile cruising through the city at night",
    "Two dolphins swimming in the ocean at sunset",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    engine = SceneEngine(models_dir=MODELS)
    engine.plan("warm up")  # the vocabulary embeddings load once per process
    rows = []
    for prompt in PROMPTS:
        cfg = RenderConfig(width=1280, height=720, fps=24, duration=5.0, prompt=prompt, seed=1)
        streamed, alone, plain = [], [], []
        n = 0
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                # As the pipeline runs it: frames streamed into the encoder.
                t0 = time.perf_counter()
                with Mp4Writer(Path(tmp) / "scene.mp4", width=1280, height=720, fps=24) as w:
                    for f in engine.frames(EngineInputs(prompt=prompt), cfg):
                        w.write(f)
                streamed.append(time.perf_counter() - t0)
                # The render on its own, then a plain encode of the same frames.
                t0 = time.perf_counter()
                frames = list(engine.frames(EngineInputs(prompt=prompt), cfg))
                alone.append(time.perf_counter() - t0)
                n = len(frames)
                t0 = time.perf_counter()
                with Mp4Writer(Path(tmp) / "plain.mp4", width=1280, height=720, fps=24) as w:
                    for f in frames:
                        w.write(f)
                plain.append(time.perf_counter() - t0)
                del frames
        full, ren, enc = (statistics.median(x) for x in (streamed, alone, plain))
        worst = max(a / b for a, b in zip(streamed, plain, strict=True))
        rows.append((prompt, n, full, ren, enc, worst))
        print(
            f"{prompt[:50]:50s} {n} frames render+encode {full:.2f}s render {ren:.2f}s "
            f"encode {enc:.2f}s ratio {full / enc:.2f} (worst run {worst:.2f})",
            flush=True,
        )
    k = args.repeats
    print(
        f"| prompt | frames | render + encode, streamed (s) | render alone (s) "
        f"| plain encode (s) | (render + encode) / encode, median of {k} (worst) "
        f"| render / encode |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for p, n, full, ren, enc, worst in rows:
        print(
            f"| {p} | {n} | {full:.2f} | {ren:.2f} | {enc:.2f} | {full / enc:.2f} ({worst:.2f}) "
            f"| {ren / enc:.2f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
