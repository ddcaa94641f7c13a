"""full checks of the change record kept for the dashboard; flagged entries indexed by time

Revision ID: a3d7f1c9e520
Revises: e6c1d9a3b528
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db

revision: str = "a3d7f1c9e520"
down_revision: str | None = "e6c1d9a3b528"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGGED = "flags != ''"


def upgrade() -> None:
    op.create_table(
        "chain_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("events_checked", sa.Integer(), nullable=False),
        sa.Column("first_bad", sa.Integer(), nullable=True),
        sa.Column("records_checked", sa.Integer(), nullable=False),
        sa.Column("altered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chain_check", schema=None) as batch_op:
        batch_op.create_index("ix_chain_check_checked_at", ["checked_at"], unique=False)
    # Not in batch mode: SQLite builds an index in place, without copying the message table.
    op.create_index(
        "ix_message_flagged_school_id_occurred_at",
        "message",
        ["school_id", "occurred_at"],
        unique=False,
        sqlite_where=sa.text(FLAGGED),
        postgresql_where=sa.text(FLAGGED),
    )


def downgrade() -> None:
    op.drop_index("ix_message_flagged_school_id_occurred_at", table_name="message")
    with op.batch_alter_table("chain_check", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_check_checked_at")
    op.drop_table("chain_check")
