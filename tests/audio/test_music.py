"""Music from a description: different words sound different (measured), same seed same music."""

from __future__ import annotations

import numpy as np
import pytest

from kinora.audio.analysis import band_energy_ratio, estimate_tempo, spectral_centroid
from kinora.audio.music import DRUM_CHANNEL, Music, derive_style, generate_music, loop_to_length

RATE = 48000


@pytest.fixture(scope="module")
def dance() -> Music:
    return generate_music("upbeat electronic dance", seconds=8.0, seed=7)


@pytest.fixture(scope="module")
def piano() -> Music:
    return generate_music("slow sad piano", seconds=8.0, seed=7)


def test_styles_follow_the_words() -> None:
    edm = derive_style("upbeat electronic dance")
    sad = derive_style("slow sad piano")
    assert edm.tempo > 120 and edm.mode == "major" and edm.drums == "four_on_floor"
    assert sad.tempo < 75 and sad.mode == "minor" and sad.drums == "none"
    assert sad.lead == 0 and edm.lead != 0  # piano vs synth lead
    assert derive_style("rock at 140 bpm").tempo == 140
    key = derive_style("jazz in D minor")
    assert key.key == "D minor" and key.genre == "jazz"
    assert derive_style("calm ambient flute").lead == 73


def test_measured_tempo_differs(dance: Music, piano: Music) -> None:
    fast = estimate_tempo(dance.samples, RATE)
    slow = estimate_tempo(piano.samples, RATE)
    assert fast == pytest.approx(dance.style.tempo, rel=0.04)
    assert slow == pytest.approx(piano.style.tempo, rel=0.04)
    assert fast > 1.6 * slow


def test_measured_spectrum_differs(dance: Music, piano: Music) -> None:
    # Hats and saw leads put energy above 3 kHz; a soft piano has almost none.
    assert band_energy_ratio(dance.samples, RATE, split_hz=3000) > 10 * band_energy_ratio(
        piano.samples, RATE, split_hz=3000
    )
    assert spectral_centroid(dance.samples, RATE) != pytest.approx(
        spectral_centroid(piano.samples, RATE), rel=0.05
    )


def test_midi_has_chords_bass_melody_and_drums(dance: Music) -> None:
    channels: dict[int, int] = {}
    for msg in dance.midi:
        if msg.type == "note_on" and msg.velocity > 0:
            channels[msg.channel] = channels.get(msg.channel, 0) + 1
    assert {0, 1, 2, DRUM_CHANNEL} <= set(channels)
    assert channels[DRUM_CHANNEL] > 20


def test_length_is_exact_and_ends_in_a_fade(piano: Music) -> None:
    music = generate_music("slow sad piano", seconds=7.3333, seed=1)
    assert music.samples.shape == (round(7.3333 * RATE), 2)
    assert music.samples.dtype == np.float32
    tail = np.abs(music.samples[-int(0.02 * RATE) :]).max()
    body = np.abs(music.samples).max()
    assert tail < 0.02 * body
    # The last chord is still sounding into the fade (not cut off before it).
    fade_region = music.samples[-int(1.5 * RATE) : -int(0.5 * RATE)]
    assert np.sqrt(np.mean(fade_region**2)) > 1e-4


def test_same_seed_same_music_other_seed_other_music() -> None:
    a = generate_music("lofi hip hop", seconds=4.0, seed=3)
    b = generate_music("lofi hip hop", seconds=4.0, seed=3)
    c = generate_music("lofi hip hop", seconds=4.0, seed=4)
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


def test_user_music_loops_to_length() -> None:
    short = np.full((RATE, 2), 0.1, dtype=np.float32)
    out = loop_to_length(short, seconds=3.5, rate=RATE)
    assert out.shape == (round(3.5 * RATE), 2)
    assert abs(out[int(2.2 * RATE), 0]) > 0.05  # looped, not padded with silence
