"""a pupil's log entries indexed by when they happened, for the pupil's chronology

Revision ID: b5e2c8f4a716
Revises: a3d7f1c9e520
Create Date: 2026-11-26 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "b5e2c8f4a716"
down_revision: str | None = "a3d7f1c9e520"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (no table copy on SQLite), filled from each entry, then indexed.
    op.add_column(
        "message_pupil", sa.Column("occurred_at", core.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE message_pupil SET occurred_at = "
        "(SELECT message.occurred_at FROM message WHERE message.id = message_pupil.message_id)"
    )
    op.create_index(
        "ix_message_pupil_pupil_id_occurred_at",
        "message_pupil",
        ["pupil_id", "occurred_at", "message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_message_pupil_pupil_id_occurred_at", table_name="message_pupil")
    with op.batch_alter_table("message_pupil", schema=None) as batch_op:
        batch_op.drop_column("occurred_at")
