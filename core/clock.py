"""The one clock contactlog reads: UTC instants for storage, school dates in the school's zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return _now()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests and `jobs run --at`); None restores the system clock."""
    global _now
    _now = source if source is not None else (lambda: datetime.now(UTC))


def school_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date at `instant` in the school's time zone."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: contactlog only handles timezone-aware instants")
    return instant.astimezone(zone).date()
