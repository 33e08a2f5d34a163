"""What an operator watches: request ids and HTTP metrics on every request, ``GET /metrics``.

:class:`RequestObserver` is a plain ASGI middleware wrapped around the whole app (outside
Starlette's error middleware, so a 500 is counted and carries its id too). Per request it
takes the client's ``X-Request-Id`` when it is a sane token (else makes one), puts it in the
log context (:mod:`kinora.logs`) and in the response headers, and records the route template,
status and duration (:mod:`kinora.telemetry`). It does nothing else: a few microseconds on
every request, processing-status included.

``GET /metrics`` (Prometheus text format) is off unless ``KINORA_METRICS`` is ``open`` or
``token`` (``Authorization: Bearer <KINORA_METRICS_TOKEN>``). Its values:

- from the database at scrape time (:class:`DatabaseCollector`), right across API and
  worker processes and machines and across restarts: jobs by state, queue depth and oldest
  wait by priority, webhook delivery attempts by outcome, credits debited and refunded,
  workers' heartbeat ages;
- from the processes that saw them (:mod:`kinora.telemetry`'s files, summed over processes):
  render seconds by engine, failures by reason, provider calls and errors, HTTP requests.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import random
import re
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import JSON, func, select, type_coerce
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinora import logs, telemetry
from kinora.config import Settings
from kinora.db.models import CreditEntry, Media, MediaStatus, WebhookDelivery, Worker, utcnow
from kinora.domain.lifecycle import render_priority
from kinora.errors import AuthError, NotFoundError
from kinora.spec import GenerationSpec

if TYPE_CHECKING:
    from kinora.runtime import Runtime

access_log = logging.getLogger(logs.ACCESS_LOGGER)

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""A client's request id is kept when it is 1-128 letters, digits and ``. _ : -``: what
proxies and tracing libraries send (UUIDs, hex, ULIDs), nothing that could break a log line
or a header."""

UNMATCHED = "unmatched"
"""The route label of a request no route matched: unknown paths are not labels."""


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-Id`` if it is a sane token, else a new one (32 hex digits)."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            try:
                given: str = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if _SANE_ID.fullmatch(given):
                return given
            break
    # Not uuid4: a correlation id needs no unpredictability, and os.urandom is a system call
    # (several microseconds on a busy machine) on every request.
    return f"{random.getrandbits(128):032x}"


class RequestObserver:
    """Request ids and HTTP metrics (see the module docstring); ``metrics`` False skips the
    metrics (``KINORA_METRICS=off``), request ids are always on."""

    def __init__(self, app: ASGIApp, *, metrics: bool) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id_of(scope)
        token = logs.request_id.set(rid)
        header = (REQUEST_ID_HEADER, rid.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # The server logs the traceback after this returns: the id stays set (this
            # request's task ends with it) so that line carries it too.
            self._done(scope, status or 500, started)
            raise
        self._done(scope, status, started)
        logs.request_id.reset(token)

    def _done(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        method = scope.get("method", "")
        if self.metrics:
            telemetry.record_request(route, method, status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s %.1f ms",
                method,
                scope.get("path", ""),
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


# --------------------------------------------------------------------------- /metrics

JOB_STATES = {
    MediaStatus.QUEUED: "queued",
    MediaStatus.PROCESSING: "processing",
    MediaStatus.SUCCESS: "success",
    MediaStatus.FAIL: "fail",
    MediaStatus.CANCEL: "cancel",
}

WORKER_WINDOW = dt.timedelta(hours=1)
"""Workers seen within this long are listed with their heartbeat's age (a dead one's age
grows for an hour, then it drops out); ``kinora_workers_live`` counts the ones /health does."""


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _priority(raw: Any) -> int:
    """The queue priority of a stored spec, by :func:`render_priority` itself; read without
    validating the whole spec (a scrape may see thousands of queued rows)."""
    if isinstance(raw, dict) and {"duration", "loop", "quantity"} <= raw.keys():
        return render_priority(
            GenerationSpec.model_construct(
                duration=raw["duration"], loop=raw["loop"], quantity=raw["quantity"]
            )
        )
    return render_priority(GenerationSpec.from_stored(raw))


class DatabaseCollector(Collector):
    """The families read from the database at each scrape (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        settings = self.runtime.settings
        now = utcnow()
        live_since = now - dt.timedelta(seconds=max(30.0, 3 * settings.reaper_interval_seconds))
        with self.runtime.db.sessions() as s:
            states: dict[str, int] = {
                status: count
                for status, count in s.execute(
                    select(Media.status, func.count()).group_by(Media.status)
                )
            }
            queued = s.execute(
                select(Media.enqueued_at, type_coerce(Media.spec, JSON)).where(
                    Media.status == MediaStatus.QUEUED
                )
            ).all()
            by_priority: dict[int, tuple[int, dt.datetime | None]] = {}
            for enqueued_at, raw in queued:
                priority = _priority(raw)
                count, oldest = by_priority.get(priority, (0, None))
                if enqueued_at is not None:
                    at = _aware(enqueued_at)
                    oldest = at if oldest is None or at < oldest else oldest
                by_priority[priority] = (count + 1, oldest)
            deliveries = s.execute(
                select(WebhookDelivery.outcome, func.count())
                .where(WebhookDelivery.outcome != "pending")
                .group_by(WebhookDelivery.outcome)
            ).all()
            ledger: dict[str, int] = {
                reason: int(total or 0)
                for reason, total in s.execute(
                    select(CreditEntry.reason, func.sum(CreditEntry.delta)).group_by(
                        CreditEntry.reason
                    )
                )
            }
            workers = s.execute(
                select(Worker.id, Worker.seen_at).where(Worker.seen_at >= now - WORKER_WINDOW)
            ).all()
            worker_ages = {wid: (now - _aware(seen)).total_seconds() for wid, seen in workers}

        jobs = GaugeMetricFamily(
            "kinora_jobs", "Media by the state of their generation.", labels=["state"]
        )
        for status, name in JOB_STATES.items():
            jobs.add_metric([name], float(states.get(status, 0)))
        yield jobs

        depth = GaugeMetricFamily(
            "kinora_queue_depth",
            "Generations queued, by priority (higher runs first; 100 minus the seconds asked for).",
            labels=["priority"],
        )
        oldest_age = GaugeMetricFamily(
            "kinora_queue_oldest_age_seconds",
            "Seconds the longest-waiting queued generation has waited, by priority.",
            labels=["priority"],
        )
        for priority, (count, oldest) in sorted(by_priority.items()):
            depth.add_metric([str(priority)], float(count))
            if oldest is not None:
                oldest_age.add_metric([str(priority)], max(0.0, (now - oldest).total_seconds()))
        yield depth
        yield oldest_age

        delivered = CounterMetricFamily(
            "kinora_webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, retrying, failed).",
            labels=["outcome"],
        )
        for outcome, count in deliveries:
            delivered.add_metric([outcome], float(count))
        yield delivered

        yield CounterMetricFamily(
            "kinora_credits_debited",
            "Credits charged for generations.",
            value=float(-(ledger.get("debit") or 0)),
        )
        yield CounterMetricFamily(
            "kinora_credits_refunded",
            "Credits given back for failed or cancelled generations.",
            value=float(ledger.get("refund") or 0),
        )

        ages = GaugeMetricFamily(
            "kinora_worker_heartbeat_age_seconds",
            "Seconds since each worker (seen in the last hour) last registered.",
            labels=["worker"],
        )
        for worker_id, age in sorted(worker_ages.items()):
            ages.add_metric([worker_id], max(0.0, age))
        yield ages
        live_age = (now - live_since).total_seconds()
        yield GaugeMetricFamily(
            "kinora_workers_live",
            "Workers whose last heartbeat is recent (the ones /health lists).",
            value=float(sum(1 for age in worker_ages.values() if age <= live_age)),
        )

    def describe(self) -> Iterable[Metric]:
        return ()  # families are built at scrape time; nothing to check at registration


def metrics_registry(runtime: Runtime) -> CollectorRegistry:
    """The database's families plus every process's counters (:mod:`kinora.telemetry`)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(runtime))
    path = telemetry.directory()
    if path is not None:
        MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    return registry


def check_metrics_access(settings: Settings, authorization: str | None) -> None:
    """``off``: 404 as if there were no such path; ``token``: 401 without the bearer token."""
    if settings.metrics == "off":
        raise NotFoundError()
    if settings.metrics == "token":
        scheme, _, given = (authorization or "").partition(" ")
        expected = settings.metrics_token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise AuthError(
                "GET /metrics needs Authorization: Bearer <KINORA_METRICS_TOKEN>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format (a sync route: the database reads run off the event loop)."""
    runtime: Runtime = request.app.state.runtime
    check_metrics_access(runtime.settings, request.headers.get("authorization"))
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
