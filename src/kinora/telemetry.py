"""The metrics only a process sees as they happen, shared across processes through files.

Most of what ``GET /metrics`` shows is read from the database when it is scraped
(:mod:`kinora.api.observe`): it is then the same whichever API process answers and survives
restarts. What the database does not hold is counted here, where it happens: render seconds
by engine and failures by reason (the worker's runner), provider calls and errors (the
provider adapters), HTTP requests and their latency (the API's middleware).

Workers are other processes than the API (``kinora worker``, and several uvicorn processes
behind one port), so these use prometheus-client's multiprocess mode: each process writes its
values to memory-mapped files in one directory (``KINORA_DATA_DIR/metrics``, or
``PROMETHEUS_MULTIPROC_DIR`` when that is set), and the API adds up every file at scrape time.
A process that exits leaves its file, so counters never go back when a worker restarts.

Nothing is recorded until :func:`enable` is called (``KINORA_METRICS`` not ``off``: the API
at start, ``kinora worker`` at start), or in a process started with ``PROMETHEUS_MULTIPROC_DIR``
set (``enable`` sets it, so a worker's render children inherit it and record from their first
import); until then every ``record_*`` function returns at once. prometheus-client picks its
value storage for the whole process, so the first directory enabled in a process is the one
it keeps.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram, values

RENDER_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Render seconds: a 5 s parallax clip takes a few seconds, a hosted model minutes."""

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Request seconds: processing-status is meant to stay under 50 ms."""


@dataclass(frozen=True)
class _Metrics:
    render_seconds: Histogram
    renders_failed: Counter
    provider_calls: Counter
    provider_errors: Counter
    http_seconds: Histogram


_lock = threading.Lock()
_metrics: _Metrics | None = None
_directory: Path | None = None


def enable(directory: Path) -> Path:
    """Record from now on, into ``directory`` (made owner-only if missing) or the
    ``PROMETHEUS_MULTIPROC_DIR`` already set; returns the directory in use. Idempotent: a
    second call keeps the first directory (the storage is chosen once per process)."""
    global _metrics, _directory
    with _lock:
        if _metrics is not None and _directory is not None:
            return _directory
        chosen = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or directory)
        chosen.mkdir(parents=True, exist_ok=True, mode=0o700)
        # prometheus-client reads the variable when it opens a process's file, and chose its
        # value class when it was imported: set both before the first metric exists.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(chosen)
        if not getattr(values.ValueClass, "_multiprocess", False):
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        _metrics = _Metrics(
            render_seconds=Histogram(
                "kinora_render_seconds",
                "Seconds from the start of a render to its stored files, by engine.",
                ["engine"],
                buckets=RENDER_BUCKETS,
                registry=None,
            ),
            renders_failed=Counter(
                "kinora_renders_failed",
                "Renders that failed (and were refunded), by reason: the error code.",
                ["reason"],
                registry=None,
            ),
            provider_calls=Counter(
                "kinora_provider_calls",
                "HTTP calls to hosted providers' APIs, by provider.",
                ["provider"],
                registry=None,
            ),
            provider_errors=Counter(
                "kinora_provider_errors",
                "Provider calls that failed (transport, rate_limited, client_error, "
                "server_error) and provider jobs that failed (job_failed), by provider.",
                ["provider", "kind"],
                registry=None,
            ),
            http_seconds=Histogram(
                "kinora_http_request_duration_seconds",
                "Seconds from a request's arrival to the end of its response, by route "
                "template, method and status (its _count: requests answered).",
                ["route", "method", "status"],
                buckets=HTTP_BUCKETS,
                registry=None,
            ),
        )
        _directory = chosen
        return chosen


def directory() -> Path | None:
    """Where this process's values (and every other process's) are, once enabled."""
    return _directory


def record_render(engine: str, seconds: float) -> None:
    if (m := _metrics) is not None:
        m.render_seconds.labels(engine).observe(seconds)


def record_render_failure(reason: str) -> None:
    if (m := _metrics) is not None:
        m.renders_failed.labels(reason).inc()


def record_provider_call(provider: str, *, error: str | None = None) -> None:
    """One HTTP call to a provider; ``error`` names its failure kind when it failed."""
    if (m := _metrics) is not None:
        m.provider_calls.labels(provider).inc()
        if error is not None:
            m.provider_errors.labels(provider, error).inc()


def record_provider_error(provider: str, kind: str) -> None:
    """A failure that is not one call's (the provider's job itself failed)."""
    if (m := _metrics) is not None:
        m.provider_errors.labels(provider, kind).inc()


_http_children: dict[tuple[str, str, int], Any] = {}
"""One histogram child per route template, method and status, looked up once: ``labels()``
costs as much as the observation itself, on every request."""


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request: counted by its histogram's ``_count`` (one write per request,
    where a separate counter would be a second one)."""
    if (m := _metrics) is not None:
        key = (route, method, status)
        child = _http_children.get(key)
        if child is None:
            child = _http_children[key] = m.http_seconds.labels(route, method, str(status))
        child.observe(seconds)


def provider_error_kind(status: int) -> str | None:
    """The ``kind`` of a provider's HTTP answer, None for a success."""
    if status < 400:
        return None
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "client_error"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # A process started by one that enabled metrics (a worker's render children come from a
    # forkserver that inherits the variable), or an operator's explicit choice: it records
    # into the same directory from its first import, with nothing to configure.
    enable(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
