"""parental consent online: requests emailed to guardians, and the trust's choice to send them

Revision ID: e6c1d9a3b528
Revises: d4a8b2f6e917
Create Date: 2026-11-25 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db

revision: str = "e6c1d9a3b528"
down_revision: str | None = "d4a8b2f6e917"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=10), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("shown_text_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        sa.Column("redacted_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["consent_id"], ["consent.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["guardian_id"], ["guardian.id"]),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupil.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.ForeignKeyConstraint(["sent_by_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("consent_request", schema=None) as batch_op:
        batch_op.create_index("ix_consent_request_contact_id", ["contact_id"], unique=False)
        batch_op.create_index("ix_consent_request_school_id", ["school_id"], unique=False)
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_requests_automatic", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.drop_column("consent_requests_automatic")
    with op.batch_alter_table("consent_request", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_request_school_id")
        batch_op.drop_index("ix_consent_request_contact_id")
    op.drop_table("consent_request")
