"""The speech engine's phonemes and their times, and the mouth shapes made from them.

flite voices report their own phonemes (``-psdur``); Piper's are flite's for the same words,
fitted to Piper's audio. The visemes (lips pressed for m/b/p, rounded for uw/ow, spread for
iy...) are checked on the track and, for the shapes, on a real portrait through the face mesh.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kinora.audio import AudioRequest, plan_audio
from kinora.audio.speech import PAUSE, Speech, speech_runs, synthesize
from kinora.audio.visemes import HOP_SECONDS, VisemeTrack, visemes_from_phonemes
from kinora.engines.people.landmarks import track_face
from kinora.engines.people.lipsync import FacePose, FaceTrack, animate_face
from kinora.pipeline.sound import viseme_track

from ._util import encode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
from engine_helpers import MODELS_DIR, load_photo

TEXT = "Bob moves five blue boats. We see me."
SPOKEN = [
    "b",
    "aa",
    "b",
    "m",
    "uw",
    "v",
    "z",
    "f",
    "ay",
    "v",
    "b",
    "l",
    "uw",
    "b",
    "ow",
    "t",
    "s",
    "w",
    "iy",
    "s",
    "iy",
    "m",
    "iy",
]
"""The words' phonemes in CMU's lexicon, as flite speaks them."""


@pytest.fixture(scope="module", params=["Sarah", "George"])
def speech(request: pytest.FixtureRequest) -> Speech:
    """Sarah is a flite voice (its own times), George a Piper one (flite's times fitted)."""
    return synthesize(TEXT, narrator=request.param)


def _step_open(track: VisemeTrack, t: float) -> float:
    return float(track.open[min(len(track.open) - 1, int(t / HOP_SECONDS))])


def test_the_timeline_covers_the_words_within_the_audio(speech: Speech) -> None:
    assert speech.timing == ("flite" if speech.base_used != "joe" else "flite fitted to piper")
    spoken = [p.symbol for p in speech.phonemes if p.symbol != PAUSE]
    assert spoken == SPOKEN
    starts = np.array([p.start for p in speech.phonemes])
    ends = np.array([p.end for p in speech.phonemes])
    assert np.all(ends > starts) and np.all(starts[1:] >= ends[:-1] - 1e-6)
    assert starts[0] >= 0.0 and ends[-1] <= speech.seconds + 1e-6
    # The phonemes sit on the speech: nearly all their time is in the audio's speech runs,
    # and the pause between the sentences is quiet.
    runs = speech_runs(speech.samples, speech.rate, min_pause=0.2)
    grid = np.arange(0.0, speech.seconds, 0.005)
    loud = np.zeros(grid.shape, bool)
    for a, b in runs:
        loud |= (grid >= a - 0.03) & (grid < b + 0.03)
    voiced = np.zeros(grid.shape, bool)
    for p in speech.phonemes:
        if p.symbol != PAUSE:
            voiced |= (grid >= p.start) & (grid < p.end)
    assert (voiced & loud).sum() >= 0.9 * voiced.sum()
    assert (voiced & loud).sum() >= 0.85 * loud.sum()


def test_lips_press_for_m_and_b_and_open_for_the_vowels(speech: Speech) -> None:
    track = visemes_from_phonemes(
        [(p.symbol, p.start, p.end) for p in speech.phonemes], speech.samples, speech.rate
    )
    assert track.press is not None and track.teeth is not None
    vowels = [p for p in speech.phonemes if p.symbol in {"aa", "ay", "ow"}]
    assert (
        max(
            float(track.open[int(p.start / HOP_SECONDS) : int(p.end / HOP_SECONDS)].max())
            for p in vowels
        )
        > 0.4
    )
    closures = [p for p in speech.phonemes if p.symbol in {"m", "b"} and p.end - p.start > 0.05]
    assert len(closures) >= 3
    for p in closures:
        late = p.start + 0.7 * (p.end - p.start)  # the lips have shut by then
        assert _step_open(track, late) < 0.05, (p, _step_open(track, late))
        assert track.press[int(late / HOP_SECONDS)] > 0.8
    # f and v: the lower lip under the teeth.
    tucked = [p for p in speech.phonemes if p.symbol in {"f", "v"} and p.end - p.start > 0.05]
    assert tucked and all(track.teeth[int((p.end - 0.01) / HOP_SECONDS)] > 0.6 for p in tucked)

    # Rounded "uw", "ow" against spread "iy".
    def mean_wide(symbols: set[str]) -> float:
        picks = [
            float(track.wide[int((p.start + p.end) / 2 / HOP_SECONDS)])
            for p in speech.phonemes
            if p.symbol in symbols
        ]
        return float(np.mean(picks))

    assert mean_wide({"uw", "ow"}) < -0.4 < 0.4 < mean_wide({"iy"})
    # Between the sentences the mouth is shut.
    pause = max(
        (p for p in speech.phonemes[1:-1] if p.symbol == PAUSE), key=lambda p: p.end - p.start
    )
    assert _step_open(track, (pause.start + pause.end) / 2) < 0.05


def test_uploaded_narration_keeps_the_sound_only_track() -> None:
    """narration_url has no phonemes: its track is read from its sound."""
    narrated = synthesize(TEXT, narrator="Sarah")
    stereo = np.stack([narrated.samples, narrated.samples], axis=1)
    request = AudioRequest(
        narration_audio=encode(stereo, rate=narrated.rate, fmt="wav"),
        native_audio=False,
        prompt="",
        camera="Static",
        seed=0,
    )
    plan = plan_audio(request, motion_seconds=3.0)
    track = viseme_track(plan)
    assert track.press is None and track.source == "from the speech's sound"
    spoken = plan_audio(
        AudioRequest(
            narrator="Sarah", narration=TEXT, native_audio=False, prompt="", camera="Static", seed=0
        ),
        motion_seconds=3.0,
    )
    from_phonemes = viseme_track(spoken)
    assert from_phonemes.press is not None
    assert from_phonemes.source == "from the phonemes (flite) and the speech's loudness"


def _portrait() -> np.ndarray:
    image = load_photo("astronaut.png")
    return np.ascontiguousarray(cv2.resize(image, (320, 320), interpolation=cv2.INTER_AREA))


def test_rounded_vowels_make_a_narrower_rounder_mouth_than_spread_ones() -> None:
    image = _portrait()
    points = FaceTrack(models_dir=MODELS_DIR).update(image)
    assert points is not None
    measured = {}
    for name, pose in {
        "rest": FacePose(),
        "rounded": FacePose(open=0.6, wide=-1.0),
        "spread": FacePose(open=0.6, wide=1.0),
        "pressed": FacePose(press=1.0),
    }.items():
        mesh = track_face(animate_face(image, points, pose), models_dir=MODELS_DIR)
        assert mesh is not None
        measured[name] = (mesh.mouth_width, mesh.mouth_gap)
    (rw, rg), (sw, sg) = measured["rounded"], measured["spread"]
    assert rw < 0.95 * sw, measured
    assert rg / rw > 1.1 * (sg / sw), measured
    assert min(rg, sg) > measured["rest"][1] + 0.3  # both open (the photo smiles a little)
    assert measured["pressed"][1] < measured["rest"][1] + 0.5  # shut
