"""Batches: up to :data:`MAX_ITEMS` media created by one request, charged all or nothing.

Every item is checked before anything is fetched or charged (a 422 names the item), the whole
price is compared with the balance before any input is downloaded (a 402 creates nothing),
and the media are inserted and charged in one transaction: a batch exists whole or not at
all. Each media is then an ordinary media (its own renders, retries, webhook) carrying the
batch's id, and the batch's own webhook fires once, when the last of them ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from kinora.db.models import ACTIVE_STATUSES, Batch, Customer, Media, utcnow
from kinora.domain import media as media_service
from kinora.domain.batchstatus import get_batch
from kinora.domain.requests import MediaCreate
from kinora.errors import InputError, InsufficientCreditError
from kinora.inputs.fetch import check_webhook_url

if TYPE_CHECKING:
    from kinora.domain.media import OnCommit
    from kinora.runtime import Runtime

MAX_ITEMS = 100
"""Most media one batch may create."""


@dataclass
class BatchCreated:
    batch: Batch | None
    """None for a dry run."""
    media: list[Media]
    credits_required: int


def _in_item(exc: InputError, index: int) -> InputError:
    """``exc`` about item ``index`` of the batch's ``items``."""
    loc = exc.loc[1:] if exc.loc[:1] == ("body",) else exc.loc
    moved = InputError(("body", "items", index, *loc), str(exc), exc.kind)
    return moved


def create_batch(
    runtime: Runtime,
    *,
    customer: Customer,
    items: Sequence[MediaCreate],
    webhook_url: str = "",
    metadata: dict[str, Any] | None = None,
    dry_run: bool = False,
    on_commit: OnCommit | None = None,
) -> BatchCreated:
    if not 1 <= len(items) <= MAX_ITEMS:
        raise InputError(("body", "items"), f"give 1 to {MAX_ITEMS} create requests")
    if webhook_url:
        check_webhook_url(webhook_url, allow_private=runtime.settings.allow_private_urls)
    planned = []
    for i, item in enumerate(items):
        try:
            planned.append(media_service.plan_media(runtime, item, ()))
        except InputError as exc:
            raise _in_item(exc, i) from None
    total = sum(p.cost for p in planned)
    if dry_run:
        return BatchCreated(batch=None, media=[], credits_required=total)
    with runtime.db.sessions() as s:
        balance = s.scalar(select(Customer.credits).where(Customer.id == customer.id)) or 0
    if balance < total:
        # Before any download: the transaction below would refuse it too, after the work.
        raise InsufficientCreditError(f"the batch costs {total} credits; {balance} left")
    staged: list[tuple[str, Any]] = []
    try:
        for i, p in enumerate(planned):
            try:
                staged.append(
                    media_service.stage_media(runtime, customer=customer, planned=p, uploads=())
                )
            except InputError as exc:
                raise _in_item(exc, i) from None
        batch_id = str(uuid.uuid4())
        with runtime.db.session() as s:
            batch = Batch(
                id=batch_id,
                customer_id=customer.id,
                size=len(items),
                cost=total,
                webhook_url=webhook_url,
                extra=metadata or {},
                media_ids=[media_id for media_id, _ in staged],
                created_at=utcnow(),
            )
            s.add(batch)
            created = [
                media_service.add_media(
                    s,
                    customer=customer,
                    media_id=media_id,
                    planned=p,
                    spec=spec,
                    batch_id=batch_id,
                )
                for p, (media_id, spec) in zip(planned, staged, strict=True)
            ]
            if on_commit is not None:
                s.flush()
                on_commit(s, batch_id)
    except BaseException:
        for media_id, _ in staged:
            runtime.storage.delete_prefix(f"{customer.id}/{media_id}")
        raise
    for media in created:
        media_service.enqueue_media(runtime, media)
    return BatchCreated(batch=batch, media=created, credits_required=total)


def cancel_batch(runtime: Runtime, *, customer: Customer, batch_id: str) -> Batch:
    """Cancel every media of the batch still queued or rendering, as ``POST
    /media/{id}/cancel`` does each (queued: full refund; rendering: finished variants kept);
    media that already ended stay as they are."""
    with runtime.db.sessions() as s:
        batch = get_batch(s, batch_id=batch_id, customer=customer)
        active = list(
            s.scalars(
                select(Media.id).where(
                    Media.batch_id == batch_id, Media.status.in_(ACTIVE_STATUSES)
                )
            )
        )
    for media_id in active:
        media_service.cancel_media(runtime, customer=customer, media_id=media_id)
    return batch
