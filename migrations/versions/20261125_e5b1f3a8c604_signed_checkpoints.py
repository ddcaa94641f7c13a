"""evidence: signed checkpoints of the change record's head

Revision ID: e5b1f3a8c604
Revises: d9a4c2e7f150
Create Date: 2026-11-25 17:30:00

Each checkpoint keeps the exact signed text, its Ed25519 signature and the public key that
made it (so checkpoints signed before a key rotation stay checkable). The private key is kept
in a file, never here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db  # noqa: F401

revision: str = "e5b1f3a8c604"
down_revision: str | None = "d9a4c2e7f150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("link_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_checkpoint")),
        sa.UniqueConstraint("seq", name=op.f("uq_chain_checkpoint_seq")),
    )


def downgrade() -> None:
    op.drop_table("chain_checkpoint")
