"""The staff client signing in through the browser (OAuth 2.0 device authorization grant,
RFC 8628): asked for, approved on the page by whoever is signed in, fetched once; refused,
expired, polled too fast, revoked before it was fetched — and end to end, `contactlog login
--browser` in a terminal with the teacher approving in Chromium."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.web.acting import COOKIE
from core import clock
from core.identity import browser_sessions
from core.identity.device_grant import normal
from tests.support.browser import checked
from tests.support.ground import PASSWORD, test_settings
from tests.support.pages import as_person, form_token
from tests.support.servers import CONTACTLOG, login_through_the_browser

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLI = {"client_id": "contactlog-cli"}


def ask(client) -> dict[str, object]:  # type: ignore[no-untyped-def]
    asked = client.post("/auth/device", data={**CLI, "client_name": "contactlog on PE-LAPTOP"})
    assert asked.status_code == 200, asked.text
    return dict(asked.json())


def poll(client, asked):  # type: ignore[no-untyped-def]
    return client.post(
        "/auth/device/token",
        data={**CLI, "grant_type": GRANT, "device_code": asked["device_code"]},
    )


def answer(client, db, world, who: str, code: str, choice: str):  # type: ignore[no-untyped-def]
    as_person(client, db, world, who)
    page = client.get(f"/app/device?code={code}")
    assert page.status_code == 200, page.text
    token = form_token(page.text)
    shown = client.post("/app/device", data={"form_token": token, "user_code": code})
    assert shown.status_code == 200, shown.text
    assert "contactlog on PE-LAPTOP" in shown.text
    return client.post(
        "/app/device", data={"form_token": token, "user_code": code, "choice": choice}
    )


def error_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["error"])


def test_approved_in_the_browser_the_client_gets_its_token_once(client, db, world):
    asked = ask(client)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", asked["user_code"])
    assert str(asked["verification_uri"]).endswith("/app/device")
    assert error_of(poll(client, asked)) == "authorization_pending"
    assert error_of(poll(client, asked)) == "slow_down"  # at once again: too soon
    typed = str(asked["user_code"]).lower().replace("-", " ")  # as a person might type it
    approved = answer(client, db, world, "owner", typed, "approve")
    assert approved.status_code == 200
    assert "Approved" in approved.text
    client.cookies.clear()
    got = poll(client, asked)
    assert got.status_code == 200, got.text
    token = got.json()["access_token"]
    assert got.json()["device_token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["id"] == world.ids["owner"]
    assert error_of(poll(client, asked)) == "invalid_grant"  # once


def test_a_refused_sign_in_gives_the_client_nothing(client, db, world):
    asked = ask(client)
    refused = answer(client, db, world, "owner", str(asked["user_code"]), "refuse")
    assert "Refused" in refused.text
    assert error_of(poll(client, asked)) == "access_denied"
    # Nor can it be approved afterwards.
    again = client.post(
        "/app/device",
        data={
            "form_token": form_token(client.get("/app/device").text),
            "user_code": asked["user_code"],
            "choice": "approve",
        },
    )
    assert again.status_code == 422
    assert "No sign-in is waiting for that code" in again.text


def test_a_code_expires_unapproved(client, db, world):
    asked = ask(client)
    later = clock.now() + timedelta(minutes=11)
    clock.set_clock(lambda: later)
    assert error_of(poll(client, asked)) == "expired_token"
    as_person(client, db, world, "owner")
    page = client.post(
        "/app/device",
        data={
            "form_token": form_token(client.get("/app/device").text),
            "user_code": asked["user_code"],
        },
    )
    assert page.status_code == 422


def test_sign_ins_revoked_before_the_token_is_fetched_refuse_it(client, db, world):
    asked = ask(client)
    answer(client, db, world, "owner", str(asked["user_code"]), "approve")
    client.cookies.clear()
    revoked = client.post("/auth/revoke", headers=world.auth("owner"))
    assert revoked.status_code in (200, 204)
    assert error_of(poll(client, asked)) == "access_denied"


def test_a_deactivated_account_s_approval_gives_nothing(client, db, world):
    asked = ask(client)
    answer(client, db, world, "other_staff", str(asked["user_code"]), "approve")
    client.cookies.clear()
    left = client.patch(
        f"/staff/{world.ids['other_staff']}", json={"is_active": False}, headers=world.auth("admin")
    )
    assert left.status_code == 200
    assert error_of(poll(client, asked)) == "access_denied"


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"client_id": "someone-else"}, 422, "client_id"),
        ({}, 422, "client_id"),
    ],
)
def test_only_the_staff_client_may_ask(client, data, status, says):
    asked = client.post("/auth/device", data=data)
    assert asked.status_code == status
    assert says in asked.text


def test_a_poll_that_is_not_a_device_grant_is_refused_by_name(client):
    asked = ask(client)
    wrong = client.post(
        "/auth/device/token",
        data={**CLI, "grant_type": "password", "device_code": asked["device_code"]},
    )
    assert error_of(wrong) == "unsupported_grant_type"
    other = client.post(
        "/auth/device/token",
        data={"client_id": "x", "grant_type": GRANT, "device_code": asked["device_code"]},
    )
    assert error_of(other) == "invalid_client"
    unknown = client.post(
        "/auth/device/token", data={**CLI, "grant_type": GRANT, "device_code": "made-up"}
    )
    assert error_of(unknown) == "invalid_grant"


def test_a_code_that_is_not_one_is_said_beside_it(client, db, world):
    as_person(client, db, world, "owner")
    token = form_token(client.get("/app/device").text)
    for typed in ("ABC", "BCDF-GHJK"):
        page = client.post("/app/device", data={"form_token": token, "user_code": typed})
        assert page.status_code == 422
    assert normal("bcdf ghjk") == "BCDFGHJK"


def test_one_address_cannot_flood_the_sign_ins(client):
    for _ in range(20):
        ask(client)
    flooded = client.post("/auth/device", data=CLI)
    assert flooded.status_code == 429
    assert flooded.headers["retry-after"]


def test_without_a_session_the_page_asks_for_sign_in_and_comes_back(client):
    page = client.get("/app/device?code=BCDFGHJK", follow_redirects=False)
    assert page.status_code in (302, 303)
    assert "sign-in" in page.headers["location"]


def test_contactlog_login_in_the_terminal_approved_in_chromium(  # type: ignore[no-untyped-def]
    world, browse, live_server, tmp_path
):
    """The teacher types `contactlog login --browser`, opens the page it names, signs in there
    and types the code: the terminal is signed in, and no password was typed into it."""
    login = login_through_the_browser(live_server, tmp_path / "client")
    page = browse(phone=True)
    page.goto(urlsplit(login.page).path)  # not signed in: sign in, and back to it
    page.get_by_label("Email address").fill("owner@a.example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/device")
    checked(page)
    page.get_by_label("The code").fill(login.code)
    page.get_by_role("button", name="Continue").click()
    checked(page)
    assert page.get_by_text("contactlog on").count() == 1
    page.get_by_role("button", name="Approve: sign it in as me").click()
    assert page.get_by_text("Approved.").count() == 1
    out, err = login.terminal.communicate(timeout=60)
    assert login.terminal.returncode == 0, err
    assert "Signed in as Owner" in out
    whoami = subprocess.run(
        [str(CONTACTLOG), "whoami"], capture_output=True, text=True, env=login.env, timeout=30
    )
    assert "Owner" in whoami.stdout


def test_an_account_that_has_not_set_up_its_second_factor_cannot_approve(client, db, world):
    """Its session may only set one up: approving a client would hand out a full token."""
    asked = ask(client)
    with db.transaction() as session:
        token = browser_sessions.start(
            session=session,
            staff_id=world.ids["dsl"],
            generation=0,
            settings=test_settings(Path("unused")),
            at=clock.now(),
            enrol_only=True,
        )
    client.cookies.set(COOKIE, token)
    page = client.get(f"/app/device?code={asked['user_code']}", follow_redirects=False)
    assert page.status_code == 403
    assert error_of(poll(client, asked)) == "authorization_pending"
