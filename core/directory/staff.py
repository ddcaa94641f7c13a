"""Staff accounts: roles, line managers, activation, and who may see whom."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.directory import privileged
from core.directory.access import (
    apply_changes,
    get_scoped,
    require_role,
    target_school,
    visible_school,
)
from core.directory.models import (
    TRUST_ROLES,
    ChangeKind,
    ChangeState,
    PendingChange,
    PendingChangePublic,
    Role,
    School,
    Staff,
    StaffCreate,
    StaffPublic,
    StaffRole,
    StaffUpdate,
)
from core.directory.privileged import PRIVILEGED
from core.errors import Conflict, Forbidden, RuleBroken
from core.identity import accounts
from core.identity.security import Passwords
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit, seals
from core.settings import Settings


def _roles_by_staff(session: Session, ids: Iterable[int]) -> dict[int, list[Role]]:
    found: dict[int, list[Role]] = {i: [] for i in ids}
    if found:
        rows = session.exec(select(StaffRole).where(col(StaffRole.staff_id).in_(list(found))))
        for row in rows:
            found[row.staff_id].append(Role(row.role))
    return {i: sorted(r, key=list(Role).index) for i, r in found.items()}


def public_staff(session: Session, rows: Sequence[Staff], at: datetime) -> list[StaffPublic]:
    ids = [s.id for s in rows if s.id is not None]
    roles = _roles_by_staff(session, ids)
    waiting: dict[int, list[PendingChange]] = {i: [] for i in ids}
    if ids:
        for change in session.exec(
            select(PendingChange).where(
                col(PendingChange.staff_id).in_(ids),
                PendingChange.state == ChangeState.pending,
                col(PendingChange.expires_at) > at,
            )
        ):
            if change.staff_id is not None:
                waiting[change.staff_id].append(change)
    return [
        StaffPublic.model_validate(
            {
                **s.model_dump(),
                "roles": roles[s.id],
                "has_joined": s.password_hash is not None,
                "pending_roles": sorted({r for c in waiting[s.id] for r in c.roles}),
                "pending_headteacher": any(c.make_headteacher for c in waiting[s.id]),
            }
        )
        for s in rows
        if s.id is not None
    ]


def _may_grant(actor: Principal, roles: Iterable[Role]) -> None:
    if set(roles) & TRUST_ROLES and not (actor.operator or actor.has(Role.trust_admin)):
        raise Forbidden("Only trust_admin may grant or remove trust-wide roles.")


def _check_line_manager(
    session: Session, *, school_id: int, manager_id: int | None, staff_id: int | None
) -> None:
    """The manager is an active approver of the same school, and the chain has no loop."""
    if manager_id is None:
        return
    manager = session.get(Staff, manager_id)
    if manager is None or manager.school_id != school_id:
        raise RuleBroken("The line manager must be a member of staff at the same school.")
    if not manager.is_active:
        raise RuleBroken("The line manager's account is deactivated.")
    if Role.approver not in _roles_by_staff(session, [manager_id])[manager_id]:
        raise RuleBroken("The line manager must hold the approver role.")
    seen: set[int] = set()
    current: Staff | None = manager
    while current is not None and current.id is not None and current.id not in seen:
        if current.id == staff_id:
            raise RuleBroken("A member of staff cannot be their own line manager, directly or not.")
        seen.add(current.id)
        current = session.get(Staff, current.line_manager_id) if current.line_manager_id else None


def _set_roles(session: Session, staff_id: int, roles: Iterable[Role]) -> None:
    session.execute(delete(StaffRole).where(col(StaffRole.staff_id) == staff_id))
    for role in sorted(set(roles)):
        session.add(StaffRole(staff_id=staff_id, role=role))


def _ask_second_person(
    session: Session,
    actor: Principal,
    staff: Staff,
    school: School,
    settings: Settings,
    *,
    at: datetime,
    roles: set[Role],
    head: bool,
    email: str | None = None,
) -> None:
    privileged.propose(
        session,
        actor=actor,
        staff=staff,
        school=school,
        kind=ChangeKind.grant,
        roles=roles,
        make_headteacher=head,
        new_email=email,
        settings=settings,
        at=at,
    )


def _trust_accounts_by_trust_admins(actor: Principal, held: set[Role]) -> None:
    if held & TRUST_ROLES and not (actor.operator or actor.has(Role.trust_admin)):
        raise Forbidden("Only a trust admin changes an account that holds a trust role.")


def create_staff(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    staff_in: StaffCreate,
    passwords: Passwords,
    settings: Settings,
    password: str | None = None,
) -> StaffPublic:
    """A new account. Its owner chooses the password from an emailed invitation; only the
    operator's bootstrap and the demo give one directly (`password`)."""
    school = target_school(session, actor, staff_in.school_id)
    require_role(actor, school, Role.admin, action="add staff")
    _may_grant(actor, staff_in.roles)
    assert school.id is not None
    if staff_in.is_headteacher and Role.approver not in staff_in.roles:
        raise RuleBroken("A headteacher must hold the approver role.")
    # The operator's bootstrap and the demo stand outside; anyone else's privileged grant waits
    # for a second person, and the account starts with the rest.
    two_people = not actor.operator
    granted = set(staff_in.roles) & PRIVILEGED if two_people else set()
    _check_line_manager(
        session, school_id=school.id, manager_id=staff_in.line_manager_id, staff_id=None
    )
    staff = Staff(
        school_id=school.id,
        name=staff_in.name,
        email=staff_in.email,
        line_manager_id=staff_in.line_manager_id,
        is_headteacher=staff_in.is_headteacher and not two_people,
        password_hash=passwords.hash(password) if password else None,
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(staff)
            session.flush()
            assert staff.id is not None
            _set_roles(session, staff.id, set(staff_in.roles) - granted)
    except IntegrityError as exc:
        raise Conflict("An account with this email address already exists.") from exc
    audit.record(
        session,
        actor=actor,
        at=at,
        action="staff.created",
        object_type="staff",
        object_id=staff.id,
        school_id=school.id,
        details={"roles": sorted(staff_in.roles), "line_manager_id": staff_in.line_manager_id},
        sealed=seals.seal(session, ("staff", staff.id)),
    )
    if granted or (two_people and staff_in.is_headteacher):
        _ask_second_person(
            session,
            actor,
            staff,
            school,
            settings,
            at=at,
            roles=granted,
            head=staff_in.is_headteacher,
        )
    if password is None:
        accounts.invite(session, actor=actor, staff=staff, settings=settings, at=at)
    return public_staff(session, [staff], at)[0]


def _staff_in_scope(session: Session, actor: Principal, staff_id: int) -> tuple[Staff, School]:
    staff = get_scoped(session, actor, Staff, staff_id, "No such member of staff.")
    return staff, visible_school(session, actor, staff.school_id)


def manages(actor: Principal, staff: Staff, school: School) -> bool:
    """The actor is this person's line manager, or the headteacher of their school."""
    if actor.staff_id is not None and staff.line_manager_id == actor.staff_id:
        return True
    return (
        actor.is_headteacher
        and actor.school_id == staff.school_id
        and actor.acts_as(Role.approver, school_id=school.id or 0, trust_id=school.trust_id)
    )


def get_staff(*, session: Session, actor: Principal, at: datetime, staff_id: int) -> StaffPublic:
    staff, school = _staff_in_scope(session, actor, staff_id)
    if staff.id != actor.staff_id and not manages(actor, staff, school):
        require_role(actor, school, Role.admin, Role.dsl, action="see other staff accounts")
    return public_staff(session, [staff], at)[0]


def list_staff(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    school_id: int | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[StaffPublic]:
    """Admins and DSLs list their school; an approver lists the staff they manage."""
    school = visible_school(session, actor, school_id or actor.school_id or 0)
    assert school.id is not None
    query = select(Staff).where(Staff.school_id == school.id)
    reads_all = any(
        actor.acts_as(r, school_id=school.id, trust_id=school.trust_id)
        for r in (Role.admin, Role.dsl)
    ) or (actor.is_headteacher and actor.school_id == school.id)
    if not reads_all:
        if not actor.acts_as(Role.approver, school_id=school.id, trust_id=school.trust_id):
            raise Forbidden("Only admin, dsl or approver may list staff.")
        query = query.where(Staff.line_manager_id == actor.staff_id)
    if active is not None:
        query = query.where(Staff.is_active == active)
    page = fetch_page(session, query, col(Staff.id), cursor=cursor, limit=limit)
    return Page(items=public_staff(session, page.items, at), next_cursor=page.next_cursor)


def staff_for_admin(*, session: Session, actor: Principal, staff_id: int) -> tuple[Staff, School]:
    """Someone else's account that this admin may act on (not their own; a trust role's account
    only by a trust admin)."""
    staff, school = _staff_in_scope(session, actor, staff_id)
    require_role(actor, school, Role.admin, action="change staff accounts")
    if staff.id == actor.staff_id:
        raise Forbidden("Nobody changes their own access: ask another admin.")
    _trust_accounts_by_trust_admins(actor, set(_roles_by_staff(session, [staff_id])[staff_id]))
    return staff, school


def update_staff(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    staff_id: int,
    changes: StaffUpdate,
    settings: Settings,
) -> StaffPublic:
    """Change an account. Granting a privileged role or the headteacher mark waits for a second
    person (see `core.directory.privileged`); taking one away applies at once."""
    staff, school = _staff_in_scope(session, actor, staff_id)
    require_role(actor, school, Role.admin, action="change staff accounts")
    assert staff.id is not None
    assert school.id is not None
    current_roles = _roles_by_staff(session, [staff.id])[staff.id]
    power = {"roles", "line_manager_id", "is_headteacher"} & changes.model_fields_set
    if staff.id == actor.staff_id and power:
        raise Forbidden("Nobody changes their own roles, line manager or headteacher mark.")
    _trust_accounts_by_trust_admins(actor, set(current_roles))
    if changes.roles is not None:
        _may_grant(actor, set(changes.roles) ^ set(current_roles))
    if staff.id == actor.staff_id and changes.is_active is False:
        raise RuleBroken("You cannot deactivate your own account.")
    if "line_manager_id" in changes.model_fields_set:
        _check_line_manager(
            session, school_id=school.id, manager_id=changes.line_manager_id, staff_id=staff.id
        )
    roles_after = changes.roles if changes.roles is not None else current_roles
    headteacher_after = (
        changes.is_headteacher if changes.is_headteacher is not None else staff.is_headteacher
    )
    if headteacher_after and Role.approver not in roles_after:
        raise RuleBroken("A headteacher must hold the approver role.")
    two_people = not actor.operator
    granted = (set(roles_after) - set(current_roles)) & PRIVILEGED if two_people else set()
    make_head = two_people and headteacher_after and not staff.is_headteacher
    new_email = (
        changes.email
        if two_people and changes.email is not None and changes.email != staff.email
        else None
    )
    values = changes.model_dump(exclude_unset=True, exclude={"roles"})
    if make_head:
        values.pop("is_headteacher")
    if new_email is not None:
        values.pop("email")
    apply_changes(staff, values, clearable=frozenset({"line_manager_id"}))
    if changes.is_active is False:
        # A deactivation ends every session the account had.
        staff.token_generation += 1
        # They left: what is kept "until they leave" counts from today.
        staff.left_on = staff.left_on or at.date()
    elif changes.is_active is True:
        staff.left_on = None
    try:
        with session.begin_nested():
            session.add(staff)
            if changes.roles is not None:
                _set_roles(session, staff.id, set(roles_after) - granted)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("An account with this email address already exists.") from exc
    audit.record(
        session,
        actor=actor,
        at=at,
        action="staff.updated",
        object_type="staff",
        object_id=staff.id,
        school_id=school.id,
        # Which fields changed, and the new roles; never personal values.
        details={
            "fields": sorted(changes.model_fields_set),
            "roles": sorted(set(roles_after) - granted) if changes.roles is not None else None,
            "is_active": changes.is_active,
        },
        sealed=seals.seal(session, ("staff", staff.id)),
    )
    if granted or make_head or new_email:
        _ask_second_person(
            session,
            actor,
            staff,
            school,
            settings,
            at=at,
            roles=granted,
            head=make_head,
            email=new_email,
        )
    return public_staff(session, [staff], at)[0]


def propose_second_factor_reset(
    *, session: Session, actor: Principal, settings: Settings, at: datetime, staff_id: int
) -> PendingChangePublic:
    """Someone lost their phone: their second factor goes once a second person confirms."""
    staff, school = staff_for_admin(session=session, actor=actor, staff_id=staff_id)
    change = privileged.propose(
        session,
        actor=actor,
        staff=staff,
        school=school,
        kind=ChangeKind.mfa_reset,
        settings=settings,
        at=at,
    )
    return privileged.public(change, at)
