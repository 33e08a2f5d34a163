"""``POST /media/batch`` through the real app, database and Huey consumer: many media from one
request, charged all or nothing, each rendered as an ordinary media, one webhook at the end
(to a real receiver on loopback standing in for the customer's server)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import Api, FileServer
from tests.test_webhooks import Receiver, receivers  # noqa: F401  (the receivers fixture)


def _batch(api: Api, body: Any, **headers: str) -> Any:
    return api.client.post("/media/batch", json=body, headers={**api.headers(), **headers})


def _media_count(api: Api) -> int:
    r = api.client.get("/media", headers=api.headers())
    assert r.status_code == 200, r.text
    return len(r.json()["data"])


def test_a_batch_renders_each_item_with_its_batch_id_and_one_webhook_when_all_end(
    api_factory: Callable[..., Api],
    receivers: Callable[..., Receiver],  # noqa: F811
    fake_external_host: FileServer,
) -> None:
    api = api_factory(allow_private_urls=True, credits=10)
    hook = receivers([200])
    items = [
        {"prompt": "rain on a window", "duration": 1},
        {"image_urls": [fake_external_host.url("chelsea.png")], "duration": 1},
        {"prompt": "a lighthouse at dusk", "duration": 6, "metadata": {"row": 3}},
    ]
    r = _batch(api, {"items": items, "webhook_url": hook.url, "metadata": {"job": "july"}})
    assert r.status_code == 200, r.text
    batch = r.json()["data"]
    assert batch["size"] == 3 and batch["credits_charged"] == 4  # 1 + 1 + 2 (6 s)
    assert api.credits() == 6
    ids = [item["media_id"] for item in batch["items"]]
    assert [item["index"] for item in batch["items"]] == [0, 1, 2]
    for media_id in ids:
        done = api.wait(media_id)
        assert done["batch_id"] == batch["id"]
        assert done["processing_status"] == "success", done
    assert api.wait(ids[2])["metadata"] == {"row": 3}
    hook.wait(1)
    time.sleep(0.5)  # a second event would come now
    assert len(hook.calls) == 1
    event = json.loads(hook.calls[0][1])
    assert event["type"] == "batch.finished" and event["batch_id"] == batch["id"]
    assert event["batch"]["status"] == "success" and event["batch"]["finished"] == 3
    got = api.client.get(f"/batches/{batch['id']}", headers=api.headers())
    assert got.status_code == 200, got.text
    shown = got.json()["data"]
    assert shown["status"] == "success" and shown["progress_percentage"] == 100
    assert shown["metadata"] == {"job": "july"}
    assert [item["media_id"] for item in shown["items"]] == ids
    # Another customer's key does not see it.
    other = api.client.get(f"/batches/{batch['id']}", headers=api.headers(api.new_key()))
    assert other.status_code == 404


def test_a_batch_the_credits_do_not_cover_is_refused_whole(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(credits=9)
    items = [{"prompt": f"scene {i}", "duration": 1} for i in range(10)]
    r = _batch(api, {"items": items})
    assert r.status_code == 402, r.text
    assert "10 credits" in r.text
    assert api.credits() == 9 and _media_count(api) == 0
    priced = api.client.post(
        "/media/batch?dry_run=true", json={"items": items}, headers=api.headers()
    )
    assert priced.status_code == 200 and priced.json()["data"]["credits_required"] == 10
    assert _media_count(api) == 0


def test_a_bad_item_is_named_and_nothing_is_created_or_charged(api: Api) -> None:
    good = {"prompt": "waves", "duration": 1}
    cases = [
        ({"items": [good, {"prompt": "x", "bogus": 1}]}, ["body", "items", 1, "bogus"]),
        ({"items": [good, {"prompt": "x", "camera_control": "Sideways"}]}, None),
        ({"items": [good, {"duration": 1}]}, ["body", "items", 1, "prompt"]),
        ({"items": []}, ["body", "items"]),
        ({"items": [good] * 101}, ["body", "items"]),
        ({"items": [good], "colour": "red"}, ["body", "colour"]),
        ({"items": [good], "webhook_url": "ftp://example.com/x"}, None),
    ]
    before = api.credits()
    for body, loc in cases:
        r = _batch(api, body)
        assert r.status_code == 422, (body, r.text)
        if loc is not None:
            assert r.json()["detail"][0]["loc"] == loc, r.text
    assert api.credits() == before and _media_count(api) == 0


def test_a_retried_batch_with_its_idempotency_key_is_made_and_charged_once(api: Api) -> None:
    body = {"items": [{"prompt": "fog", "duration": 1}, {"prompt": "dew", "duration": 1}]}
    first = _batch(api, body, **{"Idempotency-Key": "batch-1"})
    again = _batch(api, body, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert api.credits() == 98 and _media_count(api) == 2
    changed = _batch(api, {"items": body["items"][:1]}, **{"Idempotency-Key": "batch-1"})
    assert changed.status_code == 422
