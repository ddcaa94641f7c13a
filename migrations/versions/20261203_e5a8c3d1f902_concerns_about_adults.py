"""Concerns about adults (KCSIE Part 4): the concern and its case file (the records it refers
to, notes and decisions, referrals, actions, attachments and their files).

Revision ID: e5a8c3d1f902
Revises: d2f7b1c8e460
Create Date: 2026-12-03 15:16:03.462058
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db

revision: str = "e5a8c3d1f902"
down_revision: str | None = "d2f7b1c8e460"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concern",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_staff_id", sa.Integer(), nullable=True),
        sa.Column("subject_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("about_headteacher", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("self_report", sa.Boolean(), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=20), nullable=True),
        sa.Column("source_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("happened_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=True),
        sa.Column("platform_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("lado_due_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("redacted_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("told_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["staff.id"], name=op.f("fk_concern_closed_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["legal_hold.id"], name=op.f("fk_concern_hold_id_legal_hold")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["staff.id"], name=op.f("fk_concern_raised_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_concern_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["subject_staff_id"], ["staff.id"], name=op.f("fk_concern_subject_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern")),
    )
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_concern_school_id"), ["school_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_concern_subject_staff_id"), ["subject_staff_id"], unique=False
        )

    op.create_table(
        "concern_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_concern_action_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["staff.id"], name=op.f("fk_concern_action_done_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["staff.id"], name=op.f("fk_concern_action_owner_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["staff.id"], name=op.f("fk_concern_action_set_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern_action")),
    )
    with op.batch_alter_table("concern_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concern_action_concern_id"), ["concern_id"], unique=False
        )

    op.create_table(
        "concern_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["staff.id"], name=op.f("fk_concern_attachment_added_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_concern_attachment_concern_id_concern")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern_attachment")),
        sa.UniqueConstraint("concern_id", "sha256", name=op.f("uq_concern_attachment_concern_id")),
    )
    with op.batch_alter_table("concern_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concern_attachment_concern_id"), ["concern_id"], unique=False
        )

    op.create_table(
        "concern_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("written_by_id", sa.Integer(), nullable=False),
        sa.Column("written_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_concern_note_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"], ["staff.id"], name=op.f("fk_concern_note_written_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern_note")),
    )
    with op.batch_alter_table("concern_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concern_note_concern_id"), ["concern_id"], unique=False
        )

    op.create_table(
        "concern_record",
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_concern_record_concern_id_concern")
        ),
        sa.PrimaryKeyConstraint(
            "concern_id", "record_type", "record_id", name=op.f("pk_concern_record")
        ),
    )
    op.create_table(
        "concern_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=20), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("officer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("advice", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_concern_referral_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["staff.id"], name=op.f("fk_concern_referral_recorded_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern_referral")),
    )
    with op.batch_alter_table("concern_referral", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concern_referral_concern_id"), ["concern_id"], unique=False
        )

    op.create_table(
        "concern_file",
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["concern_attachment.id"],
            name=op.f("fk_concern_file_attachment_id_concern_attachment"),
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_concern_file")),
    )


def downgrade() -> None:
    op.drop_table("concern_file")
    with op.batch_alter_table("concern_referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_referral_concern_id"))

    op.drop_table("concern_referral")
    op.drop_table("concern_record")
    with op.batch_alter_table("concern_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_note_concern_id"))

    op.drop_table("concern_note")
    with op.batch_alter_table("concern_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_attachment_concern_id"))

    op.drop_table("concern_attachment")
    with op.batch_alter_table("concern_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_action_concern_id"))

    op.drop_table("concern_action")
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_subject_staff_id"))
        batch_op.drop_index(batch_op.f("ix_concern_school_id"))

    op.drop_table("concern")
