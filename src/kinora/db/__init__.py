"""SQLAlchemy tables, the engine/session factory and Alembic migrations."""

from kinora.db.models import (
    ApiKey,
    Base,
    CreditEntry,
    Customer,
    IdempotencyRecord,
    Media,
    MediaStatus,
    WebhookDelivery,
)
from kinora.db.session import Database, upgrade

__all__ = [
    "ApiKey",
    "Base",
    "CreditEntry",
    "Customer",
    "Database",
    "IdempotencyRecord",
    "Media",
    "MediaStatus",
    "WebhookDelivery",
    "upgrade",
]
