"""The web pages' sessions, without a browser: sign-in through the form (with the second
factor), a session cookie that is HttpOnly and SameSite=Strict, that revocation, deactivation,
idle time and sign-out end at once; forms refused without their token; a strict CSP; another
school's record not reachable by URL; errors as plain pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from api.web import (
    admin_pages,
    directory_pages,
    oversight_pages,
    report_pages,
    review_pages,
    staff_pages,
)
from core import clock
from tests.support.builders import enrol, message, request_body
from tests.support.pages import form_token, sign_in

PAGE_MODULES = (
    staff_pages,
    report_pages,
    review_pages,
    oversight_pages,
    admin_pages,
    directory_pages,
)


def test_a_teacher_signs_in_and_the_cookie_is_locked_down(client, world):
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    signed = sign_in(client, "owner@a.example.org")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"
    cookie = next(c for c in signed.headers.get_list("set-cookie") if "contactlog_session=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "My contacts" in home.text
    policy = home.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert home.headers["cache-control"] == "no-store"


def test_a_wrong_password_is_refused_in_a_sentence_and_counted(client, world):
    refused = sign_in(client, "owner@a.example.org", password="not the password")
    assert refused.status_code == 401
    assert "The email, password or code is incorrect." in refused.text
    assert "Traceback" not in refused.text


def test_an_account_with_a_second_factor_needs_its_code(client, world, db):
    secret = enrol(db, world.ids["dsl"])
    asked = sign_in(client, "dsl@a.example.org")
    assert asked.status_code == 401
    assert "authenticator app" in asked.text
    assert "contactlog_session=" not in asked.headers.get("set-cookie", "")
    signed = sign_in(client, "dsl@a.example.org", code=pyotp.TOTP(secret).now())
    assert signed.status_code == 303
    assert client.get("/app/dashboard").status_code == 200


def test_a_form_without_its_token_is_refused_and_changes_nothing(client, world, school):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    sign_in(client, "owner@a.example.org")
    fields = {
        "direction": "sent",
        "summary": "Kit reminder",
        "occurred_at": "2026-11-25T10:00",
        "device_tag": "PE-IPAD",
        "pupil_ids": [school["older"]],
    }
    forged = client.post(f"/app/contacts/{cid}/log", data=fields)
    assert forged.status_code == 403
    assert "did not come from contactlog" in forged.text
    wrong = client.post(f"/app/contacts/{cid}/log", data={**fields, "form_token": "guess"})
    assert wrong.status_code == 403
    assert client.get(f"/contacts/{cid}/messages", headers=owner).json()["items"] == []

    page = client.get(f"/app/contacts/{cid}/log")
    logged = client.post(
        f"/app/contacts/{cid}/log",
        data={**fields, "form_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text[-1500:]
    [entry] = client.get(f"/contacts/{cid}/messages", headers=owner).json()["items"]
    assert entry["summary"] == "Kit reminder"


def test_another_schools_record_is_not_found_by_url(client, world, school):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    sign_in(client, "other_school_staff@b.example.org")
    shown = client.get(f"/app/contacts/{cid}")
    assert shown.status_code == 404
    assert shown.headers["content-type"].startswith("text/html")
    assert "No such contact." in shown.text


@pytest.mark.parametrize("how", ["revoked", "deactivated", "idle", "signed out"])
def test_the_session_ends_at_once(client, world, how):
    sign_in(client, "owner@a.example.org")
    assert client.get("/").status_code == 200
    if how == "revoked":
        client.post("/auth/revoke", headers=world.auth("owner"))
    elif how == "deactivated":
        done = client.patch(
            f"/staff/{world.ids['owner']}", json={"is_active": False}, headers=world.auth("admin")
        )
        assert done.status_code == 200, done.text
    elif how == "idle":
        later = clock.now() + timedelta(minutes=31)
        clock.set_clock(lambda: later)
    else:
        home = client.get("/")
        client.post("/sign-out", data={"form_token": form_token(home.text)})
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_a_bad_entry_is_shown_by_name_and_nothing_is_logged(client, world, school):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    client.post(f"/contacts/{cid}/messages", json=message(), headers=owner)
    sign_in(client, "owner@a.example.org")
    page = client.get(f"/app/contacts/{cid}/log")
    empty = client.post(
        f"/app/contacts/{cid}/log",
        data={
            "form_token": form_token(page.text),
            "direction": "sent",
            "summary": "",
            "occurred_at": "2026-11-25T10:00",
            "device_tag": "PE-IPAD",
            "pupil_ids": [school["older"]],
        },
    )
    assert empty.status_code == 422
    assert "summary:" in empty.text
    assert len(client.get(f"/contacts/{cid}/messages", headers=owner).json()["items"]) == 1


def test_every_form_is_refused_without_its_token(client, world):
    """Each page that changes something checks the form's token before anything else."""
    sign_in(client, "owner@a.example.org")
    posted = 0
    routes = [r for pages in PAGE_MODULES for r in pages.router.routes]
    for route in routes:
        path = getattr(route, "path", "")
        if "POST" not in getattr(route, "methods", set()) or not path.startswith("/app/"):
            continue
        url = re.sub(r"\{[a-z_]+(:int)?\}", "1", path)
        answer = client.post(url, data={"note": "x"})
        assert answer.status_code == 403, (path, answer.status_code)
        assert "did not come from contactlog" in answer.text
        posted += 1
    assert posted >= 12
