"""Driving the pages as a browser does, without one: a form's token, signing in."""

from __future__ import annotations

import re

from tests.support.ground import PASSWORD

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def form_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has a form with its token"
    return found.group(1)


def sign_in(client, email: str, *, code: str | None = None, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    shown = client.get("/sign-in")
    assert shown.status_code == 200
    fields = {"email": email, "password": password, "form_token": form_token(shown.text)}
    if code is not None:
        fields["code"] = code
    return client.post("/sign-in", data=fields, follow_redirects=False)
