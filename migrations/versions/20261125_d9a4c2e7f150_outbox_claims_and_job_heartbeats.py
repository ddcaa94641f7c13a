"""reliability: every outbox claim carries its id; each job's runs are recorded

Revision ID: d9a4c2e7f150
Revises: c3f8a6e1d927
Create Date: 2026-11-25 17:00:00

A sender marks each email sent as the mail server accepts it, and every update of a claimed row
matches the claim's id, so a sender whose lease ran out changes nothing. Each job's last run,
success and failure count are kept, for /metrics and /readyz.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db  # noqa: F401

revision: str = "d9a4c2e7f150"
down_revision: str | None = "c3f8a6e1d927"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_started_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_count", sa.Integer(), nullable=False),
        sa.Column("last_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_run")),
    )
    with op.batch_alter_table("outbox_email") as batch:
        batch.add_column(
            sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_column("claim_id")
    op.drop_table("job_run")
