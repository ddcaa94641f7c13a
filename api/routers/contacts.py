"""Contacts: requests, the written decision, ending, deletion, and the communication log."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from contacts import deletions, messages, service
from contacts.models import (
    ContactCreate,
    ContactPublic,
    ContactState,
    DecisionCreate,
    DeletionCreate,
    DeletionTaskPublic,
    EndCreate,
    MessageCreate,
    MessagePublic,
)
from contacts.views import contact_view, contact_views
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["contacts"])


@router.post("/contacts", response_model=ContactPublic, status_code=201)
def request_contact(body: ContactCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """Ask in advance for contact with pupils on one platform (§5.1, §5.3)."""
    if replayed := idem.replay(acting, body):
        return replayed
    contact = service.request_contact(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contact_in=body,
    )
    return idem.answer(contact_view(acting.session, contact, policy=acting.policy, at=acting.at))


@router.get("/contacts", response_model=Page[ContactPublic])
def list_contacts(
    acting: ActingDep,
    paging: PagingDep,
    staff_id: RecordId | None = None,
    state: ContactState | None = None,
) -> object:
    """Mine, my reports', or the school's; `state` is the stored state (`active` is shown on
    each contact: approved, with a pupil whose part is active today)."""
    page = service.list_contacts(
        session=acting.session,
        actor=acting.actor,
        staff_id=staff_id,
        state=state,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    views = contact_views(acting.session, page.items, policy=acting.policy, at=acting.at)
    return Page(items=views, next_cursor=page.next_cursor)


@router.get("/contacts/{contact_id:int}", response_model=ContactPublic)
def get_contact(contact_id: RecordId, acting: ActingDep) -> object:
    contact = service.get_contact(session=acting.session, actor=acting.actor, contact_id=contact_id)
    return contact_view(acting.session, contact, policy=acting.policy, at=acting.at)


@router.post("/contacts/{contact_id:int}/decision", response_model=ContactPublic, status_code=200)
def decide(
    contact_id: RecordId, body: DecisionCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """The written permission or refusal of the requester's line manager or headteacher."""
    if replayed := idem.replay(acting, body):
        return replayed
    contact = service.decide(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contact_id=contact_id,
        decision=body,
    )
    view = contact_view(acting.session, contact, policy=acting.policy, at=acting.at)
    return idem.answer(view, status_code=200)


@router.post("/contacts/{contact_id:int}/end", response_model=ContactPublic, status_code=200)
def end_contact(
    contact_id: RecordId, body: EndCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """End now, for every pupil or one; each ended pupil gets a deletion task (§5.6)."""
    if replayed := idem.replay(acting, body):
        return replayed
    contact = service.end_contact(
        session=acting.session, actor=acting.actor, at=acting.at, contact_id=contact_id, end=body
    )
    view = contact_view(acting.session, contact, policy=acting.policy, at=acting.at)
    return idem.answer(view, status_code=200)


@router.post("/contacts/{contact_id:int}/deletion", response_model=ContactPublic, status_code=200)
def confirm_deletion(
    contact_id: RecordId, body: DeletionCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """Confirm the contact method was deleted (how, when); the record itself is kept. Answers
    the contact, as ending and deciding do: each pupil shows `deletion_confirmed_at`."""
    if replayed := idem.replay(acting, body):
        return replayed
    contact = deletions.confirm_deletion(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        contact_id=contact_id,
        deletion=body,
    )
    view = contact_view(acting.session, contact, policy=acting.policy, at=acting.at)
    return idem.answer(view, status_code=200)


@router.post("/contacts/{contact_id:int}/messages", response_model=MessagePublic, status_code=201)
def log_message(
    contact_id: RecordId, body: MessageCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """Log one communication (§5.4). Never refused to its owner; flagged where it breaks a rule."""
    if replayed := idem.replay(acting, body):
        return replayed
    message = messages.log_message(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contact_id=contact_id,
        message_in=body,
    )
    return idem.answer(message)


@router.get("/contacts/{contact_id:int}/messages", response_model=Page[MessagePublic])
def list_messages(contact_id: RecordId, acting: ActingDep, paging: PagingDep) -> object:
    return messages.list_messages(
        session=acting.session,
        actor=acting.actor,
        contact_id=contact_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/contacts/{contact_id:int}/messages/{message_id:int}", response_model=MessagePublic)
def get_message(contact_id: RecordId, message_id: RecordId, acting: ActingDep) -> object:
    """One entry of the log. The log is append-only: it has no PUT, PATCH or DELETE."""
    return messages.get_message(
        session=acting.session, actor=acting.actor, contact_id=contact_id, message_id=message_id
    )


@router.get("/deletion-tasks", response_model=Page[DeletionTaskPublic], tags=["deletion tasks"])
def list_deletion_tasks(acting: ActingDep, paging: PagingDep, open_only: bool = True) -> object:
    """Open deletions, oldest first: mine, my reports', or the school's for the DSL.
    `escalated_at` is set once one is overdue and the line manager and DSL were told."""
    page = deletions.list_deletion_tasks(
        session=acting.session,
        actor=acting.actor,
        open_only=open_only,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return Page(
        items=[DeletionTaskPublic.model_validate(t) for t in page.items],
        next_cursor=page.next_cursor,
    )
