"""The FastAPI application: settings, database, middleware, error handling and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from api import problems
from api.deps import DatabaseTurns
from api.metrics import MeasureRequests, Metrics
from api.middleware import BodyLimit, HeaderLimit, NoNulInQuery, SecurityHeaders
from api.routers import (
    access,
    audit,
    auth,
    capture_webhook,
    captures,
    concerns,
    consents,
    contacts,
    evidence,
    health,
    incidents,
    legal_holds,
    outbox,
    passkeys,
    policy,
    pupils,
    retention,
    review,
    schools,
    sso_links,
    staff,
    subject_access,
    transparency,
    witness,
)
from api.schema import head_revision
from api.web import (
    account_pages,
    admin_pages,
    assets,
    capture_pages,
    colleague_pages,
    concern_pages,
    consent_pages,
    device_pages,
    directory_pages,
    guardian_pages,
    outbox_pages,
    oversight_pages,
    passkey_pages,
    protection_pages,
    record_pages,
    render,
    report_pages,
    review_pages,
    sign_in,
    sso_pages,
    staff_pages,
)
from consent import requests as consent_requests
from contacts.concerns.attachments import MAX_ATTACHMENT_BYTES
from core.db import Database
from core.identity import accounts
from core.identity.security import Passwords, TokenService
from core.policy import PolicyBook
from core.settings import Settings, get_settings
from scheduler import runner

DESCRIPTION = """
contactlog records a school trust's approved staff–pupil online contact: the written permission,
parental consent, every communication, and the end of each relationship.

Sign in with `POST /auth/token` (OAuth2 password flow, email as username) and send the token as
`Authorization: Bearer …`. Errors are RFC 9457 problem details (`application/problem+json`).
"""


class _MaskLinks(logging.Filter):
    """One-time links carry their token in the path: the access log shows it masked. A query
    string may carry the words a DSL searched the log for (a child's name): the access log
    shows the path alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 3 or not isinstance(args[2], str):
            return True
        path, asked, _ = args[2].partition("?")
        shown = path + ("?…" if asked else "")
        for prefix in (accounts.LINK_PATH, consent_requests.LINK_PATH):
            if path.startswith(prefix):
                shown = prefix + "…"
        record.args = (*args[:2], shown, *args[3:])
        return True


_MASK = _MaskLinks()


DOCS_FILES = "/docs-files"


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the files the swagger-ui-bundle package ships: it works offline
    and behind a school's web filter, which a CDN's copy does not."""
    app.mount(DOCS_FILES, StaticFiles(directory=swagger_ui_path), name="docs-files")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="contactlog API",
            swagger_js_url=f"{DOCS_FILES}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_FILES}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_FILES}/favicon-32x32.png",
        )


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    access_log = logging.getLogger("uvicorn.access")
    if _MASK not in access_log.filters:
        access_log.addFilter(_MASK)
    owns_db = db is None
    database = db or Database(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        scheduler = runner.in_process(database, settings) if settings.scheduler_in_process else None
        if scheduler is not None:
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="contactlog",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problems.ERROR_RESPONSES,
        # The interactive documents are a setting (CONTACTLOG_API_DOCS), off in production.
        # /docs is served below from Swagger UI's own files; ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_served else None,
    )
    if settings.docs_served:
        _serve_docs(app)
    app.state.settings = settings
    app.state.policies = PolicyBook(settings, keep_seconds=settings.policy_cache_seconds)
    app.state.started_at = datetime.now(UTC)
    app.state.db = database
    app.state.tokens = TokenService(settings)
    app.state.passwords = Passwords(settings)
    app.state.schema_head = head_revision()
    app.state.turns = DatabaseTurns(
        sessions=settings.database_sessions, one_writer=database.is_sqlite
    )

    problems.install(app)

    def body_limit(path: str) -> int:
        if path.endswith("/import"):
            return settings.max_import_bytes
        if path.endswith("/captures"):  # a platform's export: a chat with its photos, say
            return settings.max_capture_bytes
        if path.endswith("/attachments"):  # a case file's screenshot, letter or chat
            return MAX_ATTACHMENT_BYTES + 64 * 1024
        return settings.max_body_bytes

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(NoNulInQuery)
    app.add_middleware(HeaderLimit, limit=settings.max_header_bytes)
    app.add_middleware(SecurityHeaders, hsts=settings.hsts_sent)
    app.state.metrics = Metrics(database)
    app.add_middleware(MeasureRequests, metrics=app.state.metrics)

    # Routes are matched in order: the log, written many times a day by every member of staff
    # with a contact, comes first. No two routers share a path, so the order changes nothing else.
    routers = (
        contacts,
        health,
        auth,
        schools,
        staff,
        pupils,
        consents,
        incidents,
        review,
        audit,
        outbox,
        access,
        evidence,
        policy,
        legal_holds,
        subject_access,
        retention,
        transparency,
        witness,
        captures,
        capture_webhook,
        concerns,
        passkeys,
        sso_links,
    )
    for module in routers:
        app.include_router(module.router)
    # The web pages, beside the API on the same services; errors on them are shown as pages.
    pages_of = [sign_in, staff_pages, report_pages, review_pages, oversight_pages, admin_pages]
    pages_of += [consent_pages, directory_pages, colleague_pages, guardian_pages, account_pages]
    pages_of += [
        protection_pages,
        record_pages,
        outbox_pages,
        capture_pages,
        concern_pages,
        device_pages,
        passkey_pages,
        sso_pages,
    ]
    for pages in (*pages_of, assets):
        app.include_router(pages.router)
    app.mount(assets.PREFIX, assets.static_files(), name="static")
    render.install(app)
    return app
