"""change record: on PostgreSQL, events join the chain in one statement

Revision ID: e7f3a9c2d418
Revises: cde28a2bab12
Create Date: 2026-11-24 03:30:00

The chain's head is locked from the moment events are appended until the transaction commits;
appending in one server-side statement keeps that window to a single round trip, so concurrent
writers queue on it for as short a time as possible. The link is the same as
`core.record.audit.link_hash_of`: sha256 over "seq:prev_hash:content_hash", hex.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e7f3a9c2d418"
down_revision: str | None = "cde28a2bab12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND = """
CREATE OR REPLACE FUNCTION contactlog_chain_append(events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    event jsonb;
    next_seq integer;
    prev text;
    link text;
BEGIN
    UPDATE audit_head SET seq = seq + jsonb_array_length(events) WHERE id = 1
        RETURNING seq - jsonb_array_length(events), link_hash INTO next_seq, prev;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'The change record has no head row; run contactlog migrate.';
    END IF;
    FOR event IN
        SELECT e.value FROM jsonb_array_elements(events) WITH ORDINALITY AS e(value, n) ORDER BY e.n
    LOOP
        next_seq := next_seq + 1;
        link := encode(
            sha256(convert_to(next_seq::text || ':' || prev || ':' || (event->>'content_hash'), 'UTF8')),
            'hex'
        );
        INSERT INTO audit_event (
            seq, at, actor_id, school_id, action, object_type, object_id, reason, details,
            content_hash, prev_hash, link_hash
        ) VALUES (
            next_seq, (event->>'at')::timestamptz, (event->>'actor_id')::integer,
            (event->>'school_id')::integer, event->>'action', event->>'object_type',
            (event->>'object_id')::integer, event->>'reason', event->>'details',
            event->>'content_hash', prev, link
        );
        prev := link;
    END LOOP;
    UPDATE audit_head SET link_hash = prev WHERE id = 1;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS contactlog_chain_append(jsonb)")
