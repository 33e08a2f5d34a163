"""Request ids and structured logs: every request line carries its request id, every job line
its media id and generation; in-process (the real app and embedded worker) and as an
operator runs it (`kinora serve --workers 0` plus a `kinora worker` process, JSON logs,
metrics read across the two processes)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from kinora.logs import ContextFilter, JsonFormatter, TextFormatter, job_context
from tests.conftest import TESTDATA, Api, LiveServer, launch_server, start_process
from tests.plugins.standins import KEY, STAND_INS, StandIn

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Root log records as the JSON format writes them (INFO and up), into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    access = logging.getLogger("kinora.access")
    access.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        access.setLevel(logging.NOTSET)


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_request_ids_are_echoed_or_made(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0, metrics="open")
    r = api.client.get("/health", headers={"X-Request-Id": "req-42.a:b_c"})
    assert r.headers["x-request-id"] == "req-42.a:b_c"
    made = {api.client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(HEX32.fullmatch(rid) for rid in made)
    for insane in ("has space", "x" * 129, "-leading-dash", "semi;colon", "ünïcode".encode()):
        rid = api.client.get("/health", headers={"X-Request-Id": insane}).headers["x-request-id"]
        assert HEX32.fullmatch(rid), insane
    # Errors carry it too: a 404 from the router, a 422, and an unhandled error's 500.
    assert api.client.get("/nope", headers={"X-Request-Id": "r404"}).headers["x-request-id"]
    r = api.client.post("/media", data={"duration": "99"}, headers=api.headers())
    assert r.status_code == 422 and HEX32.fullmatch(r.headers["x-request-id"])

    def boom() -> None:
        raise RuntimeError("a bug")

    api.client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        r = client.get("/boom", headers={"X-Request-Id": "r500"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "r500"
    text = api.client.get("/metrics").text
    counted = 'kinora_http_request_duration_seconds_count{method="GET",route="/boom",status="500"}'
    assert f"{counted} 1.0" in text


def test_json_lines_carry_the_request_id_and_the_jobs_ids(
    api_factory: Callable[..., Api], json_lines: io.StringIO
) -> None:
    api = api_factory()
    r = api.client.post(
        "/media",
        data={"prompt": "a fox in the snow", "duration": "1"},
        headers={**api.headers(), "X-Request-Id": "create-1"},
    )
    assert r.status_code == 200, r.text
    media_id = r.json()["data"]["id"]
    api.wait(media_id)
    deadline = time.monotonic() + 10  # the runner's last line follows the media's success
    while "rendered by" not in json_lines.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = parsed(json_lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (create,) = [
        line
        for line in lines
        if line["logger"] == "kinora.access" and line.get("request_id") == "create-1"
    ]
    assert create["method"] == "POST" and create["route"] == "/media"
    assert create["status"] == 200 and create["duration_ms"] > 0
    access = [line for line in lines if line["logger"] == "kinora.access"]
    assert len(access) >= 3  # the create and the status polls
    assert all(
        HEX32.fullmatch(line["request_id"]) or line["request_id"] == "create-1" for line in access
    )
    job = [line for line in lines if line.get("media_id") == media_id]
    assert any(line["message"].startswith("rendered by kinora-scene in") for line in job)
    assert all(line["generation"] == 1 for line in job)
    assert all("request_id" not in line for line in job)  # the worker is not the request


def test_formats_keep_one_line_per_record_and_the_ids() -> None:
    record = logging.LogRecord(
        "kinora.x", logging.ERROR, __file__, 1, "two\nlines %s", ("x",), None
    )
    try:
        raise ValueError("inside")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    with job_context("m-1", 3):
        ContextFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "two\nlines x"
    assert data["media_id"] == "m-1" and data["generation"] == 3
    assert "ValueError: inside" in data["exception"]
    text = TextFormatter().format(record)
    assert text.splitlines()[0].endswith("[media_id=m-1 generation=3]")
    # Outside the context nothing is left behind.
    fresh = logging.LogRecord("kinora.x", logging.INFO, __file__, 1, "m", (), None)
    ContextFilter().filter(fresh)
    assert "media_id" not in json.loads(JsonFormatter().format(fresh))


@pytest.fixture
def replicate() -> Iterator[StandIn]:
    server = STAND_INS["replicate"](mode="fail")
    yield server
    server.close()


@pytest.fixture
def split_processes(tmp_path: Path, replicate: StandIn) -> Iterator[tuple[LiveServer, Path]]:
    """`kinora serve --workers 0` and one `kinora worker`, JSON logs, metrics open; KlingAI
    goes to a Replicate stand-in whose jobs fail."""
    extra = {
        "KINORA_LOG_FORMAT": "json",
        "KINORA_METRICS": "open",
        "KINORA_ENGINE_ROUTES": "KlingAI=replicate:kwaivgi/kling-v2.1",
        "KINORA_REPLICATE_API_KEY": KEY,
        "KINORA_PROVIDER_BASE_URLS": f"replicate={replicate.base_url}",
        "KINORA_PROVIDER_POLL_SECONDS": "0.02",
    }
    saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # this process's, not theirs
    try:
        server = launch_server(tmp_path / "data", workers=0, **extra)
    finally:
        if saved is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    worker_log = tmp_path / "worker.log"
    env = {k: v for k, v in server.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    worker = start_process(["worker", "--data-dir", str(server.data_dir)], env, worker_log)
    try:
        yield server, worker_log
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        server.stop()


def test_json_logs_and_metrics_across_an_api_and_a_worker_process(
    split_processes: tuple[LiveServer, Path],
) -> None:
    server, worker_log = split_processes
    key = server.key()
    r = httpx.post(
        f"{server.base_url}/media",
        # RunwayML is not routed here: the built-in scene engine (Auto would try Replicate)
        data={"prompt": "a boat on a lake", "duration": "1", "motion_type": "RunwayML"},
        headers={"X-Api-Key": key, "X-Request-Id": "live-create"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "live-create"
    good = r.json()["data"]["id"]
    with (TESTDATA / "astronaut.png").open("rb") as f:
        r = httpx.post(
            f"{server.base_url}/media",
            files=[("image_files", ("astronaut.png", f, "image/png"))],
            data={"duration": "5", "motion_type": "KlingAI"},
            headers={"X-Api-Key": key},
            timeout=30,
        )
    assert r.status_code == 200, r.text
    bad = r.json()["data"]["id"]
    assert _wait(server, good) == "success"
    assert _wait(server, bad) == "fail"

    def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        text = httpx.get(f"{server.base_url}/metrics").text
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    rendered = ("kinora_render_seconds_count", frozenset({("engine", "kinora-scene")}))
    deadline = time.monotonic() + 10
    samples = scrape()
    while rendered not in samples and time.monotonic() < deadline:
        time.sleep(0.1)  # the worker counts a render just after it marks the media a success
        samples = scrape()

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    # Counted in the worker process (and its render children), summed by the API process.
    assert samples[rendered] == 1
    assert value("kinora_renders_failed_total", reason="render_error") == 1
    assert value("kinora_provider_calls_total", provider="replicate") >= 2  # submit, poll
    assert value("kinora_provider_errors_total", provider="replicate", kind="job_failed") == 1
    # Read from the database.
    assert value("kinora_jobs", state="success") == 1
    assert value("kinora_jobs", state="fail") == 1
    assert value("kinora_credits_debited_total") == 2
    assert value("kinora_credits_refunded_total") == 1
    assert value("kinora_workers_live") == 1

    api_lines = _json_lines(server.data_dir / "server.log")
    (create,) = [line for line in api_lines if line.get("request_id") == "live-create"]
    assert create["logger"] == "kinora.access" and create["status"] == 200
    polls = [
        line for line in api_lines if line.get("route") == "/media/{media_id}/processing-status"
    ]
    assert polls and all(HEX32.fullmatch(line["request_id"]) for line in polls)
    assert not any(line["logger"] == "uvicorn.access" for line in api_lines)
    worker_lines = _json_lines(worker_log)
    job = [line for line in worker_lines if line.get("media_id") == good]
    assert any(line["message"].startswith("rendered by kinora-scene") for line in job)
    assert all(line["generation"] == 1 for line in job)
    (failed,) = [
        line for line in worker_lines if line.get("media_id") == bad and line["level"] == "error"
    ]
    assert failed["generation"] == 1 and "safety filter" in failed["exception"]


def _wait(server: LiveServer, media_id: str) -> str:
    deadline = time.monotonic() + 120
    status = ""
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.base_url}/media/{media_id}/processing-status", timeout=10)
        status = r.json()["data"]["processing_status"]
        if status in ("success", "fail"):
            break
        time.sleep(0.2)
    return status


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a process's output parsed as JSON, except what `kinora serve` prints for
    a person before it serves (the key hint and "Serving on ..."), which are not log lines."""
    lines = path.read_text().splitlines()
    banner_end = next((i for i, line in enumerate(lines) if line.startswith("Serving on")), -1)
    out = []
    for i, line in enumerate(lines):
        if not line.strip() or (i <= banner_end and not line.startswith("{")):
            continue
        out.append(json.loads(line))
    return out
