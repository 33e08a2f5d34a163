"""media_items: images and videos at First and Last, fetched from a stand-in external host."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kinora.video.encode import Mp4Writer, iter_frames, probe, read_frames
from kinora.video.fit import cover_fit
from tests.conftest import Api, FileServer

CLIP_FRAMES = 36


@pytest.fixture
def clip(fake_external_host: FileServer, testdata: Path) -> Path:
    """1.5 s of Big Buck Bunny (from frame 300), re-encoded to MP4, on the fake host."""
    path = fake_external_host.root / "clip.mp4"
    frames = []
    for i, frame in enumerate(iter_frames(testdata / "big_buck_bunny_0_30.webm")):
        if i >= 300:
            frames.append(frame)
        if len(frames) == CLIP_FRAMES:
            break
    h, w = frames[0].shape[:2]
    with Mp4Writer(path, width=w - w % 2, height=h - h % 2, fps=24, crf=16) as writer:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[: h - h % 2, : w - w % 2]))
    return path


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def create(api: Api, items: list[dict[str, str]], **fields: str) -> dict:
    data = {"media_items": json.dumps(items), "duration": "1", "aspect_ratio": "16:9", **fields}
    r = api.client.post("/media", data=data, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    return media


def result_frames(api: Api, media: dict, tmp_path: Path) -> list[np.ndarray]:
    r = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    path = tmp_path / f"{media['id']}.mp4"
    path.write_bytes(r.content)
    return read_frames(path)


def test_video_first_then_image_last(
    api_factory, fake_external_host: FileServer, clip: Path, tmp_path: Path
) -> None:
    api: Api = api_factory(allow_private_urls=True)
    media = create(
        api,
        [
            {"type": "video", "url": fake_external_host.url("clip.mp4"), "position": "First"},
            {"type": "image", "url": fake_external_host.url("coffee.png"), "position": "Last"},
        ],
    )
    assert media["is_transition"] == "Yes"
    assert [f["FileType"] for f in media["file_map"]] == ["Video", "Texture"]
    frames = result_frames(api, media, tmp_path)
    assert len(frames) == CLIP_FRAMES + 24
    source = read_frames(clip)
    w, h = frames[0].shape[1], frames[0].shape[0]
    # the clip plays first, then the generated motion starts on its last frame
    assert mean_abs(frames[0], cover_fit(source[0], w, h)) < 6
    assert mean_abs(frames[CLIP_FRAMES - 1], frames[CLIP_FRAMES]) < 12


def test_image_first_then_video_last(
    api_factory, fake_external_host: FileServer, clip: Path, tmp_path: Path
) -> None:
    api: Api = api_factory(allow_private_urls=True)
    media = create(
        api,
        [
            {"type": "image", "url": fake_external_host.url("chelsea.png"), "position": "First"},
            {"type": "video", "url": fake_external_host.url("clip.mp4"), "position": "Last"},
        ],
    )
    frames = result_frames(api, media, tmp_path)
    assert len(frames) == 24 + CLIP_FRAMES
    source = read_frames(clip)
    w, h = frames[0].shape[1], frames[0].shape[0]
    assert mean_abs(frames[-1], cover_fit(source[-1], w, h)) < 6
    assert mean_abs(frames[23], frames[24]) < 12


def test_single_video_first_animates_its_last_frame(
    api_factory, fake_external_host: FileServer, clip: Path, tmp_path: Path
) -> None:
    api: Api = api_factory(allow_private_urls=True)
    media = create(
        api,
        [
            {"type": "video", "url": fake_external_host.url("clip.mp4"), "position": "First"},
        ],
    )
    assert media["is_transition"] == "No"
    assert media["service_name"] == "kinora-parallax"
    frames = result_frames(api, media, tmp_path)
    assert len(frames) == CLIP_FRAMES + 24
    assert probe(tmp_path / f"{media['id']}.mp4")["video_codec"] == "h264"


def test_media_items_win_over_image_urls(api_factory, fake_external_host: FileServer) -> None:
    api: Api = api_factory(allow_private_urls=True)
    items = [{"type": "image", "url": fake_external_host.url("rocket.jpg"), "position": "First"}]
    r = api.client.post(
        "/media",
        data={
            "media_items": json.dumps(items),
            "image_urls": [fake_external_host.url("coffee.png")],
            "duration": "1",
        },
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    assert [f["FileName"] for f in r.json()["data"]["file_map"]] == ["rocket.jpg"]


def test_loopback_media_item_is_refused(api: Api, fake_external_host: FileServer) -> None:
    fake_external_host.handler.redirects["/go"] = "http://127.0.0.1:1/secret.png"
    items = [{"type": "image", "url": fake_external_host.url("go"), "position": "First"}]
    r = api.client.post("/media", data={"media_items": json.dumps(items)}, headers=api.headers())
    assert r.status_code == 422
