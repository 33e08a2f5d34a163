"""Extend (issue 20): ``POST /media/{id}/extend`` continues a finished media from its last
frame, through the real app, worker and engines on a real photo.

The extended media's result is one video that lasts the sum of the lengths, plays on across
the join (the frame step there is within the clip's own steps), keeps the first part's
pictures and sound, and was charged only for the new seconds; its video_history entry says
EXTEND_VIDEO and the version before stays downloadable. Bad extensions are a clear 4xx and
charge nothing.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from kinora.domain.credits import cost_of
from kinora.video.encode import probe, read_audio, read_frames
from tests.conftest import Api


def _create(api: Api, photo: Path, **fields: str) -> dict[str, Any]:
    r = api.client.post(
        "/media",
        data={"duration": "2", **fields},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success", media["error"]
    return media


def _download(api: Api, media_id: str, tmp_path: Path, name: str, **params: str) -> Path:
    r = api.client.get(f"/media/{media_id}/download", params=params, headers=api.headers())
    assert r.status_code == 200, r.text
    out = tmp_path / name
    out.write_bytes(r.content)
    return out


def _steps(frames: list[np.ndarray]) -> np.ndarray:
    return np.array([np.abs(b.astype(np.int16) - a).mean() for a, b in itertools.pairwise(frames)])


def test_an_extended_media_plays_on_for_the_sum_of_the_lengths(
    api: Api, testdata: Path, tmp_path: Path
) -> None:
    media = _create(
        api, testdata / "astronaut.png", camera_control="Zoom in", bg_music_prompt="soft piano"
    )
    first = _download(api, media["id"], tmp_path, "first.mp4")
    first_frames = read_frames(first)
    before = api.credits()
    r = api.client.post(
        f"/media/{media['id']}/extend",
        json={"duration": 2, "camera_control": "Pan left"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    extended = api.wait(media["id"], timeout=180)
    assert extended["processing_status"] == "success", extended["error"]
    # charged for the new two seconds only
    assert before - api.credits() == cost_of(quantity=1, duration=2)
    entry = extended["video_history"][-1]
    assert entry["generate_type"] == "EXTEND_VIDEO"
    assert [e["generate_type"] for e in extended["video_history"]] == [
        "GENERATE_VIDEO",
        "EXTEND_VIDEO",
    ]
    assert entry["spec"]["extends"]["bullet_version"] == "1"
    assert entry["spec"]["camera_control"] == "Pan left"
    # one video, as long as both
    out = _download(api, media["id"], tmp_path, "extended.mp4")
    info = probe(out)
    frames = read_frames(out)
    assert len(frames) == len(first_frames) + 48
    assert abs(info["duration"] - (len(first_frames) / 24 + 2.0)) < 0.1
    assert abs(extended["result"][0]["duration"] - info["duration"]) < 0.1
    # the first part is the video it extends, frame for frame
    n = len(first_frames)
    for a, b in zip(first_frames, frames[:n], strict=True):
        assert np.array_equal(a, b)
    # no seam: the step across the join is within the clip's own steps
    steps = _steps(frames)
    seam = steps[n - 1]
    others = np.delete(steps, n - 1)
    assert seam <= others.max(), (seam, others.max())
    # (the motion eases out before the join and in after it, as each clip's does; what the
    # join itself changes is the second encode of the same picture, a level or two)
    assert seam <= np.median(others), (seam, np.median(others))
    # the extension moved the picture (a pan, not a still tail)
    assert np.abs(frames[-1].astype(np.int16) - frames[n]).mean() > 2.0
    # sound all along: the first part's own, then the new seconds' music
    first_audio, _ = read_audio(first) or (None, 0)
    audio, rate = read_audio(out) or (None, 0)
    assert first_audio is not None and audio is not None
    assert abs(len(audio) / rate - info["duration"]) < 0.1
    k = min(len(first_audio), n * rate // 24) - 2048
    a, b = first_audio[1024:k, 0], audio[1024:k, 0]
    assert float(np.corrcoef(a, b)[0, 1]) > 0.95
    assert np.abs(audio[n * rate // 24 + 4800 :]).max() > 0.01
    # it continued from the last frame kept beside the video (not decoded through), and
    # keeps its own last frame for the next extension
    assert entry["spec"]["extends"]["last_frame"].endswith("/last_0.png")
    # the version before stays downloadable
    old = _download(api, media["id"], tmp_path, "v1.mp4", bullet_version="1")
    assert len(read_frames(old)) == n
    r = api.client.get(
        f"/media/{media['id']}/download", params={"bullet_version": "9"}, headers=api.headers()
    )
    assert r.status_code == 400 and "no version 9" in r.text


def test_bad_extensions_are_refused_and_charge_nothing(api: Api, testdata: Path) -> None:
    media = _create(api, testdata / "astronaut.png")
    before = api.credits()
    for body, status, field in (
        ({"duration": 11}, 422, "duration"),
        ({"fps": 60}, 422, "fps"),
        ({"index": 2}, 422, "index"),
        ({"camera_control": "Sideways"}, 422, "camera_control"),
        ({"colour": "red"}, 422, "colour"),
    ):
        r = api.client.post(f"/media/{media['id']}/extend", json=body, headers=api.headers())
        assert r.status_code == status, (body, r.text)
        assert field in r.text, (body, r.text)
    r = api.client.post("/media/nope/extend", json={}, headers=api.headers())
    assert r.status_code == 404, r.text
    # a media still rendering cannot be extended
    photo = testdata / "astronaut.png"
    r = api.client.post(
        "/media",
        data={"duration": "2"},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    busy = r.json()["data"]["id"]
    r = api.client.post(f"/media/{busy}/extend", json={}, headers=api.headers())
    assert r.status_code == 400, r.text
    api.wait(busy, timeout=180)
    assert api.credits() == before - cost_of(quantity=1, duration=2)
    assert json.loads(r.text)  # the API's error format is JSON
