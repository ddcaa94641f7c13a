"""Reminders nobody can miss: real SMTP (aiosmtpd), time travel, outage, crash, two schedulers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from time import sleep

import pytest
from sqlmodel import select

from core import clock
from core.models import OutboxEmail
from core.outbox import claim
from scheduler.runner import run_job
from tests.support.builders import message, request_body, today
from tests.support.ground import count_rows
from tests.support.mail import DSL, MANAGER, OWNER, MailServer, free_port, noon, run_all, text


@pytest.fixture
def approved(client, world, school):  # type: ignore[no-untyped-def]
    """An approved contact of the owner's ending in ten days, with consent in place."""
    body = request_body(school, ends_on=(today() + timedelta(days=10)).isoformat())
    cid = client.post("/contacts", json=body, headers=world.auth("owner")).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    return cid


def test_a_contact_ending_produces_notice_prompt_repeats_and_escalation(
    client, world, db, approved, mail_settings, mail_server
):
    inbox = mail_server.inbox
    run_all(db, mail_settings, noon(2))  # eight days to go: too early for the notice
    assert inbox.subjects(OWNER) == []
    run_all(db, mail_settings, noon(3))  # seven days to go
    assert inbox.subjects(OWNER) == [
        f"Your approved WhatsApp contact ends on {(today() + timedelta(days=10)):%d %B %Y}"
    ]
    run_all(db, mail_settings, noon(4))  # the notice is sent once only
    assert len(inbox.to(OWNER)) == 1

    run_all(db, mail_settings, noon(10))  # the last day of the approval: still running
    assert len(inbox.to(OWNER)) == 1
    run_all(db, mail_settings, noon(11))  # over: it ends and the prompt goes out
    assert (
        client.get(f"/contacts/{approved}", headers=world.auth("owner")).json()["state"] == "ended"
    )
    prompt = inbox.to(OWNER)[-1]
    assert prompt["Subject"] == "Action needed: delete the WhatsApp contact method"
    body = text(prompt)
    assert f"contactlog confirm-deletion {approved}" in body
    assert f"/app/contacts/{approved}\r\n" in body  # its page, where the deletion is confirmed
    assert f"{(today() + timedelta(days=18)):%A %d %B %Y}" in body  # escalation deadline
    assert "Ava" not in body
    assert "Noah" not in body
    assert prompt["Message-ID"].startswith("<outbox-")
    assert prompt["Message-ID"].endswith("@riverside.example.org>")

    run_all(db, mail_settings, noon(12))  # within the two days: nothing more
    assert len(inbox.to(OWNER)) == 2
    run_all(db, mail_settings, noon(13))
    assert inbox.subjects(OWNER)[-1].endswith("(reminder 1)")
    run_all(db, mail_settings, noon(15))
    assert inbox.subjects(OWNER)[-1].endswith("(reminder 2)")
    assert inbox.to(MANAGER) == []
    assert inbox.to(DSL) == []
    run_all(db, mail_settings, noon(18))  # seven days after the end: escalated
    assert [m["Subject"] for m in inbox.to(MANAGER)] == [
        "Overdue: deleting a WhatsApp contact has not been confirmed"
    ]
    assert len(inbox.to(DSL)) == 1
    run_all(db, mail_settings, noon(19))
    assert len(inbox.to(MANAGER)) == 1  # escalated once

    clock.set_clock(lambda: noon(19))  # the owner confirms on that day, after the contact ended
    confirmed = client.post(
        f"/contacts/{approved}/deletion",
        json={"how": "Deleted the group"},
        headers=world.auth("owner"),
    )
    clock.set_clock(None)
    assert confirmed.status_code == 200, confirmed.text
    before = len(inbox.received)
    for day in (20, 22, 25, 40):
        run_all(db, mail_settings, noon(day))
    assert len(inbox.received) == before  # nothing after confirmation


def test_jobs_run_at_from_the_command_line(
    client, world, db, database_url, approved, mail_server, tmp_path
):
    from typer.testing import CliRunner

    from api.cli import app as cli

    env = {
        "CONTACTLOG_DATABASE_URL": database_url,
        "CONTACTLOG_DATA_DIR": str(tmp_path),
        "CONTACTLOG_SMTP_HOST": "127.0.0.1",
        "CONTACTLOG_SMTP_PORT": str(mail_server.port),
        "CONTACTLOG_SMTP_SECURITY": "none",
    }
    result = CliRunner().invoke(
        cli, ["jobs", "run", "--at", noon(11).strftime("%Y-%m-%dT%H:%M:%S")], env=env
    )
    assert result.exit_code == 0, result.output
    assert "end_sweep: 1" in result.output
    assert len(mail_server.inbox.to(OWNER)) == 1
    bad = CliRunner().invoke(cli, ["jobs", "run", "nonsense"], env=env)
    assert bad.exit_code == 2


def test_flagged_messages_and_withdrawals_reach_the_right_people(
    client, world, db, school, approved, mail_settings, mail_server
):
    owner = world.auth("owner")
    logged = client.post(
        f"/contacts/{approved}/messages", json=message(device_tag="MY-PHONE"), headers=owner
    )
    assert "unregistered_device" in logged.json()["flags"]
    run_all(db, mail_settings, datetime.now(UTC))
    [alert] = mail_server.inbox.to(DSL)
    assert alert["Subject"].startswith("Flagged communication")
    assert "unregistered device" in text(alert)
    assert "Reminded the team" not in text(alert)  # the content stays in contactlog
    consent = client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": approved,
            "guardian_id": school["guardian"],
            "method": "email",
            "evidence_reference": "e",
            "given_on": today().isoformat(),
        },
        headers=world.auth("admin"),
    ).json()
    client.post(
        f"/consents/{consent['id']}/withdrawal", json={"reason": "r"}, headers=world.auth("admin")
    )
    run_all(db, mail_settings, datetime.now(UTC))
    subjects = mail_server.inbox.subjects(OWNER)
    assert any(s.startswith("Consent withdrawn") for s in subjects)
    removal = next(
        m for m in mail_server.inbox.to(OWNER) if m["Subject"].startswith("Action needed")
    )
    assert "Ava T. (Y1)" in text(removal)  # only part ended: the pupil to remove is named


def test_a_waiting_request_chases_the_approver_once(
    client, world, db, school, mail_settings, mail_server
):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    run_all(db, mail_settings, datetime.now(UTC) + timedelta(hours=2))
    # Asked at once, with the page where the request is decided (it once waited a day).
    [asked] = mail_server.inbox.to(MANAGER)
    assert asked["Subject"] == "A WhatsApp contact request needs your decision"
    assert f"/app/contacts/{cid}\r\n" in text(asked)
    run_all(db, mail_settings, datetime.now(UTC) + timedelta(hours=25))
    run_all(db, mail_settings, datetime.now(UTC) + timedelta(hours=49))
    assert [m["Subject"] for m in mail_server.inbox.to(MANAGER)] == [
        "A WhatsApp contact request needs your decision",
        "A WhatsApp contact request is waiting for your decision",
    ]


def test_a_request_decided_before_the_email_goes_asks_nobody(
    client, world, db, school, mail_settings, mail_server
):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    run_all(db, mail_settings, datetime.now(UTC) + timedelta(hours=25))
    assert mail_server.inbox.to(MANAGER) == []


def test_a_mail_server_that_is_down_loses_nothing(client, world, db, settings, approved):
    server = MailServer(free_port())  # nothing listens there yet
    down = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none"}
    )
    run_all(db, down, noon(11))
    with db.session() as session:
        [email] = session.exec(select(OutboxEmail)).all()
        # The server being down is no fault of the email: not an attempt, and it tries again
        # within seconds, so a backlog goes out as soon as the server is back.
        assert email.state == "pending"
        assert email.attempts == 0
        assert email.last_error
        retry_at = email.next_attempt_at
        assert retry_at - noon(11) <= timedelta(seconds=settings.outbox_server_retry_seconds)
    run_all(db, down, noon(11) + timedelta(minutes=30))  # an hour of outage, retried and failing
    server.start()
    try:
        run_job("outbox", db, down, noon(11) + timedelta(hours=1, minutes=1))
        run_job("outbox", db, down, noon(11) + timedelta(hours=3))
        assert len(server.inbox.to(OWNER)) == 1  # delivered once it is back, and only once
    finally:
        server.stop()
    assert retry_at > noon(11)


def test_a_crash_between_claim_and_send_is_reclaimed_after_the_lease(
    client, world, db, approved, mail_settings, mail_server
):
    for name in ("end_sweep", "deletion_reminders"):
        run_job(name, db, mail_settings, noon(11))
    with db.transaction() as session:  # a scheduler claims the email, then dies
        assert (
            len(
                claim(
                    session,
                    at=noon(11),
                    real_now=datetime.now(UTC),
                    lease=timedelta(seconds=1),
                    limit=10,
                )
            )
            == 1
        )
    run_job("outbox", db, mail_settings, noon(11) + timedelta(minutes=1))
    assert mail_server.inbox.received == []  # still leased to the dead process
    sleep(1.1)  # leases run on the real clock, whatever instant the job runs as of
    run_job("outbox", db, mail_settings, noon(11) + timedelta(minutes=6))
    run_job("outbox", db, mail_settings, noon(11) + timedelta(minutes=10))
    assert len(mail_server.inbox.to(OWNER)) == 1
    with db.session() as session:  # the dead sender's claim counted as an attempt
        [email] = session.exec(select(OutboxEmail)).all()
    assert email.state == "sent"
    assert email.attempts == 1


def test_undeliverable_email_is_given_up_and_the_admin_told(
    client, world, db, settings, approved, mail_server
):
    down = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none"}
    )
    run_all(db, down, noon(11))
    run_job("outbox", db, down, noon(11) + timedelta(hours=49))
    with db.session() as session:
        states = {e.kind: e.state for e in session.exec(select(OutboxEmail))}
    assert states == {"deletion_reminder": "failed", "delivery_failed": "pending"}
    up = down.model_copy(update={"smtp_port": mail_server.port})
    run_job("outbox", db, up, noon(11) + timedelta(hours=50))
    [notice] = mail_server.inbox.to("admin@a.example.org")
    assert notice["Subject"] == "contactlog could not deliver an email"


def test_two_scheduler_processes_send_every_email_exactly_once(
    client, world, db, school, database_url, mail_server, tmp_path
):
    owner = world.auth("owner")
    for _ in range(6):
        body = request_body(school, ends_on=(today() + timedelta(days=3)).isoformat())
        cid = client.post("/contacts", json=body, headers=owner).json()["id"]
        client.post(
            f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager")
        )
        client.post(f"/contacts/{cid}/messages", json=message(device_tag="MY-PHONE"), headers=owner)
    env = {
        **os.environ,
        "CONTACTLOG_DATABASE_URL": database_url,
        "CONTACTLOG_DATA_DIR": str(tmp_path),
        "CONTACTLOG_SMTP_HOST": "127.0.0.1",
        "CONTACTLOG_SMTP_PORT": str(mail_server.port),
        "CONTACTLOG_SMTP_SECURITY": "none",
    }
    at = noon(4).strftime("%Y-%m-%dT%H:%M:%S")
    command = [sys.executable, "-m", "api.cli", "jobs", "run", "--at", at]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    ids = [m["Message-ID"] for _, m in mail_server.inbox.received]
    assert len(ids) == len(set(ids)) == count_rows(db, "outbox_email")
    # Six contacts: six prompts to the owner, six flagged-message alerts to the DSL, nothing twice.
    assert len(mail_server.inbox.to(OWNER)) == 6
    flagged = [m for m in mail_server.inbox.to(DSL) if m["Subject"].startswith("Flagged")]
    assert len(flagged) == 6
    assert count_rows(db, "deletion_task") == 12


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("trust_admin", 200), ("dsl", 403), ("owner", 403), (None, 401)],
)
def test_who_may_read_the_outbox(client, world, db, approved, mail_settings, who, status):
    run_all(db, mail_settings, noon(11))
    response = client.get("/outbox", headers=world.auth(who))
    assert response.status_code == status
    if status == 200:
        [email] = response.json()["items"]
        assert email["state"] == "sent"
        assert email["kind"] == "deletion_reminder"
        assert "body" not in email


@pytest.mark.parametrize(
    ("who", "count"),
    [
        ("owner", 2),
        ("manager", 2),
        ("dsl", 2),
        ("head", 2),
        ("other_staff", 0),
        ("other_manager", 0),
        ("other_school", 0),
    ],
)
def test_deletion_tasks_are_scoped(client, world, db, approved, settings, who, count):
    run_job("end_sweep", db, settings, noon(11))
    response = client.get("/deletion-tasks", headers=world.auth(who))
    assert response.status_code == 200
    assert len(response.json()["items"]) == count


def test_an_incident_emails_the_line_manager_and_the_dsl(
    client, world, db, mail_settings, mail_server
):
    body = {
        "kind": "chance_contact",
        "platform": "facebook",
        "occurred_at": "2026-01-10T19:30:00Z",
        "what_happened": "Pupil appeared in a public group",
        "personal_information_shared": False,
        "other_person": "A parent",
    }
    incident = client.post("/incidents", json=body, headers=world.auth("owner")).json()
    run_all(db, mail_settings, datetime.now(UTC))
    run_all(db, mail_settings, datetime.now(UTC) + timedelta(minutes=5))
    for person in (MANAGER, DSL):
        [email] = mail_server.inbox.to(person)
        assert email["Subject"] == "Incident reported: chance contact on Facebook"
        assert f"/incidents/{incident['id']}" in text(email)
        assert "public group" not in text(email)  # what happened stays in contactlog
    assert mail_server.inbox.to(OWNER) == []


def test_a_connection_lost_mid_job_costs_one_step(client, world, db, school, settings, backend):
    """The alerts job works in steps of its own transactions: cut the database connection in
    the middle and what came before is kept; the next run does the rest, nothing twice."""
    if backend != "postgresql":
        pytest.skip("SQLite has no connection to lose")
    import psycopg
    from sqlalchemy import event, text

    from scheduler import jobs

    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    with db.engine.begin() as conn:  # many flagged entries waiting to be told
        conn.execute(
            text(
                "INSERT INTO alert (school_id, kind, contact_id, staff_id, created_at) "
                "SELECT :s, 'consent_withdrawn', :c, :o, now() FROM generate_series(1, 130)"
            ),
            {"s": world.school_a, "c": cid, "o": world.ids["owner"]},
        )
    admin_url = db.engine.url.set(drivername="postgresql").render_as_string(False)
    commits: list[int] = []

    def cut_second_step(conn) -> None:  # type: ignore[no-untyped-def]
        commits.append(1)
        if len(commits) == 2:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    event.listen(db.engine, "commit", cut_second_step)
    try:
        with pytest.raises(Exception):  # noqa: PT011  (whatever the driver raises for a lost connection)
            jobs.alerts(db, settings, clock.now())
    finally:
        event.remove(db.engine, "commit", cut_second_step)
        db.engine.dispose()
    with db.engine.connect() as conn:
        told = conn.execute(text("SELECT count(*) FROM alert WHERE emailed_at IS NOT NULL"))
        assert told.scalar_one() == jobs.STEP  # the first step was kept, the second lost
    # The first step also held the request's own alert (decided at once: nobody was asked).
    assert jobs.alerts(db, settings, clock.now()) == 130 - (jobs.STEP - 1)
    with db.engine.connect() as conn:
        queued = conn.execute(
            text("SELECT count(*) FROM outbox_email WHERE kind = 'consent_withdrawn'")
        )
        assert queued.scalar_one() == 130  # each once


def test_a_trust_admin_reads_only_their_own_trusts_outbox(client, world, db):
    """Another trust's emails (addresses, pupils' contacts) never show in this trust's outbox."""
    from core.directory.models import SchoolCreate
    from core.directory.schools import create_school, create_trust
    from core.outbox import enqueue
    from core.principal import Principal

    operator, at = Principal.command_line(), clock.now()
    with db.transaction() as session:
        other_trust = create_trust(session=session, actor=operator, at=at, name="Other Trust")
        elsewhere = create_school(
            session=session,
            actor=operator,
            at=at,
            school_in=SchoolCreate(name="Elsewhere"),
            trust_id=other_trust.id,
        )
        for school_id, to in (
            (elsewhere.id, "theirs@x.example"),
            (world.school_b, "ours@b.example"),
        ):
            enqueue(
                session,
                dedupe_key=f"t:{to}",
                kind="test",
                to_address=to,
                subject="Test",
                body="Body",
                school_id=school_id,
                at=at,
            )
    seen = client.get("/outbox", headers=world.auth("trust_admin")).json()["items"]
    assert [e["to_address"] for e in seen] == ["ours@b.example"]
