"""The one clock contactlog reads: UTC instants for storage, school dates in the school's zone."""

from __future__ import annotations

import calendar
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


def months_after(day: date, months: int) -> date:
    """The same day `months` calendar months on; the last day of that month if it is shorter
    (31 January + 1 month = 28 or 29 February; 29 February + 12 months = 28 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def years_after(day: date, years: int) -> date:
    return months_after(day, 12 * years)
