"""What each supported diffusers pipeline is and takes, read without torch.

Shared by the engine (:mod:`kinora.engines.diffusion`, which decides what a target can do) and
the torch side (:mod:`.pipelines`, which runs it), so neither imports the other to get it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinora.config import Settings
from kinora.engines.base import InputKind

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


FALLBACK_PARAMETERS: dict[str, frozenset[str]] = {
    "StableVideoDiffusionPipeline": frozenset({"image", "generator", "motion_bucket_id", "fps"}),
}
"""Pipeline arguments Kinora relies on, for when diffusers cannot be imported to read them;
every other supported pipeline takes prompt, negative_prompt and generator."""
DEFAULT_PARAMETERS = frozenset({"prompt", "negative_prompt", "generator", "guidance_scale"})


@functools.cache
def call_parameters(pipeline_name: str) -> frozenset[str]:
    """The keyword arguments the pipeline class's ``__call__`` accepts, read from its
    signature (diffusers imported here, once); the known ones when it cannot be imported."""
    try:
        diffusers: Any = importlib.import_module("diffusers")
        cls = getattr(diffusers, pipeline_name)
        return frozenset(inspect.signature(cls.__call__).parameters)
    except (ImportError, AttributeError, TypeError, ValueError):
        return FALLBACK_PARAMETERS.get(pipeline_name, DEFAULT_PARAMETERS)


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
