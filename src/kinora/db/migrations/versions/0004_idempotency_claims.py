"""idempotency claims: which attempt holds a key, and the media it committed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 06:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("claim", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("media_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("media_id")
        batch.drop_column("claim")
