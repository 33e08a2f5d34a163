"""A spec's soundtrack: planned before the motion (narration sets the duration), rendered to
exactly the video's length once it is known."""

from __future__ import annotations

from collections.abc import Mapping

from kinora.audio import AudioPlan, AudioRequest, plan_audio, render_soundtrack
from kinora.pipeline.render import SoundtrackMaker
from kinora.spec import GenerationSpec


def plan_soundtrack(spec: GenerationSpec, audio_files: Mapping[str, bytes]) -> AudioPlan | None:
    """The soundtrack plan, or None when nothing asks for sound (no audio stream then)."""
    request = AudioRequest(
        narrator=spec.audio.narrator,
        narration=spec.audio.narration,
        narration_audio=audio_files.get("narration"),
        bg_music_prompt=spec.audio.bg_music_prompt,
        bg_music_audio=audio_files.get("music"),
        native_audio=spec.native_audio,
        prompt=spec.prompt,
        camera=spec.camera_control.value,
        seed=int(spec.seeds[0]) if spec.seeds else 0,
    )
    if not request.wants_audio:
        return None
    return plan_audio(request, motion_seconds=spec.motion_seconds)


def soundtrack_maker(plan: AudioPlan | None) -> SoundtrackMaker | None:
    if plan is None:
        return None

    def make(seconds: float) -> object:
        return render_soundtrack(plan, seconds=seconds).samples

    return make  # type: ignore[return-value]
