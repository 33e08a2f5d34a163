"""sealed webhook secrets (a wider column) and per-media link versions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:10:00

Sealing the existing plain secrets needs the key, which is not in the database: it happens on
every start after the migrations (``kinora.db.session.seal_plain_secrets``), idempotently.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.alter_column(
            "webhook_secret",
            existing_type=sa.String(length=100),
            type_=sa.Text(),
            existing_nullable=False,
            existing_server_default="",
        )
    with op.batch_alter_table("media") as batch:
        batch.add_column(
            sa.Column("link_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.drop_column("link_version")
    with op.batch_alter_table("customers") as batch:
        batch.alter_column(
            "webhook_secret",
            existing_type=sa.Text(),
            type_=sa.String(length=100),
            existing_nullable=False,
            existing_server_default="",
        )
