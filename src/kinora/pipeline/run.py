"""A spec to a ready render job: decode, route, plan the sound, plan the motion.

The worker, ``kinora render`` and the quality bench all start a render here, so the same spec
and seed give the same frames whichever of them runs it (there is one sequence of steps, not
three copies of it). What happens after (progress, storage, history) is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from kinora.audio import AudioPlan
from kinora.config import Settings
from kinora.engines.registry import Route, route
from kinora.pipeline.inputs import DecodedInputs, decode_inputs
from kinora.pipeline.plan import Plan, plan
from kinora.pipeline.render import RenderJob
from kinora.pipeline.sound import plan_lip_sync, plan_soundtrack, soundtrack_maker
from kinora.spec import GenerationSpec


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything decided before the first frame: the engine, the plan, the job to render."""

    spec: GenerationSpec
    decoded: DecodedInputs
    route: Route
    audio: AudioPlan | None
    plan: Plan
    job: RenderJob


def prepare(
    spec: GenerationSpec,
    local_path: Callable[[str], Path],
    *,
    settings: Settings,
    long_side: int | None = None,
    fps: int | None = None,
    variants: int | None = None,
) -> Prepared:
    """Decode ``spec``'s inputs (``local_path`` maps a stored key to a readable file), route
    it to an engine, plan its soundtrack, its lip sync (speech and a face in the picture) and
    its render configs.

    ``long_side`` and ``fps`` default to the settings'; ``variants`` keeps only the first so
    many configs (the bench renders one)."""
    decoded = decode_inputs(spec, local_path, max_pixels=settings.max_image_pixels)
    chosen = route(
        motion_type=spec.motion_type.value,
        kind=decoded.inputs.kind,
        settings=settings,
        needs=spec.needs,
    )
    driver = decoded.inputs.driver
    kept = driver if driver is not None and settings.keep_driver_sound else None
    audio_plan = plan_soundtrack(spec, decoded.audio_files, driver=kept)
    narration = (
        audio_plan.video_seconds
        if audio_plan is not None and audio_plan.speech is not None
        else None
    )
    planned = plan(
        spec,
        images=decoded.inputs.images,
        engine=chosen.engine,
        long_side=long_side or settings.output_long_side,
        fps=fps or settings.fps,
        narration_seconds=narration,
        driver_seconds=driver.seconds if driver is not None else None,
    )
    if variants is not None:
        planned = replace(planned, configs=planned.configs[:variants])
    lip_sync, not_synced = plan_lip_sync(
        audio_plan,
        decoded.inputs.images,
        native_audio=spec.native_audio,
        models_dir=settings.resolved_models_dir,
    )
    if not_synced:
        planned = replace(planned, ignored=(*planned.ignored, *not_synced))
    job = RenderJob(
        inputs=decoded.inputs,
        configs=planned.configs,
        aspect_ratio=planned.aspect_ratio,
        lead_in=decoded.lead_in,
        lead_out=decoded.lead_out,
        soundtrack=soundtrack_maker(audio_plan),
        lip_sync=lip_sync,
    )
    return Prepared(
        spec=spec, decoded=decoded, route=chosen, audio=audio_plan, plan=planned, job=job
    )
