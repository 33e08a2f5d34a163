"""SQLAlchemy tables, the engine/session factory and Alembic migrations."""

from kinora.db.models import ApiKey, Base, CreditEntry, Customer, Media, MediaStatus
from kinora.db.session import Database, upgrade

__all__ = [
    "ApiKey",
    "Base",
    "CreditEntry",
    "Customer",
    "Database",
    "Media",
    "MediaStatus",
    "upgrade",
]
