"""Narration: 21 measurably different voices, human speaking rates, planned clip length."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from kinora.api.schemas import NARRATORS
from kinora.audio import (
    MAX_NARRATED_SECONDS,
    SPEECH_LEAD_SECONDS,
    SPEECH_TAIL_SECONDS,
    VOICES,
    AudioRequest,
    plan_audio,
)
from kinora.audio.analysis import median_f0, spectral_centroid
from kinora.audio.speech import Speech, flite_available, piper_available, synthesize
from kinora.errors import RenderError

from ._util import encode, tone

TEXT = (
    "The quick brown fox jumps over the lazy dog near the quiet river at dawn, "
    "and the morning light slowly fills the valley."
)
FEMALE = {"Rachel", "Aria", "Sarah", "Laura", "Charlotte", "Alice", "Matilda", "Jessica", "Lily"}


@pytest.fixture(scope="module")
def spoken() -> dict[str, Speech]:
    return {name: synthesize(TEXT, narrator=name) for name in NARRATORS}


def test_engines_installed() -> None:
    assert piper_available()
    assert flite_available()


def test_voice_table_covers_every_narrator_once() -> None:
    assert set(VOICES) == set(NARRATORS)
    settings = {(v.engine, v.base, v.pitch, v.formant, v.pace) for v in VOICES.values()}
    assert len(settings) == len(NARRATORS)
    for name in FEMALE:
        assert VOICES[name].base == "slt" and VOICES[name].gender == "female"
    assert {v.base for v in VOICES.values()} == {"joe", "slt", "rms", "awb", "kal16"}


def test_every_voice_is_measurably_distinct(spoken: dict[str, Speech]) -> None:
    measured = {
        name: (median_f0(s.samples, s.rate), spectral_centroid(s.samples, s.rate))
        for name, s in spoken.items()
    }
    for name, (f0, _) in measured.items():
        # The voice sounds where the table says (within 8 %), and in its gender's range.
        assert abs(math.log(f0 / VOICES[name].f0_hz)) < 0.08, (name, f0)
        assert (f0 > 150) == (name in FEMALE), (name, f0)
    for a, b in itertools.combinations(measured, 2):
        (fa, ca), (fb, cb) = measured[a], measured[b]
        pitch_gap = abs(math.log(fa / fb))
        timbre_gap = abs(math.log(ca / cb))
        assert pitch_gap >= 0.03 or timbre_gap >= 0.15, (a, b, fa, fb, ca, cb)


def test_speaking_rate_is_human(spoken: dict[str, Speech]) -> None:
    for name, s in spoken.items():
        assert 110 <= s.words_per_minute <= 240, (name, s.words_per_minute)
    # Pace is honoured: Charlotte (0.92) speaks slower than Jessica (1.10), same base voice.
    assert spoken["Charlotte"].seconds > spoken["Jessica"].seconds * 1.1


def test_narration_sets_the_planned_duration() -> None:
    plan = plan_audio(AudioRequest(narrator="Roger", narration=TEXT), motion_seconds=5.0)
    assert plan.speech is not None
    assert plan.video_seconds == pytest.approx(
        SPEECH_LEAD_SECONDS + plan.speech.seconds + SPEECH_TAIL_SECONDS
    )
    assert 4.0 < plan.speech.seconds < 10.0
    assert plan.speech.samples.shape[1] == 2 and plan.speech.samples.dtype == np.float32


def test_without_narration_the_motion_length_stands() -> None:
    plan = plan_audio(AudioRequest(bg_music_prompt="calm piano"), motion_seconds=5.0)
    assert plan.video_seconds == 5.0 and plan.speech is None


def test_long_narration_is_capped() -> None:
    text = " ".join([TEXT] * 8)
    plan = plan_audio(AudioRequest(narrator="Liam", narration=text), motion_seconds=5.0)
    assert plan.video_seconds == MAX_NARRATED_SECONDS
    assert any("maximum" in note for note in plan.notes)


def test_speech_is_deterministic() -> None:
    a = synthesize("Hello there, welcome to Kinora.", narrator="George")
    b = synthesize("Hello there, welcome to Kinora.", narrator="George")
    assert np.array_equal(a.samples, b.samples)


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_narration_url_audio_wins(fmt: str) -> None:
    data = encode(tone(2.0, rate=44100), rate=44100, fmt=fmt)
    req = AudioRequest(narrator="Roger", narration=TEXT, narration_audio=data)
    plan = plan_audio(req, motion_seconds=5.0)
    assert plan.speech is not None and plan.speech.source == "narration_url"
    assert plan.speech.seconds == pytest.approx(2.0, abs=0.08)  # MP3 adds codec padding
    assert plan.video_seconds == pytest.approx(plan.speech.seconds + SPEECH_TAIL_SECONDS)
    assert median_f0(plan.speech.samples, 48000) == pytest.approx(220.0, rel=0.03)


def test_undecodable_audio_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="narration_url"):
        plan_audio(AudioRequest(narration_audio=b"not audio at all" * 50), motion_seconds=5.0)
    with pytest.raises(RenderError, match="bg_music_url"):
        plan_audio(AudioRequest(bg_music_audio=b"\x00" * 10), motion_seconds=5.0)


def test_wants_audio() -> None:
    assert not AudioRequest().wants_audio
    assert not AudioRequest(narrator="Rachel").wants_audio
    assert AudioRequest(narration="hi").wants_audio
    assert AudioRequest(native_audio=True).wants_audio
    assert AudioRequest(bg_music_audio=b"x").wants_audio
