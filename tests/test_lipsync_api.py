"""Lip sync through the API: the history entry says which face spoke the narration, and how.

(No face: tests/engines/test_lipsync.py checks the plan's ``ignored``, which the worker
records in the history entry as it records every other ignored field.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Api


def create(api: Api, photo: Path, narration: str, **audio: str) -> dict:
    option = {"narrator": "George", "narration": narration, **audio}
    r = api.client.post(
        "/media",
        data={"audio_option": json.dumps(option)},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success", media["error"]
    return media


def test_the_history_entry_records_the_lip_sync(api: Api, testdata: Path) -> None:
    media = create(api, testdata / "astronaut.png", "Hello from space.", speaker="center")
    entry = media["video_history"][-1]
    assert "lip_sync" not in {item["field"] for item in entry["ignored"]}
    report = entry["engine_config"]["configs"][0]["lip_sync"]
    assert report["engine"] == "built-in"
    # George is a Piper voice: flite's phoneme timeline fitted to its audio drives the mouth.
    assert report["visemes"].startswith("from the phonemes")
    # The speaker asked for reaches the filter (the only face is also the one nearest the
    # centre); tests/engines/test_lipsync_speaker.py tells two faces apart.
    assert report["speaker"] == "center"
    assert report["face"] == "the face nearest the picture's centre"
    assert report["frames_with_face"] > 0.9 * report["frames"]
    assert report["frames_speaking"] > 0
    x0, y0, x1, y1 = report["face_box"]
    assert 0 <= x0 < x1 and 0 <= y0 < y1


def test_the_speaker_is_checked_and_kept(api: Api, testdata: Path) -> None:
    """``audio_option.speaker`` picks the face that speaks when there are several: an unknown
    value is a 422 naming the field (nothing created or charged); a known one, in any case
    or spelling of centre, is stored as its vocabulary value."""
    photo = testdata / "astronaut.png"
    before = api.client.get("/credits", headers=api.headers()).json()
    bad = {"narrator": "George", "narration": "Hi.", "speaker": "tallest"}
    r = api.client.post(
        "/media",
        data={"audio_option": json.dumps(bad)},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 422, r.text
    assert "speaker" in r.text and "largest, left, right, center" in r.text
    assert api.client.get("/credits", headers=api.headers()).json() == before
    good = {"narrator": "George", "narration": "Hi.", "speaker": "Centre"}
    r = api.client.post(
        "/media",
        params={"dry_run": "true"},
        data={"audio_option": json.dumps(good)},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    from kinora.domain.requests import MediaCreate

    request = MediaCreate.model_validate({"prompt": "", "audio_option": good})
    assert request.to_spec().audio.speaker == "center"
