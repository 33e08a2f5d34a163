"""Kinora's sound: narration (21 voices), music from a description, native effects, the mix.

Two steps because the video's length depends on the speech: ``plan_audio`` synthesises or
decodes narration once and fixes the clip length; ``render_soundtrack`` then builds the final
48 kHz stereo mix for exactly that many samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy import signal
else:
    from kinora.audio.lazy import signal

from kinora.audio.decode import decode_audio
from kinora.audio.effects import native_effects
from kinora.audio.loudness import SILENCE_LUFS
from kinora.audio.mix import TARGET_LUFS, mix
from kinora.audio.music import derive_style, generate_music, loop_to_length, warm_up
from kinora.audio.speech import VOICES, Phoneme, VoiceSpec, count_words, synthesize
from kinora.errors import RenderError
from kinora.vocab import DEFAULT_NARRATOR

__all__ = [
    "DEFAULT_NARRATOR",
    "DRIVER_SOURCE",
    "MAX_NARRATED_SECONDS",
    "RATE",
    "SPEECH_LEAD_SECONDS",
    "SPEECH_TAIL_SECONDS",
    "TARGET_LUFS",
    "VOICES",
    "AudioPlan",
    "AudioRequest",
    "Soundtrack",
    "SpeechPlan",
    "VoiceSpec",
    "plan_audio",
    "render_soundtrack",
    "warm_up",
]

RATE = 48000
#: A narrated clip lasts lead + speech + tail, never more than this (longer speech is faded).
MAX_NARRATED_SECONDS = 30.0
SPEECH_LEAD_SECONDS = 0.3
SPEECH_TAIL_SECONDS = 1.0
DRIVER_SOURCE = "driving video"
"""SpeechPlan.source of a driving video's own sound (its length is the video's, not speech's)."""
#: Narration text without a narrator is spoken by this voice.


@dataclass(frozen=True)
class AudioRequest:
    narrator: str | None = None
    narration: str | None = None
    narration_audio: bytes | None = None
    bg_music_prompt: str | None = None
    bg_music_audio: bytes | None = None
    native_audio: bool = False
    prompt: str = ""
    camera: str = ""
    seed: int = 0
    driver_audio: bytes | None = None
    """A driving video's own sound (character_animate): kept unless narration replaces it."""

    @property
    def has_narration(self) -> bool:
        return bool(self.narration_audio) or bool(self.narration and self.narration.strip())

    @property
    def wants_audio(self) -> bool:
        """False when nothing asks for sound: the video then has no audio stream at all."""
        return (
            self.has_narration
            or bool(self.driver_audio)
            or bool(self.bg_music_prompt and self.bg_music_prompt.strip())
            or bool(self.bg_music_audio)
            or self.native_audio
        )


@dataclass(frozen=True, eq=False, kw_only=True)
class SpeechPlan:
    """Narration rendered once at 48 kHz stereo, placed ``offset_seconds`` into the clip."""

    samples: npt.NDArray[np.float32]
    rate: int
    source: str  # narrator name or "narration_url"
    words: int
    offset_seconds: float
    phonemes: tuple[Phoneme, ...] = ()
    """The speech engine's phonemes and their times (empty for uploaded or driver sound)."""
    timing: str = ""
    """Where those times come from ("flite", "flite fitted to piper")."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True, eq=False, kw_only=True)
class AudioPlan:
    request: AudioRequest
    video_seconds: float
    speech: SpeechPlan | None = None
    music_audio: npt.NDArray[np.float32] | None = None  # decoded bg_music_url
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, eq=False, kw_only=True)
class Soundtrack:
    samples: npt.NDArray[np.float32]  # (n, 2), n == round(seconds * rate)
    rate: int
    lufs: float
    true_peak_dbfs: float = SILENCE_LUFS
    layers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def plan_audio(request: AudioRequest, *, motion_seconds: float) -> AudioPlan:
    """Synthesise or decode narration once and fix the clip length around it."""
    notes: list[str] = []
    speech: SpeechPlan | None = None
    if request.narration_audio:
        samples = decode_audio(request.narration_audio, rate=RATE, what="narration_url")
        speech = SpeechPlan(
            samples=samples, rate=RATE, source="narration_url", words=0, offset_seconds=0.0
        )
        if request.narration:
            notes.append("narration_url given: narration text ignored")
    elif request.narration and request.narration.strip():
        narrator = request.narrator or DEFAULT_NARRATOR
        if request.narrator is None:
            notes.append(f"no narrator given: narration spoken by {DEFAULT_NARRATOR}")
        spoken = synthesize(request.narration, narrator=narrator, rate=RATE)
        notes.extend(spoken.notes)
        mono = spoken.samples
        speech = SpeechPlan(
            samples=np.ascontiguousarray(np.stack([mono, mono], axis=1)),
            rate=RATE,
            source=narrator,
            words=count_words(request.narration),
            offset_seconds=SPEECH_LEAD_SECONDS,
            phonemes=tuple(spoken.phonemes),
            timing=spoken.timing,
        )
    elif request.driver_audio:
        try:
            samples = decode_audio(request.driver_audio, rate=RATE, what="the driving video")
        except RenderError as exc:
            notes.append(f"{exc.message}: the driving video's sound is not kept")
        else:
            speech = SpeechPlan(
                samples=samples, rate=RATE, source=DRIVER_SOURCE, words=0, offset_seconds=0.0
            )
    elif request.narrator:
        notes.append("narrator given without narration text: no speech")
    music_audio = None
    if request.bg_music_audio:
        music_audio = decode_audio(request.bg_music_audio, rate=RATE, what="bg_music_url")
    if speech is not None and speech.source == DRIVER_SOURCE:
        video_seconds = motion_seconds  # the driving video's length: its sound plays along
    elif speech is not None:
        wanted = speech.offset_seconds + speech.seconds + SPEECH_TAIL_SECONDS
        if wanted > MAX_NARRATED_SECONDS:
            notes.append(
                f"narration of {speech.seconds:.1f}s cut to fit the "
                f"{MAX_NARRATED_SECONDS:.0f}s maximum"
            )
        video_seconds = min(MAX_NARRATED_SECONDS, wanted)
    else:
        video_seconds = motion_seconds
    return AudioPlan(
        request=request,
        video_seconds=video_seconds,
        speech=speech,
        music_audio=music_audio,
        notes=tuple(notes),
    )


def _resample(x: npt.NDArray[np.float32], src: int, dst: int) -> npt.NDArray[np.float64]:
    if src == dst:
        return np.asarray(x, dtype=np.float64)
    return np.asarray(signal.resample_poly(x.astype(np.float64), dst, src, axis=0))


def _place_speech(plan: SpeechPlan, *, n: int, rate: int) -> npt.NDArray[np.float64]:
    x = _resample(plan.samples, plan.rate, rate)
    out = np.zeros((n, 2))
    start = min(n, round(plan.offset_seconds * rate))
    take = min(len(x), n - start)
    out[start : start + take] = x[:take]
    if take < len(x):  # cut short by the maximum length: fade rather than click
        fade = min(take, int(0.5 * rate))
        out[start + take - fade : start + take] *= np.linspace(1, 0, fade)[:, None]
    return out


def render_soundtrack(plan: AudioPlan, *, seconds: float, rate: int = RATE) -> Soundtrack:
    """The final mix for a clip of ``seconds``: exactly round(seconds * rate) frames."""
    if seconds <= 0:
        raise RenderError("soundtrack length must be positive")
    n = round(seconds * rate)
    req = plan.request
    notes = list(plan.notes)
    layers: list[str] = []
    speech = music = effects = None
    if plan.speech is not None:
        speech = _place_speech(plan.speech, n=n, rate=rate)
        layers.append(f"speech:{plan.speech.source}")
    if plan.music_audio is not None:
        music = loop_to_length(
            _resample(plan.music_audio, RATE, rate).astype(np.float32), seconds=seconds, rate=rate
        ).astype(np.float64)
        layers.append("music:bg_music_url")
        if req.bg_music_prompt:
            notes.append("bg_music_url given: bg_music_prompt ignored")
    elif req.bg_music_prompt and req.bg_music_prompt.strip():
        generated = generate_music(req.bg_music_prompt, seconds=seconds, seed=req.seed, rate=rate)
        music = generated.samples.astype(np.float64)
        style = generated.style
        layers.append(f"music:{style.genre} {style.tempo:.0f}bpm {style.key}")
    if req.native_audio:
        fx = native_effects(req.prompt, req.camera, seconds=seconds, rate=rate, seed=req.seed)
        effects = fx.samples
        layers.extend(f"fx:{name}" for name in fx.layers)
    if speech is None and music is None and effects is None:
        return Soundtrack(
            samples=np.zeros((n, 2), dtype=np.float32),
            rate=rate,
            lufs=SILENCE_LUFS,
            notes=(*notes, "nothing asked for sound: silence"),
        )
    result = mix(rate=rate, n=n, speech=speech, music=music, effects=effects)
    return Soundtrack(
        samples=result.samples,
        rate=rate,
        lufs=result.lufs,
        true_peak_dbfs=result.true_peak_dbfs,
        layers=tuple(layers),
        notes=tuple(notes),
    )


# Re-exported for callers that want to show what a description turned into.
describe_music = derive_style
