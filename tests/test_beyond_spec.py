"""Additions to the spec: live progress (SSE), cancel, list, delete, idempotency, rate limits,
seed and metadata."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from kinora.db.models import Media, MediaStatus
from tests.conftest import Api, LiveServer


def upload(api: Api, testdata: Path, **fields: str) -> str:
    with (testdata / "coffee.png").open("rb") as f:
        r = api.client.post(
            "/media",
            files=[("image_files", ("coffee.png", f, "image/png"))],
            data=fields,
            headers=api.headers(),
        )
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def test_sse_shows_progress_rising_and_the_end(live: LiveServer, testdata: Path) -> None:
    key = live.key()
    with (testdata / "rocket.jpg").open("rb") as f:
        r = httpx.post(
            f"{live.base_url}/media",
            headers={"X-Api-Key": key},
            data={"duration": "4"},
            files=[("image_files", ("r.jpg", f, "image/jpeg"))],
        )
    media_id = r.json()["data"]["id"]
    events: list[tuple[str, dict]] = []
    with httpx.stream("GET", f"{live.base_url}/media/{media_id}/events", timeout=120) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if name == "end":
                    break
    assert events[-1][0] == "end" and events[-1][1]["processing_status"] == "success"
    progress = [int(d["progress_percentage"]) for n, d in events if n == "status"]
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    stages = {d["stage"] for _, d in events if d["processing_status"] == "processing_bullet"}
    assert stages and stages <= {"starting", "decoding inputs", "rendering", "storing"}, stages


def test_cancel_queued_never_starts(api_factory) -> None:
    api: Api = api_factory(workers=0)
    r = api.client.post("/media", data={"prompt": "x", "quantity": "2"}, headers=api.headers())
    media_id = r.json()["data"]["id"]
    assert api.credits() == 98
    r = api.client.post(f"/media/{media_id}/cancel", headers=api.headers())
    assert r.status_code == 200 and r.json()["data"]["processing_status"] == "cancel"
    assert api.credits() == 100
    again = api.client.post(f"/media/{media_id}/cancel", headers=api.headers())
    assert again.status_code == 400


def test_cancel_running_render_stops_fast_and_refunds(api_factory, testdata: Path) -> None:
    api: Api = api_factory(output_long_side=1280)
    media_id = upload(api, testdata, duration="10", quantity="2")
    assert api.credits() == 96
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = api.client.get(f"/media/{media_id}/processing-status").json()["data"]
        if status["processing_status"] == "processing_bullet" and status["stage"] == "rendering":
            break
        time.sleep(0.05)
    asked = time.monotonic()
    r = api.client.post(f"/media/{media_id}/cancel", headers=api.headers())
    assert r.status_code == 200
    while time.monotonic() - asked < 10:
        status = api.client.get(f"/media/{media_id}/processing-status").json()["data"]
        if status["processing_status"] == "cancel":
            break
        time.sleep(0.05)
    took = time.monotonic() - asked
    assert status["processing_status"] == "cancel"
    assert took < 2.0, took
    assert api.credits() == 100  # neither variant finished
    media = api.client.get(f"/media/{media_id}", headers=api.headers()).json()["data"]
    assert media["result"] == []
    files = [p.name for p in api.settings.media_dir.rglob("*") if p.is_file()]
    # only the source: no partial video anywhere
    assert len(files) == 1 and files[0].startswith("g1_") and files[0].endswith("_0.png"), files


def test_list_pages_every_item_once(api_factory) -> None:
    api: Api = api_factory(workers=0)
    ids = []
    for i in range(7):
        r = api.client.post(
            "/media", data={"prompt": "x", "title": f"clip {i}"}, headers=api.headers()
        )
        ids.append(r.json()["data"]["id"])
    other = api.new_key()
    api.client.post("/media", data={"prompt": "y"}, headers=api.headers(other))
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/media", params=params, headers=api.headers()).json()
        seen += [m["id"] for m in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    found = api.client.get("/media", params={"q": "clip 3"}, headers=api.headers()).json()
    assert [m["title"] for m in found["data"]] == ["clip 3"]
    queued = api.client.get("/media", params={"status": "success"}, headers=api.headers())
    assert queued.json()["data"] == []
    bad = api.client.get("/media", params={"cursor": "garbage!"}, headers=api.headers())
    assert bad.status_code == 422


def test_delete_removes_record_and_files(api: Api, testdata: Path) -> None:
    media_id = upload(api, testdata, duration="1")
    api.wait(media_id)
    assert any(api.settings.media_dir.rglob("*.mp4"))
    other = api.new_key()
    assert api.client.delete(f"/media/{media_id}", headers=api.headers(other)).status_code == 404
    r = api.client.delete(f"/media/{media_id}", headers=api.headers())
    assert r.status_code == 204
    assert api.client.get(f"/media/{media_id}", headers=api.headers()).status_code == 404
    assert not [p for p in api.settings.media_dir.rglob("*") if p.is_file()]
    assert api.credits() == 99  # nothing refunded


def test_idempotent_creates_under_concurrency(live: LiveServer) -> None:
    key = live.key(credits=10)
    headers = {"X-Api-Key": key, "Idempotency-Key": "order-17"}

    def create(_: int) -> httpx.Response:
        return httpx.post(
            f"{live.base_url}/media",
            headers=headers,
            data={"prompt": "a red kite", "duration": "1"},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    balance = httpx.get(f"{live.base_url}/credits", headers={"X-Api-Key": key}).json()
    assert balance["data"]["credits"] == 9
    other = httpx.post(f"{live.base_url}/media", headers=headers, data={"prompt": "different"})
    assert other.status_code == 422


def test_idempotent_retry_after_a_crash_between_commit_and_answer(api_factory, monkeypatch) -> None:
    """The media is committed, then the process dies before storing the answer (the crash is
    simulated by failing that step): a retry gets that media, charged once, at once."""
    import kinora.api.idempotency as idem

    api: Api = api_factory(workers=0)
    headers = {**api.headers(), "Idempotency-Key": "crash-1"}
    data = {"prompt": "a red kite", "duration": "1"}

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(idem, "_store_response", crash)
    with pytest.raises(RuntimeError):
        api.client.post("/media", headers=headers, data=data)
    monkeypatch.undo()
    assert api.credits() == 99
    started = time.monotonic()
    retry = api.client.post("/media", headers=headers, data=data)
    assert retry.status_code == 200, retry.text
    assert time.monotonic() - started < 5  # no waiting for an answer that never comes
    assert api.credits() == 99
    listed = api.client.get("/media", headers=api.headers()).json()["data"]
    assert [m["id"] for m in listed] == [retry.json()["data"]["id"]]


def test_idempotency_key_of_a_dead_attempt_is_taken_over(api_factory) -> None:
    """An attempt claimed the key and died before committing anything (its row is written
    here as it would have left it): once stale, a retry takes the key over, once."""
    import datetime as dt

    from kinora.api.deps import ParsedBody
    from kinora.api.idempotency import STALE_SECONDS, request_hash
    from kinora.db.models import IdempotencyRecord

    api: Api = api_factory(workers=0)
    data = {"prompt": "a red kite", "duration": "1"}
    fingerprint = request_hash("POST", "/media", ParsedBody(fields=dict(data)))

    def dead_claim(age: float) -> None:
        with api.runtime.db.session() as s:
            s.merge(
                IdempotencyRecord(
                    customer_id=api.customer_id,
                    key="dead-1",
                    request_hash=fingerprint,
                    claim="a" * 32,
                    created_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age),
                )
            )

    headers = {**api.headers(), "Idempotency-Key": "dead-1"}
    dead_claim(STALE_SECONDS + 5)
    first = api.client.post("/media", headers=headers, data=data)
    assert first.status_code == 200, first.text
    again = api.client.post("/media", headers=headers, data=data)
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert api.credits() == 99


def test_rate_limit_answers_429_with_retry_after(api_factory) -> None:
    api: Api = api_factory(workers=0, rate_limit="5/minute")
    codes = [api.client.get("/credits", headers=api.headers()) for _ in range(6)]
    assert [r.status_code for r in codes[:5]] == [200] * 5
    assert codes[0].headers["X-RateLimit-Limit"] == "5"
    assert codes[4].headers["X-RateLimit-Remaining"] == "0"
    limited = codes[5]
    assert limited.status_code == 429 and limited.json()["message"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) >= 1
    # another key has its own budget
    assert api.client.get("/credits", headers=api.headers(api.new_key())).status_code == 200


def test_seed_reproduces_and_metadata_is_echoed(api: Api, testdata: Path) -> None:
    a = upload(
        api,
        testdata,
        duration="1",
        seed="1234",
        metadata='{"sku": "A-1"}',
        negative_prompt="blurry",
    )
    b = upload(api, testdata, duration="1", seed="1234")
    ma, mb = api.wait(a), api.wait(b)
    assert mb["processing_status"] == "success"
    assert ma["metadata"] == {"sku": "A-1"}
    assert ma["video_history"][0]["service_seeds"] == [1234]
    va = api.client.get(f"/media/{a}/download", headers=api.headers()).content
    vb = api.client.get(f"/media/{b}/download", headers=api.headers()).content
    assert va == vb
    with api.runtime.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 2
    bad = api.client.post("/media", data={"prompt": "x", "metadata": "[1]"}, headers=api.headers())
    assert bad.status_code == 422


def test_per_key_concurrency_cap(api_factory, testdata: Path) -> None:
    """KINORA_MAX_CONCURRENT_PER_KEY=1 with two worker threads: one key's renders run one at a
    time (the waiting one stays freshly queued for the reaper), another key's run alongside."""
    api: Api = api_factory(workers=2, max_concurrent_per_key=1, output_long_side=1280)
    other = api.new_key()
    photo = (testdata / "coffee.png").read_bytes()

    def submit(key: str) -> str:
        r = api.client.post(
            "/media",
            headers=api.headers(key),
            data={"duration": "6"},
            files=[("image_files", ("coffee.png", photo, "image/png"))],
        )
        assert r.status_code == 200, r.text
        return str(r.json()["data"]["id"])

    mine = [submit(api.key), submit(api.key)]
    theirs = submit(other)
    with api.runtime.db.sessions() as s:
        created = {m.id: m.created_at for m in s.scalars(select(Media))}
    most_mine, together = 0, False
    waited: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with api.runtime.db.sessions() as s:
            media = list(s.scalars(select(Media)))
        rows = {m.id: (m.status, m.enqueued_at) for m in media}
        waited |= {
            m.id for m in media if m.status == MediaStatus.QUEUED and m.heartbeat_at is not None
        }
        running = {i for i, (st, _) in rows.items() if st == MediaStatus.PROCESSING}
        most_mine = max(most_mine, len(running & set(mine)))
        together = together or (bool(running & set(mine)) and theirs in running)
        if all(st in (MediaStatus.SUCCESS, MediaStatus.FAIL) for st, _ in rows.values()):
            break
        time.sleep(0.02)
    assert {st for st, _ in rows.values()} == {MediaStatus.SUCCESS}
    assert most_mine == 1
    assert together
    # The job that waited was marked as seen while it waited (so the reaper leaves it alone),
    # and kept its place in the queue.
    assert waited & set(mine)
    assert all(rows[i][1] == created[i] for i in mine)
