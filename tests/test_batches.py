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


def _csv(api: Api, text: str, query: str = "", **fields: str) -> Any:
    return api.client.post(
        f"/media/batch{query}",
        files={"file": ("items.csv", text.encode(), "text/csv")},
        data=fields,
        headers=api.headers(),
    )


def test_a_csv_upload_makes_one_media_per_row_in_one_batch(api: Api) -> None:
    text = (
        "prompt,duration,metadata\n"
        'rain on a window,1,"{""row"": 1}"\n'
        "a lighthouse at dusk,1,\n"
        "\n"
        "fog over a field,1,\n"
    )
    r = _csv(api, text, metadata='{"job": "csv"}')
    assert r.status_code == 200, r.text
    batch = r.json()["data"]
    assert batch["size"] == 3 and batch["credits_charged"] == 3
    assert batch["metadata"] == {"job": "csv"}
    assert api.credits() == 97
    ids = [item["media_id"] for item in batch["items"]]
    for media_id in ids:
        done = api.wait(media_id)
        assert done["batch_id"] == batch["id"]
        assert done["processing_status"] == "success", done
    assert api.wait(ids[0])["metadata"] == {"row": 1}
    deadline = time.monotonic() + 30
    while True:
        shown = api.client.get(f"/batches/{batch['id']}", headers=api.headers()).json()["data"]
        if shown["status"] != "processing" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown["status"] == "success" and shown["finished"] == 3


def test_a_csv_body_is_priced_by_a_dry_run_and_idempotent_by_its_rows(api: Api) -> None:
    text = "prompt,duration\nwaves,1\nsurf,6\n"
    headers = {**api.headers(), "Content-Type": "text/csv"}
    priced = api.client.post("/media/batch?dry_run=true", content=text, headers=headers)
    assert priced.status_code == 200, priced.text
    assert priced.json()["data"]["credits_required"] == 3  # 1 + 2 (6 s)
    assert _media_count(api) == 0
    keyed = {**headers, "Idempotency-Key": "csv-1"}
    first = api.client.post("/media/batch", content=text, headers=keyed)
    again = api.client.post("/media/batch", content=text, headers=keyed)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    changed = api.client.post("/media/batch", content="prompt,duration\nwaves,1\n", headers=keyed)
    assert changed.status_code == 422, changed.text
    assert api.credits() == 97 and _media_count(api) == 2
    big = api.client.post("/media/batch", content="prompt\n" + "x" * 2**20, headers=headers)
    assert big.status_code == 413, big.text


def test_a_bad_csv_is_named_and_nothing_is_created_or_charged(api: Api) -> None:
    many = "prompt,duration\n" + "waves,1\n" * 101
    cases = [
        ("prompt,duration,colour\nwaves,1,red\n", ["body", "file", "columns", "colour"]),
        ('prompt,media_items\nwaves,1\nsurf,"[{""type"": ""image"""\n', None),
        ("prompt,duration\nwaves,1\nsurf,99\n", ["body", "items", 1, "duration"]),
        ("prompt,duration\n", ["body", "file"]),
        ("", ["body", "file"]),
        (many, ["body", "file"]),
        ("prompt,duration\nwaves,1,extra\n", ["body", "items", 0]),
    ]
    before = api.credits()
    for text, loc in cases:
        r = _csv(api, text)
        assert r.status_code == 422, (text, r.text)
        if loc is not None:
            assert r.json()["detail"][0]["loc"] == loc, r.text
    bad_json = _csv(api, 'prompt,media_items\nwaves,\nsurf,"[{""type"": ""image"""\n')
    assert bad_json.status_code == 422, bad_json.text
    assert bad_json.json()["detail"][0]["loc"] == ["body", "items", 1, "media_items"]
    latin = api.client.post(
        "/media/batch",
        files={"file": ("items.csv", "prompt\ncaf\xe9\n".encode("latin-1"), "text/csv")},
        headers=api.headers(),
    )
    assert latin.status_code == 422 and latin.json()["detail"][0]["loc"] == ["body", "file"]
    too_big = _csv(api, "prompt\n" + "x" * (1024 * 1024) + "\n")
    assert too_big.status_code == 413, too_big.text
    upload = api.client.post(
        "/media/batch",
        files=[
            ("file", ("items.csv", b"prompt\nwaves\n", "text/csv")),
            ("image_files", ("a.png", b"\x89PNG", "image/png")),
        ],
        headers=api.headers(),
    )
    assert upload.status_code == 422 and upload.json()["detail"][0]["loc"] == [
        "body",
        "image_files",
    ]
    extra = _csv(api, "prompt\nwaves\n", colour="red")
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "colour"]
    assert api.credits() == before and _media_count(api) == 0


def test_csv_image_columns_are_urls_in_order(api: Api) -> None:
    from kinora.api.routes.batches import csv_items

    urls = ["http://a.example/x.png", "http://a.example/y.png"]
    one = f"image_urls,duration\n{urls[0]} | {urls[1]},1\n"
    two = f"image_url_2,image_url_1,duration\n{urls[1]},{urls[0]},1\n"
    for text in (one, two):
        assert csv_items(text.encode())[0]["image_urls"] == urls
        r = _csv(api, text, query="?dry_run=true")
        assert r.status_code == 200 and r.json()["data"]["credits_required"] == 1, r.text
    three = _csv(api, f"image_urls\n{urls[0]} {urls[1]} {urls[0]}\n", query="?dry_run=true")
    assert three.status_code == 422, three.text
    assert three.json()["detail"][0]["loc"] == ["body", "items", 0, "image_urls"]
    assert csv_items(b"\xef\xbb\xbfprompt,seed\nx,7\n") == [{"prompt": "x", "seed": "7"}]
    assert _media_count(api) == 0


def test_batches_are_listed_newest_first_and_a_batch_cancels_whole(api: Api) -> None:
    """``GET /batches`` pages through the caller's batches; ``POST /batches/{id}/cancel``
    cancels every media still queued or rendering (queued ones fully refunded) and leaves
    the batch ended."""
    older = _batch(api, {"items": [{"prompt": "moss", "duration": 1}]})
    assert older.status_code == 200, older.text
    items = [{"prompt": word, "duration": 5} for word in ("rain", "snow", "hail", "mist")]
    newer = _batch(api, {"items": items})
    assert newer.status_code == 200, newer.text
    batch_id = newer.json()["data"]["id"]
    charged = api.credits()
    r = api.client.post(f"/batches/{batch_id}/cancel", headers=api.headers())
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = api.client.get(f"/batches/{batch_id}", headers=api.headers()).json()["data"]
        if body["status"] != "processing":
            break
        time.sleep(0.2)
    assert body["status"] != "processing", body
    statuses = [item["status"] for item in body["items"]]
    assert statuses.count("cancel") >= 3, statuses  # one may have been rendering, or done
    assert api.credits() >= charged + 3  # the queued ones refunded in full
    # listed newest first, a page at a time
    r = api.client.get("/batches", params={"limit": 1}, headers=api.headers())
    assert r.status_code == 200, r.text
    page = r.json()
    assert [b["id"] for b in page["data"]] == [batch_id] and page["next_cursor"] == batch_id
    r = api.client.get(
        "/batches", params={"limit": 1, "cursor": page["next_cursor"]}, headers=api.headers()
    )
    assert [b["id"] for b in r.json()["data"]] == [older.json()["data"]["id"]]
    assert r.json()["next_cursor"] is None
    bad = api.client.get("/batches", params={"cursor": "nope"}, headers=api.headers())
    assert bad.status_code == 422 and "cursor" in bad.text
    missing = api.client.post("/batches/nope/cancel", headers=api.headers())
    assert missing.status_code == 404
