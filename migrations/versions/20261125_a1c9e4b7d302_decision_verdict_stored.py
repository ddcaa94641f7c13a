"""contacts: the decision's verdict stored as given, and an approval's note

Revision ID: a1c9e4b7d302
Revises: f41c8b7d2e95
Create Date: 2026-11-25 09:00:00

Views read whether a request was approved or rejected from `rejection_reason`, so an approval
sent with a reason was shown as a rejection. The verdict is now a column of its own; decided rows
take it from their state (a contact that was decided and is not `rejected` was approved), and an
approval's stray reason moves to its note.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c9e4b7d302"
down_revision: str | None = "f41c8b7d2e95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("verdict", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("decision_note", sa.Text(), nullable=True))
    op.execute(
        "UPDATE contact SET verdict = CASE WHEN state = 'rejected' THEN 'rejected' "
        "ELSE 'approved' END WHERE decided_at IS NOT NULL"
    )
    op.execute(
        "UPDATE contact SET decision_note = rejection_reason, rejection_reason = NULL "
        "WHERE verdict = 'approved' AND rejection_reason IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("decision_note")
        batch.drop_column("verdict")
