"""The staff client signing in through the browser (OAuth 2.0 device authorization grant,
RFC 8628): each sign-in in progress, its codes stored keyed.

Revision ID: a7c2e5f8b104
Revises: f6b9d4e2a013
Create Date: 2026-12-03 16:14:39.174062
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db

revision: str = "a7c2e5f8b104"
down_revision: str | None = "f6b9d4e2a013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("asked_from", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("address_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("asked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("polled_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.Column("approved_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("denied_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("issued_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_device_grant_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_grant")),
        sa.UniqueConstraint("device_code_hash", name=op.f("uq_device_grant_device_code_hash")),
        sa.UniqueConstraint("user_code_hash", name=op.f("uq_device_grant_user_code_hash")),
    )
    with op.batch_alter_table("device_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_grant_address_hash"), ["address_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_grant_address_hash"))

    op.drop_table("device_grant")
