"""Passwords chosen by their owners: invitations and resets by email through a real SMTP server,
links that work once and expire, never stored in clear; passwords that cannot be guessed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text as sql

from core import clock
from tests.support.ground import assert_problem, count_rows
from tests.support.mail import run_all, text

GOOD = "lantern orchard velvet 42"
NEW = {"name": "Nia Adeyemi", "email": "nia.adeyemi@a.example.org"}


def _emailed_token(mail_server, address: str) -> str:  # type: ignore[no-untyped-def]
    [*_, last] = mail_server.inbox.to(address)
    return text(last).split("/account/password/", 1)[1].split()[0]


def _sign_in(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/auth/token", data={"username": email, "password": password})


def test_a_new_account_chooses_its_own_password_from_an_emailed_invitation(
    client, world, db, mail_settings, mail_server
):
    created = client.post("/staff", json=NEW, headers=world.auth("admin"))
    assert created.status_code == 201, created.text
    run_all(db, mail_settings, clock.now())
    [invitation] = mail_server.inbox.to(NEW["email"])
    assert invitation["Subject"] == "Your contactlog account: choose a password"
    token = _emailed_token(mail_server, NEW["email"])
    with db.engine.connect() as conn:  # only the link's hash is kept
        stored = conn.execute(sql("SELECT token_hash FROM account_link")).scalars().all()
        dump = " ".join(str(r) for r in conn.execute(sql("SELECT * FROM account_link")).all())
    assert len(stored) == 1
    assert token not in dump
    page = client.get(f"/account/password/{token}")
    assert page.status_code == 200
    assert 'name="password"' in page.text
    done = client.post("/account/password", data={"token": token, "password": GOOD, "again": GOOD})
    assert done.status_code == 200
    assert "Your password is set" in done.text
    assert _sign_in(client, NEW["email"], GOOD).status_code == 200
    # The link works once.
    again = client.post("/auth/password", json={"token": token, "password": GOOD + "!"})
    assert_problem(again, 422, detail_contains="does not work")
    assert _sign_in(client, NEW["email"], GOOD + "!").status_code == 401


def test_an_invitation_expires(client, world, db, settings):
    client.post("/staff", json=NEW, headers=world.auth("admin"))
    with db.engine.connect() as conn:
        body = conn.execute(sql("SELECT body FROM outbox_email")).scalar_one()
    token = body.split("/account/password/", 1)[1].split()[0]
    later = clock.now() + timedelta(hours=settings.invitation_hours, minutes=1)
    clock.set_clock(lambda: later)
    assert_problem(client.post("/auth/password", json={"token": token, "password": GOOD}), 422)
    assert_problem(client.post("/auth/password", json={"token": "forged", "password": GOOD}), 422)


def test_a_reset_link_is_emailed_and_ends_other_sessions(
    client, world, db, mail_settings, mail_server
):
    for email in ("owner@a.example.org", "nobody@a.example.org"):
        answer = client.post("/auth/password-reset", json={"email": email})
        assert answer.status_code == 202  # the same answer whether or not the account exists
        assert answer.json()["detail"].startswith("If the address belongs to an account")
    run_all(db, mail_settings, clock.now())
    assert mail_server.inbox.to("nobody@a.example.org") == []
    token = _emailed_token(mail_server, "owner@a.example.org")
    chosen = client.post("/auth/password", json={"token": token, "password": GOOD})
    assert chosen.status_code == 204, chosen.text
    assert_problem(client.get("/me", headers=world.auth("owner")), 401)  # old session ended
    assert _sign_in(client, "owner@a.example.org", GOOD).status_code == 200


def test_only_a_few_reset_links_an_hour(client, world, db):
    for _ in range(6):
        assert (
            client.post("/auth/password-reset", json={"email": "owner@a.example.org"}).status_code
            == 202
        )
    assert count_rows(db, "account_link") == 3


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short one", "at least 12"),
        ("password1234", "guess"),
        ("qwertyuiop123", "guess"),
        ("nia.adeyemi2026", "guess"),  # the person's own name
        ("x" * 129, "at most 128"),
    ],
)
def test_weak_passwords_are_refused_and_say_why(client, world, db, password, why):
    client.post("/staff", json=NEW, headers=world.auth("admin"))
    with db.engine.connect() as conn:
        body = conn.execute(sql("SELECT body FROM outbox_email")).scalar_one()
    token = body.split("/account/password/", 1)[1].split()[0]
    refused = assert_problem(
        client.post("/auth/password", json={"token": token, "password": password}), 422
    )
    assert why in refused["detail"]
    assert refused["errors"][0]["field"] == "password"
    assert password not in str(refused)
    # The link still works for a good one.
    assert client.post("/auth/password", json={"token": token, "password": GOOD}).status_code == 204


def test_a_password_is_never_stripped(client, world, db):
    client.post("/staff", json=NEW, headers=world.auth("admin"))
    with db.engine.connect() as conn:
        body = conn.execute(sql("SELECT body FROM outbox_email")).scalar_one()
    token = body.split("/account/password/", 1)[1].split()[0]
    spaced = "  " + GOOD + "  "
    assert (
        client.post("/auth/password", json={"token": token, "password": spaced}).status_code == 204
    )
    assert _sign_in(client, NEW["email"], GOOD).status_code == 401
    assert _sign_in(client, NEW["email"], spaced).status_code == 200
