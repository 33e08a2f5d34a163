"""schemathesis against /openapi.json, in process: every operation, a few hundred cases.

The real ASGI app, database and Huey consumer (a WorkerHost, as ``kinora serve`` runs it). The
checks: no 5xx, and the status code, content type and body are what the schema documents.
Two passes: every operation with generated (positive and negative) data, then the operations on
one media with the id of a real, rendered media, so 200 answers and downloads are checked too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kinora.api.app import create_app
from kinora.config import Settings
from kinora.domain.accounts import create_key
from kinora.jobs.worker import WorkerHost
from tests.conftest import FAST, MODELS_DIR, TESTDATA
from tests.reliability.conftest import STATS

COUNTS = STATS["schemathesis"]
EXAMPLES = 30
"""Generated cases per operation in the first pass (18 operations)."""
REAL_EXAMPLES = 12
"""Cases per operation on the real media."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Target:
    app: FastAPI
    key: str
    media_id: str
    file_key: str
    file_query: dict[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis") / "data"
    values: dict[str, Any] = {
        **FAST,
        "models_dir": MODELS_DIR,
        "output_long_side": 128,
        "fetch_timeout_seconds": 2.0,
        # The fuzzer sends hundreds of requests a minute from one key; the limits themselves
        # are tested in tests/test_beyond_spec.py.
        "rate_limit": "100000/minute",
        "create_rate_limit": "100000/minute",
    }
    app = create_app(Settings(data_dir=data_dir, **values), workers=0)
    runtime = app.state.runtime
    host = WorkerHost(runtime, workers=1)
    host.start()
    try:
        # A few credits: one real render below, then some fuzzed creates are accepted and the
        # rest answer 402.
        key = create_key(runtime, name="fuzz", initial_credits=6).key
        client = TestClient(app)  # no lifespan: the WorkerHost above does the renders
        photo = (TESTDATA / "coffee.png").read_bytes()
        r = client.post(
            "/media",
            headers={"X-Api-Key": key},
            data={"duration": "1"},
            files=[("image_files", ("coffee.png", photo, "image/png"))],
        )
        assert r.status_code == 200, r.text
        media_id = r.json()["data"]["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = client.get(f"/media/{media_id}/processing-status").json()["data"]
            if status["processing_status"] in ("success", "fail"):
                break
            time.sleep(0.2)
        assert status["processing_status"] == "success", status
        media = client.get(f"/media/{media_id}", headers={"X-Api-Key": key}).json()["data"]
        url = urlsplit(media["result"][0]["url"])
        assert url.path.startswith("/files/"), url
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        yield Target(app, key, media_id, url.path.removeprefix("/files/"), query)
    finally:
        host.stop()


def _run_operation(
    operation: Any, strategy: Any, key: str, examples: int, failures: list[str]
) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=10_000,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers={"X-Api-Key": key})
        COUNTS["cases"] += 1
        if response.status_code >= 500:
            COUNTS["server_errors"] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Exception as exc:  # one failing operation does not hide the others
        failures.append(f"{operation.label}: {exc}")


def test_every_operation_matches_its_schema(target: Target) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    failures: list[str] = []
    operations = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations.append(operation)
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
            _run_operation(operation, strategy, target.key, EXAMPLES, failures)
        # Second pass: the same operations on a media (and a file) that exist.
        for operation in operations:
            path = operation.path
            if "{media_id}" in path and operation.method.upper() != "DELETE":
                strategy = operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters={"media_id": target.media_id}
                )
            elif path == "/files/{key}":
                strategy = st.one_of(
                    operation.as_strategy(
                        GenerationMode.POSITIVE,
                        path_parameters={"key": target.file_key},
                        query=target.file_query,
                    ),
                    operation.as_strategy(
                        GenerationMode.POSITIVE, path_parameters={"key": target.file_key}
                    ),
                )
            else:
                continue
            _run_operation(operation, strategy, target.key, REAL_EXAMPLES, failures)
    finally:
        asgi.shutdown_lifespans()
    COUNTS["operations"] = len(operations)
    assert not failures, "\n\n".join(failures)
    assert len(operations) >= 15
    assert COUNTS["cases"] >= 200, COUNTS
    assert COUNTS["server_errors"] == 0, COUNTS
