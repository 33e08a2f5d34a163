"""Webhooks that can be trusted: Standard Webhooks signatures, retries with backoff, a log.

Each event (a generation ending) gets one ``webhook-id`` kept across its retries. Every attempt
is a queue task that checks the target address again (no private or loopback targets unless
allowed), never follows redirects, and is recorded in ``webhook_deliveries``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from kinora.db.models import Customer, Media, WebhookDelivery
from kinora.domain.batchstatus import notify_if_finished
from kinora.domain.views import media_public, timestamp
from kinora.errors import FetchError, NotFoundError
from kinora.inputs.fetch import RefusedAddress, check_url, guarded_client

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)

RETRYABLE = {408, 429}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def event_payload(runtime: Runtime, media: Media) -> dict[str, Any]:
    return {
        "customer_id": media.customer_id,
        "media_id": media.id,
        "status": media.status,
        "metadata": dict(media.extra or {}),
        "media": media_public(media, runtime).model_dump(mode="json"),
    }


def notify(runtime: Runtime, *, media_id: str) -> str | None:
    """Queue the first attempt of a completion event (and of its batch's, when it was the
    batch's last media to end); returns the media event's webhook-id."""
    with runtime.db.sessions() as s:
        media = s.get(Media, media_id)
        if media is None:
            return None
        url, batch_id = media.webhook_url, media.batch_id
        payload = event_payload(runtime, media) if url else {}
    webhook_id = None
    if url:
        webhook_id = f"msg_{uuid.uuid4().hex}"
        runtime.queue.webhook(webhook_id, url, payload, attempt=1)
    if batch_id:
        notify_if_finished(runtime, batch_id=batch_id)
    return webhook_id


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _refused(exc: BaseException) -> bool:
    """Whether a send failed because the guarded client refused the address (a name that
    resolves to a forbidden one), as opposed to a network error worth retrying."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, RefusedAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def deliver(
    runtime: Runtime, *, webhook_id: str, url: str, payload: dict[str, Any], attempt: int
) -> WebhookDelivery:
    """One attempt; schedules the next one when the failure is worth retrying."""
    settings = runtime.settings
    customer_id = str(payload["customer_id"])
    # A batch's event is logged under the batch's id.
    media_id = str(payload.get("media_id") or payload.get("batch_id"))
    with runtime.db.sessions() as s:
        secret = s.scalar(select(Customer.webhook_secret).where(Customer.id == customer_id))
    body = json.dumps(payload, separators=(",", ":"))
    now = dt.datetime.now(dt.UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": "kinora-webhooks",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(webhook_id, now, body)
    status: int | None = None
    error = ""
    # A URL that can never be delivered to (malformed, another scheme, credentials, a
    # forbidden address) fails for good at once instead of being retried for hours.
    forbidden = False
    retry_after: float | None = None
    started = time.monotonic()
    try:
        try:
            check_url(url, field="webhook_url")
        except FetchError:
            forbidden = True
            raise
        with guarded_client(
            allow_private=settings.allow_private_urls,
            timeout=settings.webhook_timeout_seconds,
            deadline=started + settings.webhook_timeout_seconds,
        ) as client:
            response = client.post(url, content=body.encode(), headers=headers)
        status = response.status_code
        retry_after = _retry_after(response.headers.get("retry-after"))
    except FetchError as exc:
        error = exc.message
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        forbidden = _refused(exc)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    delays = settings.retry_delays
    if status is not None and 200 <= status < 300:
        outcome = "delivered"
    elif status is not None and 300 <= status < 400:
        outcome, error = "failed", error or "redirects are not followed"
    elif forbidden:
        outcome = "failed"
    elif (status is None or status >= 500 or status in RETRYABLE) and attempt <= len(delays):
        outcome = "retrying"
    else:
        outcome = "failed"
    record = WebhookDelivery(
        customer_id=customer_id, media_id=media_id, webhook_id=webhook_id, url=url,
        payload=payload, attempt=attempt, status_code=status, error=error,
        duration_ms=elapsed_ms, outcome=outcome,
    )  # fmt: skip
    with runtime.db.session() as s:
        s.add(record)
    if outcome == "retrying":
        delay = delays[attempt - 1]
        if retry_after is not None:
            delay = max(delay, min(retry_after, 24 * 3600))
        runtime.queue.webhook(webhook_id, url, payload, attempt=attempt + 1, delay=delay)
    return record


def list_deliveries(
    runtime: Runtime, *, customer_id: str, media_id: str | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    with runtime.db.sessions() as s:
        query = select(WebhookDelivery).where(WebhookDelivery.customer_id == customer_id)
        if media_id:
            query = query.where(WebhookDelivery.media_id == media_id)
        return list(s.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def redeliver(runtime: Runtime, *, customer_id: str, delivery_id: int) -> str:
    """Send an event once more, with its original webhook-id and payload."""
    with runtime.db.sessions() as s:
        record = s.get(WebhookDelivery, delivery_id)
        if record is None or record.customer_id != customer_id:
            raise NotFoundError()
        last = s.scalar(
            select(func.max(WebhookDelivery.attempt)).where(
                WebhookDelivery.webhook_id == record.webhook_id
            )
        )
        webhook_id, url, payload = record.webhook_id, record.url, dict(record.payload)
    runtime.queue.webhook(webhook_id, url, payload, attempt=int(last or 0) + 1)
    return webhook_id


def delivery_public(record: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": record.id,
        "webhook_id": record.webhook_id,
        "media_id": record.media_id,
        "url": record.url,
        "attempt": record.attempt,
        "status_code": record.status_code,
        "outcome": record.outcome,
        "error": record.error,
        "duration_ms": record.duration_ms,
        "created_at": timestamp(record.created_at),
    }
