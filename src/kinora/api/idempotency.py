"""``Idempotency-Key``: a retry with the same key and body gets the first response, once charged.

The key is claimed by inserting its row before the work starts, so concurrent retries wait for
the first one instead of racing it. A failed first attempt releases the key. The attempt binds
the key to its media inside the media's own transaction, so a crash between that commit and
storing the response still answers retries with that media, charged once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinora.db.models import IdempotencyRecord, utcnow
from kinora.errors import IdempotencyConflictError, InputError

if TYPE_CHECKING:
    from kinora.api.deps import ParsedBody
    from kinora.domain.media import OnCommit
    from kinora.runtime import Runtime

WAIT_SECONDS = 120.0


def request_hash(method: str, path: str, body: ParsedBody | None) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    if body is not None:
        digest.update(json.dumps(body.fields, sort_keys=True, default=str).encode())
        for upload in body.uploads:
            digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()


STALE_SECONDS = 600.0
"""An attempt that has neither committed nor answered after this long died: a retry takes the
key over (a request's own work is bounded far below this)."""

Action = Callable[["OnCommit | None"], dict[str, Any]]


def run_once(
    runtime: Runtime,
    *,
    customer_id: str,
    key: str | None,
    fingerprint: str,
    action: Action,
    replay_media: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``action`` once per key. The action calls its ``on_commit`` inside the transaction
    that creates or changes the media, which binds the key to that media: if the process dies
    before the response is stored, a retry answers with that media (``replay_media``) instead
    of waiting for a response that will never come, and is never charged again."""
    if not key:
        return action(None)
    if len(key) > 255:
        raise InputError(("header", "Idempotency-Key"), "at most 255 characters")
    ttl = dt.timedelta(hours=runtime.settings.idempotency_ttl_hours)
    with runtime.db.session() as s:
        s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - ttl))
    claim = secrets.token_hex(16)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with runtime.db.session() as s:
                s.add(
                    IdempotencyRecord(
                        customer_id=customer_id, key=key, request_hash=fingerprint, claim=claim
                    )
                )
            break
        except IntegrityError:
            replayed = _replay(
                runtime,
                customer_id=customer_id,
                key=key,
                fingerprint=fingerprint,
                deadline=deadline,
                claim=claim,
                replay_media=replay_media,
            )
            if replayed is _TAKEN_OVER:
                break
            if replayed is not None:
                return replayed

    def on_commit(session: Session, media_id: str) -> None:
        record = session.get(IdempotencyRecord, (customer_id, key), with_for_update=True)
        if record is None or record.claim != claim:
            raise IdempotencyConflictError("another attempt with this key took it over")
        record.media_id = media_id

    try:
        body = action(on_commit)
    except BaseException:
        with runtime.db.session() as s:
            s.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.customer_id == customer_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.claim == claim,
                    IdempotencyRecord.media_id.is_(None),
                )
            )
        raise
    _store_response(runtime, customer_id=customer_id, key=key, claim=claim, body=body)
    return body


def _store_response(
    runtime: Runtime, *, customer_id: str, key: str, claim: str, body: dict[str, Any]
) -> None:
    with runtime.db.session() as s:
        record = s.get(IdempotencyRecord, (customer_id, key))
        if record is not None and record.claim == claim:
            record.status_code = 200
            record.response = body


_TAKEN_OVER: dict[str, Any] = {}


def _replay(
    runtime: Runtime,
    *,
    customer_id: str,
    key: str,
    fingerprint: str,
    deadline: float,
    claim: str,
    replay_media: Callable[[str], dict[str, Any]],
) -> dict[str, Any] | None:
    """The stored response, or the committed media; None when the first attempt failed and
    released the key; ``_TAKEN_OVER`` when it died before committing and this call now holds
    the key."""
    while time.monotonic() < deadline:
        with runtime.db.sessions() as s:
            record = s.get(IdempotencyRecord, (customer_id, key))
            if record is None:
                return None
            if record.request_hash != fingerprint:
                raise InputError(
                    ("header", "Idempotency-Key"),
                    "this key was already used with a different request",
                )
            if record.response is not None:
                return dict(record.response)
            media_id, old_claim, created = record.media_id, record.claim, record.created_at
        if media_id is not None:
            return replay_media(media_id)
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        if (utcnow() - created).total_seconds() > STALE_SECONDS:
            with runtime.db.session() as s:
                taken = s.execute(
                    update(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.customer_id == customer_id,
                        IdempotencyRecord.key == key,
                        IdempotencyRecord.claim == old_claim
                        if old_claim is not None
                        else IdempotencyRecord.claim.is_(None),
                        IdempotencyRecord.media_id.is_(None),
                        IdempotencyRecord.response.is_(None),
                    )
                    .values(claim=claim, created_at=utcnow())
                )
            if getattr(taken, "rowcount", 0) == 1:
                return _TAKEN_OVER
            continue
        time.sleep(0.05)
    raise IdempotencyConflictError("the first request with this key has not finished; retry later")
