"""The full check as filed work: asked for, taken up by one runner (its hold), where it has got
to (so a restart resumes it), and what it found, one row a finding. Checks already filed are
done, finished when they were made.

Revision ID: b7e2d4f9a168
Revises: a4d2e8f6c913
Create Date: 2026-12-03 10:28:29.955575
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db  # noqa: F401


revision: str = "b7e2d4f9a168"
down_revision: str | None = "a4d2e8f6c913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chain_check_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('trust_id', sa.Integer(), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('first_bad', sa.Integer(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.ForeignKeyConstraint(['check_id'], ['chain_check.id'], name=op.f('fk_chain_check_finding_check_id_chain_check')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_check_finding'))
    )
    with op.batch_alter_table('chain_check_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_check_finding_check_id'), ['check_id'], unique=False)

    with op.batch_alter_table('chain_check', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asked_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default="done"))
        batch_op.add_column(sa.Column('pending', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('finished_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_until', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default="done"))
        batch_op.add_column(sa.Column('at_log', sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column('at_leaf', sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column('at_kind', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False, server_default=""))
        batch_op.add_column(sa.Column('at_record', sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index(batch_op.f('ix_chain_check_finished_at'), ['finished_at'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_chain_check_pending'), ['pending'])
    op.execute("UPDATE chain_check SET finished_at = checked_at")



def downgrade() -> None:
    with op.batch_alter_table('chain_check', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_chain_check_pending'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_chain_check_finished_at'))
        batch_op.drop_column('at_record')
        batch_op.drop_column('at_kind')
        batch_op.drop_column('at_leaf')
        batch_op.drop_column('at_log')
        batch_op.drop_column('phase')
        batch_op.drop_column('held_until')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('pending')
        batch_op.drop_column('state')
        batch_op.drop_column('asked_by')

    with op.batch_alter_table('chain_check_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_check_finding_check_id'))

    op.drop_table('chain_check_finding')
