"""Driving the pages as a browser does, without one: a form's token, signing in."""

from __future__ import annotations

import html
import re
from pathlib import Path

from api.web.acting import COOKIE
from core import clock
from core.identity import browser_sessions
from tests.support.ground import PASSWORD, test_settings

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def form_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has a form with its token"
    return found.group(1)


NEXT = re.compile(r'name="next" value="([^"]*)"')


def sign_in(  # type: ignore[no-untyped-def]
    client, email: str, *, code: str | None = None, password: str = PASSWORD, page: str = "/sign-in"
):
    """Sign in through the form, as a browser does; `page` is the sign-in page as a redirect
    gave it (with the `next` page to return to)."""
    shown = client.get(page)
    assert shown.status_code == 200
    fields = {"email": email, "password": password, "form_token": form_token(shown.text)}
    then = NEXT.search(shown.text)
    if then:
        fields["next"] = html.unescape(then.group(1))
    if code is not None:
        fields["code"] = code
    return client.post("/sign-in", data=fields, follow_redirects=False)


def as_person(client, db, world, who: str) -> None:  # type: ignore[no-untyped-def]
    """A browser session for `who`, as a full sign-in would have made it."""
    with db.transaction() as session:
        token = browser_sessions.start(
            session=session,
            staff_id=world.ids[who],
            generation=0,
            settings=test_settings(Path("unused")),
            at=clock.now(),
        )
    client.cookies.clear()
    client.cookies.set(COOKIE, token)


def every_page(client, first: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page of a list, following its "Next page" links from the first."""
    shown, address = [], first
    while address:
        answer = client.get(address)
        assert answer.status_code == 200, answer.text
        shown.append(answer.text)
        link = re.search(r'<a rel="next" href="([^"]+)">', answer.text)
        address = html.unescape(link.group(1)) if link else ""
        assert len(shown) < 20, "the pages never end"
    return shown
