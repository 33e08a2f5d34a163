"""The quality bench's runner (bench/quality/run.py): how renders are judged."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_PATH = ROOT / "bench" / "quality" / "run.py"
_spec = importlib.util.spec_from_file_location("quality_run", _PATH)
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
sys.modules["quality_run"] = run
_spec.loader.exec_module(run)


def test_auto_is_judged_by_the_path_the_engine_planned() -> None:
    """Auto renders are judged by the engine's own pick for the render (its plan), not by a
    guess from the seed and the bench's segmentation, which can disagree with the engine's."""
    from kinora.engines.base import RenderConfig
    from kinora.engines.parallax.engine import ParallaxEngine

    bgr = cv2.imread(str(ROOT / ".." / "shared" / "testdata" / "chelsea.png"), cv2.IMREAD_COLOR)
    image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    engine = ParallaxEngine(None)
    picks = set()
    for seed in range(8):
        config = RenderConfig(width=64, height=36, seed=seed)
        planned = run.planned_move(engine, image, config)
        plan = engine.plan(image, config)
        assert planned.path == plan.move.path and planned.path != ""
        assert planned.amplitude == plan.move.amplitude
        assert planned.cover_zoom == plan.move.cover_zoom
        picks.add(planned.path)
    assert len(picks) >= 3, picks
    assert run.planned_move(object(), image, RenderConfig(width=64, height=36)) is None


def test_rotate_360_is_judged_on_a_background_of_its_own() -> None:
    """Rotate 360 holds the subject still as it circles it (as orbits do): on the whole
    picture (too few background features) the fit reads that stillness, so it is not judged
    there; with a background, by its shift half way round."""
    row = {"shift": 1.0, "background_only": False, "subject_scale": 1.0}
    assert run.meets("rotate 360", row) is None
    assert run.meets("pan/tilt/crane", row) is False
    assert run.meets("rotate 360", {**row, "background_only": True}) is False
    assert run.meets("rotate 360", {**row, "background_only": True, "shift": 5.2}) is True
    assert run.meets("aerial", {**row, "shift": 5.2}) is True
