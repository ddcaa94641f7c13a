"""An invitation accepted through the school's Microsoft or Google account: the sign-in under
way names the invitation it uses.

Revision ID: d0f5b8c1e437
Revises: c9e4a7b0d326
Create Date: 2026-12-04 20:14:18.398812
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0f5b8c1e437"
down_revision: str | None = "c9e4a7b0d326"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sso_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invitation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_sso_attempt_invitation_id_account_link"),
            "account_link",
            ["invitation_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("sso_attempt", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_sso_attempt_invitation_id_account_link"), type_="foreignkey"
        )
        batch_op.drop_column("invitation_id")
