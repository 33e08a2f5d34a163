"""Open video models through diffusers (the optional ``kinora[diffusers]`` extra).

``diffusers:DIR`` runs the pipeline saved in DIR (``model_index.json``; a relative DIR is
under ``KINORA_MODELS_DIR``): Wan 2.x (text-to-video, image-to-video, first-and-last frame),
LTX-Video, CogVideoX and Stable Video Diffusion. Nothing is downloaded: the operator puts the
model there. This module stays importable without torch: what the target can do is read from
the directory's JSON; torch and diffusers load in :mod:`.pipelines` when a render starts.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from kinora.config import Settings
from kinora.engines.base import (
    EngineInfo,
    EngineInputs,
    Frame,
    InputKind,
    MotionEngine,
    RenderConfig,
)
from kinora.engines.registry import TargetCheck

ONE, TWO, TEXT = InputKind.ONE_IMAGE, InputKind.TWO_IMAGES, InputKind.TEXT


@dataclass(frozen=True)
class Family:
    """How one pipeline class is driven: inputs, native fps, frame-count and size rules."""

    accepts: frozenset[InputKind]
    fps: int
    frame_step: int
    """num_frames = frame_step * k + 1 (1: any count)."""
    size_multiple: int
    max_side: int
    steps: int
    guidance: float
    max_frames: int


PIPELINES: dict[str, Family] = {
    "WanPipeline": Family(frozenset({TEXT}), 16, 4, 16, 832, 30, 5.0, 81),
    "WanImageToVideoPipeline": Family(frozenset({ONE}), 16, 4, 16, 832, 30, 5.0, 81),
    "LTXPipeline": Family(frozenset({TEXT}), 24, 8, 32, 768, 30, 3.0, 161),
    "LTXImageToVideoPipeline": Family(frozenset({ONE}), 24, 8, 32, 768, 30, 3.0, 161),
    "LTXConditionPipeline": Family(frozenset({ONE, TWO, TEXT}), 24, 8, 32, 768, 30, 3.0, 161),
    "CogVideoXPipeline": Family(frozenset({TEXT}), 8, 8, 16, 720, 50, 6.0, 49),
    "CogVideoXImageToVideoPipeline": Family(frozenset({ONE}), 8, 8, 16, 720, 50, 6.0, 49),
    "StableVideoDiffusionPipeline": Family(frozenset({ONE}), 7, 1, 64, 1024, 25, 3.0, 25),
}


def model_dir(argument: str, settings: Settings) -> Path:
    path = Path(argument).expanduser()
    return path if path.is_absolute() else settings.resolved_models_dir / path


def read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def pipeline_class(directory: Path) -> str:
    return str(read_json(directory / "model_index.json").get("_class_name", ""))


def accepts_of(directory: Path) -> frozenset[InputKind]:
    """What the model in ``directory`` takes. Wan image-to-video comes in three kinds, told
    apart by its transformer's config: FLF2V (image position embeddings for two CLIP images)
    needs first and last frames; Wan 2.1 I2V (a CLIP image branch) takes one image; Wan 2.2
    I2V (no CLIP branch, conditioned by latents alone) takes one image or two."""
    name = pipeline_class(directory)
    family = PIPELINES[name]
    if name == "WanImageToVideoPipeline":
        index = read_json(directory / "model_index.json")
        config_path = directory / "transformer" / "config.json"
        config = read_json(config_path) if config_path.exists() else {}
        if config.get("pos_embed_seq_len"):
            return frozenset({TWO})
        if config.get("image_dim") is None and not index.get("expand_timesteps"):
            return frozenset({ONE, TWO})
    return family.accepts


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return ""


class DiffusersEngine(MotionEngine):
    """A local open video model through diffusers, on the GPU when there is one."""

    info = EngineInfo(
        name="diffusers",
        version=_version("diffusers") or "not installed",
        accepts=frozenset({ONE, TWO, TEXT}),
        needs_gpu=True,
        max_duration=10.0,
        description="Open video models (Wan 2.x, LTX-Video, CogVideoX, Stable Video Diffusion) "
        "from a local directory; wants a GPU, runs (slowly) on CPU.",
    )

    def __init__(
        self, *, directory: Path, options: Mapping[str, str] | None = None, device: str = ""
    ) -> None:
        self.directory = directory
        self.options = dict(options or {})
        self.device = self.options.get("device", device)
        self.pipeline_name = pipeline_class(directory)
        self.family = PIPELINES[self.pipeline_name]
        self.last_call: dict[str, Any] = {}

    @classmethod
    def check_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> TargetCheck:
        for package in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(package) is None:
                return TargetCheck(
                    frozenset(), f"{package} is not installed (pip install 'kinora[diffusers]')"
                )
        if not argument:
            return TargetCheck(frozenset(), "no model directory named (use diffusers:DIR)")
        directory = model_dir(argument, settings)
        if not (directory / "model_index.json").is_file():
            return TargetCheck(frozenset(), f"{directory} has no model_index.json")
        name = pipeline_class(directory)
        if name not in PIPELINES:
            return TargetCheck(frozenset(), f"pipeline {name or '?'} is not supported")
        return TargetCheck(accepts_of(directory))

    @classmethod
    def from_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> DiffusersEngine:
        device = str(getattr(settings, "diffusers_device", "") or "")
        return cls(directory=model_dir(argument, settings), options=options, device=device)

    def service_version(self) -> str:
        text = f"{self.directory.name} ({self.pipeline_name}, diffusers {self.info.version})"
        if self.last_call:
            text += f"; {self.last_call['num_frames']} frames at {self.last_call['fps']} fps"
            text += f", {self.last_call['steps']} steps on {self.last_call['device']}"
        return text

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        from kinora.engines.diffusion.pipelines import render

        yield from render(self, inputs, config)
