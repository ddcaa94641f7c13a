"""Concerns about adults kept and reviewed as the trust says: the day a member of staff left
(low-level concerns are kept until then, and the trust's period after), and the trust's own
period for low-level concerns and its review interval.

Revision ID: f6b9d4e2a013
Revises: e5a8c3d1f902
Create Date: 2026-12-03 15:29:21.049494
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db  # noqa: F401

revision: str = "f6b9d4e2a013"
down_revision: str | None = "e5a8c3d1f902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))

    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_low_level_years", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("concern_review_weeks", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.drop_column("concern_review_weeks")
        batch_op.drop_column("retention_low_level_years")

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("left_on")
