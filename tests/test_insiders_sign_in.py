"""Attacks on sign-in by insiders and by whoever holds a copy of the database, each as it worked
before the fix and fails now: forged page sessions, one-time links kept in delivered emails,
second-factor secrets in clear, a role granted mid-session, the account limit skipped with any
code, a wrong code telling that the password was right, the owner locked out from the school's
own address, and the password page without a script policy."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pyotp
from sqlalchemy import text as sql

from api.web.acting import COOKIE
from core import clock
from core.errors import TooManyAttempts
from core.identity import devices
from core.identity.auth import IssuedToken, SecondFactorNeeded, SignInRefused, sign_in
from core.identity.security import Passwords, TokenService
from tests.support.builders import enrol
from tests.support.ground import PASSWORD, assert_problem, test_settings
from tests.support.mail import run_all, text

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _token(client, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/auth/token", data={"username": email, "password": password, **extra})


def _page_sign_in(client, email: str, password: str = PASSWORD, code: str = ""):  # type: ignore[no-untyped-def]
    shown = client.get("/sign-in")
    form = {"email": email, "password": password, "code": code}
    form["form_token"] = FORM_TOKEN.search(shown.text).group(1)  # type: ignore[union-attr]
    return client.post("/sign-in", data=form, follow_redirects=False)


# ---------------------------------------------------------------- a database copy is no key


def test_a_session_row_written_by_hand_signs_nobody_in(client, world, db):
    """Before: the row held sha256(cookie), so a database writer could mint the DSL a session."""
    cookie = secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.execute(
            sql(
                "INSERT INTO browser_session (token_hash, staff_id, generation, form_token,"
                " enrol_only, created_at, last_seen_at) VALUES (:h, :s, 0, 'f', false, :t, :t)"
            ),
            {
                "h": hashlib.sha256(cookie.encode()).hexdigest(),
                "s": world.ids["dsl"],
                "t": clock.now(),
            },
        )
    client.cookies.set(COOKIE, cookie)
    shown = client.get("/app/dashboard", follow_redirects=False)
    assert shown.status_code in (303, 401)
    assert "Dashboard" not in shown.text


def test_second_factor_secrets_are_not_in_the_database_and_a_clear_one_accepts_nothing(
    client, world, db
):
    secret = enrol(db, world.ids["dsl"])
    with db.engine.connect() as conn:
        stored = conn.execute(
            sql("SELECT secret FROM second_factor WHERE staff_id = :s"), {"s": world.ids["dsl"]}
        ).scalar_one()
    assert secret not in stored
    assert stored.startswith("v1:")
    # Someone with the database writes a secret of their own choosing in clear: no code from
    # it is accepted (and so no sign-in as the DSL with her password and their code).
    mine = pyotp.random_base32()
    with db.transaction() as session:
        session.execute(
            sql("UPDATE second_factor SET secret = :m WHERE staff_id = :s"),
            {"m": mine, "s": world.ids["dsl"]},
        )
    refused = _token(client, "dsl@a.example.org", otp=pyotp.TOTP(mine).now())
    assert refused.status_code == 401
    # Nor does the DSL's own encrypted secret, copied onto another account's row.
    enrol(db, world.ids["manager"])
    with db.transaction() as session:
        session.execute(
            sql("UPDATE second_factor SET secret = :m WHERE staff_id = :s"),
            {"m": stored, "s": world.ids["manager"]},
        )
    copied = _token(client, "manager@a.example.org", otp=pyotp.TOTP(secret).now())
    assert copied.status_code == 401


def test_a_delivered_invitation_keeps_no_working_link(
    client, world, db, mail_settings, mail_server
):
    made = client.post(
        "/staff",
        json={"name": "Nia New", "email": "nia@a.example.org", "school_id": world.school_a},
        headers=world.auth("admin"),
    )
    assert made.status_code == 201, made.text
    run_all(db, mail_settings, clock.now())
    [email] = mail_server.inbox.to("nia@a.example.org")
    assert "/account/password/" in text(email)  # the owner's email has the link
    with db.engine.connect() as conn:
        bodies = [b for (b,) in conn.execute(sql("SELECT body FROM outbox_email")).all()]
    links = [
        link for body in bodies for link in re.findall(r"/(?:account/password|consent)/\S+", body)
    ]
    assert links, "the delivered emails are still listed"
    for link in links:
        token = link.rsplit("/", 1)[1]
        tried = client.post("/auth/password", json={"token": token, "password": "a " * 10 + "x"})
        assert tried.status_code == 422, f"{link} still works"


# ---------------------------------------------------------------- sessions and roles


def test_a_role_granted_mid_session_ends_the_page_session_made_without_a_factor(client, world, db):
    signed = _page_sign_in(client, "owner@a.example.org")
    assert signed.status_code == 303
    assert client.get("/app/contacts").status_code == 200
    client.patch(
        f"/staff/{world.ids['owner']}",
        json={"roles": ["staff", "dsl"]},
        headers=world.auth("admin"),
    )
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    confirmed = client.post(f"/pending-changes/{change['id']}/confirm", headers=world.auth("head"))
    assert confirmed.status_code == 200
    after = client.get("/app/dashboard", follow_redirects=False)
    assert after.status_code in (303, 401)
    assert "Dashboard" not in after.text


# ---------------------------------------------------------------- limits and answers


def _services(settings):  # type: ignore[no-untyped-def]
    return Passwords(settings), TokenService(settings)


def _try(db, settings, email: str, password: str, *, client: str, otp=None, device=None):  # type: ignore[no-untyped-def]
    passwords, tokens = _services(settings)
    with db.transaction() as session:
        return sign_in(
            session=session,
            email=email,
            password=password,
            otp=otp,
            device=device,
            client=client,
            passwords=passwords,
            tokens=tokens,
            settings=settings,
            at=clock.now(),
        )


def test_any_code_does_not_skip_the_account_limit_for_an_account_without_a_factor(
    app, world, db, settings
):
    """Before: 22 wrong passwords from 22 addresses, then the right one with otp=000000: 200."""
    email = "owner@a.example.org"
    for n in range(settings.signin_account_free_failures + 2):
        with contextlib.suppress(TooManyAttempts):
            _try(db, settings, email, f"wrong guess {n}", client=f"10.0.0.{n}", otp="000000")
    try:
        outcome = _try(db, settings, email, PASSWORD, client="10.0.1.1", otp="000000")
    except TooManyAttempts:
        outcome = None
    assert not isinstance(outcome, IssuedToken)


def test_a_wrong_code_and_a_wrong_password_get_the_same_answer(client, world, db):
    enrol(db, world.ids["dsl"])
    wrong_code = _token(client, "dsl@a.example.org", otp="000000")
    wrong_password = _token(client, "dsl@a.example.org", password="not it at all", otp="000000")
    for refused in (wrong_code, wrong_password):
        assert_problem(refused, 401)
    assert wrong_code.json() == wrong_password.json()
    # Without a code, "a code is needed" whether or not the password was right.
    no_code_right = _token(client, "dsl@a.example.org")
    no_code_wrong = _token(client, "dsl@a.example.org", password="not it at all")
    assert no_code_right.json() == no_code_wrong.json()


def test_the_sign_in_page_answers_a_wrong_code_as_a_wrong_password(client, world, db):
    enrol(db, world.ids["dsl"])
    page_code = _page_sign_in(client, "dsl@a.example.org", code="000000")
    page_password = _page_sign_in(client, "dsl@a.example.org", password="nope nope nope", code="1")
    assert page_code.status_code == page_password.status_code == 401
    said = re.compile(r'role="alert">([^<]+)<')
    assert said.search(page_code.text).group(1) == said.search(page_password.text).group(1)  # type: ignore[union-attr]


def test_others_failures_from_the_schools_address_never_lock_the_owner_out(
    app, world, db, settings
):
    """Before: five wrong passwords from the school's public address made the DSL's right
    password and right code answer 429."""
    dsl = "dsl@a.example.org"
    secret = enrol(db, world.ids["dsl"])
    school_address = "203.0.113.7"
    start = clock.now()

    def code_at(seconds: int) -> str:
        instant = start + timedelta(seconds=seconds)
        clock.set_clock(lambda: instant)
        return str(pyotp.TOTP(secret).at(instant))

    # Yesterday she signed in on her laptop, which now holds a device token.
    earlier = _try(db, settings, dsl, PASSWORD, client="198.51.100.2", otp=code_at(0))
    assert isinstance(earlier, IssuedToken)
    assert earlier.device_token
    for n in range(settings.signin_client_free_failures + 1):
        with contextlib.suppress(TooManyAttempts):
            _try(db, settings, dsl, f"a pupil's guess {n}", client=school_address)
    # A password alone from that address, on a device not seen before, waits.
    try:
        blocked = _try(db, settings, dsl, PASSWORD, client=school_address)
    except TooManyAttempts:
        blocked = None
    assert blocked is None
    # Her laptop, from the same address, signs in with her password and code.
    laptop = _try(
        db,
        settings,
        dsl,
        PASSWORD,
        client=school_address,
        otp=code_at(60),
        device=earlier.device_token,
    )
    assert isinstance(laptop, IssuedToken)
    # A new phone there: her right password with her right code is never refused.
    phone = _try(db, settings, dsl, PASSWORD, client=school_address, otp=code_at(120))
    assert isinstance(phone, IssuedToken)


def test_a_device_token_works_only_for_its_own_account_and_counts_its_own_failures(
    app, world, db, settings
):
    owner = "owner@a.example.org"
    first = _try(db, settings, owner, PASSWORD, client="198.51.100.9")
    assert isinstance(first, IssuedToken)
    assert first.device_token
    # Another account's sign-in with this device token is an untrusted device.
    with db.session() as session:
        assert (
            devices.recognise(
                session,
                staff_id=world.ids["manager"],
                generation=0,
                token=first.device_token,
                settings=settings,
                at=clock.now(),
            )
            is None
        )
    # A stolen device token lets a guesser through other limits, but not past its own.
    outcomes = []
    for n in range(settings.signin_free_failures + 2):
        try:
            outcomes.append(
                _try(
                    db, settings, owner, f"guess {n}", client="192.0.2.1", device=first.device_token
                )
            )
        except TooManyAttempts:
            outcomes.append(None)
    assert isinstance(outcomes[0], SignInRefused)
    assert outcomes[-1] is None
    assert not any(isinstance(o, SecondFactorNeeded) for o in outcomes)


def test_the_staff_client_keeps_its_device_token_out_of_the_database(app, world, db, settings):
    first = _try(db, settings, "owner@a.example.org", PASSWORD, client="198.51.100.9")
    assert isinstance(first, IssuedToken)
    assert first.device_token
    with db.engine.connect() as conn:
        stored = conn.execute(sql("SELECT token_hash FROM trusted_device")).scalars().all()
    assert first.device_token not in stored
    assert hashlib.sha256(first.device_token.encode()).hexdigest() not in stored
    # Under another deployment's key (a copy of the database moved elsewhere) it is nothing.
    other = test_settings(Path("unused"), secret_key="another deployment's key " + "k" * 20)
    with db.session() as session:
        assert (
            devices.recognise(
                session,
                staff_id=world.ids["owner"],
                generation=0,
                token=first.device_token,
                settings=other,
                at=clock.now(),
            )
            is None
        )


def test_the_password_page_has_the_same_script_policy_as_every_page(client):
    shown = client.get("/account/password/" + "x" * 43)
    assert shown.status_code == 200
    policy = shown.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_the_key_outside_the_database_rotates_without_anyone_enrolling_again(
    app, world, db, settings
):
    from core.identity import mfa

    secret = enrol(db, world.ids["dsl"])
    new = settings.model_copy(
        update={
            "secret_key": "the next key outside the database " + "n" * 20,
            "old_secret_keys": [settings.secret_key],
        }
    )
    with db.transaction() as session:
        assert mfa.rotate(session, settings=new) == 1
        assert mfa.rotate(session, settings=new) == 0  # already under the new key
    only_new = new.model_copy(update={"old_secret_keys": []})
    with db.transaction() as session:
        assert mfa.check(
            session,
            staff_id=world.ids["dsl"],
            code=pyotp.TOTP(secret).now(),
            settings=only_new,
            at=clock.now(),
        )
