"""Attacks on the evidence by insiders with a role or a database copy, each as it worked before
the fix and fails now: a date of birth edited to shred an incident, a hold released (or read)
by its own subject, a trust's policy loosened in the database or beyond the deployment's own
settings, a parent consenting to a part that has ended, one school's DSL told of another's
altered records, and a checkpoint signed over a record that does not verify."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import text as sql

from api.app import create_app
from core import clock
from core.clock import years_after
from scheduler.checkpointing import sign_now
from scheduler.retention import run_all as retention
from scheduler.runner import run_job
from tests.support.builders import CLAIRE, INCIDENT, guardian_with_email, request_body, today
from tests.support.ground import assert_problem
from tests.support.mail import DSL, text
from tests.support.record import checked, rewrite_log

LINK = re.compile(r"(/consent/[A-Za-z0-9_\-]+)")


def _at(day: date) -> datetime:
    instant = datetime.combine(day, time(12), tzinfo=UTC)
    clock.set_clock(lambda: instant)
    return instant


def _incident_about(client, world, pupil_id: int) -> int:  # type: ignore[no-untyped-def]
    body = {**INCIDENT, "pupils": [{"pupil_id": pupil_id, "part": "initiated"}]}
    made = client.post("/incidents", json=body, headers=world.auth("owner"))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _planned(client, world, kind: str) -> list[int]:  # type: ignore[no-untyped-def]
    shown = client.get("/retention/plan", headers=world.auth("dsl")).json()
    return sorted(i for r in shown["redacted"] if r["record_type"] == kind for i in r["ids"])


# ---------------------------------------------------------------- a date of birth as a shredder


def test_a_date_of_birth_edit_waits_for_a_second_person_and_never_shortens_a_period(
    client, world, school, db, settings
):
    incident = _incident_about(client, world, school["young"])
    admin = world.auth("admin")
    edited = client.patch(
        f"/pupils/{school['young']}", json={"date_of_birth": "1950-01-01"}, headers=admin
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["pending_change_id"] is not None
    assert edited.json()["date_of_birth"] != "1950-01-01"  # nothing changed yet
    assert _planned(client, world, "incident") == []
    # The headteacher sees the old and the new value before confirming.
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    assert change["kind"] == "pupil_dates"
    assert change["pupil_id"] == school["young"]
    assert change["new_date_of_birth"] == "1950-01-01"
    assert change["old_date_of_birth"]
    assert_problem(client.post(f"/pending-changes/{change['id']}/confirm", headers=admin), 403)
    confirmed = client.post(f"/pending-changes/{change['id']}/confirm", headers=world.auth("head"))
    assert confirmed.status_code == 200, confirmed.text
    # Even confirmed, the incident keeps the date as it stood when it was reported.
    assert _planned(client, world, "incident") == []
    assert retention(db, settings, clock.now()) == []
    shown = client.get(f"/incidents/{incident}", headers=world.auth("dsl")).json()
    assert shown["what_happened"] == INCIDENT["what_happened"]
    verdict = checked(client, world.auth("dsl"))
    assert verdict["ok"] is True, verdict


def test_a_leaving_date_edit_waits_for_a_second_person_too(client, world, school):
    _incident_about(client, world, school["young"])
    long_ago = years_after(today(), -7)  # after the pupil's birth, long enough for retention
    moved = client.patch(
        f"/pupils/{school['young']}",
        json={"left_on": long_ago.isoformat()},
        headers=world.auth("admin"),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["pending_change_id"] is not None
    assert moved.json()["left_on"] is None
    # A pupil with no records yet is corrected at once, as before.
    fresh = client.patch(
        f"/pupils/{school['older']}",
        json={"date_of_birth": "2010-02-03"},
        headers=world.auth("admin"),
    )
    assert fresh.json()["pending_change_id"] is None
    assert fresh.json()["date_of_birth"] == "2010-02-03"


def test_a_retention_run_refuses_to_redact_what_is_younger_than_the_floor(
    client, world, school, db, mail_settings, mail_server
):
    incident = _incident_about(client, world, school["young"])
    # Someone with the database rewrites the sealed date of birth itself.
    with db.transaction() as session:
        session.execute(sql("UPDATE incident_pupil SET born_on = '1950-01-01'"))
    [report] = retention(db, mail_settings, clock.now())
    assert report.redacted == []
    assert report.refused_too_young
    assert incident in report.refused_too_young[0].ids
    shown = client.get(f"/incidents/{incident}", headers=world.auth("dsl")).json()
    assert shown["what_happened"] == INCIDENT["what_happened"]
    run_job("outbox", db, mail_settings, clock.now())
    told = [m for _, m in mail_server.inbox.received if "REFUSED" in str(m["Subject"])]
    assert told, "the trust's administrators and DPO are told"


# ---------------------------------------------------------------- holds about oneself


def _hold(client, world, who: str, subject_type: str, subject_id: int):  # type: ignore[no-untyped-def]
    body = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "case_reference": "LADO/2026/11",
        "reason": "Allegation under investigation",
    }
    return client.post("/legal-holds", json=body, headers=world.auth(who))


def test_the_subject_of_a_hold_neither_sees_nor_releases_it(client, world, school):
    placed = _hold(client, world, "trust_dsl", "staff", world.ids["dsl"])
    assert placed.status_code == 201, placed.text
    hold = placed.json()["id"]
    dsl = world.auth("dsl")
    listed = client.get("/legal-holds", headers=dsl).json()["items"]
    assert all(h["id"] != hold for h in listed)
    assert_problem(
        client.post(f"/legal-holds/{hold}/release", json={"reason": "x"}, headers=dsl), 404
    )
    events = client.get("/audit/events?object_type=legal_hold", headers=dsl).json()["items"]
    assert all(e["object_id"] != hold for e in events)
    assert "LADO/2026/11" not in client.get("/audit/events", headers=dsl).text
    # The one who placed it sees it, and releases it.
    assert any(
        h["id"] == hold
        for h in client.get("/legal-holds", headers=world.auth("trust_dsl")).json()["items"]
    )


def test_a_hold_on_an_incident_is_hidden_from_its_reporter(client, world, school):
    incident = client.post(
        "/incidents", json={**INCIDENT, "other_person": "A parent"}, headers=world.auth("dsl")
    ).json()["id"]
    hold = _hold(client, world, "trust_dsl", "incident", incident).json()["id"]
    assert all(
        h["id"] != hold
        for h in client.get("/legal-holds", headers=world.auth("dsl")).json()["items"]
    )


def test_only_the_placer_or_a_trust_dsl_releases_a_hold(client, world, school):
    trusts = _hold(client, world, "trust_dsl", "pupil", school["young"]).json()["id"]
    dsl, trust_dsl = world.auth("dsl"), world.auth("trust_dsl")
    assert_problem(
        client.post(f"/legal-holds/{trusts}/release", json={"reason": "mine now"}, headers=dsl),
        403,
    )
    own = _hold(client, world, "dsl", "pupil", school["young"]).json()["id"]
    assert (
        client.post(f"/legal-holds/{own}/release", json={"reason": "done"}, headers=dsl).status_code
        == 200
    )
    released = client.post(
        f"/legal-holds/{trusts}/release", json={"reason": "done"}, headers=trust_dsl
    )
    assert released.status_code == 200


# ---------------------------------------------------------------- the trust's policy


def test_a_policy_edited_in_the_database_is_named_and_never_applied(client, world, db):
    with db.transaction() as session:
        session.execute(
            sql(
                "UPDATE trust SET consent_age = 1, review_sample_rate = 0,"
                " retention_safeguarding_years = 0, escalate_after_days = 400"
            )
        )
    shown = client.get(f"/trusts/{world.trust}/policy", headers=world.auth("dsl")).json()
    assert shown["consent_age"] == 16
    assert shown["escalate_after_days"] == 7
    assert "25" in shown["retention"][0]["kept_for"]
    verdict = checked(client, world.auth("trust_dsl"))
    assert verdict["ok"] is False
    assert {"record_type": "trust", "record_id": world.trust, "change": "edited"} in [
        {k: a[k] for k in ("record_type", "record_id", "change")} for a in verdict["altered"]
    ]


@pytest.mark.parametrize(
    ("field", "looser"),
    [
        ("consent_age", 16),
        ("review_sample_rate", 0.01),
        ("escalate_after_days", 30),
        ("reminder_every_days", 14),
        ("approval_wait_hours", 168),
        ("ending_notice_days", 0),
        ("retention_closed_contact_years", 6),
    ],
)
def test_a_trust_may_not_be_looser_than_the_deployment(db, settings, world, field, looser):
    strict = settings.model_copy(
        update={
            "consent_age": 17,
            "review_sample_rate": 0.05,
            "escalate_after_days": 7,
            "reminder_every_days": 2,
            "approval_wait_hours": 24,
            "ending_notice_days": 7,
            "retention_closed_contact_years": 7,
        }
    )
    from fastapi.testclient import TestClient

    with TestClient(create_app(strict, db), raise_server_exceptions=False) as client:
        refused = client.patch(
            f"/trusts/{world.trust}/policy", json={field: looser}, headers=world.auth("trust_admin")
        )
        body = assert_problem(refused, 422, detail_contains="never looser")
        assert body["errors"][0]["field"] == field


# ---------------------------------------------------------------- a parent and an ended part


def test_a_parent_cannot_consent_to_a_part_that_has_ended(
    client, world, school, db, mail_settings, mail_server
):
    guardian_with_email(client, world, school)
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    client.post(f"/contacts/{cid}/consent-requests", headers=world.auth("admin"))
    run_job("outbox", db, mail_settings, clock.now())
    link = LINK.search(text(mail_server.inbox.to(CLAIRE)[-1])).group(1)  # type: ignore[union-attr]
    ended = client.post(
        f"/contacts/{cid}/end",
        json={"reason": "No longer needed", "pupil_id": school["young"]},
        headers=world.auth("owner"),
    )
    assert ended.status_code == 200, ended.text
    page = client.get(link)
    assert page.status_code == 200
    assert "I give consent" not in page.text
    given = client.post(link, data={"choice": "give"})
    assert given.status_code == 409
    assert (
        client.get(f"/pupils/{school['young']}/consents", headers=world.auth("admin")).json() == []
    )


# ---------------------------------------------------------------- what each DSL is told


def test_one_schools_dsl_is_not_told_of_another_schools_altered_records(client, world, db):
    pupil = client.post(
        "/pupils",
        json={
            "given_name": "Riya",
            "family_name": "B",
            "date_of_birth": "2012-05-05",
            "school_reference": "B1",
        },
        headers=world.auth("other_school"),
    ).json()["id"]
    with db.transaction() as session:
        session.execute(sql("UPDATE pupil SET family_name = 'X' WHERE id = :p"), {"p": pupil})
    mine = checked(client, world.auth("dsl"))
    assert mine["ok"] is False
    assert mine["altered"] == []
    assert mine["altered_elsewhere"] == 1
    theirs = checked(client, world.auth("other_school"))
    assert [(a["record_type"], a["record_id"]) for a in theirs["altered"]] == [("pupil", pupil)]


# ---------------------------------------------------------------- checkpoints


def test_no_checkpoint_is_signed_over_a_log_that_was_cut(
    client, world, school, db, mail_settings, mail_server
):
    """Before: the signer signed the chain's head at a lower number once events were cut.
    Now: the log must extend the last checkpoint, which the signer checks with its own key."""
    client.post("/contacts", json=request_body(school), headers=world.auth("owner"))
    run_job("checkpoint", db, mail_settings)  # signed, and emailed to the trust's DSLs
    client.post("/contacts", json=request_body(school), headers=world.auth("owner"))
    # The tail after the checkpoint is cut, and two events signed: the log rebuilt without them.
    rewrite_log(db, keep=lambda seq, newest: seq <= newest - 8, drop_checkpoints=False)
    assert sign_now(db, mail_settings, clock.now() + timedelta(hours=1)) == 0
    run_job("outbox", db, mail_settings, clock.now() + timedelta(hours=1))
    subjects = mail_server.inbox.subjects(DSL)
    assert any("No checkpoint signed" in s for s in subjects), subjects
    assert sum("Signed checkpoint" in s for s in subjects) == 1


def test_a_record_altered_in_the_database_is_named_though_the_log_is_signed(
    client, world, school, db, mail_settings, mail_server
):
    """The log vouches for the events, and they for the records' seals: a record altered in the
    database does not stop the log being signed (its events are intact), and the full check
    names it to the DSLs at once."""
    client.post("/contacts", json=request_body(school), headers=world.auth("owner"))
    with db.transaction() as session:
        session.execute(sql("UPDATE pupil SET family_name = 'Altered'"))
    assert sign_now(db, mail_settings, clock.now()) == 1
    assert run_job("chain_check", db, mail_settings) == 1
    run_job("outbox", db, mail_settings, clock.now())
    assert any("does NOT verify" in s for s in mail_server.inbox.subjects(DSL))


def test_retention_periods_count_from_the_sealed_date_on_the_day_they_end(
    client, world, school, db, settings
):
    """The period still ends when it should: on the day the pupil (as recorded) turns 25."""
    incident = _incident_about(client, world, school["young"])
    born = date.fromisoformat(
        client.get(f"/pupils/{school['young']}", headers=world.auth("admin")).json()[
            "date_of_birth"
        ]
    )
    client.patch(
        f"/pupils/{school['young']}",
        json={"date_of_birth": "1950-01-01"},
        headers=world.auth("admin"),
    )
    _at(years_after(born, 25) - timedelta(days=1))
    assert _planned(client, world, "incident") == []
    _at(years_after(born, 25))
    assert _planned(client, world, "incident") == [incident]


def test_the_headteacher_sees_the_old_and_new_date_on_the_page_before_confirming(
    client, world, school, db, settings
):
    from api.web.acting import COOKIE
    from core.identity import browser_sessions

    _incident_about(client, world, school["young"])
    client.patch(
        f"/pupils/{school['young']}",
        json={"date_of_birth": "2011-02-03"},
        headers=world.auth("admin"),
    )
    with db.transaction() as session:
        cookie = browser_sessions.start(
            session=session,
            staff_id=world.ids["head"],
            generation=0,
            settings=settings,
            at=clock.now(),
        )
    client.cookies.set(COOKIE, cookie)
    shown = client.get("/app/pending-changes")
    assert shown.status_code == 200, shown.text
    assert "Ava T's dates" in shown.text  # by name: the confirmer knows whose record it is
    assert "Date of birth:" in shown.text
    assert "3 February 2011" in shown.text  # a UK date
