"""What each column of a record is, declared once beside its table: sealed under the chain or
not, personal (redacted by retention), free text (lines allowed), shown to the person it is about
(subject access), told to a parent asked for consent. The seal, the redaction, the subject-access
export, the parent's page and the input rules all read these declarations; none keeps a list."""

from __future__ import annotations

from enum import Flag, auto

from sqlmodel import SQLModel

from core.db import table_of


class Is(Flag):
    # Part of the record's content: its hash is under the chain, so an edit outside the API
    # is found by verification.
    SEALED = auto()
    # Not content: a stamp the system keeps without an event of its own, a secret the record
    # does not need, a copy kept for queries. Every column is SEALED or UNSEALED.
    UNSEALED = auto()
    # Replaced when retention redacts the record (names, free text, contact details).
    PERSONAL = auto()
    # Written by a person in their own words: line breaks allowed (every other text is one line).
    FREE_TEXT = auto()
    # In the subject access export of the person the record is about.
    SHOWN = auto()
    # Told to a parent when their consent is asked. Nothing else of a record reaches a parent:
    # not other pupils, not notes, not decisions.
    TOLD = auto()


SEALED, UNSEALED, PERSONAL = Is.SEALED, Is.UNSEALED, Is.PERSONAL
FREE_TEXT, SHOWN, TOLD = Is.FREE_TEXT, Is.SHOWN, Is.TOLD

DECLARED: dict[type[SQLModel], dict[str, Is]] = {}
# Tables that hold no record of anyone's doing (the chain's own rows, queues, counters,
# secrets of sign-in), each with why: they are outside the seal, redaction and export.
NOT_RECORDS: dict[type[SQLModel], str] = {}


def declare(model: type[SQLModel], columns: dict[str, Is]) -> None:
    """What each column of a record's table is. Every column must be named, and each is either
    SEALED or UNSEALED; a column that is not in the table is a slip, refused at once."""
    names = {c.name for c in table_of(model).c}
    unknown = set(columns) - names
    if unknown:
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
    for name, what in columns.items():
        if (Is.SEALED in what) == (Is.UNSEALED in what):
            raise ValueError(f"{model.__name__}.{name} must be SEALED or UNSEALED, not both")
    DECLARED[model] = dict(columns)


def not_a_record(model: type[SQLModel], why: str) -> None:
    NOT_RECORDS[model] = why


def unclassified(model: type[SQLModel]) -> list[str]:
    """The table's columns its declaration does not name (a column added and forgotten)."""
    declared = DECLARED.get(model, {})
    return [c.name for c in table_of(model).c if c.name not in declared]


def having(model: type[SQLModel], what: Is) -> tuple[str, ...]:
    """The table's columns that are `what`, in the table's order."""
    declared = DECLARED[model]
    return tuple(c.name for c in table_of(model).c if what in declared.get(c.name, Is(0)))


def free_text_of(model: type[SQLModel], **stored_as: str) -> frozenset[str]:
    """For an input schema stored in `model`: its fields that are free text. A field named like
    its column needs nothing; `stored_as` maps a field to the column it fills when the names
    differ (a decision's `note` is the contact's `decision_note`)."""
    free = set(having(model, Is.FREE_TEXT))
    renamed = set(stored_as.values())
    return frozenset(
        {c for c in free if c not in renamed}
        | {field for field, column in stored_as.items() if column in free}
    )
