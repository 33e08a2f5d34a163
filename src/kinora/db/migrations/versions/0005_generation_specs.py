"""generation specs: the params and inputs columns become one typed spec

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

from kinora.spec import GenerationSpec, from_legacy

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))
    media = sa.table(
        "media",
        sa.column("id", sa.String),
        sa.column("params", sa.JSON),
        sa.column("inputs", sa.JSON),
        sa.column("spec", sa.JSON),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(media.c.id, media.c.params, media.c.inputs)).all()
    for media_id, params, inputs in rows:
        spec = GenerationSpec.model_validate(from_legacy(params or {}, inputs or []))
        bind.execute(media.update().where(media.c.id == media_id).values(spec=spec.to_stored()))
    with op.batch_alter_table("media") as batch:
        batch.drop_column("params")
        batch.drop_column("inputs")


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
    media = sa.table(
        "media",
        sa.column("id", sa.String),
        sa.column("params", sa.JSON),
        sa.column("inputs", sa.JSON),
        sa.column("spec", sa.JSON),
    )
    bind = op.get_bind()
    for media_id, stored in bind.execute(sa.select(media.c.id, media.c.spec)).all():
        spec = GenerationSpec.from_stored(stored)
        params = spec.to_stored()
        inputs = params.pop("inputs")
        params["model"] = params.pop("try_on_model")
        params["audio_option"] = params.pop("audio")
        bind.execute(
            media.update().where(media.c.id == media_id).values(params=params, inputs=inputs)
        )
    with op.batch_alter_table("media") as batch:
        batch.drop_column("spec")
