"""data protection: legal holds, and the day a pupil leaves

Revision ID: a7d3e9c5b142
Revises: f2c7d4a9b318
Create Date: 2026-11-25 20:30:00

A hold is kept when released (released_at set), so the record shows what was held and when.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db

revision: str = "a7d3e9c5b142"
down_revision: str | None = "f2c7d4a9b318"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("case_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=True),
        sa.Column("placed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["placed_by_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["released_by_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.create_index("ix_legal_hold_school_id", ["school_id"], unique=False)
        batch_op.create_index("ix_legal_hold_subject", ["subject_type", "subject_id"], unique=False)
    with op.batch_alter_table("pupil", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pupil", schema=None) as batch_op:
        batch_op.drop_column("left_on")
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_hold_subject")
        batch_op.drop_index("ix_legal_hold_school_id")
    op.drop_table("legal_hold")
