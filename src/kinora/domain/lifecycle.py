"""The media lifecycle: the only code that changes a media's status.

::

    queued --claim--> processing --succeed--> success
      ^  \\                  |  \\--fail-----> fail     (refund)
      |   \\--cancel-------- | ---------------> cancel  (full refund)
      |                     \\--cancelled----> cancel  (refund of unfinished variants)
      \\-------requeue------/  (stale heartbeat, shutdown: the reaper)

Every transition here also keeps the money and the record right: a failed or cancelled
generation is refunded in the same transaction that marks it, a success appends its history
entry, and each end queues the completion webhook. Callers (the create/edit use cases, the
runner, the reaper) pick a transition; none of them writes ``status`` themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kinora.db.models import Customer, Media, MediaStatus, utcnow
from kinora.domain import credits
from kinora.domain.views import history_entry
from kinora.domain.webhooks import notify
from kinora.errors import BadRequestError, KinoraError
from kinora.spec import GenerationSpec

if TYPE_CHECKING:
    from kinora.runtime import Runtime

PROGRESS_START = 5
"""Where a claimed job's progress starts (decoding inputs)."""


class LostClaim(KinoraError):
    """Another worker owns this generation now (ours was presumed dead), or it was replaced."""


class Deferred(KinoraError):
    """The job must wait (its key is at its concurrency cap); it is queued again shortly."""


def render_priority(spec: GenerationSpec) -> int:
    """Short clips before long ones: 100 minus the seconds of video asked for (at least 1)."""
    return max(1, 100 - int(spec.motion_seconds * spec.quantity))


def running(media: Media) -> bool:
    return media.status in (MediaStatus.QUEUED, MediaStatus.PROCESSING)


# --------------------------------------------------------------------------- queue


def start_generation(s: Session, media: Media, spec: GenerationSpec, *, cost: int) -> None:
    """Charge for a new generation of ``media`` and queue it (an edit or a re-process)."""
    credits.debit(s, customer_id=media.customer_id, amount=cost, media_id=media.id)
    media.spec = spec
    media.bullet_version += 1
    media.cancel_requested = False
    media.status = MediaStatus.QUEUED
    media.progress = 0
    media.stage = ""
    media.error = ""
    media.attempts = 0
    media.worker_id = ""
    media.heartbeat_at = None
    media.cost = cost
    media.enqueued_at = utcnow()


def requeue(media: Media, *, stage: str, count_attempt: bool = True) -> None:
    """Put a running job back in the queue (its worker died or is shutting down)."""
    media.status = MediaStatus.QUEUED
    media.stage = stage
    media.worker_id = ""
    if not count_attempt:
        media.attempts = max(0, media.attempts - 1)  # not the job's fault
    media.enqueued_at = utcnow()


# --------------------------------------------------------------------------- claim


def claim(runtime: Runtime, *, media_id: str, generation: int, worker_id: str) -> bool:
    """Take the job if it is queued, or running with a stale heartbeat. One UPDATE decides."""
    now = utcnow()
    cap = runtime.settings.max_concurrent_per_key
    stale = now - dt.timedelta(seconds=runtime.settings.job_lease_seconds)
    deferred = False
    with runtime.db.session() as s:
        media = s.get(Media, media_id, with_for_update=True)
        if media is None or media.bullet_version != generation:
            return False
        heartbeat = media.heartbeat_at
        if heartbeat is not None and heartbeat.tzinfo is None:
            heartbeat = heartbeat.replace(tzinfo=dt.UTC)
        abandoned = media.status == MediaStatus.QUEUED or (
            media.status == MediaStatus.PROCESSING and (heartbeat is None or heartbeat < stale)
        )
        if media.attempts >= runtime.settings.max_attempts and abandoned:
            # Only a job nobody is running gives up: a duplicate task must never kill the
            # healthy last attempt.
            fail(s, media, "gave up after repeated worker failures")
            return False
        if cap > 0 and media.status == MediaStatus.QUEUED:
            # One claim per customer at a time decides (PostgreSQL: the customer's row lock),
            # else two workers could both count one running job under a cap of two.
            s.get(Customer, media.customer_id, with_for_update=True)
            count = s.scalar(
                select(func.count())
                .select_from(Media)
                .where(
                    Media.customer_id == media.customer_id,
                    Media.status == MediaStatus.PROCESSING,
                    Media.heartbeat_at >= stale,
                )
            )
            if (count or 0) >= cap:
                # Seen waiting: the reaper adds no second task for a row that only waits
                # its turn (enqueued_at stays: it orders the queue).
                media.heartbeat_at = now
                deferred = True
        if deferred:
            claimed = False
        else:
            result = s.execute(
                update(Media)
                .where(
                    Media.id == media_id,
                    Media.bullet_version == generation,
                    (Media.status == MediaStatus.QUEUED)
                    | ((Media.status == MediaStatus.PROCESSING) & (Media.heartbeat_at < stale)),
                )
                .values(
                    status=MediaStatus.PROCESSING,
                    attempts=Media.attempts + 1,
                    worker_id=worker_id,
                    heartbeat_at=now,
                    started_at=now,
                    progress=PROGRESS_START,
                    stage="starting",
                    error="",
                )
            )
            claimed = getattr(result, "rowcount", 0) == 1
    if deferred:
        raise Deferred()
    return claimed


def still_ours(s: Session, *, media_id: str, generation: int, worker_id: str) -> Media | None:
    """The row, locked, if this worker still runs this generation of it; else None."""
    media: Media | None = s.get(Media, media_id, with_for_update=True)
    if (
        media is None
        or media.bullet_version != generation
        or media.worker_id != worker_id
        or media.status != MediaStatus.PROCESSING
    ):
        return None
    return media


# --------------------------------------------------------------------------- ends


def fail(s: Session, media: Media, reason: str) -> None:
    """Mark failed and refund the generation's cost (same transaction)."""
    media.status = MediaStatus.FAIL
    media.error = reason[:2000]
    media.stage = ""
    media.worker_id = ""
    credits.credit(
        s, customer_id=media.customer_id, amount=media.cost, media_id=media.id, reason="refund"
    )
    media.cost = 0


def succeed(
    runtime: Runtime,
    *,
    media_id: str,
    generation: int,
    worker_id: str,
    results: list[dict[str, Any]],
    service_name: str,
    service_version: str,
    configs: list[dict[str, Any]],
    aspect_ratio: str,
    ignored: Sequence[dict[str, str]] = (),
) -> None:
    """The generation finished: results, the engine that made them, a history entry."""
    with runtime.db.session() as s:
        media = still_ours(s, media_id=media_id, generation=generation, worker_id=worker_id)
        if media is None:
            raise LostClaim()
        media.status = MediaStatus.SUCCESS
        media.progress = 100
        media.stage = ""
        media.result = results
        media.service_name = service_name
        media.service_version = service_version
        media.duration_time = max((r["duration"] for r in results), default=0.0)
        media.video_history = [
            *media.video_history,
            history_entry(
                media,
                service_name=service_name,
                service_version=service_version,
                results=results,
                configs=configs,
                aspect_ratio=aspect_ratio,
                ignored=ignored,
            ),
        ]
        media.worker_id = ""
    notify(runtime, media_id=media_id)


def fail_running(
    runtime: Runtime, *, media_id: str, generation: int, worker_id: str, reason: str
) -> None:
    """The worker's render failed: fail and refund, if the job is still this worker's."""
    with runtime.db.session() as s:
        media = still_ours(s, media_id=media_id, generation=generation, worker_id=worker_id)
        if media is None:
            return
        fail(s, media, reason)
    notify(runtime, media_id=media_id)


def cancel(runtime: Runtime, s: Session, media: Media) -> bool:
    """A caller's cancel: a queued job ends now (full refund, True); a running one is asked
    to stop at its next frame (False). Anything else is not running (a 400)."""
    if media.status == MediaStatus.QUEUED:
        media.status = MediaStatus.CANCEL
        media.stage = ""
        credits.credit(
            s, customer_id=media.customer_id, amount=media.cost, media_id=media.id, reason="refund"
        )
        media.cost = 0
        media.updated_at = utcnow()
        return True
    if media.status == MediaStatus.PROCESSING:
        media.cancel_requested = True
        media.updated_at = utcnow()
        return False
    raise BadRequestError("nothing is running")


def cancelled(
    runtime: Runtime,
    *,
    media_id: str,
    worker_id: str,
    results: list[dict[str, Any]],
) -> None:
    """A running job stopped on cancel: keep the variants that finished, refund the rest."""
    with runtime.db.session() as s:
        media = s.get(Media, media_id)
        if media is None or media.worker_id != worker_id:
            return
        quantity = max(1, len(media.spec.seeds) or 1)
        per_variant = media.cost // quantity
        refund = media.cost - per_variant * len(results)
        credits.credit(
            s, customer_id=media.customer_id, amount=refund, media_id=media.id, reason="refund"
        )
        media.cost -= refund
        media.status = MediaStatus.CANCEL
        media.stage = ""
        media.worker_id = ""
        media.cancel_requested = False
        if results:
            media.result = results
    notify(runtime, media_id=media_id)
