"""The input types every record's schemas share: an instant with its offset, a calendar day, a
record id, and `Forbid`, the base of every input schema (unknown fields refused, text one line
unless its column is free text: core/columns.py)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Annotated, Any, ClassVar

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)
from sqlmodel import SQLModel

from core.text import check_free_text, check_line


def _as_text(value: object) -> object:
    """Dates and times come as ISO 8601 text; a bare number is not silently read as a timestamp."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("give dates and times as ISO 8601 text, e.g. 2026-11-24T16:05:00Z")
    if isinstance(value, str):
        # Any number written as text ("1700000000", "-2.2e-313", "nan") would be read as a
        # Unix timestamp: refused like a bare number.
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("give dates and times as ISO 8601 text, e.g. 2026-11-24T16:05:00Z")
    return value


# Every date and time a record holds lies in this span; anything outside it is a typing slip
# (or a probe), and near year 1 or 9999 turning a time into UTC would overflow.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _in_span(value: date) -> date:
    # The year as written: checked before anything converts it between time zones.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# An instant with its offset (naive times are refused), and a calendar day, both as ISO text.
Instant = Annotated[AwareDatetime, BeforeValidator(_as_text), AfterValidator(_in_span)]
Day = Annotated[date, BeforeValidator(_as_text), AfterValidator(_in_span)]

# Every record id fits the database's integer column; anything else is refused as invalid input.
MAX_RECORD_ID = 2_147_483_647
RecordId = Annotated[int, Interval(ge=1, le=MAX_RECORD_ID)]


def _each_text(value: object, check: Callable[[str], str]) -> object:
    if isinstance(value, str) and not isinstance(value, Enum):
        return check(value)
    if isinstance(value, list):
        return [_each_text(item, check) for item in value]
    return value


def _no_controls(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


class Forbid(SQLModel):
    """Input schemas refuse unknown fields, so nobody sets an id, school or role by stealth.

    Every text field is one line (no line breaks, controls or bidirectional overrides) unless
    the schema names it in `free_text`, where lines are allowed; see `core.text`. A schema
    stored in a record's table takes `free_text` from the table's declaration
    (`core.columns.free_text_of`), so the column and its input agree.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[assignment]
    free_text: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Only its own fields: a table's other free-text columns are not this schema's.
        cls.free_text = cls.free_text & frozenset(cls.model_fields)

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name == "password":
            return _each_text(value, _no_controls)
        check = check_free_text if info.field_name in cls.free_text else check_line
        return _each_text(value, check)
