"""What every client command shares: the typer app, output, sign-in and error handling."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from contactlog_client.http import Api, ClientError, NotSignedIn
from contactlog_client.store import Credentials

app = typer.Typer(help="contactlog for staff: approved contact with pupils, logged as it happens.")
out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]


def fail(exc: ClientError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False)
    return typer.Exit(exc.exit_code)


def signed_in() -> tuple[Api, Credentials]:
    creds = Credentials.load()
    if creds is None:
        raise NotSignedIn("You are not signed in. Run `contactlog login`.")
    return Api(creds.server, creds.token), creds


def run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except ClientError as exc:
        raise fail(exc) from None


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    else:
        human()
