"""Contact sheets of the text engine for docs/engines-text.md (docs/images/scene-*.png).

Four frames (start, 1/3, 2/3, end) of a 2 s 640x360 render per prompt, in a 2x2 grid,
palette-quantised to keep the PNGs small. Run: ``.venv/bin/python bench/scene_sheets.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from kinora.config import default_models_dir
from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.scene.engine import SceneEngine

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()
OUT = REPO / "docs" / "images"
SHEETS = {
    "bunny": "A cute bunny jumping through a magical forest with sparkling fairy dust",
    "city": "An automobile cruising through the city at night",
    "dolphins": "Two dolphins swimming in the ocean at sunset",
    "balloon": "A hot air balloon soaring over snowy mountains at dawn",
    "mood": "A quiet melancholy evening in blue and gold, watercolor",
    "lighthouse": "A lighthouse on a cliff during a storm at night",
    "windowsill": "a cat sleeping on a windowsill while it rains outside",
}


def main() -> None:
    engine = SceneEngine(models_dir=MODELS)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, prompt in SHEETS.items():
        cfg = RenderConfig(width=640, height=360, fps=12, duration=2.0, prompt=prompt, seed=1)
        frames = list(engine.frames(EngineInputs(prompt=prompt), cfg))
        idx = [0, len(frames) // 3, 2 * len(frames) // 3, len(frames) - 1]
        f = [frames[i] for i in idx]
        sheet = np.vstack([np.hstack(f[:2]), np.hstack(f[2:])])
        img = Image.fromarray(sheet).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        path = OUT / f"scene-{name}.png"
        img.save(path, optimize=True)
        print(f"{path.relative_to(REPO)} {path.stat().st_size // 1024} KiB  {prompt}")


if __name__ == "__main__":
    main()
