"""Captured messages: what the platforms recorded on school-owned accounts (uploads with their
files and SHA-256, each captured message placed and matched, the pupils in it, the names the
exports give people).

Revision ID: c9a4e2b7d351
Revises: b7e2d4f9a168
Create Date: 2026-12-03 10:59:21.517473
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db  # noqa: F401


revision: str = "c9a4e2b7d351"
down_revision: str | None = "b7e2d4f9a168"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('capture_name',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('school_account', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=True),
    sa.Column('is_school', sa.Boolean(), nullable=False),
    sa.Column('named_by_id', sa.Integer(), nullable=False),
    sa.Column('named_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['named_by_id'], ['staff.id'], name=op.f('fk_capture_name_named_by_id_staff')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_capture_name_pupil_id_pupil')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_capture_name_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_name')),
    sa.UniqueConstraint('school_id', 'platform', 'school_account', 'name', name=op.f('uq_capture_name_school_id'))
    )
    with op.batch_alter_table('capture_name', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capture_name_school_id'), ['school_id'], unique=False)

    op.create_table('capture_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('school_account', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('zone', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('new_messages', sa.Integer(), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_capture_upload_school_id_school')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff.id'], name=op.f('fk_capture_upload_uploaded_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_upload')),
    sa.UniqueConstraint('school_id', 'sha256', name=op.f('uq_capture_upload_school_id'))
    )
    with op.batch_alter_table('capture_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capture_upload_school_id'), ['school_id'], unique=False)

    op.create_table('capture_file',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['upload_id'], ['capture_upload.id'], name=op.f('fk_capture_file_upload_id_capture_upload')),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_capture_file'))
    )
    op.create_table('captured_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('school_account', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('conversation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('attachment', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('edited', sa.Boolean(), nullable=False),
    sa.Column('source_file', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('source_line', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('finding', sa.String(length=30), nullable=False),
    sa.Column('flags', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('unknown', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('matched_message_id', sa.Integer(), nullable=True),
    sa.Column('flagged_message_id', sa.Integer(), nullable=True),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_captured_message_contact_id_contact')),
    sa.ForeignKeyConstraint(['flagged_message_id'], ['message.id'], name=op.f('fk_captured_message_flagged_message_id_message')),
    sa.ForeignKeyConstraint(['matched_message_id'], ['message.id'], name=op.f('fk_captured_message_matched_message_id_message')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_captured_message_school_id_school')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_captured_message_staff_id_staff')),
    sa.ForeignKeyConstraint(['upload_id'], ['capture_upload.id'], name=op.f('fk_captured_message_upload_id_capture_upload')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_captured_message')),
    sa.UniqueConstraint('school_id', 'fingerprint', name=op.f('uq_captured_message_school_id'))
    )
    with op.batch_alter_table('captured_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captured_message_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_captured_message_contact_sent_at', ['contact_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_captured_message_finding_sent_at', ['finding', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_captured_message_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_captured_message_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_captured_message_upload_id'), ['upload_id'], unique=False)

    op.create_table('captured_pupil',
    sa.Column('captured_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['captured_id'], ['captured_message.id'], name=op.f('fk_captured_pupil_captured_id_captured_message')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_captured_pupil_pupil_id_pupil')),
    sa.PrimaryKeyConstraint('captured_id', 'pupil_id', name=op.f('pk_captured_pupil'))
    )


def downgrade() -> None:
    op.drop_table('captured_pupil')
    with op.batch_alter_table('captured_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_captured_message_upload_id'))
        batch_op.drop_index(batch_op.f('ix_captured_message_staff_id'))
        batch_op.drop_index(batch_op.f('ix_captured_message_school_id'))
        batch_op.drop_index('ix_captured_message_finding_sent_at')
        batch_op.drop_index('ix_captured_message_contact_sent_at')
        batch_op.drop_index(batch_op.f('ix_captured_message_contact_id'))

    op.drop_table('captured_message')
    op.drop_table('capture_file')
    with op.batch_alter_table('capture_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capture_upload_school_id'))

    op.drop_table('capture_upload')
    with op.batch_alter_table('capture_name', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capture_name_school_id'))

    op.drop_table('capture_name')
