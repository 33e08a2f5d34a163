"""Lip sync through the API: the history entry says which face spoke the narration, and how.

(No face: tests/engines/test_lipsync.py checks the plan's ``ignored``, which the worker
records in the history entry as it records every other ignored field.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Api


def create(api: Api, photo: Path, narration: str) -> dict:
    r = api.client.post(
        "/media",
        data={"audio_option": json.dumps({"narrator": "George", "narration": narration})},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success", media["error"]
    return media


def test_the_history_entry_records_the_lip_sync(api: Api, testdata: Path) -> None:
    media = create(api, testdata / "astronaut.png", "Hello from space.")
    entry = media["video_history"][-1]
    assert "lip_sync" not in {item["field"] for item in entry["ignored"]}
    report = entry["engine_config"]["configs"][0]["lip_sync"]
    assert report["engine"] == "built-in"
    # George is a Piper voice: flite's phoneme timeline fitted to its audio drives the mouth.
    assert report["visemes"].startswith("from the phonemes")
    assert report["face"] == "the largest face"
    assert report["frames_with_face"] > 0.9 * report["frames"]
    assert report["frames_speaking"] > 0
    x0, y0, x1, y1 = report["face_box"]
    assert 0 <= x0 < x1 and 0 <= y0 < y1
