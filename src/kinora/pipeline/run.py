"""A spec to a ready render job: decode, route, plan the sound, plan the motion.

The worker, ``kinora render`` and the quality bench all start a render here, so the same spec
and seed give the same frames whichever of them runs it (there is one sequence of steps, not
three copies of it). What happens after (progress, storage, history) is the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from kinora.audio import DRIVER_SOURCE, AudioPlan
from kinora.config import Settings
from kinora.engines.base import InputKind
from kinora.engines.providers.base import ProviderEngine
from kinora.engines.registry import Route, builtin_for, engine_for, route
from kinora.pipeline.inputs import DecodedInputs, decode_inputs
from kinora.pipeline.lipsync_step import LipSyncStep, note_skipped, plan_step, run_step
from kinora.pipeline.plan import Plan, plan
from kinora.pipeline.render import RenderJob, RenderOutcome
from kinora.pipeline.sound import SPEAKER_NOT_SENT, plan_lip_sync, plan_soundtrack, soundtrack_maker
from kinora.spec import GenerationSpec
from kinora.vocab import DEFAULT_SPEAKER

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything decided before the first frame: the engine, the plan, the job to render."""

    spec: GenerationSpec
    decoded: DecodedInputs
    route: Route
    audio: AudioPlan | None
    plan: Plan
    job: RenderJob
    lip_sync_step: LipSyncStep | None = None
    """The hosted lip sync run on the rendered videos (``KINORA_LIPSYNC_TARGET``); when set,
    the render's own lip sync is off (:mod:`kinora.pipeline.lipsync_step`)."""
    lip_sync_skipped: str = ""
    """Why a configured lip-sync provider was passed over ("" when none was, or it runs)."""


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
        try_on_model=spec.try_on_model.value if spec.try_on_model else "",
    )
    chosen = _performance_route(chosen, spec, decoded.inputs.kind, settings)
    driver = decoded.inputs.driver
    kept = driver if driver is not None and settings.keep_driver_sound else None
    audio_plan = plan_soundtrack(spec, decoded.audio_files, driver=kept)
    # The driving video's own sound plays as the speech track but is not narration: the
    # driver then sets the length and moves the mouth.
    speech = audio_plan.speech if audio_plan is not None else None
    narration = (
        audio_plan.video_seconds
        if audio_plan is not None and speech is not None and speech.source != DRIVER_SOURCE
        else None
    )
    planned = plan(
        spec,
        images=decoded.inputs.images,
        engine=chosen.engine,
        long_side=long_side or settings.output_long_side,
        fps=fps or spec.fps or settings.fps,
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
        speaker=spec.audio.speaker,
    )
    if not_synced:
        planned = replace(planned, ignored=(*planned.ignored, *not_synced))
    step, skipped = plan_step(settings, audio_plan, lip_sync)
    if step is not None:
        lip_sync = None  # the provider lip-syncs the finished video; the built-in is its fallback
        if spec.audio.speaker not in (None, DEFAULT_SPEAKER):
            planned = replace(planned, ignored=(*planned.ignored, SPEAKER_NOT_SENT))
    job = RenderJob(
        inputs=decoded.inputs,
        configs=planned.configs,
        aspect_ratio=planned.aspect_ratio,
        lead_in=decoded.lead_in,
        lead_out=decoded.lead_out,
        soundtrack=soundtrack_maker(audio_plan),
        lip_sync=lip_sync,
        # A provider continuing a video starts from its last frame but shifts its colours;
        # the built-in engines start from the frame itself.
        seam=(
            decoded.inputs.images[0]
            if spec.extends is not None
            and decoded.inputs.images
            and isinstance(chosen.engine, ProviderEngine)
            else None
        ),
    )
    return Prepared(
        spec=spec,
        decoded=decoded,
        route=chosen,
        audio=audio_plan,
        plan=planned,
        job=job,
        lip_sync_step=step,
        lip_sync_skipped=skipped,
    )


def _performance_route(
    chosen: Route, spec: GenerationSpec, kind: InputKind, settings: Settings
) -> Route:
    """A character_animate request never runs on a target whose model cannot perform it.

    Routing asks an engine class what SOME of its targets honour (Runway's ``act_two`` and
    Kling's ``*-motion-control`` perform a character; ``runway:gen4_turbo`` does not); here
    the chosen target itself is asked, and one that would drop the driving video gives way to
    the built-in character engine, with the reason recorded as a routing fallback."""
    if (
        "character_animate" not in spec.needs
        or not chosen.target
        or "character_animate" in chosen.engine.honoured_fields()
    ):
        return chosen
    name = builtin_for(kind, spec.needs)
    reason = f"{chosen.target}: its model does not honour character_animate"
    log.warning("character_animate runs on %s: %s", name, reason)
    return Route(
        engine_for(name, models_dir=settings.resolved_models_dir),
        chosen.requested_motion_type,
        "",
        "; ".join(r for r in (chosen.fallback_reason, reason) if r),
    )


def after_render(
    prepared: Prepared, outcome: RenderOutcome, *, cancelled: Callable[[], bool] | None = None
) -> None:
    """The steps on the finished videos: the hosted lip sync when one runs (its fallback the
    built-in), or the note of why a configured one did not."""
    if prepared.lip_sync_step is not None:
        run_step(
            prepared.lip_sync_step,
            outcome,
            soundtrack=prepared.job.soundtrack,
            cancelled=cancelled,
        )
    else:
        note_skipped(outcome, prepared.lip_sync_skipped)
