"""Pages for staff and approvers: my contacts with each pupil's state and the deletions I owe;
log a communication in a few taps; confirm a deletion; decide a request. Every page calls the
same services as the API, so every rule (and every refusal) is theirs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, Unreadable, local_time, submit
from api.web.render import PAGE_SIZE, Pager, page_for, paged
from contacts import deletions, messages, service
from contacts.capture import gaps
from contacts.flags import told_after_logging
from contacts.models import (
    ContactPublic,
    ContactState,
    DecisionCreate,
    DeletionCreate,
    EndCreate,
    MessageCreate,
)
from contacts.views import contact_view, contact_views, device_tags, last_device_tag
from core.directory.models import Role, School
from core.directory.names import pupil_names, staff_names
from core.errors import Forbidden
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# What a redirect may say: fixed words, so no personal data travels in a URL.
DONE = {
    "logged": "Logged. It is on the record.",
    "deleted": "Deletion confirmed.",
    "approved": "Approved: the written permission is on the record.",
    "rejected": "Rejected: the reason is on the record.",
    "requested": "Requested: your line manager has been asked to decide.",
    "reported": "Reported: your line manager and the DSL have been told.",
    "ended": "Ended: a deletion task was made for each pupil whose part ended.",
}


def _notice(done: str | None) -> str | None:
    return DONE.get(done or "")


@router.get("/")
def home(acting: PageDep, done: str | None = None) -> Response:
    """Where each person starts: the pages their roles may use."""
    actor = acting.actor
    return page_for(
        acting,
        "home.html",
        title="contactlog",
        name=staff_names(acting.session, actor, [actor.staff_id]).get(actor.staff_id or 0),
        notice=_notice(done),
        is_staff=actor.has(Role.staff),
        is_approver=actor.has(Role.approver) or actor.is_headteacher,
        is_dsl=actor.has(Role.dsl) or actor.has(Role.trust_dsl),
        is_admin=actor.has(Role.admin) or actor.has(Role.trust_admin),
    )


@router.get("/app/contacts")
def my_contacts(acting: PageDep, cursor: str | None = None, past: bool = False) -> Response:
    """My contacts, each pupil's state today, and the deletions I still owe; those over for
    good (refused, or closed) on a page of their own, the latest first."""
    found = service.list_contacts(
        session=acting.session,
        actor=acting.actor,
        staff_id=acting.actor.staff_id,
        past=past,
        cursor=cursor,
        limit=PAGE_SIZE,
        newest_first=past,
    )
    views = contact_views(acting.session, found.items, policy=acting.policy, at=acting.at)
    names = pupil_names(acting.session, acting.actor, (p.pupil_id for v in views for p in v.pupils))
    # What the platform captured on each that is not in my log yet.
    missing = gaps.missing_counts(acting.session, contact_ids=[v.id for v in views])
    return page_for(
        acting,
        "contacts.html",
        missing=missing,
        title="My past contacts" if past else "My contacts",
        past=past,
        contacts=views,
        pager=paged(acting, found),
        names=names,
    )


def _contact(acting: PageActing, contact_id: int) -> ContactPublic:
    contact = service.get_contact(session=acting.session, actor=acting.actor, contact_id=contact_id)
    return contact_view(acting.session, contact, policy=acting.policy, at=acting.at)


def _may_decide(acting: PageActing, view: ContactPublic) -> bool:
    actor = acting.actor
    return (
        view.state == ContactState.requested
        and view.staff_id != actor.staff_id
        and (actor.has(Role.approver) or actor.is_headteacher)
    )


@router.get("/app/contacts/{contact_id:int}")
def contact_page(
    contact_id: RecordId,
    acting: PageDep,
    done: str | None = None,
    cursor: str | None = None,
    entry: RecordId | None = None,
) -> Response:
    if done == "logged" and entry is not None:
        # Just logged: what it was flagged for, and who hears of it, said at once.
        logged = messages.get_message(
            session=acting.session, actor=acting.actor, contact_id=contact_id, message_id=entry
        )
        said, warning = told_after_logging(logged.flags)
        return _contact_page(acting, contact_id, notice=said, warning=warning, cursor=cursor)
    return _contact_page(acting, contact_id, notice=_notice(done), cursor=cursor)


def _contact_page(
    acting: PageActing,
    contact_id: int,
    *,
    notice: str | None = None,
    warning: bool = False,
    problems: list[str] | None = None,
    status: int = 200,
    cursor: str | None = None,
) -> Response:
    view = _contact(acting, contact_id)
    logged: Pager | None
    try:
        # The newest first: what was logged a moment ago is what its author looks for.
        logged = paged(
            acting,
            messages.list_messages(
                session=acting.session,
                actor=acting.actor,
                contact_id=contact_id,
                cursor=cursor,
                limit=PAGE_SIZE,
                newest_first=True,
            ),
        )
    except Forbidden:  # an admin sees the contact, not what was said on it
        logged = None
    mine = view.staff_id == acting.actor.staff_id
    owed = [p for p in view.pupils if p.ended_at is not None and p.deletion_confirmed_at is None]
    return page_for(
        acting,
        "contact.html",
        title=f"Contact #{view.id}",
        notice=notice,
        warning=warning,
        problems=problems or [],
        status=status,
        contact=view,
        names=pupil_names(acting.session, acting.actor, (p.pupil_id for p in view.pupils)),
        staff=staff_names(acting.session, acting.actor, (view.staff_id, view.decided_by_id)),
        devices=device_tags(acting.session, view.device_ids),
        pager=logged,
        mine=mine,
        may_log=mine and view.state == ContactState.approved,
        owed=owed if mine else [],
        may_decide=_may_decide(acting, view),
        may_resolve=not mine and (acting.actor.has(Role.dsl) or acting.actor.is_headteacher),
        # The service decides who may end it; the form is offered while it is approved.
        may_end=view.state == ContactState.approved,
        # A DSL keeps and hands on the record (never of their own contact).
        may_keep=not mine and (acting.actor.has(Role.dsl) or acting.actor.has(Role.trust_dsl)),
        subject_type="contact",
        subject_id=view.id,
        pack_href=f"/app/contacts/{view.id}/evidence-pack",
    )


def _log_form(
    acting: PageActing, view: ContactPublic, problems: list[str] | None = None, status: int = 200
) -> Response:
    assert acting.actor.staff_id is not None
    devices = device_tags(acting.session, view.device_ids)
    remembered = last_device_tag(acting.session, staff_id=acting.actor.staff_id, contact_id=view.id)
    school = acting.session.get(School, view.school_id)
    assert school is not None
    now_there = acting.at.astimezone(acting.policy.zone(school))
    return page_for(
        acting,
        "log.html",
        title=f"Log a communication · contact #{view.id}",
        contact=view,
        names=pupil_names(acting.session, acting.actor, (p.pupil_id for p in view.pupils)),
        devices=devices,
        device=remembered or (devices[0] if devices else ""),
        occurred=now_there.strftime("%Y-%m-%dT%H:%M"),
        problems=problems or [],
        status=status,
    )


@router.get("/app/contacts/{contact_id:int}/log")
def log_form(contact_id: RecordId, acting: PageDep) -> Response:
    """Direction, what was said, when: the device and the pupils are already filled in."""
    return _log_form(acting, _contact(acting, contact_id))


class LogForm(PageForm):
    direction: str = ""
    occurred_at: str = ""
    summary: str = ""
    verbatim: str = ""
    device_tag: str = ""
    pupil_ids: list[str] = []


@router.post("/app/contacts/{contact_id:int}/log")
def log_communication(
    contact_id: RecordId, acting: PageDep, form: Annotated[LogForm, Form()]
) -> Response:

    def read() -> MessageCreate:
        if not form.pupil_ids:
            raise Unreadable("pupil_ids", "tick the pupils it was with")
        school = acting.session.get(School, _contact(acting, contact_id).school_id)
        assert school is not None
        # As the phone showed it: the school's local time.
        when = local_time("occurred_at", form.occurred_at, acting.policy.zone(school))
        return MessageCreate.model_validate({**form.values(), "occurred_at": when})

    def act(body: MessageCreate) -> str:
        logged = messages.log_message(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contact_id=contact_id,
            message_in=body,
        )
        return f"/app/contacts/{contact_id}?done=logged&entry={logged.id}"

    def again(problems: Problems) -> Response:
        return _log_form(acting, _contact(acting, contact_id), problems, status=422)

    return submit(acting, form, read, act, again)


def _contact_again(acting: PageActing, contact_id: int) -> Callable[[Problems], Response]:
    return lambda problems: _contact_page(acting, contact_id, problems=problems, status=422)


class DeletionForm(PageForm):
    how: str = ""


@router.post("/app/contacts/{contact_id:int}/deletion")
def confirm_deletion(
    contact_id: RecordId, acting: PageDep, form: Annotated[DeletionForm, Form()]
) -> Response:
    def read() -> DeletionCreate:
        return DeletionCreate.model_validate(form.values())

    def act(deletion: DeletionCreate) -> str:
        deletions.confirm_deletion(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            contact_id=contact_id,
            deletion=deletion,
        )
        return f"/app/contacts/{contact_id}?done=deleted"

    return submit(acting, form, read, act, again=_contact_again(acting, contact_id))


# How many requests one page of "Requests to decide" shows (the longest waiting first), and how
# many of the contacts already decided (the newest first).
WAITING_PAGE = 100
DECIDED_SHOWN = 50


@router.get("/app/approvals")
def approvals(acting: PageDep, cursor: str | None = None) -> Response:
    """Requests from the people I line-manage (all the school's, for a headteacher), the
    longest waiting first, a page at a time; and their contacts decided most recently."""
    theirs = functools.partial(
        service.list_contacts,
        session=acting.session,
        actor=acting.actor,
        not_staff_id=acting.actor.staff_id,
    )
    waiting = theirs(decided=False, cursor=cursor, limit=WAITING_PAGE)
    decided = theirs(decided=True, newest_first=True, limit=DECIDED_SHOWN)
    views = contact_views(
        acting.session, [*waiting.items, *decided.items], policy=acting.policy, at=acting.at
    )
    return page_for(
        acting,
        "approvals.html",
        title="Requests to decide",
        contacts=views[: len(waiting.items)],
        decided=views[len(waiting.items) :],
        pager=paged(acting, waiting),
        staff=staff_names(acting.session, acting.actor, (v.staff_id for v in views)),
        names=pupil_names(
            acting.session, acting.actor, (p.pupil_id for v in views for p in v.pupils)
        ),
    )


class DecisionForm(PageForm):
    verdict: str = ""
    conditions: str = ""
    note: str = ""
    reason: str = ""


@router.post("/app/contacts/{contact_id:int}/decision")
def decide(
    contact_id: RecordId, acting: PageDep, form: Annotated[DecisionForm, Form()]
) -> Response:
    """The written permission, with conditions, or the refusal, with its reason."""

    def read() -> DecisionCreate:
        approve = form.verdict == "approve"
        typed = form.values()
        # Only what goes with the verdict chosen: the other's box may still hold text.
        return DecisionCreate.model_validate(
            {
                "approve": approve,
                "conditions": typed["conditions"] if approve else None,
                "note": typed["note"] if approve else None,
                "reason": None if approve else typed["reason"],
            }
        )

    def act(decision: DecisionCreate) -> str:
        service.decide(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contact_id=contact_id,
            decision=decision,
        )
        return f"/app/contacts/{contact_id}?done={'approved' if decision.approve else 'rejected'}"

    return submit(acting, form, read, act, again=_contact_again(acting, contact_id))


class EndForm(PageForm):
    reason: str = ""
    pupil_id: str = ""


@router.post("/app/contacts/{contact_id:int}/end")
def end_contact(
    contact_id: RecordId, acting: PageDep, form: Annotated[EndForm, Form()]
) -> Response:
    """The purpose has ended: the contact ends now, for every pupil or one (§5.6)."""

    def read() -> EndCreate:
        return EndCreate.model_validate(form.values())

    def act(end: EndCreate) -> str:
        service.end_contact(
            session=acting.session, actor=acting.actor, at=acting.at, contact_id=contact_id, end=end
        )
        return f"/app/contacts/{contact_id}?done=ended"

    return submit(acting, form, read, act, again=_contact_again(acting, contact_id))
