"""The subject access deadline (UK GDPR Art. 12(3), as the ICO reads it): the same day one
calendar month after receipt, or the month's last day when it has no such day."""

from __future__ import annotations

from datetime import date

from core.clock import months_after

MOST_EXTRA_MONTHS = 2


def due_on(received_on: date, extra_months: int = 0) -> date:
    """When the answer is due: one calendar month from receipt, plus any extension."""
    if not 0 <= extra_months <= MOST_EXTRA_MONTHS:
        raise ValueError(f"an extension is 1 or {MOST_EXTRA_MONTHS} further months")
    return months_after(received_on, 1 + extra_months)
