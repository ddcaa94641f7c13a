"""policy: a trust's own choices of consent age, approval wait, review sample and lexicon

Revision ID: f2c7d4a9b318
Revises: e5b1f3a8c604
Create Date: 2026-11-25 19:10:00

The trust already had its own reminder intervals; these complete its policy (core/policy.py).
Unset columns follow the deployment's settings.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db  # noqa: F401

revision: str = "f2c7d4a9b318"
down_revision: str | None = "e5b1f3a8c604"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_wait_hours", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("consent_age", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_sample_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("extra_lexicon", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.drop_column("extra_lexicon")
        batch_op.drop_column("review_sample_rate")
        batch_op.drop_column("consent_age")
        batch_op.drop_column("approval_wait_hours")
