"""Incidents: unsolicited or chance contact, harassment or abuse, and their discussion."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from contacts.incidents import service as incidents
from contacts.incidents.models import DiscussionCreate, IncidentCreate, IncidentPublic
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["incidents"])


@router.post("/incidents", response_model=IncidentPublic, status_code=201)
def report_incident(body: IncidentCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """Record unsolicited or chance contact, or abuse received (§5.2, §4.2); share nothing back."""
    if replayed := idem.replay(acting, body):
        return replayed
    incident = incidents.report_incident(
        session=acting.session, actor=acting.actor, at=acting.at, incident_in=body
    )
    return idem.answer(incidents.incident_views(acting.session, [incident])[0])


@router.get("/incidents", response_model=Page[IncidentPublic])
def list_incidents(
    acting: ActingDep,
    paging: PagingDep,
    open_only: bool = False,
    pupil_id: RecordId | None = None,
) -> object:
    page = incidents.list_incidents(
        session=acting.session,
        actor=acting.actor,
        open_only=open_only,
        pupil_id=pupil_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    views = incidents.incident_views(acting.session, page.items)
    return Page(items=views, next_cursor=page.next_cursor)


@router.get("/incidents/{incident_id:int}", response_model=IncidentPublic)
def get_incident(incident_id: RecordId, acting: ActingDep) -> object:
    incident = incidents.get_incident(
        session=acting.session, actor=acting.actor, incident_id=incident_id
    )
    return incidents.incident_views(acting.session, [incident])[0]


@router.post(
    "/incidents/{incident_id:int}/discussion", response_model=IncidentPublic, status_code=200
)
def record_discussion(
    incident_id: RecordId, body: DiscussionCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """The reporter's line manager or headteacher records who, when, the outcome, the parent."""
    if replayed := idem.replay(acting, body):
        return replayed
    incident = incidents.record_discussion(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        incident_id=incident_id,
        discussion=body,
    )
    return idem.answer(incidents.incident_views(acting.session, [incident])[0], status_code=200)
