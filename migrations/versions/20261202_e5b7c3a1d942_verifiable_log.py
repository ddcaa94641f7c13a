"""The change record as a verifiable log: a log per trust (RFC 9162 tree), its tiles of hashes,
each event's leaf, the cursor of events joined, and the checkpoints signed of each log.

Revision ID: e5b7c3a1d942
Revises: d7a2c9e4f180
Create Date: 2026-12-02

Nothing already recorded changes: the events on the hash chain join their trusts' logs in the
order of their numbers when the scheduler first integrates (the cursor starts before the first
event), and the chain's signed checkpoints stay where they are, checkable as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db

revision: str = "e5b7c3a1d942"
down_revision: str | None = "d7a2c9e4f180"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    cursor = op.create_table(
        "log_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_cursor")),
    )
    op.bulk_insert(cursor, [{"id": 1, "seq": 0}])
    op.create_table(
        "log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Integer(), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_size", sa.Integer(), nullable=False),
        sa.Column("checked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name=op.f("fk_log_trust_id_trust")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log")),
        sa.UniqueConstraint("origin", name=op.f("uq_log_origin")),
    )
    with op.batch_alter_table("log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_trust_id"), ["trust_id"], unique=False)

    op.create_table(
        "log_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["log_id"], ["log.id"], name=op.f("fk_log_checkpoint_log_id_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoint")),
        sa.UniqueConstraint("log_id", "size", name=op.f("uq_log_checkpoint_log_id")),
    )
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_checkpoint_log_id"), ["log_id"], unique=False)

    op.create_table(
        "log_leaf",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["log_id"], ["log.id"], name=op.f("fk_log_leaf_log_id_log")),
        sa.ForeignKeyConstraint(
            ["seq"], ["audit_event.seq"], name=op.f("fk_log_leaf_seq_audit_event")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_log_leaf")),
        sa.UniqueConstraint("log_id", "leaf_index", name=op.f("uq_log_leaf_log_id")),
    )
    op.create_table(
        "log_tile",
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["log_id"], ["log.id"], name=op.f("fk_log_tile_log_id_log")),
        sa.PrimaryKeyConstraint("log_id", "level", "number", name=op.f("pk_log_tile")),
    )


def downgrade() -> None:
    op.drop_table("log_tile")
    op.drop_table("log_leaf")
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_checkpoint_log_id"))

    op.drop_table("log_checkpoint")
    with op.batch_alter_table("log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_trust_id"))

    op.drop_table("log")
    op.drop_table("log_cursor")
