"""GET /metrics: off by default, token-guarded, and right after real renders.

The apps here are the real ASGI app with its database and embedded Huey worker; the failing
render goes through the Replicate adapter's real HTTP code against a loopback stand-in. The
API and worker as separate processes: tests/test_logs.py. The
counters kept in processes (render seconds, failures, provider calls, HTTP) live in one
multiprocess directory per test process (kinora.telemetry), so the tests compare them before
and after; the families read from the database belong to each app and are compared whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from kinora.config import Settings
from tests.conftest import Api
from tests.plugins.standins import KEY, STAND_INS, StandIn
from tests.test_webhooks import Receiver, receivers  # noqa: F401 (a fixture)

TOKEN = "metrics-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: Api) -> Samples:
    r = api.client.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


@pytest.fixture
def replicate() -> Iterator[StandIn]:
    server = STAND_INS["replicate"](mode="fail")
    yield server
    server.close()


def test_metrics_are_off_by_default_and_refused_without_the_token(
    api_factory: Callable[..., Api],
) -> None:
    off = api_factory(workers=0)
    r = off.client.get("/metrics", headers=AUTH)
    assert r.status_code == 404
    assert r.json() == {"message": "NOT_FOUND"}

    guarded = api_factory(workers=0, metrics="token", metrics_token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = guarded.client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["message"] == "UNAUTHORIZED"
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert "kinora_jobs" in names(scrape(guarded))
    assert "/metrics" not in guarded.client.get("/openapi.json").json()["paths"]

    opened = api_factory(workers=0, metrics="open")
    assert opened.client.get("/metrics").status_code == 200
    with pytest.raises(ValidationError, match="KINORA_METRICS_TOKEN"):
        Settings(metrics="token")


def test_metrics_after_a_render_and_a_failed_render(
    api_factory: Callable[..., Api],
    replicate: StandIn,
    receivers: Callable[..., Receiver],  # noqa: F811
    testdata: Path,
) -> None:
    api = api_factory(
        metrics="token",
        metrics_token=TOKEN,
        allow_private_urls=True,
        engine_routes="KlingAI=replicate:kwaivgi/kling-v2.1",
        replicate_api_key=KEY,
        provider_base_urls=f"replicate={replicate.base_url}",
        provider_poll_seconds=0.02,
        provider_backoff_seconds=0.01,
    )
    hook = receivers([200])
    before = scrape(api)

    r = api.client.post(
        "/media",
        data={
            "prompt": "a lighthouse at dusk",
            "duration": "1",
            "motion_type": "RunwayML",  # not routed here: the built-in scene engine
            "webhook_url": hook.url,
        },
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    good = api.wait(r.json()["data"]["id"])
    assert good["processing_status"] == "success"
    with (testdata / "astronaut.png").open("rb") as f:
        r = api.client.post(
            "/media",
            files=[("image_files", ("astronaut.png", f, "image/png"))],
            data={"duration": "5", "motion_type": "KlingAI", "webhook_url": hook.url},
            headers=api.headers(),
        )
    assert r.status_code == 200, r.text
    bad = api.wait(r.json()["data"]["id"])
    assert bad["processing_status"] == "fail"
    assert api.credits() == 99  # 1 for the good one; the failed one's 1 came back
    hook.wait(2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # The delivery log row follows the POST, and the runner counts a render just after
        # the media's success.
        after = scrape(api)
        rendered = value(after, "kinora_render_seconds_count", engine="kinora-scene") - value(
            before, "kinora_render_seconds_count", engine="kinora-scene"
        )
        if rendered and value(after, "kinora_webhook_deliveries_total", outcome="delivered") >= 2:
            break
        time.sleep(0.1)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # From the database: this app's own rows.
    assert value(after, "kinora_jobs", state="success") == 1
    assert value(after, "kinora_jobs", state="fail") == 1
    assert value(after, "kinora_jobs", state="queued") == 0
    assert value(after, "kinora_credits_debited_total") == 2
    assert value(after, "kinora_credits_refunded_total") == 1
    assert value(after, "kinora_webhook_deliveries_total", outcome="delivered") == 2
    assert value(after, "kinora_workers_live") == 1
    ages = [v for (n, _), v in after.items() if n == "kinora_worker_heartbeat_age_seconds"]
    assert len(ages) == 1 and 0 <= ages[0] < 30

    # From the processes: what this test's renders and requests added.
    assert delta("kinora_render_seconds_count", engine="kinora-scene") == 1
    assert delta("kinora_render_seconds_sum", engine="kinora-scene") > 0
    assert delta("kinora_render_seconds_count", engine="replicate") == 0
    assert delta("kinora_renders_failed_total", reason="render_error") == 1
    # (Provider calls are counted in the render's child process: tests/test_logs.py checks
    # them with a worker process of its own, whose children all start after it enabled.)
    count = "kinora_http_request_duration_seconds_count"
    status = {"route": "/media/{media_id}/processing-status", "method": "GET", "status": "200"}
    polled = delta(count, **status)
    assert polled >= 2  # api.wait polls until each media ends
    bucket = "kinora_http_request_duration_seconds_bucket"
    assert delta(bucket, **status, le="+Inf") == polled
    assert delta(bucket, **status, le="30.0") == polled  # none took 30 s
    assert delta("kinora_http_request_duration_seconds_sum", **status) > 0
    assert delta(count, route="/media", method="POST", status="200") == 2
    # An unknown path is one label, not one per path.
    api.client.get("/no/such/path/1")
    api.client.get("/no/such/path/2")
    again = scrape(api)
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(again, count, **unmatched) - value(after, count, **unmatched) == 2
    assert not any("/no/such" in dict(labels).get("route", "") for _, labels in again)


def test_queue_depth_and_oldest_wait_by_priority(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0, metrics="token", metrics_token=TOKEN)
    ids = []
    for data in ({"duration": "1"}, {"duration": "1"}, {"duration": "5", "quantity": "2"}):
        r = api.client.post("/media", data={"prompt": "a fox", **data}, headers=api.headers())
        assert r.status_code == 200, r.text
        ids.append(r.json()["data"]["id"])
    time.sleep(0.3)
    samples = scrape(api)
    assert value(samples, "kinora_jobs", state="queued") == 3
    assert value(samples, "kinora_queue_depth", priority="99") == 2  # 100 - 1 s
    assert value(samples, "kinora_queue_depth", priority="90") == 1  # 100 - 2 x 5 s
    oldest = value(samples, "kinora_queue_oldest_age_seconds", priority="99")
    assert 0.3 <= oldest < 30
    assert value(samples, "kinora_workers_live") == 0
    r = api.client.post(f"/media/{ids[2]}/cancel", headers=api.headers())
    assert r.status_code == 200, r.text
    samples = scrape(api)
    assert value(samples, "kinora_queue_depth", priority="90") == 0
    assert value(samples, "kinora_jobs", state="cancel") == 1
    assert value(samples, "kinora_credits_refunded_total") == 2
