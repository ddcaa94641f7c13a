"""Finding entries by the words of their summaries: one condition over two engines, SQLite's
FTS5 (a table kept by triggers) and PostgreSQL's full-text search (an index on the summary's
words), both with English stemming, so "reminders" finds "reminded" on either. Every word
searched for must be there; what a person types is only ever words, never the engines' own
syntax (quotes, NEAR, column filters), which is taken apart and quoted."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, select, text
from sqlmodel import col

from contacts.models import Message
from core.errors import InvalidInput

# The schema objects that hold the words (built by the migration that adds them; the models'
# metadata does not know them, and comparing the two leaves them out).
SQLITE_TABLE = "message_summary_words"
POSTGRES_INDEX = "ix_message_summary_words"
SEARCH_OBJECTS = frozenset(
    {
        SQLITE_TABLE,
        *(f"{SQLITE_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")),
        POSTGRES_INDEX,
    }
)
# PostgreSQL's text search configuration, as the index was built with it (a query must name
# the same one for the index to serve it).
CONFIGURATION = "english"
LONGEST = 200  # characters of a search; a summary is at most 2 000
MOST_WORDS = 12
WORD = re.compile(r"\w+", re.UNICODE)
NO_WORDS = "Give at least one word to search the summaries for."


def words_of(typed: str) -> list[str]:
    """The words of a search as typed ("kick-off, Saturday!" → kick, off, saturday)."""
    if len(typed) > LONGEST:
        raise InvalidInput(f"Keep the search to {LONGEST} characters.")
    found = [w.lower() for w in WORD.findall(typed)]
    if not found:
        raise InvalidInput(NO_WORDS)
    return found[:MOST_WORDS]


def summary_has(dialect: str, typed: str) -> ColumnElement[bool]:
    """Entries whose summary holds every word of `typed`, on the session's engine."""
    found = words_of(typed)
    if dialect == "postgresql":
        words = func.to_tsvector(literal_column(f"'{CONFIGURATION}'"), col(Message.summary))
        wanted = func.plainto_tsquery(literal_column(f"'{CONFIGURATION}'"), " ".join(found))
        return words.op("@@")(wanted)
    # FTS5: each word a quoted string (a quote inside doubled), all of them required.
    query = " ".join('"' + w.replace('"', '""') + '"' for w in found)
    rows: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(text(SQLITE_TABLE))
        .where(text(f"{SQLITE_TABLE} MATCH :words").bindparams(bindparam("words", query)))
    )
    return col(Message.id).in_(rows)
