"""Rendering pages: one Jinja2 environment over the package's templates, a strict
Content-Security-Policy on every page (no inline script or style), and errors as plain
sentences on a page, never a stack trace or JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from markupsafe import Markup

from api.web.acting import SECOND_FACTOR_PAGE, PageActing
from api.web.assets import asset
from contacts.models import ADVISORY_FLAGS, PLATFORM_NAMES
from core.directory.models import Role
from core.pagination import Page
from core.principal import Principal

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_PREFIXES = ("/app/", "/sign-in", "/sign-out", "/consent/")

templates = Environment(
    loader=PackageLoader("api.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@pass_context
def _when(context: Any, value: datetime | None) -> str:
    """An instant as the school's clock showed it, in UK style: "1 March 2027, 16:05"."""
    if value is None:
        return ""
    local = value.astimezone(context.get("zone") or UTC)
    return f"{local.day} {local:%B %Y, %H:%M}"


@pass_context
def _day(context: Any, value: date | datetime | None) -> str:
    """A day in UK style, "1 March 2027" (an instant's day at the school)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(context.get("zone") or UTC).date()
    return f"{value.day} {value:%B %Y}"


def _plural(count: int, one: str, many: str) -> str:
    """The word for a count: "1 entry", "2 entries"."""
    return one if count == 1 else many


templates.filters["plural"] = _plural


def _flags(flags: list[str]) -> Markup:
    """An entry's flags as a reader takes them: a breach in the warning colour, advice as
    advice (the DSL is not alerted for it), never the same red for both."""
    shown = [
        Markup('<span class="advice">advice: {}</span>').format(f.replace("_", " "))
        if f in ADVISORY_FLAGS
        else Markup('<span class="flag">{}</span>').format(f.replace("_", " "))
        for f in flags
    ]
    return Markup(", ").join(shown)


templates.filters["flags"] = _flags
# Said beside a pupil on the log form, before anything is logged with them.
templates.globals["WARN_BEFORE"] = {
    "awaiting_consent": "no valid parental consent yet",
    "parent_refused": "a parent refused consent: no contact until the school resolves it",
    "requested": "not approved yet",
    "not_started": "the approved dates have not begun",
    "past_end_date": "the approved dates are over",
    "ended": "their part has ended",
    "rejected": "the request was refused",
    "closed": "the contact is closed",
}
# Times and days on every page are the school's, as its forms ask for them.
templates.filters["when"] = _when
templates.filters["day"] = _day
# Every page links the package's files by version (api/web/assets.py).
templates.globals["asset"] = asset
# Roles as a school names them, in lists and choices (what each may do, beside a choice).
ROLE_NAMES = {
    "staff": "member of staff",
    "approver": "approver",
    "dsl": "safeguarding lead (DSL)",
    "admin": "administrator",
    "trust_dsl": "trust safeguarding lead",
    "trust_admin": "trust administrator",
    "case_manager": "case manager for the headteacher (chair of governors)",
}
templates.globals["ROLE_HINTS"] = {
    "staff": "asks for contact with pupils and logs it",
    "approver": "decides the requests of the staff they manage",
    "dsl": "reviews the log, incidents and chronologies",
    "admin": "keeps the staff, pupils and devices",
    "trust_dsl": "reviews every school of the trust",
    "trust_admin": "keeps every school of the trust",
    "case_manager": "handles concerns and allegations about the headteacher",
}
# A pupil's part in an incident, as a teacher says it.
templates.globals["PART_NAMES"] = {
    "initiated": "Started the contact",
    "received": "Was contacted",
    "victim": "Was harmed by it",
    "instigator": "Caused the harm",
    "witness": "Saw it happen",
    "other": "Something else",
}
templates.filters["role"] = lambda value: ROLE_NAMES.get(str(value), str(value))
# The first letter up, the rest as written ("Safeguarding lead (DSL)"; `capitalize` lowers it).
templates.filters["sentence"] = lambda value: str(value)[:1].upper() + str(value)[1:]
# Platforms by their proper names ("WhatsApp", "X"), as emails and chronologies write them.
templates.filters["platform"] = lambda value: PLATFORM_NAMES.get(str(value), str(value).title())


def is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path.startswith(PAGE_PREFIXES)


def navigation(actor: Principal | None) -> list[tuple[str, str]]:
    """The links each person sees: only what their roles may use."""
    if actor is None:
        return []
    links = [("/", "Home"), ("/app/passkeys", "Passkeys")]
    if actor.has(Role.staff):
        links += [
            ("/app/contacts", "My contacts"),
            ("/app/captures", "Check against the platform"),
            ("/app/incidents/new", "Report an incident"),
        ]
    # Anyone may raise a concern about an adult; those who handle concerns see them.
    links.append(("/app/concerns/new", "Raise a concern about an adult"))
    if (
        actor.is_headteacher
        or actor.has(Role.dsl)
        or actor.has(Role.trust_dsl)
        or actor.has(Role.case_manager)
    ):
        links.append(("/app/concerns", "Concerns about adults"))
    if actor.has(Role.approver) or actor.is_headteacher:
        links.append(("/app/approvals", "Requests to decide"))
        if not (actor.has(Role.dsl) or actor.has(Role.trust_dsl)):
            links.append(("/app/incidents", "Incidents"))
    if actor.has(Role.dsl) or actor.has(Role.trust_dsl):
        links += [
            ("/app/dashboard", "Dashboard"),
            ("/app/review", "Review queue"),
            ("/app/log", "Search the log"),
            ("/app/incidents", "Incidents"),
            ("/app/records", "Records"),
        ]
    if actor.has(Role.admin) or actor.has(Role.trust_admin) or actor.has(Role.dsl):
        links.append(("/app/pupils", "Pupils"))
    if actor.has(Role.admin) or actor.has(Role.trust_admin):
        links += [("/app/staff", "Staff"), ("/app/devices", "Devices"), ("/app/outbox", "Emails")]
    if actor.has(Role.trust_admin) and not actor.has(Role.trust_dsl):
        links.append(("/app/retention", "Retention"))
    if actor.has(Role.admin) or actor.has(Role.trust_admin) or actor.is_headteacher:
        links.append(("/app/pending-changes", "Changes to confirm"))
    return links


def page(
    template: str,
    *,
    actor: Principal | None = None,
    form_token: str | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    context.setdefault("nav", navigation(actor))
    html = templates.get_template(template).render(actor=actor, form_token=form_token, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})


def page_for(acting: PageActing, template: str, **context: Any) -> HTMLResponse:
    """A page for the person acting: their navigation, their session's form token, and their
    school's clock (times are shown as it tells them)."""
    context.setdefault("zone", acting.zone)
    if acting.enrol_only:  # nothing else can be reached yet, so nothing else is offered
        context["nav"] = [(SECOND_FACTOR_PAGE, "Set up your second factor")]
    return page(template, actor=acting.actor, form_token=acting.form_token, **context)


# How many rows one page of a list shows; the rest are a "Next page" link away.
PAGE_SIZE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    """One page of a list: its rows, and the address of the next page (None: that is all).
    `_pager.html` shows the link; the address keeps the page's other query parameters."""

    items: list[Any]
    next_href: str | None = None


def all_of(fetch: Callable[..., Page[T]], **query: Any) -> list[T]:
    """Every row of a list a page must show whole (the choices of a form, a pupil's contacts),
    fetched page after page: no row is lost past a fixed limit."""
    rows: list[T] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor, limit=PAGE_SIZE, **query)
        rows += page.items
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def paged(acting: PageActing, page: Page[Any]) -> Pager:
    if page.next_cursor is None:
        return Pager(page.items)
    url = acting.url.include_query_params(cursor=page.next_cursor)
    return Pager(page.items, f"{url.path}?{url.query}")


def back_to(wanted: str | None) -> str:
    """Where to go after signing in: the page asked for, if it is one of ours, else home. Never
    another site ("//evil.example", "/\\evil.example"), never the sign-in page itself."""
    if (
        wanted
        and wanted.startswith("/app/")
        and "\\" not in wanted
        and not any(ord(ch) < 32 for ch in wanted)
    ):
        return wanted
    return "/"


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _as_page(json_handler: Handler) -> Handler:
    """The API's answer to an error, shown as a page when a page asked: the same words."""

    async def handler(request: Request, exc: Exception) -> Response:
        answer = await json_handler(request, exc)
        if not is_page(request):
            return answer
        if answer.status_code == 401:
            # A page opened without a session (an emailed link, a lapsed session) signs in and
            # comes back to it; a form sent without one cannot be replayed, so it goes home.
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            wanted = request.method == "GET" and back != "/"
            return see_other("/sign-in?" + urlencode({"next": back}) if wanted else "/sign-in")
        said = json.loads(bytes(answer.body)) if answer.body else {}
        shown = page(
            "error.html",
            status=answer.status_code,
            title=said.get("title", "Something went wrong"),
            detail=said.get("detail", "Something went wrong; nothing was changed."),
            errors=said.get("errors", []),
        )
        if "retry-after" in answer.headers:
            shown.headers["Retry-After"] = answer.headers["retry-after"]
        return shown

    return handler


def install(app: FastAPI) -> None:
    """Wrap every error handler the API installed, so pages get pages."""
    for kind, json_handler in list(app.exception_handlers.items()):
        app.add_exception_handler(kind, _as_page(json_handler))  # type: ignore[arg-type]
