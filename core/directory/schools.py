"""Schools of the trust and each school's register of school-owned devices."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.directory.access import (
    apply_changes,
    get_scoped,
    require_role,
    target_school,
    visible_school,
)
from core.directory.models import (
    TRUST_ROLES,
    Device,
    DeviceCreate,
    DeviceUpdate,
    Role,
    School,
    SchoolCreate,
    Trust,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit, seals


def _check_zone(name: str | None) -> None:
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            "The time zone is not a known IANA zone name.",
            extra={"errors": [{"field": "timezone", "message": "unknown time zone"}]},
        ) from exc


def create_trust(*, session: Session, actor: Principal, at: datetime, name: str) -> Trust:
    if not actor.operator:
        raise Forbidden("Trusts are created by the operator at the command line.")
    trust = Trust(name=name, created_at=at)
    session.add(trust)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="trust.created",
        object_type="trust",
        object_id=trust.id,
        school_id=None,
        sealed=seals.seal(session, ("trust", trust.id)),
    )
    return trust


def create_school(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    school_in: SchoolCreate,
    trust_id: int | None = None,
) -> School:
    """A new school of the actor's trust (the operator names the trust)."""
    if actor.operator:
        if trust_id is None or session.get(Trust, trust_id) is None:
            raise NotFound("No such trust.")
    elif actor.has(Role.trust_admin):
        trust_id = actor.trust_id
    else:
        raise Forbidden("Only trust_admin may add a school.")
    _check_zone(school_in.timezone)
    assert trust_id is not None
    school = School(
        name=school_in.name, timezone=school_in.timezone, trust_id=trust_id, created_at=at
    )
    session.add(school)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="school.created",
        object_type="school",
        object_id=school.id,
        school_id=school.id,
        sealed=seals.seal(session, ("school", school.id)),
    )
    return school


def list_schools(*, session: Session, actor: Principal) -> list[School]:
    query = select(School).order_by(col(School.id))
    if not actor.operator:
        query = query.where(School.trust_id == actor.trust_id)
        if not actor.roles & TRUST_ROLES:
            query = query.where(School.id == actor.school_id)
    return list(session.exec(query).all())


def get_school(*, session: Session, actor: Principal, school_id: int) -> School:
    return visible_school(session, actor, school_id)


# ---------------------------------------------------------------- devices


def register_device(
    *, session: Session, actor: Principal, at: datetime, device_in: DeviceCreate
) -> Device:
    school = target_school(session, actor, device_in.school_id)
    require_role(actor, school, Role.admin, action="register devices")
    assert school.id is not None
    device = Device(
        school_id=school.id,
        asset_tag=device_in.asset_tag,
        description=device_in.description,
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(device)
    except IntegrityError as exc:
        raise Conflict("A device with this asset tag is already registered at the school.") from exc
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=device,
        action="device.registered",
    )
    return device


def _device_in_scope(session: Session, actor: Principal, device_id: int) -> tuple[Device, School]:
    device = get_scoped(session, actor, Device, device_id, "No such device.")
    return device, visible_school(session, actor, device.school_id)


def get_device(*, session: Session, actor: Principal, device_id: int) -> Device:
    """Any member of the school may read its device register: it holds no personal data."""
    return _device_in_scope(session, actor, device_id)[0]


def list_devices(
    *,
    session: Session,
    actor: Principal,
    school_id: int | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Device]:
    school = visible_school(session, actor, school_id or actor.school_id or 0)
    query = select(Device).where(Device.school_id == school.id)
    if active is not None:
        query = query.where(Device.is_active == active)
    return fetch_page(session, query, col(Device.id), cursor=cursor, limit=limit)


def update_device(
    *, session: Session, actor: Principal, at: datetime, device_id: int, changes: DeviceUpdate
) -> Device:
    device, school = _device_in_scope(session, actor, device_id)
    require_role(actor, school, Role.admin, action="change the device register")
    apply_changes(device, changes.model_dump(exclude_unset=True))
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=device,
        action="device.updated",
    )
    return device
