"""Access that no single insider can bend. Each attack that worked yesterday, as a test that now
fails for the attacker; the second person's confirmation; the second factor with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import text as sql

from core import clock
from tests.support.builders import enrol, request_body
from tests.support.ground import PASSWORD, assert_problem, count_rows
from tests.support.mail import run_all

PUPPET = {"name": "Pat Puppet", "email": "pat.puppet@a.example.org", "roles": ["staff", "approver"]}


def _sign_in(client, email: str, password: str = PASSWORD, otp: str | None = None):  # type: ignore[no-untyped-def]
    form = {"username": email, "password": password, **({"otp": otp} if otp else {})}
    return client.post("/auth/token", data=form)


def _events(db, action: str) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sql("SELECT actor_id, details FROM audit_event WHERE action = :a"), {"a": action}
            ).all()
        )


# ---------------------------------------------------------------- the attacks of the report


def test_a_school_admin_cannot_take_over_the_trust_admin(client, world):
    admin = world.auth("admin")
    target = f"/staff/{world.ids['trust_admin']}"
    for change in ({"password": "a brand new passphrase"}, {"email": "mine@a.example.org"}):
        refused = client.patch(target, json=change, headers=admin)
        assert refused.status_code in (403, 422), refused.text
    assert_problem(client.patch(target, json={"name": "Renamed"}, headers=admin), 403)
    assert_problem(client.post(f"{target}/mfa-reset", headers=admin), 403)
    assert_problem(
        client.patch(
            f"/staff/{world.ids['admin']}",
            json={"roles": ["admin", "trust_admin"]},
            headers=admin,
        ),
        403,
    )


def test_an_admin_cannot_give_themselves_a_role(client, world, db):
    for roles in (["admin", "dsl"], ["admin", "approver"]):
        assert_problem(
            client.patch(
                f"/staff/{world.ids['admin']}", json={"roles": roles}, headers=world.auth("admin")
            ),
            403,
            detail_contains="own",
        )
    assert_problem(
        client.patch(
            f"/staff/{world.ids['admin']}",
            json={"line_manager_id": world.ids["manager"]},
            headers=world.auth("admin"),
        ),
        403,
    )
    assert client.get("/pending-changes", headers=world.auth("head")).json() == []


def test_a_puppet_approver_approves_nothing(client, world, db):
    """Yesterday: an admin made an approver with a password they chose, made it their line
    manager, and had it approve their own contact request."""
    admin = world.auth("admin")
    puppet = client.post("/staff", json=PUPPET, headers=admin)
    assert puppet.status_code == 201, puppet.text
    assert puppet.json()["roles"] == ["staff"]
    assert puppet.json()["pending_roles"] == ["approver"]
    # It cannot be made anyone's line manager: it is not an approver until someone confirms.
    assert_problem(
        client.patch(
            f"/staff/{world.ids['owner']}",
            json={"line_manager_id": puppet.json()["id"]},
            headers=admin,
        ),
        422,
        detail_contains="approver",
    )
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    # The proposer cannot confirm their own proposal, nor the person concerned.
    assert_problem(client.post(f"/pending-changes/{change['id']}/confirm", headers=admin), 403)
    assert client.get("/pending-changes", headers=admin).json() == []
    refused = client.post(f"/pending-changes/{change['id']}/refuse", headers=world.auth("head"))
    assert refused.status_code == 200
    assert refused.json()["state"] == "refused"
    assert client.get(f"/staff/{puppet.json()['id']}", headers=admin).json()["roles"] == ["staff"]
    assert_problem(
        client.post(f"/pending-changes/{change['id']}/confirm", headers=world.auth("head")), 409
    )


def test_the_dsl_is_not_locked_out_by_someone_who_knows_her_email(app, client, world, db):
    secret = enrol(db, world.ids["dsl"])
    from fastapi.testclient import TestClient

    for n in range(30):  # from many places, more than any allowance
        attacker = TestClient(app, raise_server_exceptions=False, client=(f"203.0.113.{n}", 1))
        attacker.post("/auth/token", data={"username": "dsl@a.example.org", "password": "x"})
    owner = TestClient(app, raise_server_exceptions=False, client=("198.51.100.5", 1))
    assert_problem(_sign_in(owner, "dsl@a.example.org"), 429)  # a password alone waits
    code = pyotp.TOTP(secret).now()
    assert _sign_in(owner, "dsl@a.example.org", otp=code).status_code == 200


# ---------------------------------------------------------------- a second person confirms


def test_a_grant_waits_for_a_second_person_who_is_emailed(
    client, world, db, mail_settings, mail_server
):
    proposed = client.patch(
        f"/staff/{world.ids['owner']}",
        json={"roles": ["staff", "dsl"]},
        headers=world.auth("admin"),
    )
    assert proposed.json()["pending_roles"] == ["dsl"]
    assert_problem(client.get("/review-queue", headers=world.auth("owner")), 403)
    run_all(db, mail_settings, clock.now())
    told = {
        rcpt[0] for rcpt, m in mail_server.inbox.received if m["Subject"].startswith("A change")
    }
    # The headteacher and the trust admin may confirm; not the proposer, not the person.
    assert {"head@a.example.org", "trust_admin@a.example.org"} <= told
    assert not told & {"admin@a.example.org", "owner@a.example.org"}
    [change] = client.get("/pending-changes", headers=world.auth("trust_admin")).json()
    done = client.post(
        f"/pending-changes/{change['id']}/confirm", headers=world.auth("trust_admin")
    )
    assert done.json()["state"] == "confirmed"
    # The grant ends the sign-in made without a second factor; the new power is reached by
    # signing in again, which first sets one up, then with its code.
    assert_problem(client.get("/review-queue", headers=world.auth("owner")), 401)
    again = _sign_in(client, "owner@a.example.org").json()
    assert again["enrol_only"] is True
    secret = enrol(db, world.ids["owner"])
    code = pyotp.TOTP(secret).now()
    token = _sign_in(client, "owner@a.example.org", otp=code).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/review-queue", headers=headers).status_code == 200
    [(actor, details)] = _events(db, "pending_change.confirmed")
    assert actor == world.ids["trust_admin"]
    assert f'"proposed_by":{world.ids["admin"]}' in details.replace(" ", "")


def test_a_proposal_expires(client, world, settings):
    client.patch(
        f"/staff/{world.ids['owner']}",
        json={"is_headteacher": True, "roles": ["staff", "approver"]},
        headers=world.auth("admin"),
    )
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    assert change["make_headteacher"] is True
    assert change["grant_roles"] == ["approver"]
    later = clock.now() + timedelta(hours=settings.pending_change_hours, minutes=1)
    clock.set_clock(lambda: later)
    assert client.get("/pending-changes", headers=world.auth("head")).json() == []
    assert_problem(
        client.post(f"/pending-changes/{change['id']}/confirm", headers=world.auth("head")), 409
    )


# ---------------------------------------------------------------- the second factor


AT = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def fixed_clock():  # type: ignore[no-untyped-def]
    clock.set_clock(lambda: AT)
    yield AT
    clock.set_clock(None)


def test_enrol_then_sign_in_with_codes_that_work_once(client, world, db, fixed_clock):
    owner = world.auth("owner")
    started = client.post("/me/mfa", headers=owner)
    assert started.status_code == 200
    enrolment = started.json()
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/")
    assert enrolment["qr_svg"].startswith("<svg")
    totp = pyotp.TOTP(enrolment["secret"])
    assert_problem(client.post("/me/mfa/confirm", json={"code": "000000"}, headers=owner), 422)
    confirmed = client.post("/me/mfa/confirm", json={"code": totp.at(AT)}, headers=owner)
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10
    with db.engine.connect() as conn:
        stored = " ".join(str(r) for r in conn.execute(sql("SELECT * FROM recovery_code")).all())
    assert not any(code in stored for code in recovery)

    email = "owner@a.example.org"
    needed = assert_problem(_sign_in(client, email), 401)
    assert needed["type"].endswith("second-factor-required")
    assert_problem(_sign_in(client, email, otp="123456"), 401)  # wrong
    later = AT + timedelta(seconds=30)
    clock.set_clock(lambda: later)
    assert _sign_in(client, email, otp=totp.at(later)).status_code == 200
    assert_problem(_sign_in(client, email, otp=totp.at(later)), 401)  # the same code again
    assert_problem(_sign_in(client, email, otp=totp.at(AT)), 401)  # an older one
    skewed = later + timedelta(seconds=30)
    assert _sign_in(client, email, otp=totp.at(skewed)).status_code == 200  # a phone ahead
    far = later + timedelta(minutes=5)
    assert_problem(_sign_in(client, email, otp=totp.at(far)), 401)  # too far
    assert _sign_in(client, email, otp=recovery[0]).status_code == 200
    assert_problem(_sign_in(client, email, otp=recovery[0]), 401)  # recovery codes work once
    assert_problem(client.post("/me/mfa", headers=owner), 409)  # already set up


def test_a_dsl_without_a_second_factor_gets_a_token_that_can_only_enrol(client, world, db):
    signed = _sign_in(client, "dsl@a.example.org")
    assert signed.status_code == 200
    assert signed.json()["enrol_only"] is True
    token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert_problem(client.get("/review-queue", headers=token), 403, detail_contains="second")
    assert_problem(client.get("/pupils", headers=token), 403)
    assert client.get("/me", headers=token).status_code == 200
    started = client.post("/me/mfa", headers=token).json()
    code = pyotp.TOTP(started["secret"]).now()
    assert client.post("/me/mfa/confirm", json={"code": code}, headers=token).status_code == 200
    # Staff may sign in without one; the DSL may not, any more.
    assert _sign_in(client, "other_staff@a.example.org").json()["enrol_only"] is False
    assert_problem(_sign_in(client, "dsl@a.example.org"), 401)


def test_resetting_a_lost_second_factor_takes_two_people(client, world, db):
    secret = enrol(db, world.ids["manager"])
    proposed = client.post(f"/staff/{world.ids['manager']}/mfa-reset", headers=world.auth("admin"))
    assert proposed.status_code == 202
    assert proposed.json()["kind"] == "mfa_reset"
    assert (
        _sign_in(client, "manager@a.example.org", otp=pyotp.TOTP(secret).now()).status_code == 200
    )
    confirmed = client.post(
        f"/pending-changes/{proposed.json()['id']}/confirm", headers=world.auth("head")
    )
    assert confirmed.status_code == 200
    assert count_rows(db, "second_factor") == 0
    assert_problem(client.get("/me", headers=world.auth("manager")), 401)  # sessions ended
    assert _sign_in(client, "manager@a.example.org").json()["enrol_only"] is True


def test_a_staff_member_signing_in_for_a_contact_needs_no_second_factor(client, world, school):
    signed = _sign_in(client, "owner@a.example.org")
    token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    made = client.post("/contacts", json=request_body(school), headers=token)
    assert made.status_code == 201


def test_an_admin_cannot_redirect_someones_sign_in_email_alone(client, world, db):
    """Changing a teacher's email to one the admin reads, then asking for a reset link, would
    hand the admin that teacher's account: the change waits for a second person."""
    admin = world.auth("admin")
    moved = client.patch(
        f"/staff/{world.ids['owner']}", json={"email": "mine@elsewhere.example"}, headers=admin
    )
    assert moved.status_code == 200
    assert moved.json()["email"] == "owner@a.example.org"
    client.post("/auth/password-reset", json={"email": "mine@elsewhere.example"})
    assert count_rows(db, "account_link") == 0
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    assert change["new_email"] == "mine@elsewhere.example"
    client.post(f"/pending-changes/{change['id']}/confirm", headers=world.auth("head"))
    assert client.get(f"/staff/{world.ids['owner']}", headers=admin).json()["email"] == (
        "mine@elsewhere.example"
    )
    assert_problem(client.get("/me", headers=world.auth("owner")), 401)  # old sessions end
