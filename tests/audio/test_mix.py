"""The mix: BS.1770 loudness, -16 LUFS, true peak under -1 dBFS, exact length, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from kinora.audio import AudioRequest, plan_audio, render_soundtrack, warm_up
from kinora.audio.loudness import integrated_loudness, k_weighting, true_peak_dbfs
from kinora.audio.mix import duck_envelope, limit

RATE = 48000
NARRATION = "A lighthouse stands on the cliff while the waves crash below in the storm."


def test_k_weighting_matches_the_standard_at_48k() -> None:
    sos = k_weighting(48000)
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621])


def test_full_scale_997hz_sine_in_one_channel_is_minus_3_lufs() -> None:
    t = np.arange(5 * RATE) / RATE
    sine = np.sin(2 * np.pi * 997 * t)
    one = np.stack([sine, np.zeros_like(sine)], axis=1)
    assert integrated_loudness(one, RATE) == pytest.approx(-3.01, abs=0.05)
    assert integrated_loudness(one * 0.1, RATE) == pytest.approx(-23.01, abs=0.05)
    assert integrated_loudness(np.zeros((RATE, 2)), RATE) < -100


def test_limiter_holds_the_true_peak() -> None:
    rng = np.random.default_rng(0)
    loud = np.clip(rng.standard_normal((2 * RATE, 2)), -3, 3)
    assert true_peak_dbfs(limit(loud, RATE)) <= -1.0


def test_music_ducks_under_speech() -> None:
    speech = np.zeros((4 * RATE, 2))
    t = np.arange(RATE) / RATE
    speech[RATE : 2 * RATE] = (0.5 * np.sin(2 * np.pi * 150 * t))[:, None]
    gain_db = 20 * np.log10(duck_envelope(speech, RATE))
    assert gain_db[int(1.5 * RATE)] == pytest.approx(-9.0, abs=0.5)
    assert gain_db[int(0.2 * RATE)] > -0.5 and gain_db[int(3.6 * RATE)] > -0.5


REQUESTS = {
    "everything": AudioRequest(
        narrator="Rachel",
        narration=NARRATION,
        bg_music_prompt="epic cinematic orchestra",
        native_audio=True,
        prompt="a magical lighthouse by the sea in a storm",
        camera="Zoom in",
        seed=5,
    ),
    "music": AudioRequest(bg_music_prompt="upbeat electronic dance", seed=1),
    "effects": AudioRequest(native_audio=True, prompt="a quiet forest", camera="Pan left"),
    "speech": AudioRequest(narrator="Bill", narration=NARRATION),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_mix_loudness_peak_and_length(name: str) -> None:
    warm_up()
    plan = plan_audio(REQUESTS[name], motion_seconds=6.4)
    seconds = plan.video_seconds + 0.01234  # any length, to the sample
    track = render_soundtrack(plan, seconds=seconds)
    assert track.samples.shape == (round(seconds * RATE), 2)
    assert track.samples.dtype == np.float32 and track.rate == RATE
    measured = integrated_loudness(track.samples, RATE)
    assert measured == pytest.approx(-16.0, abs=1.0)
    assert track.lufs == pytest.approx(measured, abs=0.01)
    assert true_peak_dbfs(track.samples) < -1.0


def test_speech_stays_on_top_of_the_music() -> None:
    plan = plan_audio(REQUESTS["everything"], motion_seconds=5.0)
    assert plan.speech is not None
    track = render_soundtrack(plan, seconds=plan.video_seconds)
    mixed = track.samples[: len(plan.speech.samples)]
    start = int(0.3 * RATE)
    speech = plan.speech.samples[: len(mixed) - start]
    dry = mixed[start : start + len(speech), 0]
    # The speech explains most of the mix while it is talking (correlation well above 0.7).
    corr = np.corrcoef(dry, speech[:, 0])[0, 1]
    assert corr > 0.7


def test_soundtrack_is_deterministic() -> None:
    plan = plan_audio(REQUESTS["everything"], motion_seconds=5.0)
    a = render_soundtrack(plan, seconds=6.0)
    b = render_soundtrack(plan_audio(REQUESTS["everything"], motion_seconds=5.0), seconds=6.0)
    assert np.array_equal(a.samples, b.samples)


def test_silent_request_gives_silence() -> None:
    track = render_soundtrack(plan_audio(AudioRequest(), motion_seconds=3.0), seconds=3.0)
    assert track.samples.shape == (3 * RATE, 2) and not track.samples.any()
