"""Subject access (§7): a request is due one calendar month from receipt (the month's last day
when it has no such day), may be extended once by up to two months within that first month,
and shows as overdue, to the DSL and on the summary, until it is answered."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contacts.data_protection.subject_access.deadlines import due_on
from core import clock
from core.clock import months_after
from scheduler.runner import run_job
from tests.support.builders import today
from tests.support.ground import assert_problem

DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2150, 12, 31))


@given(DAYS, st.integers(min_value=0, max_value=2))
def test_the_deadline_is_the_same_day_months_on_or_that_months_last_day(received, extra):
    due = due_on(received, extra)
    months = 1 + extra
    assert (due.year * 12 + due.month) - (received.year * 12 + received.month) == months
    if due.day != received.day:  # only when the month is too short for it
        assert due.day < received.day
        assert (due + timedelta(days=1)).day == 1
    assert 28 * months <= (due - received).days <= 31 * months + 1


@pytest.mark.parametrize(
    ("received", "months", "due"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2026, 11, 30), 1, date(2026, 12, 30)),
        (date(2027, 1, 31), 3, date(2027, 4, 30)),
        (date(2026, 3, 15), 3, date(2026, 6, 15)),
    ],
)
def test_month_ends_as_the_ico_reads_them(received, months, due):
    assert months_after(received, months) == due


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _request(client, world, school, received: date):  # type: ignore[no-untyped-def]
    return client.post(
        "/subject-access-requests",
        json={
            "subject_type": "pupil",
            "subject_id": school["young"],
            "requested_by": "Parent, by email",
            "received_on": received.isoformat(),
        },
        headers=world.auth("dsl"),
    )


def test_a_request_is_due_in_a_month_and_overdue_after_it_until_answered(client, world, school):
    dsl = world.auth("dsl")
    received = today() - timedelta(days=40)
    made = _request(client, world, school, received)
    assert made.status_code == 201, made.text
    request = made.json()
    assert request["due_on"] == due_on(received).isoformat()
    assert request["overdue"] is True  # 40 days on, nobody answered
    [figures] = client.get("/summary", headers=dsl).json()["schools"]
    assert figures["overdue_subject_access"] == 1
    trust = client.get("/summary", headers=world.auth("trust_dsl")).json()["trust"]
    assert trust["overdue_subject_access"] == 1

    too_late = client.post(
        f"/subject-access-requests/{request['id']}/extension",
        json={"extra_months": 2, "reason": "Many records"},
        headers=dsl,
    )
    assert_problem(too_late, 422, detail_contains="first month")
    done = client.post(
        f"/subject-access-requests/{request['id']}/completion",
        json={"completed_on": today().isoformat()},
        headers=dsl,
    )
    assert done.status_code == 200, done.text
    assert done.json()["overdue"] is False
    assert done.json()["completed_on"] == today().isoformat()
    [figures] = client.get("/summary", headers=dsl).json()["schools"]
    assert figures["overdue_subject_access"] == 0
    again = client.post(
        f"/subject-access-requests/{request['id']}/completion",
        json={"completed_on": today().isoformat()},
        headers=dsl,
    )
    assert_problem(again, 409)
    assert client.get("/subject-access-requests?open_only=true", headers=dsl).json()["items"] == []
    actions = [
        e["action"]
        for e in client.get("/audit/events?object_type=subject_access_request", headers=dsl).json()[
            "items"
        ]
    ]
    assert actions == ["subject_access.received", "subject_access.completed"]


def test_an_extension_in_the_first_month_moves_the_deadline_once(client, world, school):
    dsl = world.auth("dsl")
    received = date(2027, 1, 31)
    clock.set_clock(lambda: _noon(date(2027, 2, 10)))
    try:
        request = _request(client, world, school, received).json()
        assert request["due_on"] == "2027-02-28"
        extended = client.post(
            f"/subject-access-requests/{request['id']}/extension",
            json={"extra_months": 2, "reason": "Records across three schools"},
            headers=dsl,
        )
        assert extended.status_code == 200, extended.text
        assert extended.json()["due_on"] == "2027-04-30"
        assert extended.json()["extension_reason"] == "Records across three schools"
        twice = client.post(
            f"/subject-access-requests/{request['id']}/extension",
            json={"extra_months": 1, "reason": "More"},
            headers=dsl,
        )
        assert_problem(twice, 409)
        clock.set_clock(lambda: _noon(date(2027, 4, 30)))  # the last day: not yet overdue
        [shown] = client.get("/subject-access-requests", headers=dsl).json()["items"]
        assert shown["overdue"] is False
        clock.set_clock(lambda: _noon(date(2027, 5, 1)))
        [shown] = client.get("/subject-access-requests", headers=dsl).json()["items"]
        assert shown["overdue"] is True
    finally:
        clock.set_clock(None)


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 403), ("manager", 403), ("admin", 403), ("other_school", 404), (None, 401)],
)
def test_only_the_schools_dsl_records_a_request(client, world, school, who, status):
    refused = client.post(
        "/subject-access-requests",
        json={
            "subject_type": "pupil",
            "subject_id": school["young"],
            "requested_by": "Parent",
            "received_on": today().isoformat(),
        },
        headers=world.auth(who),
    )
    assert_problem(refused, status)


def test_a_request_received_tomorrow_or_with_a_bad_extension_is_refused(client, world, school):
    assert_problem(_request(client, world, school, today() + timedelta(days=1)), 422)
    request = _request(client, world, school, today()).json()
    for months in (0, 3):
        bad = client.post(
            f"/subject-access-requests/{request['id']}/extension",
            json={"extra_months": months, "reason": "x"},
            headers=world.auth("dsl"),
        )
        assert_problem(bad, 422)


def test_the_dsl_and_the_dpo_are_reminded_a_week_before_and_once_when_overdue(
    client, world, school, db, mail_settings, mail_server
):
    dpo = "dpo@trust.example.org"
    client.patch(
        f"/trusts/{world.trust}/policy", json={"dpo_email": dpo}, headers=world.auth("trust_admin")
    )
    received = today()
    body = {
        "subject_type": "pupil",
        "subject_id": school["young"],
        "requested_by": "Ava's mother, by email",
        "received_on": received.isoformat(),
    }
    made = client.post("/subject-access-requests", json=body, headers=world.auth("dsl")).json()
    due = date.fromisoformat(made["due_on"])

    def run_on(day: date) -> None:
        run_job("subject_access", db, mail_settings, datetime.combine(day, time(9), tzinfo=UTC))
        run_job("outbox", db, mail_settings, datetime.combine(day, time(9, 5), tzinfo=UTC))

    def told(address: str) -> list[str]:
        return [s for s in mail_server.inbox.subjects(address) if "ubject access" in s]

    run_on(due - timedelta(days=8))
    assert told("dsl@a.example.org") == []
    for _ in range(2):  # the next run does not tell them again
        run_on(due - timedelta(days=7))
    expected = f"Subject access request #{made['id']} is due on {due:%d %B %Y}"
    assert told("dsl@a.example.org") == [expected]
    assert told(dpo) == [expected]
    [email] = [m for m in mail_server.inbox.to(dpo) if "ubject access" in m["Subject"]]
    assert "Ava" not in email.get_payload()  # ids and dates only

    run_on(due + timedelta(days=1))
    run_on(due + timedelta(days=2))
    assert len(told("dsl@a.example.org")) == 2
    assert told("dsl@a.example.org")[1].startswith("Overdue")
    client.post(
        f"/subject-access-requests/{made['id']}/completion",
        json={"completed_on": received.isoformat()},
        headers=world.auth("dsl"),
    )
    run_on(due + timedelta(days=30))
    assert len(told("dsl@a.example.org")) == 2  # answered: nothing more
