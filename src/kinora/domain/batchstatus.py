"""What a batch is doing: its items' states in request order, and the one event that says
it has ended (queued by whichever of its media ends last)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kinora.db.models import ACTIVE_STATUSES, Batch, Customer, Media, MediaStatus, utcnow
from kinora.domain.views import timestamp
from kinora.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)


def get_batch(session: Session, *, batch_id: str, customer: Customer) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.customer_id != customer.id:
        raise NotFoundError()
    return batch


def list_batches(
    session: Session, *, customer: Customer, limit: int, before: str | None = None
) -> tuple[list[Batch], str | None]:
    """The customer's batches, newest first, ``limit`` of them from after the batch
    ``before`` (the previous page's cursor); and the next page's cursor (None: no more)."""
    query = select(Batch).where(Batch.customer_id == customer.id)
    if before:
        last = session.get(Batch, before)
        if last is None or last.customer_id != customer.id:
            raise InputError(("query", "cursor"), "not a cursor from this list")
        query = query.where(
            (Batch.created_at < last.created_at)
            | ((Batch.created_at == last.created_at) & (Batch.id < last.id))
        )
    rows = list(
        session.scalars(query.order_by(Batch.created_at.desc(), Batch.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def batch_public(session: Session, batch: Batch) -> dict[str, Any]:
    """The batch as the API shows it: its items in request order with their status."""
    rows = session.execute(
        select(Media.id, Media.status, Media.progress).where(Media.batch_id == batch.id)
    ).all()
    # A deleted media leaves its batch: the rest keep the request's order.
    order = {media_id: i for i, media_id in enumerate(batch.media_ids or [])}
    items = sorted(rows, key=lambda r: order.get(r.id, len(order)))
    counts: dict[str, int] = {}
    for row in items:
        counts[row.status] = counts.get(row.status, 0) + 1
    done = sum(1 for row in items if row.status not in ACTIVE_STATUSES)
    progress = sum(100 if row.status not in ACTIVE_STATUSES else row.progress for row in items)
    return {
        "id": batch.id,
        "status": _status(items),
        "size": batch.size,
        "finished": done,
        "counts": counts,
        "progress_percentage": round(progress / max(1, len(items))),
        "credits_charged": batch.cost,
        "webhook_url": batch.webhook_url,
        "metadata": dict(batch.extra or {}),
        "created_at": timestamp(batch.created_at),
        "items": [
            {
                "index": i,
                "media_id": row.id,
                "status": row.status,
                "progress_percentage": 100 if row.status == MediaStatus.SUCCESS else row.progress,
            }
            for i, row in enumerate(items)
        ],
    }


def _status(items: Sequence[Any]) -> str:
    """processing while any item is queued or rendering; then success (all succeeded), fail
    (none did) or partial."""
    if any(row.status in ACTIVE_STATUSES for row in items):
        return "processing"
    good = sum(1 for row in items if row.status == MediaStatus.SUCCESS)
    if good == len(items):
        return "success"
    return "fail" if good == 0 else "partial"


def notify_if_finished(runtime: Runtime, *, batch_id: str) -> str | None:
    """Queue the batch's completion event if its last media just ended (once: the first
    caller to mark it wins); returns the webhook-id."""
    with runtime.db.session() as s:
        batch = s.get(Batch, batch_id)
        if batch is None or batch.notified_at is not None:
            return None
        active = s.scalar(
            select(func.count())
            .select_from(Media)
            .where(Media.batch_id == batch_id, Media.status.in_(ACTIVE_STATUSES))
        )
        if active:
            return None
        marked = s.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.notified_at.is_(None))
            .values(notified_at=utcnow())
        )
        if getattr(marked, "rowcount", 0) != 1 or not batch.webhook_url:
            return None
        url = batch.webhook_url
        payload = {
            "type": "batch.finished",
            "customer_id": batch.customer_id,
            "batch_id": batch.id,
            "batch": batch_public(s, batch),
        }
    webhook_id = f"msg_{uuid.uuid4().hex}"
    try:
        runtime.queue.webhook(webhook_id, url, payload, attempt=1)
    except Exception:
        log.exception("batch %s: its webhook could not be queued", batch_id)
        return None
    return webhook_id
