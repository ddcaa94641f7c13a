"""Privileged changes wait for a second person: granting approver, dsl, admin or a trust role,
marking a headteacher, changing someone's sign-in email (with a reset link, that would hand
over their account), resetting someone's second factor — and changing a pupil's date of birth
or leaving date once records about them exist (retention and the consent rule count from them).

One admin alone could otherwise make a "puppet" approver and have it approve their own contact.
A proposal takes effect only when someone else confirms it: another admin of the school, its
headteacher, or a trust admin; never the proposer, never the person concerned (and only a trust
admin for anything touching a trust role). Proposals are emailed to those who may confirm them,
expire, and enter the change record with both names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from core import once, outbox
from core.directory.access import get_scoped, visible_school
from core.directory.models import (
    TRUST_ROLES,
    ChangeKind,
    ChangeState,
    PendingChange,
    PendingChangePublic,
    Pupil,
    Role,
    School,
    Staff,
    StaffRole,
)
from core.errors import Conflict, Forbidden, RuleBroken
from core.identity import mfa
from core.links import page_of
from core.principal import Principal
from core.record import audit, seals
from core.settings import Settings
from core.text import one_line

# Roles that give power over others or over personal data: granting one takes two people.
PRIVILEGED = frozenset(
    {Role.approver, Role.dsl, Role.admin, Role.trust_dsl, Role.trust_admin, Role.case_manager}
)


def public(change: PendingChange, at: datetime) -> PendingChangePublic:
    state = ChangeState(change.state)
    if state == ChangeState.pending and change.expires_at <= at:
        state = ChangeState.expired
    return PendingChangePublic.model_validate(
        {**change.model_dump(), "grant_roles": change.roles, "state": state}
    )


def _touches_trust(change: PendingChange) -> bool:
    return bool(set(change.roles) & TRUST_ROLES)


def may_confirm(actor: Principal, change: PendingChange, school: School) -> bool:
    """Another admin of the school, its headteacher, or a trust admin; never the proposer or
    the person concerned; only a trust admin where a trust role is concerned."""
    if actor.staff_id in (change.proposed_by_id, change.staff_id) or actor.staff_id is None:
        return False
    if actor.has(Role.trust_admin) and actor.trust_id == school.trust_id:
        return True
    if _touches_trust(change):
        return False
    own_school = actor.school_id == school.id
    return own_school and (actor.has(Role.admin) or actor.is_headteacher)


def _confirmers(session: Session, change: PendingChange, school: School) -> list[Staff]:
    """Everyone who may confirm: emailed the proposal."""
    people = session.exec(
        select(Staff)
        .join(School, col(School.id) == col(Staff.school_id))
        .where(School.trust_id == school.trust_id, col(Staff.is_active))
    ).all()
    roles: dict[int, set[Role]] = {}
    for row in session.exec(
        select(StaffRole).where(col(StaffRole.staff_id).in_([p.id for p in people]))
    ):
        roles.setdefault(row.staff_id, set()).add(Role(row.role))
    out = []
    for person in people:
        assert person.id is not None
        principal = Principal(
            staff_id=person.id,
            school_id=person.school_id,
            trust_id=school.trust_id,
            roles=frozenset(roles.get(person.id, set())),
            is_headteacher=person.is_headteacher,
        )
        if may_confirm(principal, change, school):
            out.append(person)
    return out


def propose(
    session: Session,
    *,
    actor: Principal,
    staff: Staff,
    school: School,
    kind: ChangeKind,
    roles: set[Role] | None = None,
    make_headteacher: bool = False,
    new_email: str | None = None,
    settings: Settings,
    at: datetime,
) -> PendingChange:
    assert staff.id is not None
    assert school.id is not None
    grant = ",".join(sorted(roles or set()))
    # The same change asked twice (two admins, a double click) would wait twice, and the
    # second, confirmed later, would act again: a second factor enrolled in between removed.
    # The account's row is locked first, so two at once take turns.
    session.exec(select(Staff.id).where(Staff.id == staff.id).with_for_update()).one()
    if session.exec(
        select(PendingChange.id).where(
            PendingChange.staff_id == staff.id,
            PendingChange.kind == kind,
            PendingChange.grant_roles == grant,
            PendingChange.make_headteacher == make_headteacher,
            PendingChange.new_email == new_email,
            PendingChange.state == ChangeState.pending,
            col(PendingChange.expires_at) > at,
        )
    ).first():
        raise Conflict("The same change is already waiting for a second person to confirm it.")
    change = PendingChange(
        school_id=school.id,
        staff_id=staff.id,
        kind=kind,
        grant_roles=grant,
        make_headteacher=make_headteacher,
        new_email=new_email,
        proposed_by_id=actor.staff_id,
        proposed_at=at,
        expires_at=at + timedelta(hours=settings.pending_change_hours),
    )
    details = {
        "roles": change.roles,
        "make_headteacher": make_headteacher,
        "email_changes": new_email is not None,
    }
    _file(session, change, actor, school, ("staff", staff.id), details, settings, at)
    return change


def propose_pupil_dates(
    session: Session,
    *,
    actor: Principal,
    pupil: Pupil,
    school: School,
    date_of_birth: date | None,
    left_on: date | None,
    changes_left_on: bool,
    settings: Settings,
    at: datetime,
) -> PendingChange:
    """A pupil's date of birth or leaving date, changed after records about them exist: the
    old and new values are kept in the proposal, and nothing changes until a second person
    confirms (one person could otherwise shorten every period that counts from them)."""
    assert pupil.id is not None
    assert school.id is not None
    change = PendingChange(
        school_id=school.id,
        pupil_id=pupil.id,
        kind=ChangeKind.pupil_dates,
        new_date_of_birth=date_of_birth,
        old_date_of_birth=pupil.date_of_birth if date_of_birth is not None else None,
        new_left_on=left_on,
        old_left_on=pupil.left_on if changes_left_on else None,
        changes_left_on=changes_left_on,
        proposed_by_id=actor.staff_id,
        proposed_at=at,
        expires_at=at + timedelta(hours=settings.pending_change_hours),
    )
    details = {
        "date_of_birth_changes": date_of_birth is not None,
        "left_on_changes": changes_left_on,
    }
    _file(session, change, actor, school, ("pupil", pupil.id), details, settings, at)
    return change


def _file(
    session: Session,
    change: PendingChange,
    actor: Principal,
    school: School,
    about: tuple[str, int],
    details: Mapping[str, object],
    settings: Settings,
    at: datetime,
) -> None:
    """A proposal kept (sealed under the chain, so nobody rewrites who proposed what), in the
    record of the staff member or pupil it is about, and emailed to those who may confirm."""
    session.add(change)
    session.flush()
    object_type, object_id = about
    audit.record(
        session,
        actor=actor,
        at=at,
        action="pending_change.proposed",
        object_type=object_type,
        object_id=object_id,
        school_id=school.id,
        details={"change_id": change.id, "kind": change.kind, **details},
        sealed=seals.seal(session, ("pending_change", change.id)),
    )
    # The confirmers are of the same school: the body names whose record it is (never the
    # subject line).
    if object_type == "staff":
        person = session.get(Staff, object_id)
        whose = f"the account of {one_line(person.name)}" if person else "a staff account"
    else:
        pupil = session.get(Pupil, object_id)
        whose = (
            f"the pupil record of {one_line(pupil.given_name)} {one_line(pupil.family_name)}"
            if pupil
            else "a pupil record"
        )
    _ask_confirmers(session, change, school, whose, settings, at)


def _ask_confirmers(
    session: Session,
    change: PendingChange,
    school: School,
    whose: str,
    settings: Settings,
    at: datetime,
) -> None:
    """Everyone who may confirm it is emailed the proposal (ids only, never the values)."""
    what = _describe(change)
    page = page_of(settings.public_url, "pending_changes")
    for person in _confirmers(session, change, school):
        outbox.enqueue(
            session,
            dedupe_key=f"pending-change:{change.id}:to:{person.id}",
            kind="pending_change",
            to_address=person.email,
            subject="A change to a record needs your confirmation",
            body=(
                f"A change to {whose} was proposed and takes effect only when\n"
                f"a second person confirms it: {what}.\n\n"
                f"Confirm or refuse it (it expires in {settings.pending_change_hours} hours) on\n"
                f"the page of changes to confirm: {page}\n"
                "\n-- \ncontactlog, for your school's social-networking protocol\n"
            ),
            school_id=school.id,
            at=at,
            to_staff_id=person.id,
        )


def _describe(change: PendingChange) -> str:
    if change.kind == ChangeKind.mfa_reset:
        return "remove their second factor, so that they enrol again"
    if change.kind == ChangeKind.pupil_dates:
        dates = [
            name
            for name, changes in (
                ("date of birth", change.new_date_of_birth is not None),
                ("leaving date", change.changes_left_on),
            )
            if changes
        ]
        return f"change the pupil's {' and '.join(dates)} (records about them exist)"
    parts = []
    if change.roles:
        parts.append(
            "grant the role" + ("s " if len(change.roles) > 1 else " ") + ", ".join(change.roles)
        )
    if change.make_headteacher:
        parts.append("mark them as headteacher")
    if change.new_email:
        parts.append("change their sign-in email address")
    return " and ".join(parts)


def _in_scope(session: Session, actor: Principal, change_id: int) -> tuple[PendingChange, School]:
    change = get_scoped(session, actor, PendingChange, change_id, "No such pending change.")
    return change, visible_school(session, actor, change.school_id)


def list_pending(*, session: Session, actor: Principal, at: datetime) -> list[PendingChangePublic]:
    """Changes waiting for a second person that this actor may confirm."""
    rows = session.exec(
        select(PendingChange)
        .where(PendingChange.state == ChangeState.pending, col(PendingChange.expires_at) > at)
        .order_by(col(PendingChange.id))
    ).all()
    schools = {s.id: s for s in session.exec(select(School)).all()}
    return [public(c, at) for c in rows if may_confirm(actor, c, schools[c.school_id])]


def decide(
    *,
    session: Session,
    actor: Principal,
    change_id: int,
    confirm: bool,
    at: datetime,
) -> PendingChangePublic:
    change, school = _in_scope(session, actor, change_id)
    if actor.staff_id in (change.proposed_by_id, change.staff_id):
        raise Forbidden(
            "A second person decides: not the one who proposed it, nor the one concerned."
        )
    if not may_confirm(actor, change, school):
        raise Forbidden(
            "Only another admin of the school, its headteacher or a trust admin may decide this."
        )
    if change.state == ChangeState.pending and change.expires_at <= at:
        raise Conflict("This change has expired; propose it again.")
    once.claim(
        session,
        PendingChange,
        change.id,
        still=col(PendingChange.state) == ChangeState.pending,
        values={
            "state": ChangeState.confirmed if confirm else ChangeState.refused,
            "decided_by_id": actor.staff_id,
            "decided_at": at,
        },
        too_late="This change has already been decided.",
    )
    if change.kind == ChangeKind.pupil_dates:
        return _decide_pupil_dates(session, actor, change, confirm, at)
    staff = session.get(Staff, change.staff_id)
    assert staff is not None
    assert staff.id is not None
    if confirm:
        _apply(session, change, staff)
    details = {"roles": change.roles, "make_headteacher": change.make_headteacher}
    _decided(session, actor, change, confirm, ("staff", staff.id), details, at)
    return public(change, at)


def _decided(
    session: Session,
    actor: Principal,
    change: PendingChange,
    confirm: bool,
    about: tuple[str, int],
    details: Mapping[str, object],
    at: datetime,
) -> None:
    """The decision in the record of the staff member or pupil it is about, with both names,
    sealing that record and the proposal as they now stand."""
    object_type, object_id = about
    audit.record(
        session,
        actor=actor,
        at=at,
        action="pending_change.confirmed" if confirm else "pending_change.refused",
        object_type=object_type,
        object_id=object_id,
        school_id=change.school_id,
        details={
            "change_id": change.id,
            "kind": change.kind,
            **details,
            "proposed_by": change.proposed_by_id,
            "decided_by": actor.staff_id,
        },
        sealed=seals.seal(session, about, ("pending_change", change.id)),
    )


def _decide_pupil_dates(
    session: Session, actor: Principal, change: PendingChange, confirm: bool, at: datetime
) -> PendingChangePublic:
    pupil = session.get(Pupil, change.pupil_id)
    assert pupil is not None
    assert pupil.id is not None
    if confirm:
        if change.new_date_of_birth is not None:
            pupil.date_of_birth = change.new_date_of_birth
        if change.changes_left_on:
            pupil.left_on = change.new_left_on
        if pupil.left_on is not None and pupil.left_on < pupil.date_of_birth:
            raise RuleBroken("The leaving date would be before the date of birth.")
        session.add(pupil)
    _decided(session, actor, change, confirm, ("pupil", pupil.id), {}, at)
    return public(change, at)


def _apply(session: Session, change: PendingChange, staff: Staff) -> None:
    assert staff.id is not None
    if not staff.is_active:
        raise RuleBroken("The account has been deactivated since the change was proposed.")
    if change.kind == ChangeKind.mfa_reset:
        mfa.remove(session, staff)
        staff.token_generation += 1  # every session, signed in with the old factor, ends
        session.add(staff)
        return
    held = {
        Role(r) for r in session.exec(select(StaffRole.role).where(StaffRole.staff_id == staff.id))
    }
    for role in set(change.roles) - held:
        session.add(StaffRole(staff_id=staff.id, role=role))
    if change.make_headteacher:
        if Role.approver not in held | set(change.roles):
            raise RuleBroken("A headteacher must hold the approver role.")
        staff.is_headteacher = True
    if set(change.roles) - held or change.make_headteacher:
        # Every sign-in made before the grant ends, tokens, page sessions and trusted devices
        # alike: the new power is reached only by signing in again, with the second factor
        # the roles now need (enrolled first, if the person has none).
        staff.token_generation += 1
    if change.new_email:
        taken = session.exec(select(Staff.id).where(Staff.email == change.new_email)).first()
        if taken is not None and taken != staff.id:
            raise Conflict("An account with this email address already exists.")
        staff.email = change.new_email
        staff.token_generation += 1  # sessions of the old address end
    session.add(staff)
    session.flush()
