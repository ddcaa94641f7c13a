"""The consent rules as unit tests: ages on dates, 29 February, and London's midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.rules import ConsentTerms, age_on, birthday_in, consent_valid_on, needs_consent
from core.clock import school_date

LONDON = ZoneInfo("Europe/London")
births = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))


@given(births, st.integers(min_value=0, max_value=30))
def test_age_rises_by_one_exactly_on_the_birthday(born, years):
    birthday = birthday_in(born.year + years, born)
    assert age_on(born, birthday) == years
    if birthday > born:
        assert age_on(born, birthday - timedelta(days=1)) == years - 1


@given(births, st.integers(min_value=0, max_value=40 * 366))
def test_age_matches_counting_birthdays(born, days):
    day = born + timedelta(days=days)
    passed = sum(1 for y in range(born.year + 1, day.year + 1) if birthday_in(y, born) <= day)
    assert age_on(born, day) == passed


@given(births, st.integers(min_value=0, max_value=30 * 366), st.integers(min_value=1, max_value=21))
def test_needs_consent_means_under_the_consent_age(born, days, consent_age):
    day = born + timedelta(days=days)
    assert needs_consent(born, day, consent_age) == (age_on(born, day) < consent_age)


def test_29_february_birthdays_turn_16_on_1_march_in_common_years():
    born = date(2008, 2, 29)
    # 2024 is a leap year: the birthday falls on 29 February itself.
    assert needs_consent(born, date(2024, 2, 28), 16)
    assert not needs_consent(born, date(2024, 2, 29), 16)
    # 2023 is not: the pupil turns 15 on 1 March, not on 28 February.
    assert age_on(born, date(2023, 2, 28)) == 14
    assert age_on(born, date(2023, 3, 1)) == 15
    born = date(2011, 2, 28)
    assert not needs_consent(date(2010, 2, 28), date(2026, 2, 28), 16)
    assert needs_consent(date(2010, 3, 1), date(2026, 2, 28), 16)
    assert age_on(born, date(2027, 2, 28)) == 16


@given(
    st.datetimes(
        # naive bounds, as Hypothesis takes them; every instant drawn is in UTC
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001
        max_value=datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_the_school_date_is_londons_calendar_date(instant):
    local = instant.astimezone(LONDON)
    assert school_date(instant, LONDON) == local.date()


@pytest.mark.parametrize(
    ("utc", "london_day"),
    [
        # Summer time (BST): 23:30 UTC is already the next day in London.
        (datetime(2026, 7, 14, 23, 30, tzinfo=UTC), date(2026, 7, 15)),
        (datetime(2026, 7, 14, 22, 59, tzinfo=UTC), date(2026, 7, 14)),
        # Winter (GMT): midnight UTC is midnight London.
        (datetime(2026, 12, 1, 23, 59, tzinfo=UTC), date(2026, 12, 1)),
        # The nights the clocks change.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 25)),
    ],
)
def test_midnight_in_london_across_clock_changes(utc, london_day):
    assert school_date(utc, LONDON) == london_day


def test_a_16th_birthday_starts_at_london_midnight_not_utc_midnight():
    born = date(2010, 7, 15)
    # 23:30 UTC on 14 July 2026 is 00:30 on 15 July in London: already 16.
    day = school_date(datetime(2026, 7, 14, 23, 30, tzinfo=UTC), LONDON)
    assert not needs_consent(born, day, 16)
    day = school_date(datetime(2026, 7, 14, 22, 30, tzinfo=UTC), LONDON)
    assert needs_consent(born, day, 16)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="naive"):
        school_date(datetime(2026, 1, 1), LONDON)  # noqa: DTZ001  (the naive instant refused)


@given(
    given_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    length=st.one_of(st.none(), st.integers(min_value=0, max_value=800)),
    withdrawn_after=st.one_of(st.none(), st.integers(min_value=0, max_value=800)),
    offset=st.integers(min_value=-50, max_value=900),
)
def test_consent_is_valid_from_given_until_expiry_or_withdrawal(
    given_on, length, withdrawn_after, offset
):
    expires_on = given_on + timedelta(days=length) if length is not None else None
    withdrawn_on = (
        given_on + timedelta(days=withdrawn_after) if withdrawn_after is not None else None
    )
    day = given_on + timedelta(days=offset)
    valid = consent_valid_on(ConsentTerms(given_on, expires_on, withdrawn_on), day)
    expected = (
        day >= given_on
        and (expires_on is None or day <= expires_on)
        and (withdrawn_on is None or day < withdrawn_on)
    )
    assert valid == expected
