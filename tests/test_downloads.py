"""Downloads: object types, renditions, byte ranges, signed links."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from kinora.api.app import create_app
from kinora.config import Settings
from kinora.domain.accounts import create_key
from kinora.video.encode import probe
from tests.conftest import FAST, MODELS_DIR, Api


def finished(api: Api, **fields: str) -> dict:
    data = {"prompt": "snowy mountains at night with stars", "duration": "2", **fields}
    r = api.client.post("/media", data=data, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    return media


def test_object_types_and_content_types(api: Api, tmp_path) -> None:
    media = finished(api, aspect_ratio="9:16")
    url = f"/media/{media['id']}/download"
    h = api.headers()
    mp4 = api.client.get(url, headers=h)
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    (tmp_path / "v.mp4").write_bytes(mp4.content)
    info = probe(tmp_path / "v.mp4")
    assert (info["width"], info["height"]) == (144, 256)
    assert info["video_codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["fps"] == 24 and info["frames"] == 48
    # faststart: the moov atom comes before mdat
    assert mp4.content.find(b"moov") < mp4.content.find(b"mdat")
    gif = api.client.get(url, params={"object_type": "bullet_video_gif"}, headers=h)
    assert gif.status_code == 200 and gif.headers["content-type"] == "image/gif"
    assert Image.open(io.BytesIO(gif.content)).n_frames > 10
    thumb = api.client.get(url, params={"object_type": "thumbnail_jpg"}, headers=h)
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (144, 256)
    bad = api.client.get(url, params={"object_type": "hologram"}, headers=h)
    assert bad.status_code == 422


def test_source_download_returns_the_upload(api: Api, testdata) -> None:
    data = (testdata / "chelsea.png").read_bytes()
    r = api.client.post(
        "/media",
        files=[("image_files", ("cat.png", data, "image/png"))],
        data={"duration": "1"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media_id = r.json()["data"]["id"]
    src = api.client.get(
        f"/media/{media_id}/download", params={"object_type": "source"}, headers=api.headers()
    )
    assert src.status_code == 200
    assert src.content == data and src.headers["content-type"] == "image/png"


def test_width_and_file_size_renditions(api: Api, tmp_path) -> None:
    media = finished(api)
    url = f"/media/{media['id']}/download"
    small = api.client.get(url, params={"width": 128}, headers=api.headers())
    (tmp_path / "s.mp4").write_bytes(small.content)
    assert probe(tmp_path / "s.mp4")["width"] == 128
    tiny = api.client.get(url, params={"file_size": 0.02}, headers=api.headers())
    assert tiny.status_code == 200
    assert len(tiny.content) <= 0.02 * 1024 * 1024
    again = api.client.get(url, params={"file_size": 0.02}, headers=api.headers())
    assert again.content == tiny.content  # cached rendition


def test_range_requests(api: Api) -> None:
    media = finished(api)
    url = f"/media/{media['id']}/download"
    whole = api.client.get(url, headers=api.headers()).content
    part = api.client.get(url, headers={**api.headers(), "Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.content == whole[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole)}"


def test_signed_result_urls(api: Api) -> None:
    media = finished(api)
    url = media["result"][0]["url"]
    parts = urlsplit(url)
    r = api.client.get(f"{parts.path}?{parts.query}")  # no key
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    thumb = urlsplit(media["result"][0]["thumbnail_url"])
    assert api.client.get(f"{thumb.path}?{thumb.query}").headers["content-type"] == "image/jpeg"
    query = parse_qs(parts.query)
    forged = f"{parts.path}?expires={query['expires'][0]}&signature={'0' * 64}"
    assert api.client.get(forged).status_code == 404
    expired = f"{parts.path}?expires=1000&signature={query['signature'][0]}"
    assert api.client.get(expired).status_code == 404
    other = parts.path.replace("video_0.mp4", "thumb_0.jpg")
    assert api.client.get(f"{other}?{parts.query}").status_code == 404


def test_renditions_snap_to_a_few_sizes(api: Api, tmp_path) -> None:
    """Every distinct rendition costs a transcode and disk: nearby requests share one file."""
    media = finished(api)
    url = f"/media/{media['id']}/download"
    answers = [
        api.client.get(url, params={"width": w}, headers=api.headers()) for w in (100, 110, 127)
    ]
    assert all(r.status_code == 200 for r in answers)
    assert answers[0].content == answers[1].content == answers[2].content
    (tmp_path / "w.mp4").write_bytes(answers[0].content)
    assert probe(tmp_path / "w.mp4")["width"] == 96  # snapped down, never wider than asked
    sized = [
        api.client.get(url, params={"file_size": s}, headers=api.headers()) for s in (0.03, 0.049)
    ]
    assert sized[0].content == sized[1].content
    assert len(sized[0].content) <= 0.02 * 1024 * 1024  # fits the snapped-down cap
    media_dir = api.runtime.settings.media_dir
    renditions = [p for p in media_dir.rglob("renditions/*.mp4")]
    assert len(renditions) == 2


def test_renditions_are_made_once_and_impossible_ones_remembered(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinora.domain import renditions

    calls: list[float | None] = []
    real = renditions.encode_rendition

    def spy(runtime: Any, rendition: Any, source: Any, out: Any) -> None:
        calls.append(rendition.file_size)
        real(runtime, rendition, source, out)

    monkeypatch.setattr(renditions, "encode_rendition", spy)
    media = finished(api, duration="10")  # 10 s cannot fit in 10 kB: a rendition that fails
    url = f"/media/{media['id']}/download"
    answers = [api.client.get(url, params={"width": 128}, headers=api.headers()) for _ in "ab"]
    assert [r.status_code for r in answers] == [200, 200]
    assert calls == [None]  # made once, then served from storage
    for _ in "ab":
        impossible = api.client.get(url, params={"file_size": 0.01}, headers=api.headers())
        assert impossible.status_code == 400 and "cannot fit" in impossible.json()["detail"]
    assert calls == [None, 0.01]  # the failure is remembered, not retried per request


def test_an_api_without_workers_queues_renditions_for_them(tmp_path: Path) -> None:
    """Scaled out, the API transcodes nothing: no worker in time is 503 NOT_READY with
    Retry-After; the queued job is made by the next worker that starts."""
    settings = Settings(data_dir=tmp_path / "data", **{**FAST, "models_dir": MODELS_DIR})
    with TestClient(create_app(settings, workers=1)) as client:
        key = create_key(client.app.state.runtime, name="t", initial_credits=10).key  # type: ignore[attr-defined]
        api = Api(client=client, settings=settings, key=key, customer_id="")
        media = finished(api)
    url = f"/media/{media['id']}/download"
    headers = {"X-Api-Key": key}
    impatient = settings.model_copy(update={"rendition_wait_seconds": 0.3})
    with TestClient(create_app(impatient, workers=0)) as client:
        r = client.get(url, params={"width": 128}, headers=headers)
        assert r.status_code == 503, r.text
        assert r.json()["message"] == "NOT_READY" and r.headers["retry-after"] == "5"
        assert not list(settings.media_dir.rglob("renditions/*"))
    with TestClient(create_app(settings, workers=1)):
        deadline = time.monotonic() + 60
        while not list(settings.media_dir.rglob("renditions/*.mp4")):
            assert time.monotonic() < deadline, "the queued rendition was not made"
            time.sleep(0.1)
    (made,) = settings.media_dir.rglob("renditions/*.mp4")
    assert probe(made)["width"] == 128
    with TestClient(create_app(impatient, workers=0)) as client:
        r = client.get(url, params={"width": 128}, headers=headers)
        assert r.status_code == 200 and r.content == made.read_bytes()


def _limit_threads(tokens: int) -> None:
    anyio.to_thread.current_default_thread_limiter().total_tokens = tokens


def test_downloads_waiting_for_a_worker_hold_no_threads(tmp_path: Path) -> None:
    """Scaled out, a download waits for a worker's rendition without holding one of the API's
    threads: more waiting downloads than the API has threads leave it answering at once."""
    settings = Settings(data_dir=tmp_path / "data", **{**FAST, "models_dir": MODELS_DIR})
    with TestClient(create_app(settings, workers=1)) as client:
        key = create_key(client.app.state.runtime, name="t", initial_credits=10).key  # type: ignore[attr-defined]
        media = finished(Api(client=client, settings=settings, key=key, customer_id=""))
    url = f"/media/{media['id']}/download"
    patient = settings.model_copy(update={"rendition_wait_seconds": 3.0})
    statuses: list[int] = []

    def wait_for(width: int) -> None:
        r = client.get(url, params={"width": width}, headers={"X-Api-Key": key})
        statuses.append(r.status_code)

    with TestClient(create_app(patient, workers=0)) as client:
        client.portal.call(_limit_threads, 2)  # type: ignore[union-attr]
        waiting = [threading.Thread(target=wait_for, args=(w,)) for w in (128, 160, 192)]
        for thread in waiting:
            thread.start()
        time.sleep(0.8)  # all three are waiting for a worker (there is none)
        start = time.monotonic()
        health = client.get("/health")
        answered_in = time.monotonic() - start
        for thread in waiting:
            thread.join()
    assert health.status_code == 200 and answered_in < 1.0, answered_in
    assert statuses == [503, 503, 503]
