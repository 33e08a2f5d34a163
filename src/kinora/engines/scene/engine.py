"""Text to video: an honest procedural illustrator.

No diffusion model runs here (none can be shipped offline on CPU). The prompt is parsed into
subjects, setting, time of day, weather, mood, style, colours and verbs (words matched to the
vocabulary by meaning with MiniLM embeddings when installed, else by spelling); a scene is
composed from vector icons (Fluent Emoji, rasterised with resvg) and procedural scenery layers
at known depths; subjects are animated by their verbs and the camera moves through the layers
along the API's camera paths. The name says what it is: ``kinora-scene``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2

from kinora.engines.base import (
    EngineInfo,
    EngineInputs,
    Frame,
    InputKind,
    ModelFile,
    MotionEngine,
    Render,
    RenderConfig,
)
from kinora.engines.scene import embed
from kinora.engines.scene.compose import ScenePlan, plan_scene
from kinora.engines.scene.embed import load_model
from kinora.engines.scene.prompt import Matcher, parse_prompt
from kinora.engines.scene.render import SceneRenderer
from kinora.engines.scene.vocabulary import ICONS_FILENAME, ICONS_PACKAGE, IconSet, load_icons


class IconsMissing(RuntimeError):
    """The icon file is not installed: run ``make install``."""


class SceneEngine(MotionEngine):
    info = EngineInfo(
        name="kinora-scene",
        version="1.0",
        accepts=frozenset({InputKind.TEXT}),
        description="Procedural illustrated scene from a prompt: vector icons for the subjects, "
        "layered scenery, weather and particles, verb-driven animation and camera motion "
        "through the layers. Not a diffusion model.",
        honours=frozenset({"prompt", "camera_control", "motion_range", "seed"}),
    )

    @classmethod
    def model_files(cls, models_dir: Path) -> list[ModelFile]:
        """The icon set; without it no text render can run."""
        return [
            ModelFile(
                name=f"the icon set ({ICONS_FILENAME})",
                path=Path(models_dir) / ICONS_FILENAME,
                fix=f"run `make install` (it installs the npm package {ICONS_PACKAGE} into the "
                "models dir), or point KINORA_MODELS_DIR at a directory that has it; without "
                "it every text render fails",
            )
        ]

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = Path(models_dir) if models_dir is not None else None

    def service_version(self) -> str:
        return f"{self.info.version}+{'minilm' if embed.available() else 'lexical'}"

    def matcher(self) -> Matcher:
        matcher = _matcher(self.models_dir, load_icons, load_model, Matcher)
        assert isinstance(matcher, Matcher)
        return matcher

    def plan(self, prompt: str, *, seed: int = 0) -> ScenePlan:
        """The scene plan for a prompt (see :mod:`kinora.engines.scene.compose`)."""
        return plan_scene(parse_prompt(prompt, self.matcher()), seed=seed)

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        """The frames, and what this render drew and could not: ``not_drawn`` names what the
        prompt asked for that the scene does not show (a word no icon or shape matches, the
        subjects past the eight drawn); ``scene`` the setting drawn and each subject's icon
        with its set (for licences). Both land in the generation's config record."""
        icons = load_icons(self.models_dir)
        if icons is None:
            raise IconsMissing(
                f"icon file not found in {self.models_dir}: run `make install` "
                "(it installs @iconify-json/fluent-emoji-flat into the models dir)"
            )
        plan = self.plan(inputs.prompt or config.prompt, seed=config.seed)
        drawn = [f"{s.icon} ({icons.source(s.icon)})" for s in plan.subjects]
        metadata: dict[str, object] = {"scene": {"setting": plan.setting, "drawn": drawn}}
        if plan.not_drawn:
            metadata["not_drawn"] = list(plan.not_drawn)
        return Render(_frames(plan, icons, config), metadata=metadata)

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return self.render(inputs, config).frames


def _frames(plan: ScenePlan, icons: IconSet, config: RenderConfig) -> Iterator[Frame]:
    with _fewer_opencv_threads():
        yield from SceneRenderer(plan, icons, config=config).frames()


_THREADS_LOCK = threading.Lock()
_THREADS_USERS = 0
_THREADS_BEFORE = 0


@contextlib.contextmanager
def _fewer_opencv_threads() -> Iterator[None]:
    """Frames stream into an encoder that keeps other cores busy, and this renderer makes many
    mid-sized OpenCV calls whose thread hand-offs cost more than they save: OpenCV gets half
    the cores while any text render runs (bench/bench_text.py). The setting is process-wide,
    so the first render in changes it and the last one out restores it."""
    global _THREADS_USERS, _THREADS_BEFORE
    with _THREADS_LOCK:
        if _THREADS_USERS == 0:
            _THREADS_BEFORE = cv2.getNumThreads()
            cv2.setNumThreads(max(1, (os.cpu_count() or 2) // 2))
        _THREADS_USERS += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_USERS -= 1
            if _THREADS_USERS == 0:
                cv2.setNumThreads(_THREADS_BEFORE)


_MATCHERS: dict[str, object] = {}


def _matcher(
    models_dir: Path | None, load_icons: object, load_model: object, cls: object
) -> object:
    """One matcher per models dir per process: vocabulary embeddings are built once."""
    key = str(models_dir)
    if key not in _MATCHERS:
        icons = load_icons(models_dir)  # type: ignore[operator]
        model = load_model()  # type: ignore[operator]
        _MATCHERS[key] = cls(icons=icons, model=model, cache_dir=models_dir)  # type: ignore[operator]
    return _MATCHERS[key]
