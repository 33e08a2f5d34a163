"""Tables. The Media row is the truth about a job; the queue only carries its id."""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from kinora.db.sealed import SecretBox, Unsealable, is_sealed
from kinora.spec import GenerationSpec

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SpecColumn(TypeDecorator[GenerationSpec]):
    """A GenerationSpec stored as JSON; rows are validated (and older shapes upgraded) on read."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, GenerationSpec):
            return value.to_stored()
        return GenerationSpec.from_stored(value).to_stored()

    def process_result_value(self, value: Any, dialect: Dialect) -> GenerationSpec:
        return GenerationSpec.from_stored(value)


SECRET_BOX = "kinora_secret_box"
"""Attribute of an engine's dialect holding its :class:`SecretBox` (``Database(secret_key=)``);
a type's bind and result processing sees only the dialect, and each engine has its own."""


def secret_box(dialect: Dialect) -> SecretBox | None:
    box = getattr(dialect, SECRET_BOX, None)
    return box if isinstance(box, SecretBox) else None


class SealedText(TypeDecorator[str]):
    """A secret stored sealed (``db/sealed.py``) when the engine has a key, read back plain.

    Without a key (a Database built without ``secret_key``) values are written as given; a
    plain value read back is returned as it is (rows written before sealing; they are sealed
    on start, ``db.session.seal_plain_secrets``).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        box = secret_box(dialect)
        if box is None or not value or is_sealed(str(value)):
            return value
        return box.seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str:
        if not value or not is_sealed(str(value)):
            return str(value or "")
        box = secret_box(dialect)
        if box is None:
            log.error("a sealed secret was read without a key: treated as none")
            return ""
        try:
            return box.open(str(value))
        except Unsealable as exc:  # KINORA_SECRET_KEY changed: no request should fail for it
            log.error("a sealed secret cannot be opened (%s): treated as none", exc)
            return ""


class MediaStatus(StrEnum):
    QUEUED = "queue_bullet"
    PROCESSING = "processing_bullet"
    SUCCESS = "success"
    FAIL = "fail"
    CANCEL = "cancel"


ACTIVE_STATUSES = (MediaStatus.QUEUED, MediaStatus.PROCESSING)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    credits: Mapped[int] = mapped_column(Integer, default=0)
    webhook_secret: Mapped[str] = mapped_column(SealedText, default="")
    """Standard Webhooks signing secret (``whsec_...``), sealed at rest (``SealedText``)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """Keys are stored only as SHA-256 hashes; ``prefix`` lets people tell them apart."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CreditEntry(Base):
    """The ledger: every debit and refund, so a balance can be explained."""

    __tablename__ = "credit_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    media_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (Index("ix_media_status_heartbeat", "status", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[str] = mapped_column(String(32), default="")
    visibility_status: Mapped[str] = mapped_column(String(1), default="1")
    batch_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    """The batch it was created in (``POST /media/batch``), or empty."""
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[GenerationSpec] = mapped_column(SpecColumn, default=GenerationSpec)
    """The current generation's spec (inputs included), typed and validated on read."""
    status: Mapped[str] = mapped_column(String(32), default=MediaStatus.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(32), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[list[Any]] = mapped_column(JSON, default=list)
    video_history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    link_version: Mapped[int] = mapped_column(Integer, default=0)
    """Part of every signed link to the media's files; bumped when the media is made private,
    so the links handed out while it was shared stop working at once (not after their TTL)."""
    bullet_version: Mapped[int] = mapped_column(Integer, default=0)
    """Generations started; the running one is ``bullet_version`` itself."""
    service_name: Mapped[str] = mapped_column(String(100), default="")
    service_version: Mapped[str] = mapped_column(String(100), default="")
    duration_time: Mapped[float] = mapped_column(default=0.0)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    """The caller's own small JSON object, echoed back (``metadata`` in the API)."""
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    cost: Mapped[int] = mapped_column(Integer, default=0)
    """Credits charged for the current generation (refunded if it fails)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str] = mapped_column(String(100), default="")
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """The stored input files, as the file map and downloads read them."""
        return [item.model_dump() for item in self.spec.inputs]


class Batch(Base):
    """Media created together by one ``POST /media/batch``: charged all or nothing, reported
    together, and announced by one webhook when the last of them ends."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[int] = mapped_column(Integer, default=0)
    """Credits charged for all its media together."""
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    media_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Its media in the order the request listed them."""
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When its completion event was queued (set once, by whichever media ended last)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


PRIVATE = "0"
"""``visibility_status`` of a private media."""


@event.listens_for(Media.visibility_status, "set", active_history=True)
def _revoke_links_when_made_private(
    target: Media, value: Any, oldvalue: Any, _initiator: Any
) -> None:
    """A media going private revokes its signed links (whoever makes the change)."""
    if value == PRIVATE and oldvalue in ("1", "2"):
        target.link_version = (target.link_version or 0) + 1


class WebhookDelivery(Base):
    """One attempt to deliver one event; attempts of an event share ``webhook_id``."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    media_id: Mapped[str] = mapped_column(String(64), index=True)
    webhook_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, delivered, retrying, failed."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyRecord(Base):
    """The first response to a request made with an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Which attempt holds the key (a stale attempt can be taken over)."""
    media_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    """The media the attempt committed, written in the same transaction as the media."""


class Lease(Base):
    """A named lease held by one process at a time (the reaper's leader election)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Worker(Base):
    """A queue consumer seen recently (for /health)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    threads: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
