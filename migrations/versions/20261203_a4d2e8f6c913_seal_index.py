"""The seal index: which event last sealed each record, for evidence packs; filled from the
events that have already joined a log (the rest are indexed as they join).

Revision ID: a4d2e8f6c913
Revises: f3c8a6d1b527
Create Date: 2026-12-03 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "a4d2e8f6c913"
down_revision: str | None = "f3c8a6d1b527"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = {
    "postgresql": """
        INSERT INTO seal_index (record_type, record_id, seq)
        SELECT split_part(s.key, ':', 1), split_part(s.key, ':', 2)::bigint, max(e.seq)
        FROM audit_event e, jsonb_each_text(e.details::jsonb -> 'sealed') s
        WHERE e.details LIKE '%"sealed"%'
          AND e.seq <= (SELECT seq FROM log_cursor WHERE id = 1)
          AND split_part(s.key, ':', 2) ~ '^[0-9]+$'
        GROUP BY 1, 2
    """,
    "sqlite": """
        INSERT INTO seal_index (record_type, record_id, seq)
        SELECT substr(s.key, 1, instr(s.key, ':') - 1),
               CAST(substr(s.key, instr(s.key, ':') + 1) AS INTEGER), max(e.seq)
        FROM audit_event e, json_each(e.details, '$.sealed') s
        WHERE e.details LIKE '%"sealed"%'
          AND e.seq <= (SELECT seq FROM log_cursor WHERE id = 1)
        GROUP BY 1, 2
    """,
}


def upgrade() -> None:
    op.create_table(
        "seal_index",
        sa.Column("record_type", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("record_type", "record_id", name=op.f("pk_seal_index")),
    )
    with op.batch_alter_table("seal_index", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seal_index_seq"), ["seq"], unique=False)
    op.execute(_BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("seal_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seal_index_seq"))
    op.drop_table("seal_index")
