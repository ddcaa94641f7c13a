"""Signing in with the school's Microsoft or Google account, through a real OpenID provider
(tests/support/openid_provider.py) in Chromium: a first link confirmed by the person and then
the provider alone; Google Workspace's hosted domain; and each attack refused: another tenant's
account, another trust's tenant, a replayed or carried-off `state`, a wrong nonce, a token for
another audience, an expired token, a key never published, an unlinked account, a switched-off
account with a live session at the provider. A key rotated between sign-ins is fetched again.
Roles that need a second factor still show it to contactlog, and a trust may turn passwords
off."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import text

from core import clock
from core.identity import sso, sso_connections, sso_provider
from core.identity.models import SsoLink
from core.principal import Principal
from tests.support.browser import checked
from tests.support.builders import enrol, invitation_token, other_trust
from tests.support.ground import PASSWORD
from tests.support.openid_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    GOOGLE_DOMAIN,
    TENANT_A,
    TENANT_B,
    running,
)
from tests.support.servers import login_through_the_browser

MICROSOFT = f"/{TENANT_A}/v2.0"
MICROSOFT_B = f"/{TENANT_B}/v2.0"
NOT_FOR_US = "did not sign you in for this trust"


@pytest.fixture
def site(live_server, settings, monkeypatch):  # type: ignore[no-untyped-def]
    port = urlsplit(live_server).port
    url = f"http://localhost:{port}"
    monkeypatch.setattr(settings, "public_url", url)
    return url


@pytest.fixture
def provider(site, settings, monkeypatch, world, db, tmp_path):  # type: ignore[no-untyped-def]
    """The provider running, and the test trust signing in with its Microsoft tenant and its
    Google Workspace."""
    uris = [f"{site}/auth/sso/{name}/callback" for name in ("microsoft", "google")]
    with running(uris) as openid:
        monkeypatch.setattr(settings, "sso_microsoft_authority", openid.microsoft_authority)
        monkeypatch.setattr(settings, "sso_google_issuer", openid.google_issuer)
        sso_provider.KEPT.forget()
        connect(
            db, world.trust, "microsoft", TENANT_A, ["a.example.org", "b.example.org"], tmp_path
        )
        connect(db, world.trust, "google", GOOGLE_DOMAIN, [], tmp_path)
        yield openid
        sso_provider.KEPT.forget()


def connect(db, trust_id: int, name: str, tenant: str, domains: list[str], folder) -> None:  # type: ignore[no-untyped-def]
    """A trust signing in with a tenant of the test provider, as `contactlog sso add` sets it."""
    secret = folder / f"client-secret-{trust_id}-{name}"
    secret.write_text(CLIENT_SECRET + "\n")
    with db.transaction() as session:
        sso_connections.add(
            session=session,
            actor=Principal.command_line(),
            at=clock.now(),
            trust_id=trust_id,
            provider=name,
            tenant=tenant,
            client_id=CLIENT_ID,
            secret_file=secret,
            domains=domains,
        )


def passwords_off(db, trust_id: int) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        sso_connections.set_passwords_off(
            session=session,
            actor=Principal.command_line(),
            at=clock.now(),
            trust_id=trust_id,
            off=True,
        )


def at_provider(page, login: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in at the provider's own page (its development login: any password), and allow
    contactlog what it asks for."""
    try:
        page.wait_for_selector("input[name=login]", timeout=5000)
    except Exception:
        page.screenshot(path="/tmp/sso-debug.png")
        print("DEBUG URL", page.url, page.content()[:2000])
        raise
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "whatever-the-provider-asks")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_load_state()
    if page.get_by_role("button", name="Continue").count():
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()


def start(page, site: str, button: str = "Sign in with Microsoft") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/sign-in")
    page.get_by_role("button", name=button).click()


def sign_in_with(page, site: str, login: str, button: str = "Sign in with Microsoft") -> None:  # type: ignore[no-untyped-def]
    start(page, site, button)
    at_provider(page, login)


def home(page, site: str) -> None:  # type: ignore[no-untyped-def]
    """Signed in, at home; or why not, as the page said it."""
    try:
        page.wait_for_url(f"{site}/", timeout=10000)
    except Exception:
        alerts = page.get_by_role("alert").all_inner_texts()
        raise AssertionError(f"not signed in at {page.url}: {alerts}") from None


def linked(db, settings, staff_id: int, provider: str, subject: str) -> None:  # type: ignore[no-untyped-def]
    """A link made earlier, as the first sign-in makes it."""
    with db.transaction() as session:
        connection = sso_connections.connection_of(
            session, provider=provider, trust_id=_trust(session)
        )
        session.add(
            SsoLink(
                connection_id=connection.id,
                staff_id=staff_id,
                subject_hash=sso.subject_hash(settings, connection.id, subject),
                email="linked@a.example.org",
                linked_at=clock.now(),
            )
        )


def _trust(session) -> int:  # type: ignore[no-untyped-def]
    return int(session.execute(text("SELECT min(trust_id) FROM sso_connection")).scalar_one())


def refused_with(page, words: str) -> None:  # type: ignore[no-untyped-def]
    alert = page.get_by_role("alert").filter(has_text=words)
    alert.wait_for()
    assert "/sign-in" in page.url or "/auth/sso/" in page.url
    assert page.context.cookies() == [] or all(
        c["name"] != "contactlog_session" for c in page.context.cookies()
    )


def test_a_teacher_links_her_microsoft_account_once_then_it_alone_signs_her_in(
    provider, site, browse, world, db
):
    page = browse()
    sign_in_with(page, site, "owner")
    page.get_by_role("heading", name="Link your Microsoft account").wait_for()
    checked(page)
    assert page.get_by_text("owner@a.example.org").count() == 1
    page.get_by_label("Your contactlog password").fill(PASSWORD)
    page.get_by_role("button", name="Link and sign in").click()
    home(page, site)
    checked(page)

    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT staff_id, subject_hash, email FROM sso_link")).all()
        events = conn.execute(
            text("SELECT action, object_id FROM audit_event WHERE action = 'sso.linked'")
        ).all()
    assert [(r.staff_id, r.email) for r in rows] == [(world.ids["owner"], "owner@a.example.org")]
    assert "owner" not in rows[0].subject_hash  # the subject is kept keyed, never as itself
    assert [tuple(e) for e in events] == [("sso.linked", world.ids["owner"])]

    # Signed out, and in again: the provider's subject finds the account; nothing is asked.
    page.context.clear_cookies()
    sign_in_with(page, site, "owner")
    home(page, site)


def test_a_wrong_password_links_nothing(provider, site, browse, db):
    page = browse()
    sign_in_with(page, site, "owner")
    page.get_by_label("Your contactlog password").fill("not-the-password")
    page.get_by_role("button", name="Link and sign in").click()
    page.get_by_role("alert").filter(has_text="incorrect").wait_for()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 0


def test_google_workspace_signs_in_its_own_domain_only(provider, site, browse, world, db, settings):
    linked(db, settings, world.ids["owner"], "google", "owner")
    page = browse()
    sign_in_with(page, site, "owner", "Sign in with Google")
    home(page, site)

    for login in ("personal", "unverified"):
        other = browse()
        sign_in_with(other, site, login, "Sign in with Google")
        refused_with(
            other,
            "belongs to another organisation" if login == "personal" else "No contactlog account",
        )
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 1


def test_an_account_of_another_tenant_is_refused(provider, site, browse, db):
    page = browse()
    sign_in_with(page, site, "visitor")
    refused_with(page, "belongs to another organisation")
    checked(page)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 0


def test_another_trusts_tenant_cannot_link_to_this_trusts_account(
    provider, site, browse, world, db, settings, passwords, tmp_path
):
    """An IT administrator of another trust's tenant gives an account the owner's address;
    even with the owner's domain allowed there, it finds nobody outside its own trust."""
    elsewhere = other_trust(db, settings, passwords)
    connect(db, elsewhere.trust_id, "microsoft", TENANT_B, ["a.example.org"], tmp_path)
    page = browse()
    sign_in_with(page, site, "intruder", "Sign in with Microsoft (Other Trust)")
    refused_with(page, "No contactlog account is linked")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 0


def test_a_replayed_or_carried_off_answer_is_refused(provider, site, browse, world, db, settings):
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    page = browse()
    answers: list[str] = []
    page.on(
        "request",
        lambda request: answers.append(request.url) if "/callback?" in request.url else None,
    )
    sign_in_with(page, site, "owner")
    home(page, site)
    [answer] = answers

    page.context.clear_cookies()
    page.goto(answer)  # the same code and state again
    refused_with(page, "expired or was used")

    # A fresh answer taken to another browser, which did not begin the sign-in.
    answers.clear()
    page.context.clear_cookies()
    page.route("**/auth/sso/microsoft/callback*", lambda route: route.abort())
    start(page, site)
    page.wait_for_timeout(300)  # the provider's session answers at once
    if not answers:
        at_provider(page, "owner")
    [fresh] = answers
    thief = browse()
    thief.goto(fresh)
    refused_with(thief, "expired or was used")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"nonce": "a-nonce-of-another-sign-in"}, "wrong nonce"),
        ({"aud": "another-application"}, "another audience"),
        ({"exp": -3600, "iat": -7200}, "expired"),
        ({"stranger": True}, "signed with a key never published"),
    ],
)
def test_an_id_token_that_fails_a_check_signs_nobody_in(
    provider, site, browse, world, db, settings, change, why
):
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    now = int(clock.now().timestamp())
    timed = {k: now + v if k in ("exp", "iat") else v for k, v in change.items()}
    provider.next_id_token(MICROSOFT, **timed)
    page = browse()
    sign_in_with(page, site, "owner")
    refused_with(page, NOT_FOR_US)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM browser_session")).scalar_one() == 0, why


def test_a_key_rotated_between_sign_ins_is_fetched_again(
    provider, site, browse, world, db, settings
):
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    page = browse()
    sign_in_with(page, site, "owner")
    home(page, site)
    fetched = provider.counts()["jwks"]
    page.context.clear_cookies()
    sign_in_with(page, site, "owner")
    home(page, site)
    assert provider.counts()["jwks"] == fetched  # kept, not fetched for every sign-in

    provider.rotate_key(MICROSOFT)
    page.context.clear_cookies()
    sign_in_with(page, site, "owner")
    home(page, site)
    assert provider.counts()["jwks"] == fetched + 1


def test_an_unlinked_account_with_no_contactlog_account_is_refused_and_nothing_is_made(
    provider, site, browse, db
):
    with db.engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM staff")).scalar_one()
    page = browse()
    sign_in_with(page, site, "nobody")
    refused_with(page, "No contactlog account is linked to this Microsoft account")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM staff")).scalar_one() == before
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 0


def test_a_switched_off_account_is_refused_though_the_provider_still_knows_her(
    provider, site, browse, world, db, settings
):
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    page = browse()
    sign_in_with(page, site, "owner")
    home(page, site)
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE staff SET is_active = false WHERE id = :id"), {"id": world.ids["owner"]}
        )
    # Out of contactlog, but still signed in at the provider, which answers at once.
    page.context.clear_cookies(name="contactlog_session")
    start(page, site)
    refused_with(page, "switched off")


def test_a_dsl_still_gives_her_second_factor_after_the_provider(
    provider, site, browse, world, db, settings
):
    secret = enrol(db, world.ids["dsl"])
    linked(db, settings, world.ids["dsl"], "microsoft", "dsl")
    page = browse()
    sign_in_with(page, site, "dsl")
    page.get_by_label("Code from your authenticator app").wait_for()
    checked(page)
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Finish signing in").click()
    page.get_by_role("alert").filter(has_text="The code is incorrect").wait_for()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM browser_session")).scalar_one() == 0
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Finish signing in").click()
    home(page, site)


def test_a_dsl_without_a_second_factor_sets_one_up_first(
    provider, site, browse, world, db, settings
):
    linked(db, settings, world.ids["dsl"], "microsoft", "dsl")
    page = browse()
    sign_in_with(page, site, "dsl")
    page.wait_for_url(f"{site}/app/second-factor")


def test_with_passwords_off_only_the_school_account_signs_in(
    provider, site, browse, world, db, settings, client
):
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    passwords_off(db, world.trust)
    answer = client.post(
        "/auth/token", data={"username": "owner@a.example.org", "password": PASSWORD}
    )
    assert answer.status_code == 401
    assert "Sign in with" in answer.json()["detail"]

    page = browse()
    page.goto(f"{site}/sign-in")
    page.get_by_label("Email address").fill("owner@a.example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("alert").filter(has_text="signs in with its school accounts").wait_for()
    sign_in_with(page, site, "owner")
    home(page, site)


def test_an_unfinished_sign_in_expires(provider, site, browse, db, settings):
    page = browse()
    start(page, site)
    page.wait_for_selector("input[name=login]")
    later = clock.now() + sso.ATTEMPT_LIFETIME + timedelta(minutes=1)
    clock.set_clock(lambda: later)
    at_provider(page, "owner")
    refused_with(page, "expired or was used")


def test_the_owner_and_an_admin_unlink_and_the_next_link_asks_again(
    provider, site, browse, world, db, settings, client
):
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    page = browse()
    sign_in_with(page, site, "owner")
    home(page, site)
    page.goto(f"{site}/app/passkeys")
    checked(page)
    page.get_by_role("button", name="Unlink Microsoft").click()
    page.get_by_role("status").filter(has_text="School account unlinked").wait_for()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 0
    page.context.clear_cookies()
    sign_in_with(page, site, "owner")
    page.get_by_role("heading", name="Link your Microsoft account").wait_for()

    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    path = f"/staff/{world.ids['owner']}/sso-links"
    [made] = client.get(path, headers=world.auth("admin")).json()
    assert made["provider"] == "microsoft"
    for who in ("owner", "other_staff", "other_school"):
        refused = client.delete(f"{path}/{made['id']}", headers=world.auth(who))
        assert refused.status_code in (403, 404), who
    assert client.delete(f"{path}/{made['id']}", headers=world.auth("admin")).status_code == 204
    assert client.get("/me/sso-links", headers=world.auth("owner")).json() == []
    with db.engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_event WHERE action LIKE 'sso.%' ORDER BY seq")
        ).scalars()
        assert [a for a in actions if a != "sso.connected"] == ["sso.unlinked", "sso.unlinked"]


def test_the_staff_client_signs_in_through_the_school_account_with_passwords_off(
    provider, site, browse, world, db, settings, tmp_path
):
    """`contactlog login --browser`: the teacher opens the page it names, signs in there with
    Microsoft (her trust has turned passwords off), types the code, and the terminal is signed
    in. No password exists anywhere in it."""
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    passwords_off(db, world.trust)
    login = login_through_the_browser(site, tmp_path / "client")
    page = browse(phone=True)
    page.goto(login.page)  # not signed in: the sign-in page, and back to it after
    page.get_by_role("button", name="Sign in with Microsoft").click()
    at_provider(page, "owner")
    page.wait_for_url("**/app/device")
    page.get_by_label("The code").fill(login.code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Approve: sign it in as me").click()
    out, err = login.terminal.communicate(timeout=60)
    assert login.terminal.returncode == 0, err
    assert "Signed in as Owner" in out


def test_sign_ins_left_unfinished_from_one_address_are_capped(provider, client, world, monkeypatch):
    monkeypatch.setattr(sso, "MOST_FROM_ONE_ADDRESS", 2)
    start_at = f"/auth/sso/microsoft/start?trust={world.trust}"
    for _ in range(2):
        assert client.get(start_at, follow_redirects=False).status_code == 303
    capped = client.get(start_at, follow_redirects=False)
    assert capped.status_code == 429
    assert "under way from this address" in capped.text
    assert client.get("/auth/sso/yahoo/start?trust=1", follow_redirects=False).status_code == 404


def test_an_unreadable_client_secret_is_said_and_signs_nobody_in(provider, site, browse, db):
    with db.engine.connect() as conn:
        secret = conn.execute(
            text("SELECT secret_file FROM sso_connection WHERE provider = 'microsoft'")
        ).scalar_one()
    Path(secret).unlink()
    page = browse()
    sign_in_with(page, site, "owner")
    refused_with(page, "its client secret cannot be read")


def test_a_dsl_confirms_her_first_link_with_her_password_and_code(
    provider, site, browse, world, db
):
    secret = enrol(db, world.ids["dsl"])
    page = browse()
    sign_in_with(page, site, "dsl")
    page.get_by_label("Your contactlog password").fill(PASSWORD)
    page.get_by_role("button", name="Link and sign in").click()
    page.get_by_role("alert").filter(has_text="Enter the code").wait_for()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sso_link")).scalar_one() == 0
    page.get_by_label("Your contactlog password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Link and sign in").click()
    home(page, site)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT staff_id FROM sso_link")).scalar_one() == world.ids["dsl"]


def invite_newcomer(client, world) -> None:  # type: ignore[no-untyped-def]
    made = client.post(
        "/staff",
        json={"name": "New Comer", "email": "newcomer@a.example.org", "school_id": world.school_a},
        headers=world.auth("admin"),
    )
    assert made.status_code == 201, made.text


def test_an_invitation_is_accepted_with_the_school_account_and_no_password_is_chosen(
    provider, site, browse, world, db, settings, client
):
    passwords_off(db, world.trust)
    invite_newcomer(client, world)
    token = invitation_token(db, "newcomer@a.example.org")
    with db.engine.connect() as conn:
        email = conn.execute(
            text("SELECT subject, body FROM outbox_email WHERE to_address = :e"),
            {"e": "newcomer@a.example.org"},
        ).one()
    assert email.subject == "Your contactlog account: accept your invitation"
    assert "with your school's Google or Microsoft account" in email.body
    page = browse()
    # Someone else's Microsoft account is not the invited one, and uses nothing up.
    page.goto(f"{site}/account/password/{token}")
    checked(page)
    assert page.get_by_label("New password").count() == 0  # passwords are off
    page.get_by_role("button", name="Accept with Microsoft").click()
    at_provider(page, "owner")
    refused_with(page, "not the one invited")

    page.context.clear_cookies()
    page.goto(f"{site}/account/password/{token}")
    page.get_by_role("button", name="Accept with Microsoft").click()
    at_provider(page, "newcomer")
    home(page, site)
    with db.engine.connect() as conn:
        staff = conn.execute(
            text("SELECT id, password_hash FROM staff WHERE email = 'newcomer@a.example.org'")
        ).one()
        assert conn.execute(text("SELECT staff_id FROM sso_link")).scalar_one() == staff.id
        used = conn.execute(
            text("SELECT used_at FROM account_link WHERE staff_id = :s"), {"s": staff.id}
        ).scalar_one()
    assert used is not None
    page.goto(f"{site}/account/password/{token}")  # the invitation works once
    assert page.get_by_role("button", name="Accept with Microsoft").count() == 0
    # No password was ever chosen: none signs the account in.
    assert staff.password_hash is None


def test_an_invitation_is_accepted_only_through_its_own_trusts_provider(
    provider, client, world, db, settings, passwords, tmp_path
):
    invite_newcomer(client, world)
    token = invitation_token(db, "newcomer@a.example.org")
    elsewhere = other_trust(db, settings, passwords)
    connect(db, elsewhere.trust_id, "microsoft", TENANT_B, ["a.example.org"], tmp_path)
    client.cookies.set("contactlog_invitation", token, path="/auth/sso/")
    there = f"/auth/sso/microsoft/start?trust={elsewhere.trust_id}&accept=1"
    refused = client.get(there, follow_redirects=False)
    assert refused.status_code == 404
    here = f"/auth/sso/microsoft/start?trust={world.trust}&accept=1"
    assert client.get(here, follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get(here, follow_redirects=False).status_code == 400


def test_wrong_codes_after_the_provider_wait_like_wrong_codes_after_a_password(
    provider, site, browse, world, db, settings, monkeypatch
):
    monkeypatch.setattr(settings, "signin_free_failures", 2)
    secret = enrol(db, world.ids["dsl"])
    linked(db, settings, world.ids["dsl"], "microsoft", "dsl")
    page = browse()
    sign_in_with(page, site, "dsl")
    for _ in range(3):
        page.get_by_label("Code from your authenticator app").fill("000000")
        page.get_by_role("button", name="Finish signing in").click()
        page.wait_for_load_state()
    page.get_by_role("alert").filter(has_text="Too many wrong codes").wait_for()
    # Even the right code waits now: the limit holds against whoever is guessing.
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Finish signing in").click()
    page.get_by_role("alert").filter(has_text="Too many wrong codes").wait_for()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM browser_session")).scalar_one() == 0


def test_links_outlast_a_rotation_of_the_key_outside_the_database(
    provider, site, browse, world, db, settings, monkeypatch
):
    """The subject is stored only keyed: after SECRET_KEY is rotated (the old one in
    OLD_SECRET_KEYS) the link is still found, and stored again under the new key."""
    linked(db, settings, world.ids["owner"], "microsoft", "owner")
    monkeypatch.setattr(settings, "old_secret_keys", [settings.secret_key])
    monkeypatch.setattr(settings, "secret_key", "a-rotated-key-outside-the-database-" + "k" * 12)
    page = browse()
    sign_in_with(page, site, "owner")
    home(page, site)
    with db.engine.connect() as conn:
        stored, connection = conn.execute(
            text("SELECT subject_hash, connection_id FROM sso_link")
        ).one()
    assert stored == sso.subject_hash(settings, connection, "owner")
