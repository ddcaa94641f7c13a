"""Incidents: unsolicited or chance contact, harassment or abuse, and their discussion."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, PagingDep, SessionDep
from api.idempotency import IdempotentDep
from contacts import incidents
from contacts.incident_models import DiscussionCreate, IncidentCreate, IncidentPublic
from core.directory.models import RecordId
from core.pagination import Page

router = APIRouter(tags=["incidents"])


@router.post("/incidents", response_model=IncidentPublic, status_code=201)
def report_incident(body: IncidentCreate, session: SessionDep, idem: IdempotentDep) -> object:
    """Record unsolicited or chance contact, or abuse received (§5.2, §4.2); share nothing back."""
    return idem.create(
        body,
        lambda actor: incidents.report_incident(session=session, actor=actor, incident_in=body),
        lambda incident: incidents.incident_views(session, [incident])[0],
    )


@router.get("/incidents", response_model=Page[IncidentPublic])
def list_incidents(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    open_only: bool = False,
    pupil_id: RecordId | None = None,
) -> object:
    page = incidents.list_incidents(
        session=session,
        actor=actor,
        open_only=open_only,
        pupil_id=pupil_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return Page(items=incidents.incident_views(session, page.items), next_cursor=page.next_cursor)


@router.get("/incidents/{incident_id:int}", response_model=IncidentPublic)
def get_incident(incident_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    incident = incidents.get_incident(session=session, actor=actor, incident_id=incident_id)
    return incidents.incident_views(session, [incident])[0]


@router.post(
    "/incidents/{incident_id:int}/discussion", response_model=IncidentPublic, status_code=200
)
def record_discussion(
    incident_id: RecordId,
    body: DiscussionCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """The reporter's line manager or headteacher records who, when, the outcome, the parent."""
    return idem.create(
        body,
        lambda actor: incidents.record_discussion(
            session=session, actor=actor, incident_id=incident_id, discussion=body
        ),
        lambda incident: incidents.incident_views(session, [incident])[0],
        status_code=200,
    )
