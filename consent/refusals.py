"""A parent's refusal stops the contact for their child (§5.5, read cautiously): when anyone
with parental responsibility declines, contact with that pupil on that contact stops, whatever
another guardian said, until the school resolves it with the family and records how."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from consent.models import ConsentRequest, ResolutionCreate
from consent.requests import record_event
from consent.service import ContactsOfConsent
from core import once
from core.directory.access import get_scoped, visible_school
from core.directory.models import Role, School
from core.errors import Forbidden, RuleBroken
from core.pagination import Page, fetch_page
from core.principal import Principal

DECLINED = "declined"


def refused(session: Session, contact_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(contact id, pupil id) of every pupil a parent refused on these contacts, unresolved."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return set()
    # One contact (every log write asks of its own) by equality: an IN list is rebuilt for
    # each call, and on the log write that cost a tenth of the request's time (bench profile).
    which = (
        col(ConsentRequest.contact_id) == wanted[0]
        if len(wanted) == 1
        else col(ConsentRequest.contact_id).in_(wanted)
    )
    rows = session.exec(
        select(col(ConsentRequest.contact_id), col(ConsentRequest.pupil_id)).where(
            which,
            col(ConsentRequest.answer) == DECLINED,
            col(ConsentRequest.resolved_at).is_(None),
        )
    ).all()
    return {(contact_id, pupil_id) for contact_id, pupil_id in rows}


def resolve(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    contacts: ContactsOfConsent,
    request_id: int,
    resolution: ResolutionCreate,
) -> ConsentRequest:
    """The school has spoken with the family: the refusal no longer stops the contact. Only a
    DSL or the headteacher may say so, never the member of staff who wants the contact; once."""
    request = get_scoped(session, actor, ConsentRequest, request_id, "No such consent request.")
    school = visible_school(session, actor, request.school_id)
    _may_resolve(actor, school)
    if request.answer != DECLINED:
        raise RuleBroken("Only a refusal is resolved: this request was not declined.")
    contact = contacts.find(session, request.contact_id)
    if contact is not None and contact.holder_id == actor.staff_id:
        raise Forbidden("Nobody resolves a refusal of their own contact.")
    once.claim(
        session,
        ConsentRequest,
        request.id,
        still=col(ConsentRequest.resolved_at).is_(None),
        values={"resolved_at": at, "resolved_by_id": actor.staff_id, "resolution": resolution.how},
        too_late="This refusal has already been resolved.",
    )
    session.refresh(request)
    record_event(session, actor, at, request, "consent_request.resolved")
    return request


def to_resolve(
    *, session: Session, actor: Principal, cursor: str | None, limit: int
) -> Page[ConsentRequest]:
    """The school's refusals not yet resolved, the oldest first: for its DSLs and head."""
    school = visible_school(session, actor, actor.school_id or 0)
    assert school.id is not None
    _may_resolve(actor, school)
    query = select(ConsentRequest).where(
        ConsentRequest.school_id == school.id,
        col(ConsentRequest.answer) == DECLINED,
        col(ConsentRequest.resolved_at).is_(None),
    )
    return fetch_page(session, query, col(ConsentRequest.id), cursor=cursor, limit=limit)


def _may_resolve(actor: Principal, school: School) -> None:
    assert school.id is not None
    head = actor.is_headteacher and actor.school_id == school.id
    if not (head or actor.acts_as(Role.dsl, school_id=school.id, trust_id=school.trust_id)):
        raise Forbidden("Only the headteacher or a dsl may resolve a parent's refusal.")
