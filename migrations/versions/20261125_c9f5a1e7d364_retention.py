"""data protection: retention periods in the trust's policy, redaction stamps, run reports

Revision ID: c9f5a1e7d364
Revises: b8e4f0d6c253
Create Date: 2026-11-25 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db

revision: str = "c9f5a1e7d364"
down_revision: str | None = "b8e4f0d6c253"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REDACTABLE = (
    "contact",
    "message",
    "message_review",
    "deletion_task",
    "consent",
    "parent_notice",
    "incident",
    "pupil",
    "guardian",
)
TRUST_PERIODS = (
    "retention_safeguarding_years",
    "retention_allegation_years",
    "retention_closed_contact_years",
)


def upgrade() -> None:
    for table in REDACTABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("redacted_at", core.db.UTCDateTime(timezone=True), nullable=True)
            )
    with op.batch_alter_table("trust", schema=None) as batch_op:
        for name in TRUST_PERIODS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("dpo_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Integer(), nullable=False),
        sa.Column("ran_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("run_by_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"]),
        sa.ForeignKeyConstraint(["run_by_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retention_run", schema=None) as batch_op:
        batch_op.create_index("ix_retention_run_trust_id", ["trust_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retention_run", schema=None) as batch_op:
        batch_op.drop_index("ix_retention_run_trust_id")
    op.drop_table("retention_run")
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.drop_column("dpo_email")
        for name in reversed(TRUST_PERIODS):
            batch_op.drop_column(name)
    for table in reversed(REDACTABLE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("redacted_at")
