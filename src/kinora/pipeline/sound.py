"""A spec's soundtrack: planned before the motion (narration sets the duration), rendered to
exactly the video's length once it is known; and the speech's other use, the face in the
picture that speaks it (lip sync)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from kinora.audio import DRIVER_SOURCE, AudioPlan, AudioRequest, plan_audio, render_soundtrack
from kinora.audio.visemes import VisemeTrack, visemes_from_audio, visemes_from_phonemes
from kinora.engines.base import Clip, Frame
from kinora.engines.people.landmarks import LandmarkModelsMissing, track_face
from kinora.pipeline.plan import Ignored
from kinora.pipeline.render import LipSyncJob, SoundtrackMaker
from kinora.spec import GenerationSpec
from kinora.vocab import DEFAULT_SPEAKER

NO_FACE = Ignored("lip_sync", "no face found in the picture: the narration plays without lip sync")
SPEAKER_NOT_SENT = Ignored(
    "audio_option.speaker",
    "the lip-sync provider picks the face itself (its API takes no choice of face); the "
    "built-in fallback would have honoured it",
)
NOTHING_TO_SYNC = Ignored(
    "native_audio",
    "no speech, so no lip sync: native_audio adds the sound effects; narration (with a "
    "narrator) or narration_url makes a face in the picture speak",
)


def plan_soundtrack(
    spec: GenerationSpec, audio_files: Mapping[str, bytes], *, driver: Clip | None = None
) -> AudioPlan | None:
    """The soundtrack plan, or None when nothing asks for sound (no audio stream then).

    A driving video (``driver``, with its sound kept) sets the length, and its sound plays
    along unless narration replaces it."""
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
        driver_audio=driver.audio if driver is not None else None,
    )
    if not request.wants_audio:
        return None
    seconds = driver.seconds if driver is not None else spec.motion_seconds
    return plan_audio(request, motion_seconds=seconds)


def soundtrack_maker(plan: AudioPlan | None) -> SoundtrackMaker | None:
    if plan is None:
        return None

    def make(seconds: float) -> object:
        return render_soundtrack(plan, seconds=seconds).samples

    return make  # type: ignore[return-value]


def plan_lip_sync(
    plan: AudioPlan | None,
    images: Sequence[Frame],
    *,
    native_audio: bool,
    models_dir: Path | None,
    speaker: str | None = None,
) -> tuple[LipSyncJob | None, tuple[Ignored, ...]]:
    """The lip-sync job when there is speech and a face to speak it, and what is recorded
    when not (so nothing is dropped silently).

    A face is looked for in the input images (any of them: a two-image render speaks on the
    face while it is on screen), confirmed by the face mesh's own score (the detector alone
    boxes a cat's face); a text render has none to look at, so its frames are
    searched as they are rendered (:data:`kinora.pipeline.render.NO_FACE_RENDERED`)."""
    speech = plan.speech if plan is not None else None
    if speech is not None and speech.source == DRIVER_SOURCE:
        return None, ()  # the character's mouth follows the driving video's face
    if speech is None:
        return None, (NOTHING_TO_SYNC,) if native_audio else ()
    if images:
        try:
            found = any(track_face(image, models_dir=models_dir) for image in images)
        except LandmarkModelsMissing as exc:
            reason = f"{exc}: the narration plays without lip sync"
            return None, (Ignored("lip_sync", reason),)
        if not found:
            return None, (NO_FACE,)
    assert plan is not None
    return LipSyncJob(viseme_track(plan), models_dir, speaker or DEFAULT_SPEAKER), ()


def viseme_track(plan: AudioPlan) -> VisemeTrack:
    """The mouth track of the plan's speech: from the phonemes the speech engine spoke it
    with (flite's times, or flite's fitted to Piper's audio), with its loudness for the
    jaw's opening; from the sound alone for uploaded narration (``narration_url``), which
    has no phonemes."""
    speech = plan.speech
    assert speech is not None
    phonemes, timing = speech.phonemes, speech.timing
    if not phonemes:
        return visemes_from_audio(speech.samples, speech.rate, offset_seconds=speech.offset_seconds)
    return visemes_from_phonemes(
        [(p.symbol, p.start, p.end) for p in phonemes],
        speech.samples,
        speech.rate,
        offset_seconds=speech.offset_seconds,
        source=f"from the phonemes ({timing}) and the speech's loudness",
    )
