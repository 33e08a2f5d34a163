"""The one planner: a GenerationSpec plus decoded images -> frozen render configs.

The worker and ``kinora render`` both call :func:`plan`, so the same spec and seed give the
same frames either way. The plan also says which of the spec's fields the chosen engine does
not honour, with the reason; the worker records that list in the generation's history entry
and log, so nothing a caller set is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kinora.engines.base import ENGINE_FIELDS, Frame, MotionEngine, RenderConfig
from kinora.pipeline.steer import camera_from_prompt, particles_from_prompt
from kinora.spec import GenerationSpec
from kinora.video.fit import nearest_aspect_ratio, output_size
from kinora.vocab import AspectRatio, CameraControl

PLANNER_FIELDS: dict[str, str] = {
    "version": "the spec's own format version",
    "inputs": "decoded into the engine's images (videos: their end frames, spliced around)",
    "motion_type": "routes the request to an engine (kinora.engines.registry)",
    "quantity": "one render config per variant",
    "seeds": "one per variant, in RenderConfig.seed",
    "duration": "RenderConfig.duration (frames per pass)",
    "loop": "RenderConfig.loop (passes in the output)",
    "fps": "RenderConfig.fps: built-in engines render at it; a provider's video and lead-in "
    "clips get their missing frames by optical flow (kinora.engines.morph.tween)",
    "aspect_ratio": "the output size",
    "native_audio": "sound effects in the soundtrack (kinora.audio); its lip sync is the "
    "narration's (without speech: recorded as ignored)",
    "audio": "narration and music in the soundtrack (kinora.audio); a face in the picture "
    "speaks the narration (lip sync: kinora.pipeline.sound.plan_lip_sync)",
    "metadata": "the caller's own object: stored with the spec for engines that read it",
    "extends": "an extension: the render starts at that video's last frame, at its size and "
    "frame rate, and the result is that video then the new seconds "
    "(kinora.pipeline.generation, kinora.video.join)",
}
"""Spec fields the pipeline itself honours, whatever engine runs, and how."""

SPEC_TO_ENGINE_FIELD: dict[str, str] = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "camera_control": "camera_control",
    "motion_range": "motion_range",
    "character_animate": "character_animate",
    "try_on_model": "try_on_model",
}
"""Spec fields whose effect depends on the engine (names in EngineInfo.honours). The seeds are
the planner's, but whether a seed reproduces a render is the engine's: ``seed``."""


NOT_YET_HONOURED: dict[str, str] = {}
"""Spec fields no shipped engine honours, and how each is kept from being dropped silently
(none today: kinora-tryon honours try_on_model, kinora-character character_animate)."""


@dataclass(frozen=True)
class Ignored:
    """A field the request set that this render does not use, and why."""

    field: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Plan:
    aspect_ratio: str
    configs: tuple[RenderConfig, ...]
    ignored: tuple[Ignored, ...] = ()


def honoured_by(engine: MotionEngine, config: RenderConfig | None = None) -> frozenset[str]:
    """What this engine (for its configured model, and this render's values) really uses."""
    return frozenset(engine.honoured_fields(config)) & ENGINE_FIELDS


def plan(
    spec: GenerationSpec,
    *,
    images: Sequence[Frame],
    engine: MotionEngine,
    long_side: int,
    fps: int,
    narration_seconds: float | None = None,
    driver_seconds: float | None = None,
) -> Plan:
    """Render configs for every variant of ``spec``, and what the engine will not honour.

    ``narration_seconds``: narration sets the length (the motion is stretched to the speech
    and loop is not applied).
    """
    ratio = spec.aspect_ratio.value if spec.aspect_ratio is not None else None
    ratio = ratio or (
        nearest_aspect_ratio(images[0].shape[1], images[0].shape[0])
        if images
        else AspectRatio.LANDSCAPE.value
    )
    width, height = output_size(ratio, long_side)
    ignored: list[Ignored] = []
    camera = spec.camera_control.value
    options: dict[str, str] = {}
    prompt_used = "prompt" in honoured_by(engine)
    if images and spec.prompt and not prompt_used:
        # With images, the prompt steers: a camera move it names (unless one was chosen)
        # and particles it names. Engines that read prompts themselves get it whole.
        steered = camera_from_prompt(spec.prompt) if not camera else ""
        if steered:
            camera = steered
        particles = particles_from_prompt(spec.prompt)
        if particles:
            options["particles"] = particles
        prompt_used = bool(steered or particles)
    duration, loop = float(spec.duration), spec.loop
    if narration_seconds is not None:
        duration, loop = narration_seconds, 1
        if spec.loop != 1:
            ignored.append(Ignored("loop", "narration sets the video's length; loop not applied"))
        if driver_seconds is not None:
            options["mouth"] = "speech"  # narration, not the driver, moves the mouth
    elif driver_seconds is not None:
        duration, loop = driver_seconds, 1
        if spec.loop != 1:
            ignored.append(
                Ignored("loop", "the driving video sets the video's length; loop not applied")
            )
    configs = tuple(
        RenderConfig(
            width=width,
            height=height,
            fps=fps,
            duration=duration,
            loop=loop,
            camera=camera,
            motion_range=spec.motion_range,
            seed=seed,
            prompt=spec.prompt,
            negative_prompt=spec.negative_prompt,
            character_animate=spec.character_animate,
            try_on_model=spec.try_on_model.value if spec.try_on_model else "",
            options=dict(options),
        )
        for seed in spec.seeds
    )
    honours = honoured_by(engine, configs[0] if configs else None)
    name = engine.info.name
    if spec.prompt and not prompt_used:
        ignored.append(
            Ignored(
                "prompt",
                f"{name} does not read prompts; it steers camera and particles from words it "
                "knows, and none matched",
            )
        )
    set_fields = {
        "negative_prompt": bool(spec.negative_prompt),
        "camera_control": spec.camera_control is not CameraControl.AUTO,
        "motion_range": spec.motion_range != 5,
        "character_animate": spec.character_animate,
        "try_on_model": spec.try_on_model is not None,
    }
    for field, is_set in set_fields.items():
        if is_set and SPEC_TO_ENGINE_FIELD[field] not in honours:
            ignored.append(Ignored(field, f"{name} does not take {field}"))
    if "seed" not in honours:
        ignored.append(
            Ignored("seeds", f"{name} takes no seed: the same seed may give a different video")
        )
    return Plan(aspect_ratio=ratio, configs=configs, ignored=tuple(ignored))
