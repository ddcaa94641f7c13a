"""The consent rules of §5.5 in one place: a pupil's age on a date, and whether consent holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def birthday_in(year: int, born: date) -> date:
    """The birthday as observed in `year`; 29 February falls on 1 March in common years
    (the date on which UK law treats a leapling as a year older)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def age_on(born: date, day: date) -> int:
    """Whole years of age on `day`."""
    if day < born:
        raise ValueError("the day is before the date of birth")
    years = day.year - born.year
    if day < birthday_in(day.year, born):
        years -= 1
    return years


def needs_consent(born: date, day: date, consent_age: int) -> bool:
    """Under the consent age on `day` (before the birthday that reaches it)."""
    return day < birthday_in(born.year + consent_age, born)


@dataclass(frozen=True)
class ConsentTerms:
    given_on: date
    expires_on: date | None
    withdrawn_on: date | None


def consent_valid_on(terms: ConsentTerms, day: date) -> bool:
    """Given on or before `day`, not expired by it, not withdrawn on or before it."""
    if day < terms.given_on:
        return False
    if terms.expires_on is not None and day > terms.expires_on:
        return False
    return terms.withdrawn_on is None or day < terms.withdrawn_on
