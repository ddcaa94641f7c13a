"""The pages' own files (the style sheet, htmx, the icon): each linked under its content's hash,
so a browser keeps it for a year and a new release is fetched at once, and sent compressed to a
browser that takes gzip. Only these files are compressed: a page holds its form token, and
compressing a secret beside what a visitor typed is how BREACH reads it."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"
PREFIX = "/app/static"
A_YEAR = "public, max-age=31536000, immutable"


@cache
def version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset(name: str) -> str:
    """The address a page links a file by: its name and its content's hash."""
    return f"{PREFIX}/{name}?v={version(name)}"


class _KeptByVersion:
    """A file asked for by its current hash may be kept a year; asked for otherwise (an old page,
    a bare name), the browser checks again each time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope.get("path", "").rsplit("/", 1)[-1]
        asked = parse_qs(scope.get("query_string", b"").decode()).get("v", [""])[0]
        try:
            current = bool(asked) and asked == version(name)
        except (FileNotFoundError, IsADirectoryError, OSError):
            current = False

        async def with_caching(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                kept = A_YEAR if current else "no-cache"
                message["headers"] = [
                    *[(k, v) for k, v in message.get("headers", []) if k != b"cache-control"],
                    (b"cache-control", kept.encode()),
                ]
            await send(message)

        await self.app(scope, receive, with_caching)


def static_files() -> ASGIApp:
    """What `/app/static` serves: the package's files, cached by version, gzipped."""
    files = StaticFiles(packages=[("api.web", "static")])
    return GZipMiddleware(_KeptByVersion(files), minimum_size=500)


router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for it on every site, pages or not: it is there, and kept for a day."""
    return FileResponse(
        STATIC / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )
