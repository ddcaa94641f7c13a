"""Recording subject access requests and keeping them to their deadline: DSLs record, extend
(in time, with a reason) and complete them; each step is in the change record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, func, select

from contacts.data_protection.subject_access.deadlines import due_on
from contacts.data_protection.subject_access.models import (
    CompletionCreate,
    ExtensionCreate,
    RequestCreate,
    RequestPublic,
    SubjectAccessRequest,
    Whose,
)
from core import once
from core.directory.access import get_scoped, require_role, schools_read_by, visible_school
from core.directory.models import Pupil, Role, School, Staff
from core.errors import Conflict, RuleBroken
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal
from core.record import audit

SUBJECTS: dict[Whose, tuple[type[SQLModel], str]] = {
    Whose.pupil: (Pupil, "No such pupil."),
    Whose.staff: (Staff, "No such member of staff."),
}


def public(request: SubjectAccessRequest, today: date) -> RequestPublic:
    overdue = request.completed_on is None and today > request.due_on
    return RequestPublic.model_validate({**request.model_dump(), "overdue": overdue})


def _in_scope(
    session: Session, actor: Principal, request_id: int, action: str
) -> tuple[SubjectAccessRequest, School]:
    request = get_scoped(
        session, actor, SubjectAccessRequest, request_id, "No such subject access request."
    )
    school = visible_school(session, actor, request.school_id)
    require_role(actor, school, Role.dsl, action=action)
    return request, school


def record_request(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, request_in: RequestCreate
) -> RequestPublic:
    """A pupil (or their parent) or a member of staff asked for their data: the clock starts
    on the day it was received."""
    model, missing = SUBJECTS[request_in.subject_type]
    subject: Any = get_scoped(session, actor, model, request_in.subject_id, missing)  # type: ignore[type-var]
    school = visible_school(session, actor, subject.school_id)
    require_role(actor, school, Role.dsl, action="record a subject access request")
    today = policy.today(school, at)
    if request_in.received_on > today:
        raise RuleBroken("received_on is in the future.")
    assert school.id is not None
    request = SubjectAccessRequest(
        school_id=school.id,
        subject_type=request_in.subject_type,
        subject_id=request_in.subject_id,
        requested_by=request_in.requested_by,
        received_on=request_in.received_on,
        due_on=due_on(request_in.received_on),
        recorded_by_id=actor.staff_id,
        recorded_at=at,
    )
    session.add(request)
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=request,
        action="subject_access.received",
    )
    return public(request, today)


def list_requests(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    open_only: bool,
    cursor: str | None,
    limit: int,
) -> Page[RequestPublic]:
    """The school's requests (the trust's, for a trust DSL), each with whether it is overdue."""
    own = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, own, Role.dsl, action="read subject access requests")
    query = select(SubjectAccessRequest)
    query = query.where(col(SubjectAccessRequest.school_id).in_(schools_read_by(actor, own)))
    if open_only:
        query = query.where(col(SubjectAccessRequest.completed_on).is_(None))
    page = fetch_page(session, query, col(SubjectAccessRequest.id), cursor=cursor, limit=limit)
    today = policy.today(own, at)
    return Page(items=[public(r, today) for r in page.items], next_cursor=page.next_cursor)


def extend(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    request_id: int,
    extension: ExtensionCreate,
) -> RequestPublic:
    """Complex or numerous requests: up to two further months, once, with the reason recorded
    before the first month ends (the requester must be told within it)."""
    request, school = _in_scope(session, actor, request_id, "extend a subject access request")
    today = policy.today(school, at)
    if request.completed_on is not None:
        raise Conflict("This request has already been answered.")
    if today > due_on(request.received_on):
        raise RuleBroken("An extension must be made within the first month from receipt.")
    once.claim(
        session,
        SubjectAccessRequest,
        request.id,
        still=col(SubjectAccessRequest.extra_months) == 0,
        values={
            "extra_months": extension.extra_months,
            "extension_reason": extension.reason,
            "due_on": due_on(request.received_on, extension.extra_months),
        },
        too_late="This request has already been extended.",
    )
    session.refresh(request)
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=request,
        action="subject_access.extended",
    )
    return public(request, today)


def complete(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    request_id: int,
    completion: CompletionCreate,
) -> RequestPublic:
    """The answer was sent: the request leaves the open list (and the overdue count)."""
    request, school = _in_scope(session, actor, request_id, "complete a subject access request")
    today = policy.today(school, at)
    if not request.received_on <= completion.completed_on <= today:
        raise RuleBroken("completed_on must be between the day it was received and today.")
    once.claim(
        session,
        SubjectAccessRequest,
        request.id,
        still=col(SubjectAccessRequest.completed_on).is_(None),
        values={"completed_on": completion.completed_on},
        too_late="This request has already been answered.",
    )
    session.refresh(request)
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=request,
        action="subject_access.completed",
    )
    return public(request, today)


def overdue_count(session: Session, school_id: int, today: date) -> int:
    """Open requests of the school whose deadline has passed (for the summary)."""
    return session.exec(
        select(func.count()).where(
            SubjectAccessRequest.school_id == school_id,
            col(SubjectAccessRequest.completed_on).is_(None),
            col(SubjectAccessRequest.due_on) < today,
        )
    ).one()
