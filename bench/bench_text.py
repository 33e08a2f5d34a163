"""Text engine speed: a 5 s 1280x720 scene, render + encode, against a plain PyAV encode.

Both sides encode with Mp4Writer's settings (libx264 veryfast crf 20). The plain side encodes
the same frames, pre-rendered, so the ratio is (render + encode) / encode. Run from the repo:
``.venv/bin/python bench/bench_text.py`` (needs ``make install``: icons and MiniLM).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.scene import SceneEngine
from kinora.render.encode import Mp4Writer

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("KINORA_MODELS_DIR", REPO / "data" / "models"))
PROMPTS = [
    "A cute bunny jumping through a magical forest with sparkling fairy dust",
    "An automobile cruising through the city at night",
    "Two dolphins swimming in the ocean at sunset",
]


def main() -> None:
    engine = SceneEngine(models_dir=MODELS)
    engine.plan("warm up")  # the vocabulary embeddings load once per process
    rows = []
    for prompt in PROMPTS:
        cfg = RenderConfig(width=1280, height=720, fps=24, duration=5.0, prompt=prompt, seed=1)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            frames = []
            with_encode = Path(tmp) / "scene.mp4"
            w = Mp4Writer(with_encode, width=1280, height=720, fps=24)
            for f in engine.frames(EngineInputs(prompt=prompt), cfg):
                w.write(f)
                frames.append(f)
            w.close()
            full = time.perf_counter() - t0
            t1 = time.perf_counter()
            plain = Mp4Writer(Path(tmp) / "plain.mp4", width=1280, height=720, fps=24)
            for f in frames:
                plain.write(f)
            plain.close()
            enc = time.perf_counter() - t1
        rows.append((prompt, len(frames), full, enc, full / enc))
        print(
            f"{prompt[:50]:50s} {len(frames)} frames render+encode {full:.2f}s "
            f"encode {enc:.2f}s ratio {full / enc:.2f}",
            flush=True,
        )
    print("| prompt | frames | render + encode (s) | plain encode (s) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for p, n, full, enc, ratio in rows:
        print(f"| {p} | {n} | {full:.2f} | {enc:.2f} | {ratio:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
