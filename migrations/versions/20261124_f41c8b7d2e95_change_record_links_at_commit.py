"""change record: on PostgreSQL, a transaction's events join the chain inside its COMMIT

Revision ID: f41c8b7d2e95
Revises: e7f3a9c2d418
Create Date: 2026-11-24 09:00:00

Linking locks the chain's head until the transaction ends. Linked by a statement the application
sends, the head stayed locked while the application got round to sending COMMIT, which under load
is the busiest moment of a request; every other writer queued behind it. Here a transaction's
events wait in `audit_pending` and a deferred constraint trigger links them as the transaction
commits, so the head is locked only for the server's own part of the commit. The link is the
one `contactlog_chain_append` makes (the same as `core.record.audit.link_hash_of`).

On SQLite the table stays empty: its single writer already links under the write lock.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f41c8b7d2e95"
down_revision: str | None = "e7f3a9c2d418"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINK_AT_COMMIT = """
CREATE OR REPLACE FUNCTION contactlog_chain_link_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM contactlog_chain_append(NEW.events::jsonb);
    DELETE FROM audit_pending WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER audit_pending_links_at_commit
    AFTER INSERT ON audit_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION contactlog_chain_link_pending();
"""


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LINK_AT_COMMIT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_pending_links_at_commit ON audit_pending")
        op.execute("DROP FUNCTION IF EXISTS contactlog_chain_link_pending()")
    op.drop_table("audit_pending")
