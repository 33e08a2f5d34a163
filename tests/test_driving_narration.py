"""character_animate with a driving video that has its own sound, plus narration (issue 18):
the narration replaces the driver's sound and drives the character's mouth.

Through the real API and worker: Megamind's close-up with a 330 Hz tone as its sound drives
the astronaut, and George speaks a sentence. The downloaded MP4 shows that

- its soundtrack is the narration: the driver's tone is gone from its spectrum, its loudness
  follows the same sentence synthesised apart, and it lasts as long as the speech (lead +
  speech + tail), not the driver's 1.5 s;
- the character's mouth, measured by the face mesh on the decoded frames, opens with the
  narration's loudness (not with the driver's mouth, which the engine shuts: the history's
  config records ``mouth: speech`` and the lip-sync report);

so it would fail if the driver's sound were kept (the tone would dominate, the length would
be the driver's) or if the driver's mouth moved the character's (no correlation with speech).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kinora.audio import SPEECH_LEAD_SECONDS, SPEECH_TAIL_SECONDS
from kinora.audio.speech import synthesize
from kinora.audio.visemes import loudness_per_frame
from kinora.engines.people.landmarks import FaceMesh, track_face
from kinora.video.encode import probe, read_audio, read_frames
from tests.conftest import MODELS_DIR, Api
from tests.test_driving_video import _download, _megamind_driver, _post

NARRATOR = "George"
NARRATION = "Hello there. My name is Joe. It is a lovely morning."
TONE_HZ = 330.0  # the driver's sound (tests.test_driving_video._megamind_driver)
DRIVER_SECONDS = 1.5


def _tone_share(samples: npt.NDArray[np.float32], rate: int) -> float:
    """The share of the sound's power within 10 Hz of the driver's tone."""
    mono = np.asarray(samples, np.float64).mean(axis=1)
    power = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    near = np.abs(freqs - TONE_HZ) <= 10.0
    return float(power[near].sum() / power.sum())


def _openings(frames: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float64]:
    """The inner lips' gap over the face's height per frame, nan where no face (as in
    tests/engines/test_lipsync.py)."""
    previous: FaceMesh | None = None
    out = []
    for frame in frames:
        previous = track_face(frame, previous, models_dir=MODELS_DIR)
        out.append(previous.mouth_opening("face_height") if previous else np.nan)
    return np.array(out)


def test_narration_replaces_the_drivers_sound_and_moves_the_mouth(
    api: Api, testdata: Path, tmp_path: Path
) -> None:
    driver = _megamind_driver(tmp_path / "driver.mp4", seconds=DRIVER_SECONDS)
    driver_track = read_audio(tmp_path / "driver.mp4")
    assert driver_track is not None
    assert _tone_share(*driver_track) > 0.9  # the driver's own sound is the tone
    audio_option = json.dumps({"narrator": NARRATOR, "narration": NARRATION})
    r = _post(api, (testdata / "astronaut.png").read_bytes(), driver, audio_option=audio_option)
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=300)
    assert media["processing_status"] == "success", media["error"]
    assert media["service_name"] == "kinora-character"

    # the history entry: the driver moves the character, the narration its mouth
    entry = media["video_history"][-1]
    assert "lip_sync" not in {item["field"] for item in entry["ignored"]}
    config = entry["engine_config"]["configs"][0]
    assert config["character"]["motion"] == "driver"
    assert config["options"].get("mouth") == "speech"
    report = config["lip_sync"]
    assert report["visemes"].startswith("from the phonemes")
    assert report["frames_speaking"] > 0

    path = _download(api, media, tmp_path)
    info = probe(path)
    fps = float(info["fps"])
    spoken = synthesize(NARRATION, narrator=NARRATOR, rate=48000)
    speech_seconds = len(spoken.samples) / 48000
    expected = SPEECH_LEAD_SECONDS + speech_seconds + SPEECH_TAIL_SECONDS
    assert abs(config["duration"] - expected) < 0.1, (config["duration"], expected)
    assert abs(info["duration"] - expected) < 0.2 and info["duration"] > DRIVER_SECONDS + 1

    # the soundtrack: the narration, not the driver's tone
    track = read_audio(path)
    assert track is not None
    samples, rate = track
    share = _tone_share(samples, rate)
    assert share < 0.05, share
    frames = read_frames(path)
    heard = loudness_per_frame(samples, rate, fps=fps, frames=len(frames))
    loud = loudness_per_frame(
        spoken.samples, 48000, fps=fps, frames=len(frames), offset_seconds=SPEECH_LEAD_SECONDS
    )
    speaking = loud > loud.max() - 20.0
    quiet = loud < -100.0  # the lead before the speech and the tail after it
    assert speaking.sum() > 10 and quiet.sum() > 5
    assert heard[speaking].mean() > heard[quiet].mean() + 30.0, (heard[speaking], heard[quiet])
    sound_corr = float(np.corrcoef(np.maximum(heard, -60.0), np.maximum(loud, -60.0))[0, 1])
    assert sound_corr >= 0.8, sound_corr

    # the mouth: opens with the narration's loudness
    mouth = _openings(frames)
    found = ~np.isnan(mouth)
    assert found.mean() > 0.9, found.mean()
    mouth_corr = float(np.corrcoef(mouth[found], np.maximum(loud, -60.0)[found])[0, 1])
    assert mouth_corr >= 0.4, mouth_corr
    # the photo's mouth is a little open at rest (about 0.04 of the face's height)
    assert mouth[found & speaking].mean() > mouth[found & quiet].mean() + 0.015
    print(
        f"tone share {share:.4f} (driver {_tone_share(*driver_track):.3f}); sound corr "
        f"{sound_corr:.2f}; mouth corr {mouth_corr:.2f}; {info['duration']:.2f}s"
    )
