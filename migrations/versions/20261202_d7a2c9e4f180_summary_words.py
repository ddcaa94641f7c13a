"""The words of each entry's summary, for a DSL's free-text search of the log.

Revision ID: d7a2c9e4f180
Revises: c4e1a7d9b203
Create Date: 2026-12-02

SQLite: an FTS5 table over `message.summary` (external content, porter stemming), kept by
triggers on insert, delete and a change of summary (retention's redaction changes it, and the
redacted words then find nothing). PostgreSQL: a GIN index over the summary's English words.
Both are read through `contacts.oversight.review.words`, whose names these are.

A later migration that rebuilds `message` in SQLite's batch mode (copy and move) drops these
triggers with the old table: such a migration must create them again (`_sqlite_triggers`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d7a2c9e4f180"
down_revision: str | None = "c4e1a7d9b203"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "message_summary_words"
INDEX = "ix_message_summary_words"


def _sqlite_triggers() -> list[str]:
    delete_old = (
        f"INSERT INTO {TABLE}({TABLE}, rowid, summary) VALUES ('delete', old.id, old.summary);"
    )
    insert_new = f"INSERT INTO {TABLE}(rowid, summary) VALUES (new.id, new.summary);"
    return [
        f"CREATE TRIGGER {TABLE}_added AFTER INSERT ON message BEGIN {insert_new} END",
        f"CREATE TRIGGER {TABLE}_removed AFTER DELETE ON message BEGIN {delete_old} END",
        f"CREATE TRIGGER {TABLE}_changed AFTER UPDATE OF summary ON message "
        f"BEGIN {delete_old} {insert_new} END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX {INDEX} ON message USING gin (to_tsvector('english', summary))")
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5(summary, content='message', "
        "content_rowid='id', tokenize='porter unicode61')"
    )
    for trigger in _sqlite_triggers():
        op.execute(trigger)
    op.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")  # the entries already kept


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {INDEX}")
        return
    for name in ("added", "removed", "changed"):
        op.execute(f"DROP TRIGGER {TABLE}_{name}")
    op.execute(f"DROP TABLE {TABLE}")
