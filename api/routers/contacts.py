"""Contacts: requests, the written decision, ending, deletion, and the communication log."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from api.deps import CurrentPrincipal, PagingDep, SessionDep
from api.idempotency import IdempotentDep
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
from contacts.views import contact_views
from core.directory.models import RecordId
from core.pagination import Page

router = APIRouter(tags=["contacts"])


def _view(session: Session):  # type: ignore[no-untyped-def]
    return lambda contact: contact_views(session, [contact])[0]


@router.post("/contacts", response_model=ContactPublic, status_code=201)
def request_contact(body: ContactCreate, session: SessionDep, idem: IdempotentDep) -> object:
    """Ask in advance for contact with pupils on one platform (§5.1, §5.3)."""
    return idem.create(
        body,
        lambda actor: service.request_contact(session=session, actor=actor, contact_in=body),
        _view(session),
    )


@router.get("/contacts", response_model=Page[ContactPublic])
def list_contacts(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    staff_id: RecordId | None = None,
    state: ContactState | None = None,
) -> object:
    page = service.list_contacts(
        session=session,
        actor=actor,
        staff_id=staff_id,
        state=state,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return Page(items=contact_views(session, page.items), next_cursor=page.next_cursor)


@router.get("/contacts/{contact_id:int}", response_model=ContactPublic)
def get_contact(contact_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    contact = service.get_contact(session=session, actor=actor, contact_id=contact_id)
    return contact_views(session, [contact])[0]


@router.post("/contacts/{contact_id:int}/decision", response_model=ContactPublic, status_code=200)
def decide(
    contact_id: RecordId,
    body: DecisionCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """The written permission or refusal of the requester's line manager or headteacher."""
    return idem.create(
        body,
        lambda actor: service.decide(
            session=session, actor=actor, contact_id=contact_id, decision=body
        ),
        _view(session),
        status_code=200,
    )


@router.post("/contacts/{contact_id:int}/end", response_model=ContactPublic, status_code=200)
def end_contact(
    contact_id: RecordId,
    body: EndCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """End now, for every pupil or one; each ended pupil gets a deletion task (§5.6)."""
    return idem.create(
        body,
        lambda actor: service.end_contact(
            session=session, actor=actor, contact_id=contact_id, end=body
        ),
        _view(session),
        status_code=200,
    )


@router.post("/contacts/{contact_id:int}/deletion", response_model=ContactPublic, status_code=200)
def confirm_deletion(
    contact_id: RecordId,
    body: DeletionCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """Confirm the contact method was deleted (how, when); the record itself is kept. Answers
    the contact, as ending and deciding do: each pupil shows `deletion_confirmed_at`."""
    return idem.create(
        body,
        lambda actor: deletions.confirm_deletion(
            session=session, actor=actor, contact_id=contact_id, deletion=body
        ),
        _view(session),
        status_code=200,
    )


@router.post("/contacts/{contact_id:int}/messages", response_model=MessagePublic, status_code=201)
def log_message(
    contact_id: RecordId,
    body: MessageCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """Log one communication (§5.4). Never refused to its owner; flagged where it breaks a rule."""
    return idem.create(
        body,
        lambda actor: messages.log_message(
            session=session, actor=actor, contact_id=contact_id, message_in=body
        ),
        lambda message: message,
    )


@router.get("/contacts/{contact_id:int}/messages", response_model=Page[MessagePublic])
def list_messages(
    contact_id: RecordId, session: SessionDep, actor: CurrentPrincipal, paging: PagingDep
) -> object:
    return messages.list_messages(
        session=session,
        actor=actor,
        contact_id=contact_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/contacts/{contact_id:int}/messages/{message_id:int}", response_model=MessagePublic)
def get_message(
    contact_id: RecordId, message_id: RecordId, session: SessionDep, actor: CurrentPrincipal
) -> object:
    """One entry of the log. The log is append-only: it has no PUT, PATCH or DELETE."""
    return messages.get_message(
        session=session, actor=actor, contact_id=contact_id, message_id=message_id
    )


@router.get("/deletion-tasks", response_model=Page[DeletionTaskPublic], tags=["deletion tasks"])
def list_deletion_tasks(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    open_only: bool = True,
) -> object:
    """Open deletions, oldest first: mine, my reports', or the school's for the DSL.
    `escalated_at` is set once one is overdue and the line manager and DSL were told."""
    page = deletions.list_deletion_tasks(
        session=session, actor=actor, open_only=open_only, cursor=paging.cursor, limit=paging.limit
    )
    return Page(
        items=[DeletionTaskPublic.model_validate(t) for t in page.items],
        next_cursor=page.next_cursor,
    )
