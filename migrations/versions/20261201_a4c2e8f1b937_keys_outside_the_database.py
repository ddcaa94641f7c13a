"""keys outside the database: trusted devices, second-factor secrets encrypted

Revision ID: a4c2e8f1b937
Revises: b5e2c8f4a716
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db

revision: str = "a4c2e8f1b937"
down_revision: str | None = "b5e2c8f4a716"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("trusted_device", schema=None) as batch_op:
        batch_op.create_index("ix_trusted_device_staff_id", ["staff_id"], unique=False)
    with op.batch_alter_table("second_factor", schema=None) as batch_op:
        batch_op.alter_column(
            "secret",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            type_=sqlmodel.sql.sqltypes.AutoString(length=200),
            existing_nullable=False,
        )
    # Secrets kept in clear until now are encrypted under this deployment's key (the one the
    # server will read them with); browser sessions, stored under an unkeyed hash, end.
    from core import keys
    from core.settings import get_settings

    key = keys.of(get_settings())
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT staff_id, secret FROM second_factor")).all()
    for staff_id, secret in rows:
        if secret.startswith(f"{keys.PREFIX}:"):
            continue
        sealed = key.encrypt(secret, bound_to=f"second_factor:{staff_id}")
        connection.execute(
            sa.text("UPDATE second_factor SET secret = :s WHERE staff_id = :i"),
            {"s": sealed, "i": staff_id},
        )
    connection.execute(sa.text("UPDATE browser_session SET ended_at = created_at"))


def downgrade() -> None:
    with op.batch_alter_table("second_factor", schema=None) as batch_op:
        batch_op.alter_column(
            "secret",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=200),
            type_=sqlmodel.sql.sqltypes.AutoString(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("trusted_device", schema=None) as batch_op:
        batch_op.drop_index("ix_trusted_device_staff_id")
    op.drop_table("trusted_device")
