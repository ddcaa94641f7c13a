"""The page an emailed invitation or reset link opens: the owner chooses their password.

Plain HTML with no script, readable on a phone; the same service as `POST /auth/password`.
The token travels in the link's path, so the access log masks that path (see `api.app`).
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from api.deps import PasswordsDep, SessionDep
from api.routing import UnitOfWorkRoute
from core import accounts
from core.clock import now
from core.errors import DomainError

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · contactlog</title>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
{body}
</main>
</body>
</html>
"""
    return HTMLResponse(html, status_code=status)


def _form(token: str, problem: str | None = None) -> str:
    said = f'<p role="alert"><strong>{escape(problem)}</strong></p>' if problem else ""
    return f"""{said}
<p>Choose a password of at least {accounts.MIN_LENGTH} characters that others could not guess:
a few unrelated words work well. Any characters may be used, spaces included.</p>
<form method="post" action="/account/password">
<input type="hidden" name="token" value="{escape(token)}">
<p><label for="password">New password</label><br>
<input id="password" name="password" type="password" autocomplete="new-password" required
 minlength="{accounts.MIN_LENGTH}" maxlength="{accounts.MAX_LENGTH}"></p>
<p><label for="again">The same password again</label><br>
<input id="again" name="again" type="password" autocomplete="new-password" required></p>
<p><button type="submit">Set my password</button></p>
</form>"""


@router.get("/account/password/{token}", response_class=HTMLResponse)
def choose_password_page(token: str) -> HTMLResponse:
    return _page("Choose your password", _form(token))


@router.post("/account/password", response_class=HTMLResponse)
def choose_password(
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    again: Annotated[str, Form(max_length=1000)],
    session: SessionDep,
    passwords: PasswordsDep,
) -> HTMLResponse:
    if password != again:
        return _page("Choose your password", _form(token, "The two passwords differ."), 422)
    try:
        accounts.set_password(
            session, token=token, password=password, passwords=passwords, at=now()
        )
    except DomainError as refused:
        session.rollback()
        return _page("Choose your password", _form(token, refused.detail), refused.status)
    return _page(
        "Your password is set",
        "<p>You can now sign in with your email address and this password. Any other "
        "sessions of your account have been signed out.</p>",
    )
