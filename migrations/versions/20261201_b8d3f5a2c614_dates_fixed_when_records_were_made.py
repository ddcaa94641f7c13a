"""dates fixed when records were made: pupils' dates of birth kept with contacts and incidents,
dates that wait for a second person, trusts, schools and proposals under the chain

Revision ID: b8d3f5a2c614
Revises: a4c2e8f1b937
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

revision: str = "b8d3f5a2c614"
down_revision: str | None = "a4c2e8f1b937"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHY = (
    "Each contact and incident now keeps its pupils' dates of birth as they stood (retention "
    "counts from these); trusts, schools and privileged proposals are now kept records."
)


def upgrade() -> None:
    for table in ("contact_pupil", "incident_pupil"):
        op.add_column(table, sa.Column("born_on", sa.Date(), nullable=True))
        # The best record of the date as it stood is the date as it stands at this upgrade.
        op.execute(
            f"UPDATE {table} SET born_on = "  # noqa: S608 (table names are this file's own)
            f"(SELECT pupil.date_of_birth FROM pupil WHERE pupil.id = {table}.pupil_id)"
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("born_on", existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.alter_column("staff_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("pupil_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("new_date_of_birth", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("old_date_of_birth", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("new_left_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("old_left_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("changes_left_on", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_foreign_key(
            "fk_pending_change_pupil_id_pupil", "pupil", ["pupil_id"], ["id"]
        )
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.alter_column("changes_left_on", server_default=None)
    _reseal()


def _reseal() -> None:
    """Records whose content now holds more (or that are newly kept) are sealed as they stand,
    in events that say why, so the next check judges them from here on."""
    import api.tables  # noqa: F401  (every kept record type registered)
    from core.record import seals
    from core.principal import Principal

    at = datetime.now(UTC)
    with Session(bind=op.get_bind()) as session:
        for name in ("trust", "school", "pending_change", "contact", "incident"):
            seals.reseal(session, name, actor=Principal.command_line(), at=at, why=WHY)
        session.commit()  # links the events; the migration's own transaction commits them


def downgrade() -> None:
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.drop_constraint("fk_pending_change_pupil_id_pupil", type_="foreignkey")
        for column in (
            "changes_left_on",
            "old_left_on",
            "new_left_on",
            "old_date_of_birth",
            "new_date_of_birth",
            "pupil_id",
        ):
            batch_op.drop_column(column)
        batch_op.alter_column("staff_id", existing_type=sa.Integer(), nullable=False)
    for table in ("incident_pupil", "contact_pupil"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("born_on")
