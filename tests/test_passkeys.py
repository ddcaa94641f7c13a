"""Passkeys in Chromium's virtual authenticator (CDP WebAuthn): a DSL adds one and signs in
with it, no password or code asked; a copied authenticator (its counter behind the one kept)
is refused; a passkey whose device cannot check its user signs nobody in; the last second
factor of a role that needs one cannot be removed; registrations and removals are recorded."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import text

from core.record.models import AuditEvent
from tests.support.browser import checked
from tests.support.builders import enrol
from tests.support.ground import PASSWORD


@pytest.fixture
def site(live_server, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The served app as https-less browsers allow WebAuthn: on `localhost` (an address is
    not a relying party), with the deployment's public address saying so."""
    port = urlsplit(live_server).port
    url = f"http://localhost:{port}"
    monkeypatch.setattr(settings, "public_url", url)
    return url


def authenticator(page, *, verifies: bool = True):  # type: ignore[no-untyped-def]
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": verifies,
                "isUserVerified": verifies,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, made["authenticatorId"]


def password_sign_in(page, site: str, email: str, code: str | None) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if code:
        page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{site}/")


def passkey_sign_in(page, site: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/sign-in")
    page.get_by_role("button", name="Use a passkey instead").click()


def test_a_dsl_adds_a_passkey_and_signs_in_with_it(site, browse, world, db):
    secret = enrol(db, world.ids["dsl"])
    page = browse()
    cdp, device = authenticator(page)
    password_sign_in(page, site, "dsl@a.example.org", pyotp.TOTP(secret).now())
    page.goto(f"{site}/app/passkeys")
    checked(page)
    page.get_by_label("A name for it").fill("Office laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(f"{site}/app/passkeys?done=added")
    checked(page)
    assert page.get_by_text("Office laptop, added").count() == 1
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": device})["credentials"]
    assert credential["isResidentCredential"] is True

    page.context.clear_cookies()
    passkey_sign_in(page, site)
    page.wait_for_url(f"{site}/")
    checked(page)
    assert page.get_by_role("button", name="Sign out").count() == 1
    with db.engine.connect() as conn:
        actions = (
            conn.execute(
                text(
                    "SELECT action FROM audit_event WHERE object_type = 'staff' AND object_id = :i"
                ),
                {"i": world.ids["dsl"]},
            )
            .scalars()
            .all()
        )
        counted = conn.execute(text("SELECT sign_count FROM passkey")).scalar_one()
    assert "passkey.registered" in actions
    assert counted >= 1

    # A copy of the authenticator, used elsewhere, has moved the kept counter past this one's.
    with db.transaction() as session:
        session.execute(text("UPDATE passkey SET sign_count = sign_count + 1000"))
    page.context.clear_cookies()
    passkey_sign_in(page, site)
    page.get_by_text("That passkey did not sign you in").wait_for()
    assert page.url.startswith(f"{site}/sign-in")


def test_a_passkey_whose_device_cannot_check_its_user_signs_nobody_in(site, browse, world, db):
    secret = enrol(db, world.ids["dsl"])
    page = browse()
    cdp, device = authenticator(page)
    password_sign_in(page, site, "dsl@a.example.org", pyotp.TOTP(secret).now())
    page.goto(f"{site}/app/passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(f"{site}/app/passkeys?done=added")
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": device, "isUserVerified": False})
    page.context.clear_cookies()
    passkey_sign_in(page, site)
    page.get_by_text("the device could not check it is you").wait_for()
    assert page.url.startswith(f"{site}/sign-in")
    page.goto(f"{site}/app/passkeys")
    assert "/sign-in" in page.url  # not signed in


def test_a_role_s_only_second_factor_cannot_be_removed_and_a_spare_one_can(site, browse, world, db):
    """An approver with a passkey and no app: the passkey alone is their second factor."""
    secret = enrol(db, world.ids["manager"])
    page = browse()
    authenticator(page)
    password_sign_in(page, site, "manager@a.example.org", pyotp.TOTP(secret).now())
    page.goto(f"{site}/app/passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(f"{site}/app/passkeys?done=added")
    with db.transaction() as session:  # the app removed, as a reset would
        session.execute(text("DELETE FROM recovery_code"))
        session.execute(text("DELETE FROM second_factor"))
    page.get_by_role("button", name="Remove “Passkey”").click()
    assert page.get_by_text("This is your only second factor").count() == 1
    enrol(db, world.ids["manager"])  # an authenticator app again: the passkey may go
    page.goto(f"{site}/app/passkeys")
    page.get_by_role("button", name="Remove “Passkey”").click()
    page.wait_for_url(f"{site}/app/passkeys?done=removed")
    with db.session() as session:
        removed = session.exec(
            __import__("sqlmodel").select(AuditEvent).where(AuditEvent.action == "passkey.removed")
        ).all()
    assert len(removed) == 1


def test_passkeys_are_one_s_own(client, world):
    mine = client.get("/me/passkeys", headers=world.auth("owner"))
    assert mine.json() == []
    options = client.post("/me/passkeys/options", headers=world.auth("owner")).json()
    assert options["rp"]["name"] == "contactlog"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    # The passkey is the whole sign-in: its device must check who holds it, every time.
    assert options["authenticatorSelection"]["userVerification"] == "required"
    forged = client.post(
        "/me/passkeys",
        json={"credential": {"id": "x", "response": {"clientDataJSON": "e30"}}},
        headers=world.auth("owner"),
    )
    assert forged.status_code == 422
    assert client.delete("/me/passkeys/1", headers=world.auth("owner")).status_code == 404


def test_refused_passkey_sign_ins_count_against_the_address(client, settings, monkeypatch):
    """A passkey guessed at (or replayed) from one address waits like a password guessed at."""
    monkeypatch.setattr(settings, "signin_client_free_failures", 3)
    client.get("/sign-in")
    token = client.cookies.get("contactlog_sign_in")
    unknown = (
        base64.urlsafe_b64encode(
            json.dumps(
                {"type": "webauthn.get", "challenge": "bm90LWEtY2hhbGxlbmdl", "origin": "x"}
            ).encode()
        )
        .decode()
        .rstrip("=")
    )
    body = {
        "form_token": token,
        "credential": {"id": "AAAA", "response": {"clientDataJSON": unknown}},
    }
    answers = [client.post("/sign-in/passkey", json=body).status_code for _ in range(5)]
    assert answers[:3] == [401, 401, 401]
    assert 429 in answers[3:]
    assert "wait" in client.post("/sign-in/passkey", json=body).json()["detail"]
