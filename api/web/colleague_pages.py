"""One member of staff's page: who they are and what they may do, and for the school's admins
the changes an account needs (roles, line manager, deactivation, a lost second factor), each
through the same service as the API and waiting for a second person where it does there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, Unreadable, submit
from api.web.render import all_of, page_for
from core.directory import staff
from core.directory.models import Role, School, StaffPublic, StaffUpdate
from core.directory.names import staff_names
from core.identity import mfa
from core.inputs import RecordId
from core.roles import TRUST_ROLES

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

DONE = {
    "changed": "Saved. A privileged role or the headteacher mark waits for a second person.",
    "deactivated": "Deactivated: every session they had has ended, and they cannot sign in.",
    "reactivated": "Reactivated: they can sign in again.",
    "reset": "Asked: their second factor is removed once a second person confirms it.",
}
# Roles a school's admin grants; trust roles are kept by a trust admin.
SCHOOL_ROLES = [Role.staff, Role.approver, Role.dsl, Role.admin]


def _may_change(acting: PageActing, person: StaffPublic) -> bool:
    """As the service decides: an admin of their school, and a trust role's account only by a
    trust admin (the page offers only what will be allowed)."""
    actor = acting.actor
    school = acting.session.get(School, person.school_id)
    if school is None or not actor.acts_as(
        Role.admin, school_id=person.school_id, trust_id=school.trust_id
    ):
        return False
    return not (set(person.roles) & TRUST_ROLES) or actor.has(Role.trust_admin)


def colleague_page(
    acting: PageActing,
    staff_id: int,
    *,
    done: str | None = None,
    problems: Problems | None = None,
    status: int = 200,
) -> Response:
    person = staff.get_staff(
        session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
    )
    may_change = _may_change(acting, person)
    own = person.id == acting.actor.staff_id
    manager = (
        staff_names(acting.session, acting.actor, [person.line_manager_id]).get(
            person.line_manager_id
        )
        if person.line_manager_id
        else None
    )
    context: dict[str, Any] = {}
    if may_change and not own:
        context["colleagues"] = [
            c
            for c in all_of(
                staff.list_staff,
                session=acting.session,
                actor=acting.actor,
                at=acting.at,
                active=True,
            )
            if c.id != person.id and Role.approver in c.roles and c.school_id == person.school_id
        ]
    return page_for(
        acting,
        "colleague.html",
        title=person.name,
        notice=DONE.get(done or ""),
        problems=problems or Problems(),
        status=status,
        person=person,
        manager=manager,
        second_factor=mfa.enrolled(acting.session, person.id),
        may_change=may_change,
        own=own,
        may_read_chronology=acting.actor.has(Role.dsl) or acting.actor.has(Role.trust_dsl),
        roles=SCHOOL_ROLES + (sorted(TRUST_ROLES) if acting.actor.has(Role.trust_admin) else []),
        **context,
    )


@router.get("/app/staff/{staff_id:int}")
def colleague(staff_id: RecordId, acting: PageDep, done: str | None = None) -> Response:
    return colleague_page(acting, staff_id, done=done)


class AccountForm(PageForm):
    name: str = ""
    email: str = ""
    # Sent when the form shows the roles (not on one's own account): unticked boxes are not
    # sent at all, so this says the roles were there to tick.
    with_roles: str = ""
    roles: list[str] = []
    line_manager_id: str = ""
    is_headteacher: str = ""


def _only_what_changed(form: AccountForm, person: StaffPublic) -> dict[str, Any]:
    """The form holds every field; the service is told only those that changed, so saving a
    new name never re-grants a role (and one's own account may change its name alone)."""
    typed: dict[str, Any] = {"name": form.name.strip(), "email": form.email.strip().lower()}
    if form.with_roles:
        if form.line_manager_id and not form.line_manager_id.isdigit():
            raise Unreadable("line_manager_id", "choose one from the list")
        typed["roles"] = sorted(form.roles)
        typed["line_manager_id"] = int(form.line_manager_id) if form.line_manager_id else None
        typed["is_headteacher"] = form.is_headteacher == "yes"
    now = {
        "name": person.name,
        "email": person.email,
        "roles": sorted(r.value for r in person.roles),
        "line_manager_id": person.line_manager_id,
        "is_headteacher": person.is_headteacher,
    }
    return {field: value for field, value in typed.items() if value != now[field]}


def _changed(acting: PageActing, staff_id: int, changes: StaffUpdate, done: str) -> str:
    """As PATCH /staff/{id}; the colleague's page again, saying what was done."""
    staff.update_staff(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_id=staff_id,
        changes=changes,
        settings=acting.settings,
    )
    return f"/app/staff/{staff_id}?done={done}"


@router.post("/app/staff/{staff_id:int}")
def change_account(
    staff_id: RecordId, acting: PageDep, form: Annotated[AccountForm, Form()]
) -> Response:
    person = staff.get_staff(
        session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
    )

    def read() -> StaffUpdate:
        return StaffUpdate.model_validate(_only_what_changed(form, person))

    def act(changes: StaffUpdate) -> str:
        return _changed(acting, staff_id, changes, "changed")

    return submit(
        acting,
        form,
        read,
        act,
        again=lambda p: colleague_page(acting, staff_id, problems=p, status=422),
    )


class ActiveForm(PageForm):
    active: str = ""


@router.post("/app/staff/{staff_id:int}/active")
def set_active(
    staff_id: RecordId, acting: PageDep, form: Annotated[ActiveForm, Form()]
) -> Response:
    """Someone leaves, or is suspended pending an investigation: their account stops at once
    (every session ends); their records stay."""

    def read() -> StaffUpdate:
        return StaffUpdate(is_active=form.active == "yes")

    def act(changes: StaffUpdate) -> str:
        return _changed(
            acting, staff_id, changes, "reactivated" if changes.is_active else "deactivated"
        )

    return submit(acting, form, read, act)


@router.post("/app/staff/{staff_id:int}/second-factor-reset")
def reset_second_factor(
    staff_id: RecordId, acting: PageDep, form: Annotated[PageForm, Form()]
) -> Response:
    """They lost their phone: their second factor goes once a second person confirms."""

    def act(_: None) -> str:
        staff.propose_second_factor_reset(
            session=acting.session,
            actor=acting.actor,
            settings=acting.settings,
            at=acting.at,
            staff_id=staff_id,
        )
        return f"/app/staff/{staff_id}?done=reset"

    return submit(acting, form, lambda: None, act)
