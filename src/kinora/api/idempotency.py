"""``Idempotency-Key``: a retry with the same key and body gets the first response, once charged.

The key is claimed by inserting its row before the work starts, so concurrent retries wait for
the first one instead of racing it. A failed first attempt releases the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from kinora.db.models import IdempotencyRecord, utcnow
from kinora.errors import IdempotencyConflictError, InputError

if TYPE_CHECKING:
    from kinora.api.deps import ParsedBody
    from kinora.runtime import Runtime

WAIT_SECONDS = 120.0


def request_hash(method: str, path: str, body: ParsedBody | None) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    if body is not None:
        digest.update(json.dumps(body.fields, sort_keys=True, default=str).encode())
        for upload in body.uploads:
            digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()


def run_once(
    runtime: Runtime,
    *,
    customer_id: str,
    key: str | None,
    fingerprint: str,
    action: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    if not key:
        return action()
    if len(key) > 255:
        raise InputError(("header", "Idempotency-Key"), "at most 255 characters")
    ttl = dt.timedelta(hours=runtime.settings.idempotency_ttl_hours)
    with runtime.db.session() as s:
        s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - ttl))
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with runtime.db.session() as s:
                s.add(IdempotencyRecord(customer_id=customer_id, key=key, request_hash=fingerprint))
            break
        except IntegrityError:
            replayed = _replay(
                runtime,
                customer_id=customer_id,
                key=key,
                fingerprint=fingerprint,
                deadline=deadline,
            )
            if replayed is not None:
                return replayed
    try:
        body = action()
    except BaseException:
        with runtime.db.session() as s:
            s.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.customer_id == customer_id, IdempotencyRecord.key == key
                )
            )
        raise
    with runtime.db.session() as s:
        record = s.get(IdempotencyRecord, (customer_id, key))
        if record is not None:
            record.status_code = 200
            record.response = body
    return body


def _replay(
    runtime: Runtime, *, customer_id: str, key: str, fingerprint: str, deadline: float
) -> dict[str, Any] | None:
    """The stored response; None when the first attempt failed and released the key."""
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
        time.sleep(0.05)
    raise IdempotencyConflictError("the first request with this key has not finished; retry later")
