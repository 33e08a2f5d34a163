"""Open video models through diffusers (the optional ``kinora[diffusers]`` extra).

``diffusers:DIR`` runs the pipeline saved in DIR (``model_index.json``; a relative DIR is
under ``KINORA_MODELS_DIR``): Wan 2.x (text-to-video, image-to-video, first-and-last frame),
LTX-Video, CogVideoX and Stable Video Diffusion. Nothing is downloaded: the operator puts the
model there. This module stays importable without torch: what the target can do is read from
the directory's JSON; torch and diffusers load in :mod:`.pipelines` when a render starts.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator, Mapping
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
from kinora.engines.diffusion.families import (
    PIPELINES,
    accepts_of,
    call_parameters,
    model_dir,
    pipeline_class,
)
from kinora.engines.registry import TargetCheck

ONE, TWO, TEXT = InputKind.ONE_IMAGE, InputKind.TWO_IMAGES, InputKind.TEXT


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
        honours=frozenset({"seed"}),
        can_honour=frozenset({"prompt", "negative_prompt", "motion_range"}),
    )
    """``honours``: every pipeline takes the seed (a torch.Generator); the prompt, negative
    prompt and motion range depend on the pipeline (:meth:`honoured_fields`)."""

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

    def honoured_fields(self, config: RenderConfig | None = None) -> frozenset[str]:
        """From the pipeline's own ``__call__``: ``prompt``, ``negative_prompt`` (which only
        acts with classifier-free guidance, guidance > 1) and ``motion_bucket_id`` (SVD's
        motion amount, from motion_range); the seed always (the generator)."""
        params = call_parameters(self.pipeline_name)
        out = {"seed"} if "generator" in params else set()
        if "prompt" in params:
            out.add("prompt")
        guidance = float(self.options.get("guidance", self.family.guidance))
        if "negative_prompt" in params and guidance > 1.0:
            out.add("negative_prompt")
        if "motion_bucket_id" in params:
            out.add("motion_range")
        return frozenset(out)

    def service_version(self) -> str:
        text = f"{self.directory.name} ({self.pipeline_name}, diffusers {self.info.version})"
        if self.last_call:
            text += f"; {self.last_call['num_frames']} frames at {self.last_call['fps']} fps"
            text += f", {self.last_call['steps']} steps on {self.last_call['device']}"
        return text

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        from kinora.engines.diffusion.pipelines import render

        yield from render(self, inputs, config)
