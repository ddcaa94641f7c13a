"""A parent's refusal is resolved by the school: who resolved it, when, and how.

Revision ID: c4e1a7d9b203
Revises: b8d3f5a2c614
Create Date: 2026-12-02

A declined consent request stops contact with that pupil on the contact until the school
resolves it with the family (consent.refusals); these columns hold that resolution. They join
a request's sealed content only once they hold a value (core.record.seals.ADDED_LATER), so no
request already on the change record changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "c4e1a7d9b203"
down_revision: str | None = "b8d3f5a2c614"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_request") as batch:
        batch.add_column(sa.Column("resolved_at", core.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_consent_request_resolved_by_id_staff"), "staff", ["resolved_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_request") as batch:
        batch.drop_constraint(op.f("fk_consent_request_resolved_by_id_staff"), type_="foreignkey")
        batch.drop_column("resolution")
        batch.drop_column("resolved_by_id")
        batch.drop_column("resolved_at")
