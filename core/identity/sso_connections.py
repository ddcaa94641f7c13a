"""A trust's single sign-on as the deployment's operator sets it up (`contactlog sso`): which
Microsoft Entra tenant or Google Workspace domain, the client registered there, the file with
its secret, the domains a first link may come from, and whether passwords still sign in; and
the ways the sign-in page offers. Only the command line sets these: the addresses and files
are the server's own. Each change is in the change record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.directory.models import School, Staff, Trust
from core.errors import Conflict, InvalidInput, NotFound
from core.identity.models import SsoConnection
from core.identity.sso_provider import PROVIDERS
from core.principal import Principal
from core.record import audit


@dataclass(frozen=True)
class Offered:
    """A button on the sign-in page."""

    provider: str
    trust_id: int
    label: str


def offered(session: Session, *, trust_id: int | None = None) -> list[Offered]:
    """Every trust's way to sign in with its school accounts (trust names are not secret), or
    one trust's."""
    query = (
        select(SsoConnection.provider, SsoConnection.trust_id, Trust.name)
        .join(Trust, col(Trust.id) == SsoConnection.trust_id)
        .order_by(Trust.name, SsoConnection.provider)
    )
    if trust_id is not None:
        query = query.where(SsoConnection.trust_id == trust_id)
    rows = session.exec(query).all()
    several = len({trust_id for _, trust_id, _ in rows}) > 1
    return [
        Offered(
            provider=provider,
            trust_id=trust_id,
            label=f"Sign in with {PROVIDERS[provider]}" + (f" ({name})" if several else ""),
        )
        for provider, trust_id, name in rows
    ]


def passwords_off(session: Session, staff: Staff) -> str | None:
    """The provider a member of staff must sign in with, when the trust has turned passwords
    off for its staff; None when a password still signs them in."""
    return session.exec(
        select(SsoConnection.provider)
        .join(School, col(School.trust_id) == SsoConnection.trust_id)
        .where(School.id == staff.school_id, col(SsoConnection.passwords_off).is_(True))
    ).first()


def connection_of(session: Session, *, provider: str, trust_id: int) -> SsoConnection:
    found = session.exec(
        select(SsoConnection).where(
            SsoConnection.provider == provider, SsoConnection.trust_id == trust_id
        )
    ).first()
    if found is None or found.id is None:
        raise NotFound(f"Trust {trust_id} does not sign in with {provider}.")
    return found


def _school_of(session: Session, trust_id: int) -> int | None:
    """Where a trust-wide event is filed: the trust's first school (as the trust's own are)."""
    return session.exec(
        select(School.id).where(School.trust_id == trust_id).order_by(col(School.id))
    ).first()


def _domains(given: list[str]) -> str:
    domains = sorted({d.strip().lower().lstrip("@") for d in given if d.strip()})
    for domain in domains:
        if "." not in domain or "/" in domain or "," in domain or " " in domain:
            raise InvalidInput(f"domain: {domain!r} is not an email domain like school.org.")
    return ",".join(domains)


def add(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    trust_id: int,
    provider: str,
    tenant: str,
    client_id: str,
    secret_file: Path,
    domains: list[str],
    passwords_off: bool = False,
) -> SsoConnection:
    if provider not in PROVIDERS:
        raise InvalidInput(f"provider: {provider!r} is not one of {', '.join(PROVIDERS)}.")
    if session.get(Trust, trust_id) is None:
        raise NotFound(f"No trust {trust_id}.")
    if not secret_file.is_file():
        raise InvalidInput(f"secret file: {secret_file} is not a file contactlog can read.")
    tenant = tenant.strip().lower()
    if not tenant or not client_id.strip():
        raise InvalidInput("tenant and client id: both are needed.")
    # A Google Workspace's addresses are on its hosted domain; Entra's may be on several.
    joined = _domains(domains or ([tenant] if provider == "google" else []))
    if not joined:
        raise InvalidInput("domain: name the email domains of the trust's staff (--domain).")
    made = SsoConnection(
        trust_id=trust_id,
        provider=provider,
        tenant=tenant,
        client_id=client_id.strip(),
        secret_file=str(secret_file.resolve()),
        domains=joined,
        passwords_off=passwords_off,
        created_at=at,
    )
    session.add(made)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"Trust {trust_id} signs in with {PROVIDERS[provider]} already.") from None
    _recorded(session, actor, at, made, "sso.connected")
    return made


def set_passwords_off(
    *, session: Session, actor: Principal, at: datetime, trust_id: int, off: bool
) -> list[SsoConnection]:
    """Passwords off (or back on) for the trust's staff; refused where the trust has no single
    sign-on to sign in with instead."""
    rows = list(session.exec(select(SsoConnection).where(SsoConnection.trust_id == trust_id)))
    if not rows:
        raise NotFound(f"Trust {trust_id} has no single sign-on: add one first.")
    for row in rows:
        if row.passwords_off != off:
            row.passwords_off = off
            session.add(row)
            _recorded(session, actor, at, row, "sso.passwords_off" if off else "sso.passwords_on")
    return rows


def trust_name(session: Session, trust_id: int) -> str:
    trust = session.get(Trust, trust_id)
    return trust.name if trust is not None else f"Trust {trust_id}"


def listed(session: Session) -> list[tuple[SsoConnection, str]]:
    return [
        (row, name)
        for row, name in session.exec(
            select(SsoConnection, Trust.name)
            .join(Trust, col(Trust.id) == SsoConnection.trust_id)
            .order_by(col(SsoConnection.trust_id), col(SsoConnection.provider))
        )
    ]


def _recorded(
    session: Session, actor: Principal, at: datetime, row: SsoConnection, action: str
) -> None:
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action=action,
        object_type="trust",
        object_id=row.trust_id,
        school_id=_school_of(session, row.trust_id),
        details={
            "provider": row.provider,
            "tenant": row.tenant,
            "client_id": row.client_id,
            "domains": row.domains,
            "passwords_off": row.passwords_off,
        },
    )
