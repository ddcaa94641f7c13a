"""access: one-time links to choose a password (invitations and resets)

Revision ID: b7e2d91c4a05
Revises: a1c9e4b7d302
Create Date: 2026-11-25 10:00:00

Nobody sets another person's password: an account starts from an emailed invitation and a
forgotten password is reset by an emailed link. Only the link's SHA-256 is stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sqlmodel.sql.sqltypes  # noqa: F401
from core.db import UTCDateTime

revision: str = "b7e2d91c4a05"
down_revision: str | None = "a1c9e4b7d302"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_account_link_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_link_token_hash")),
    )
    with op.batch_alter_table("account_link") as batch:
        batch.create_index(batch.f("ix_account_link_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_table("account_link")
