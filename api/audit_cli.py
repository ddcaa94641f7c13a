"""`contactlog audit …` on the server: the checkpoints' public key, a checkpoint now, and a
check of the change record against a checkpoint kept elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core import checkpoints
from core.clock import now
from core.db import Database
from core.settings import Settings
from scheduler.checkpointing import sign_now

audit_app = typer.Typer(help="The change record's signed checkpoints.")
console = Console()
errors = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        errors.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


@audit_app.command("public-key")
def public_key_command() -> None:
    """Print the public key that signs checkpoints (PEM): publish it, keep a copy elsewhere."""
    key = checkpoints.load_key(_settings().checkpoint_key_path)
    print(checkpoints.public_key(key).public_key, end="")


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the change record's head now and email it to the DSLs."""
    settings = _settings()
    db = Database(settings.resolved_database_url)
    try:
        made = sign_now(db, settings, now())
    finally:
        db.dispose()
    console.print("Checkpoint signed and queued for the DSLs." if made else "Nothing new to sign.")


@audit_app.command("verify")
def verify_command(
    against: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="checkpoint.json")],
    public_key: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The public key kept outside contactlog"),
    ] = None,
) -> None:
    """Check the change record against a checkpoint: exit 0 if the record up to it is the one
    that was signed, 1 if not."""
    settings = _settings()
    try:
        checkpoint = checkpoints.CheckpointPublic.model_validate(json.loads(against.read_text()))
    except ValueError as exc:
        errors.print(f"[red]Not a checkpoint:[/red] {str(exc).splitlines()[0]}")
        raise typer.Exit(2) from None
    db = Database(settings.resolved_database_url)
    try:
        with db.session(read_only=True) as session:
            verdict = checkpoints.verify_against(
                session,
                checkpoint=checkpoint,
                trusted_key=public_key.read_text() if public_key else None,
            )
    finally:
        db.dispose()
    print(verdict.model_dump_json())
    raise typer.Exit(0 if verdict.ok else 1)
