"""Credits: the cost table, atomic debits under concurrency, dry runs, refunds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from kinora.db.models import CreditEntry
from kinora.domain.credits import cost_of
from tests.conftest import Api, LiveServer


def test_cost_table() -> None:
    assert cost_of(quantity=1, duration=5) == 1
    assert cost_of(quantity=1, duration=6) == 2
    assert cost_of(quantity=4, duration=10) == 8
    assert cost_of(quantity=2, duration=1) == 2


def test_twenty_parallel_creates_with_credits_for_five(live: LiveServer) -> None:
    key = live.key(credits=5)

    def create(i: int) -> int:
        r = httpx.post(
            f"{live.base_url}/media",
            data={"prompt": f"a lighthouse {i}", "duration": "1"},
            headers={"X-Api-Key": key},
            timeout=60,
        )
        return r.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(create, range(20)))
    assert codes.count(200) == 5, codes
    assert codes.count(402) == 15, codes
    balance = httpx.get(f"{live.base_url}/credits", headers={"X-Api-Key": key}).json()
    assert balance["data"]["credits"] == 0


def test_dry_run_prices_without_creating(api: Api) -> None:
    r = api.client.post(
        "/media?dry_run=true",
        data={"prompt": "x", "quantity": "3", "duration": "7"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"data": {"credits_required": 6}}
    assert api.credits() == 100
    r = api.client.post("/media?dry_run=true", data={"quantity": "9"}, headers=api.headers())
    assert r.status_code == 422


def test_failed_generation_is_refunded(api: Api) -> None:
    r = api.client.post("/media", data={"prompt": "x", "duration": "1"}, headers=api.headers())
    media_id = r.json()["data"]["id"]
    assert api.credits() == 99
    api.wait(media_id)
    # Break the stored input on purpose, then reprocess: the render fails and refunds.
    with api.runtime.db.session() as s:
        from kinora.db.models import Media
        from kinora.spec import InputRef

        media = s.get(Media, media_id)
        missing = f"{media.customer_id}/{media_id}/source/missing.png"
        media.spec = media.spec.with_inputs(
            [InputRef(kind="image", position="First", name="x.png", key=missing)]
        )
    r = api.client.post(f"/media/{media_id}/process", headers=api.headers())
    assert r.status_code == 200
    # (No balance check here: the failing render can refund before the next request.)
    done = api.wait(media_id)
    assert done["processing_status"] == "fail"
    assert done["error"]
    assert api.credits() == 99
    with api.runtime.db.sessions() as s:
        reasons = [e.reason for e in s.scalars(select(CreditEntry).order_by(CreditEntry.id))]
    assert reasons == ["grant", "debit", "debit", "refund"]
