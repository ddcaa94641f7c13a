"""The WhatsApp Business webhook: the school-owned numbers it takes deliveries for, and uploads
that no member of staff made (a platform's own delivery).

Revision ID: d2f7b1c8e460
Revises: c9a4e2b7d351
Create Date: 2026-12-03 11:19:36.617910
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db  # noqa: F401


revision: str = "d2f7b1c8e460"
down_revision: str | None = "c9a4e2b7d351"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('whatsapp_number',
    sa.Column('phone_number_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_account', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('added_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_whatsapp_number_school_id_school')),
    sa.PrimaryKeyConstraint('phone_number_id', name=op.f('pk_whatsapp_number'))
    )
    with op.batch_alter_table('whatsapp_number', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whatsapp_number_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('capture_upload', schema=None) as batch_op:
        batch_op.alter_column('uploaded_by_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('capture_upload', schema=None) as batch_op:
        batch_op.alter_column('uploaded_by_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('whatsapp_number', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whatsapp_number_school_id'))

    op.drop_table('whatsapp_number')
