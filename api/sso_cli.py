"""`contactlog sso`: a trust's single sign-on with its Microsoft Entra tenant or Google
Workspace domain, set up by the deployment's operator (core/identity/sso_connections.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

sso_app = typer.Typer(help="Single sign-on with a trust's Microsoft or Google accounts.")


@sso_app.command("add")
def add_command(
    trust: Annotated[int, typer.Option(help="The trust whose staff sign in with it")],
    provider: Annotated[str, typer.Option(help="microsoft (Entra ID) or google (Workspace)")],
    tenant: Annotated[str, typer.Option(help="The Entra tenant id, or the Google hosted domain")],
    client_id: Annotated[str, typer.Option(help="The client (application) id registered there")],
    secret_file: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="A file holding the client secret")
    ],
    domain: Annotated[
        list[str] | None,
        typer.Option(help="An email domain of the trust's staff (repeat; Google: its domain)"),
    ] = None,
    passwords_off: Annotated[
        bool, typer.Option(help="Staff of the trust sign in only with it, not with passwords")
    ] = False,
) -> None:
    """Let a trust's staff sign in with their school accounts. Register contactlog with the
    provider first, with the redirect URI PUBLIC_URL/auth/sso/<provider>/callback."""
    from api.cli import _database, _fail, _settings, console
    from core import clock
    from core.errors import DomainError
    from core.identity import sso_connections
    from core.identity.sso_provider import PROVIDERS
    from core.principal import Principal

    settings = _settings()
    db = _database(settings)
    try:
        with db.transaction() as session:
            made = sso_connections.add(
                session=session,
                actor=Principal.command_line(),
                at=clock.now(),
                trust_id=trust,
                provider=provider.strip().lower(),
                tenant=tenant,
                client_id=client_id,
                secret_file=secret_file,
                domains=domain or [],
                passwords_off=passwords_off,
            )
            named = sso_connections.trust_name(session, trust)
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(
        f"{named}'s staff can sign in with {PROVIDERS[made.provider]} ({made.tenant}); first "
        f"links from "
        f"{made.domains.replace(',', ', ')}. Redirect URI: "
        f"{settings.public_url.rstrip('/')}/auth/sso/{made.provider}/callback"
    )


@sso_app.command("passwords")
def passwords_command(
    trust: Annotated[int, typer.Option(help="The trust")],
    off: Annotated[bool, typer.Option("--off/--on", help="Passwords off, or back on")],
) -> None:
    """Turn passwords off for a trust's staff (they sign in with their school accounts only),
    or back on."""
    from api.cli import _database, _fail, _settings, console
    from core import clock
    from core.errors import DomainError
    from core.identity import sso_connections
    from core.principal import Principal

    settings = _settings()
    db = _database(settings)
    try:
        with db.transaction() as session:
            sso_connections.set_passwords_off(
                session=session,
                actor=Principal.command_line(),
                at=clock.now(),
                trust_id=trust,
                off=off,
            )
            named = sso_connections.trust_name(session, trust)
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(
        f"{named}'s staff sign in "
        + ("with their school accounts only." if off else "with passwords too.")
    )


@sso_app.command("list")
def list_command() -> None:
    """Each trust's single sign-on."""
    from api.cli import _database, _settings, console
    from core.identity import sso_connections

    settings = _settings()
    db = _database(settings)
    try:
        with db.session() as session:
            rows = sso_connections.listed(session)
            for row, name in rows:
                passwords = "passwords off" if row.passwords_off else "passwords on"
                console.print(
                    f"{name} (trust {row.trust_id}): {row.provider} {row.tenant} client "
                    f"{row.client_id} (domains {row.domains}; {passwords})"
                )
            if not rows:
                console.print("No trust signs in with Microsoft or Google yet.")
    finally:
        db.dispose()
