"""The links of providers' accounts to contactlog accounts, as their owners and admins see
them: listed, and removed by the owner or by an admin of their school (a trust role's account:
by a trust admin). Removing one gives no one access, since a new first link still needs the
person's own sign-in, so it applies at once; each removal is in the change record."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.directory.models import Staff
from core.directory.staff import staff_for_admin
from core.errors import NotFound
from core.identity.models import SsoConnection, SsoLink
from core.principal import Principal
from core.record import audit


class SsoLinkPublic(BaseModel):
    id: int
    provider: str
    # The address it was first linked by: the provider's account it stands for.
    email: str
    linked_at: datetime


def _of(session: Session, staff_id: int) -> list[SsoLinkPublic]:
    rows = session.exec(
        select(SsoLink, SsoConnection.provider)
        .join(SsoConnection, col(SsoConnection.id) == SsoLink.connection_id)
        .where(SsoLink.staff_id == staff_id)
        .order_by(col(SsoLink.id))
    ).all()
    return [
        SsoLinkPublic(
            id=link.id or 0, provider=provider, email=link.email, linked_at=link.linked_at
        )
        for link, provider in rows
    ]


def list_mine(*, session: Session, actor: Principal) -> list[SsoLinkPublic]:
    return _of(session, actor.staff_id or 0)


def list_for_staff(*, session: Session, actor: Principal, staff_id: int) -> list[SsoLinkPublic]:
    staff, _ = staff_for_admin(session=session, actor=actor, staff_id=staff_id)
    return _of(session, staff.id or 0)


def remove_mine(*, session: Session, actor: Principal, link_id: int, at: datetime) -> None:
    _remove(session, actor, staff_id=actor.staff_id or 0, link_id=link_id, at=at)


def remove_for_staff(
    *, session: Session, actor: Principal, staff_id: int, link_id: int, at: datetime
) -> None:
    staff, _ = staff_for_admin(session=session, actor=actor, staff_id=staff_id)
    _remove(session, actor, staff_id=staff.id or 0, link_id=link_id, at=at)


def _remove(
    session: Session, actor: Principal, *, staff_id: int, link_id: int, at: datetime
) -> None:
    link = session.get(SsoLink, link_id)
    if link is None or link.staff_id != staff_id:
        raise NotFound("No such link to a school account.")
    connection = session.get(SsoConnection, link.connection_id)
    staff = session.get(Staff, staff_id)
    session.delete(link)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="sso.unlinked",
        object_type="staff",
        object_id=staff_id,
        school_id=staff.school_id if staff else None,
        details={
            "provider": connection.provider if connection else "",
            "link": link_id,
        },
    )
