"""Every error case of the API: status, body, and that nothing was created or charged."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from kinora.db.models import Media
from tests.conftest import Api


def media_count(api: Api) -> int:
    with api.runtime.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Media)) or 0)


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def create_text(api: Api, key: str | None = None, **fields: str) -> dict:
    data = {"prompt": "a red balloon over a city at sunset", "duration": "1", **fields}
    r = api.client.post("/media", data=data, headers=api.headers(key))
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def test_missing_key_is_401(api: Api) -> None:
    for method, path in [
        ("post", "/media"),
        ("get", "/media/x"),
        ("put", "/media/x"),
        ("put", "/media/x/edit"),
        ("get", "/media/x/download"),
        ("post", "/media/x/process"),
        ("get", "/credits"),
    ]:
        r = getattr(api.client, method)(path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["message"] == "UNAUTHORIZED"


def test_unknown_key_is_401(api: Api) -> None:
    r = api.client.post("/media", data={"prompt": "x"}, headers={"X-Api-Key": "kin_nope"})
    assert r.status_code == 401
    assert r.json()["message"] == "UNAUTHORIZED"
    assert media_count(api) == 0


def test_health_and_status_need_no_key(api: Api) -> None:
    assert api.client.get("/health").status_code == 200
    media = create_text(api)
    r = api.client.get(f"/media/{media['id']}/processing-status")
    assert r.status_code == 200
    assert {"progress_percentage", "processing_status"} <= set(r.json()["data"])
    assert isinstance(r.json()["data"]["progress_percentage"], str)


def test_unknown_media_is_404(api: Api) -> None:
    h = api.headers()
    assert api.client.get("/media/nope", headers=h).json() == {"message": "MEDIA_NOT_FOUND"}
    assert api.client.get("/media/nope", headers=h).status_code == 404
    for method, path in [
        ("get", "/media/nope/processing-status"),
        ("put", "/media/nope"),
        ("put", "/media/nope/edit"),
        ("get", "/media/nope/download"),
        ("post", "/media/nope/process"),
    ]:
        kwargs = {"headers": h}
        if method == "put":
            kwargs["data"] = {"title": "t"}
        r = getattr(api.client, method)(path, **kwargs)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["message"] == "NOT_FOUND"


def test_private_media_of_another_customer_is_404(api: Api) -> None:
    media = create_text(api, visibility_status="0")
    other = api.new_key()
    r = api.client.get(f"/media/{media['id']}", headers=api.headers(other))
    assert r.status_code == 404 and r.json() == {"message": "MEDIA_NOT_FOUND"}
    api.wait(media["id"])
    r = api.client.get(f"/media/{media['id']}/download", headers=api.headers(other))
    assert r.status_code == 404 and r.json()["message"] == "NOT_FOUND"


def test_unlisted_media_is_readable_but_not_editable_by_others(api: Api) -> None:
    media = create_text(api, visibility_status="1")
    api.wait(media["id"])
    other = api.new_key(credits=10)
    assert api.client.get(f"/media/{media['id']}", headers=api.headers(other)).status_code == 200
    r = api.client.get(f"/media/{media['id']}/download", headers=api.headers(other))
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    r = api.client.put(f"/media/{media['id']}", data={"title": "mine"}, headers=api.headers(other))
    assert r.status_code == 404
    r = api.client.post(f"/media/{media['id']}/process", headers=api.headers(other))
    assert r.status_code == 404
    assert api.credits(other) == 10


def test_insufficient_credit_is_402_and_leaves_nothing(api_factory) -> None:
    api = api_factory(credits=1)
    r = api.client.post("/media", data={"prompt": "x", "quantity": "2"}, headers=api.headers())
    assert r.status_code == 402
    assert r.json()["message"] == "INSUFFICIENT_CREDIT"
    assert media_count(api) == 0
    assert api.credits() == 1
    files = [p for p in (api.settings.media_dir).rglob("*") if p.is_file()]
    assert files == []


def test_process_while_running_is_400(api_factory) -> None:
    api = api_factory(workers=0)  # nothing consumes the queue: the media stays queued
    media = create_text(api)
    r = api.client.post(f"/media/{media['id']}/process", headers=api.headers())
    assert r.status_code == 400 and r.json()["message"] == "BAD_REQUEST"
    r = api.client.put(f"/media/{media['id']}/edit", data={"duration": "3"}, headers=api.headers())
    assert r.status_code == 400 and r.json()["message"] == "BAD_REQUEST"
    # metadata can still change while it runs, for free
    r = api.client.put(f"/media/{media['id']}/edit", data={"title": "t"}, headers=api.headers())
    assert r.status_code == 200 and r.json()["data"]["title"] == "t"
    assert api.credits() == 99


def test_download_not_ready_is_400(api_factory) -> None:
    api = api_factory(workers=0)
    media = create_text(api)
    r = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert r.status_code == 400 and r.json()["message"] == "BAD_REQUEST"


def assert_422(api: Api, response, field: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert any(field in [str(x) for x in d["loc"]] for d in detail), detail
    assert all({"loc", "msg", "type"} <= set(d) for d in detail)


def test_validation_errors_name_the_field(api: Api) -> None:
    h = api.headers()
    cases = {
        "quantity": {"prompt": "x", "quantity": "5"},
        "duration": {"prompt": "x", "duration": "0"},
        "loop": {"prompt": "x", "loop": "7"},
        "motion_range": {"prompt": "x", "motion_range": "11"},
        "motion_type": {"prompt": "x", "motion_type": "Dalle"},
        "camera_control": {"prompt": "x", "camera_control": "Barrel roll"},
        "aspect_ratio": {"prompt": "x", "aspect_ratio": "2:1"},
        "visibility_status": {"prompt": "x", "visibility_status": "3"},
        "model": {"prompt": "x", "model": "NoSuchTryOn"},
        "native_audio": {"prompt": "x", "native_audio": "maybe"},
        "narrator": {"prompt": "x", "narrator": "Bob"},
        "audio_option": {"prompt": "x", "audio_option": "{not json"},
        "media_items": {"media_items": '[{"type": "sound", "url": "http://a/b"}]'},
        "unknown_field": {"prompt": "x", "unknown_field": "1"},
        "prompt": {},
    }
    for field, data in cases.items():
        r = api.client.post("/media", data=data, headers=h)
        assert_422(api, r, field)
    assert media_count(api) == 0
    assert api.credits() == 100


def test_unknown_narrator_lists_valid_names(api: Api) -> None:
    r = api.client.post(
        "/media",
        data={"prompt": "x", "audio_option": json.dumps({"narrator": "Zed", "narration": "hi"})},
        headers=api.headers(),
    )
    assert r.status_code == 422
    assert "Rachel" in r.text and "Bill" in r.text


def test_bad_images_are_422_and_store_nothing(api: Api, testdata: Path) -> None:
    h = api.headers()
    bomb = io.BytesIO()
    Image.new("L", (12000, 12000)).save(bomb, "PNG")  # 144 Mpx of nothing: compresses tiny
    cases = {
        "corrupt": b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50,
        "text": b"hello, not an image",
        "truncated": (testdata / "rocket.jpg").read_bytes()[:2000],
        "bomb": bomb.getvalue(),
        "empty": b"",
    }
    for name, data in cases.items():
        r = api.client.post(
            "/media", files=[("image_files", (f"{name}.png", data, "image/png"))], headers=h
        )
        assert_422(api, r, "image_files")
    three = [("image_files", (f"{i}.png", png_bytes(), "image/png")) for i in range(3)]
    assert_422(api, api.client.post("/media", files=three, headers=h), "image_files")
    assert media_count(api) == 0
    assert api.credits() == 100
    assert [p for p in api.settings.media_dir.rglob("*") if p.is_file()] == []


def test_oversized_upload_is_4xx(api_factory) -> None:
    api = api_factory(max_upload_mb=0.05)
    big = png_bytes(400, 400)
    assert len(big) > 0.05 * 1024 * 1024
    r = api.client.post(
        "/media", files=[("image_files", ("big.png", big, "image/png"))], headers=api.headers()
    )
    assert 400 <= r.status_code < 500
    assert media_count(api) == 0


def test_private_urls_are_refused(api: Api) -> None:
    h = api.headers()
    for url in [
        "http://127.0.0.1:1/a.png",
        "http://localhost/a.png",
        "http://10.0.0.1/a.png",
        "http://169.254.169.254/latest",
        "http://[::1]/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "file:///etc/passwd",
    ]:
        r = api.client.post("/media", data={"image_urls": [url]}, headers=h)
        assert_422(api, r, "image_urls")
        items = json.dumps([{"type": "image", "url": url, "position": "First"}])
        r = api.client.post("/media", data={"media_items": items}, headers=h)
        assert_422(api, r, "media_items")
    assert media_count(api) == 0
    assert api.credits() == 100


def test_json_body_and_wrong_content_type(api: Api) -> None:
    h = api.headers()
    r = api.client.post(
        "/media", json={"prompt": "a kite", "duration": 1, "native_audio": True}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["submit_params"]["native_audio"] is True
    r = api.client.post(
        "/media", content=b"[1, 2]", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 422
    r = api.client.post(
        "/media", content=b"{oops", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 422
    r = api.client.post("/media", content=b"prompt=x", headers={**h, "content-type": "text/plain"})
    assert r.status_code == 422


def test_others_do_not_see_owner_fields_or_sources(api: Api, testdata: Path) -> None:
    data = (testdata / "chelsea.png").read_bytes()
    r = api.client.post(
        "/media",
        files=[("image_files", ("cat.png", data, "image/png"))],
        data={
            "duration": "1",
            "visibility_status": "2",
            "metadata": '{"order": 7}',
            "webhook_url": "https://example.com/hook?token=secret",
        },
        headers=api.headers(),
    )
    media_id = r.json()["data"]["id"]
    api.wait(media_id)
    other = api.new_key()
    seen = api.client.get(f"/media/{media_id}", headers=api.headers(other)).json()["data"]
    assert seen["webhook_url"] == "" and seen["metadata"] == {}
    own = api.client.get(f"/media/{media_id}", headers=api.headers()).json()["data"]
    assert own["metadata"] == {"order": 7} and own["webhook_url"].endswith("token=secret")
    url = f"/media/{media_id}/download"
    src = api.client.get(url, params={"object_type": "source"}, headers=api.headers(other))
    assert src.status_code == 404
    assert (
        api.client.get(url, params={"object_type": "source"}, headers=api.headers()).content == data
    )


def test_explicit_nulls_do_not_rerender(api: Api) -> None:
    media = create_text(api)
    api.wait(media["id"])
    r = api.client.put(
        f"/media/{media['id']}",
        json={"title": "renamed", "prompt": None, "duration": None},
        headers=api.headers(),
    )
    assert r.status_code == 200 and r.json()["data"]["processing_status"] == "success"
    assert api.credits() == 99
