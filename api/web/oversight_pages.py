"""Oversight pages: incidents and deletions owed (DSL), a member of staff's chronology, the
register of devices, and privileged changes waiting for a second person (admin, headteacher)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageDep
from api.web.render import page_for, see_other
from contacts import chronology, deletions
from contacts.incidents import service as incidents
from core.directory import privileged
from core.directory.models import RecordId
from core.directory.schools import list_devices

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/app/incidents")
def incident_list(acting: PageDep, open_only: bool = False) -> Response:
    found = incidents.list_incidents(
        session=acting.session, actor=acting.actor, open_only=open_only, limit=200
    )
    return page_for(
        acting,
        "incidents.html",
        title="Incidents",
        incidents=incidents.incident_views(acting.session, found.items),
    )


@router.get("/app/deletions")
def deletions_owed(acting: PageDep) -> Response:
    tasks = deletions.list_deletion_tasks(
        session=acting.session, actor=acting.actor, open_only=True, limit=200
    )
    return page_for(
        acting,
        "deletions.html",
        title="Deletions owed",
        tasks=tasks.items,
        now=acting.at,
    )


@router.get("/app/staff/{staff_id:int}/chronology")
def staff_chronology(staff_id: RecordId, acting: PageDep) -> Response:
    entries = chronology.staff_chronology(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_id=staff_id,
        cursor=None,
        limit=200,
    )
    return page_for(
        acting,
        "chronology.html",
        title=f"Chronology of staff member #{staff_id}",
        entries=entries.items,
    )


@router.get("/app/devices")
def device_register(acting: PageDep) -> Response:
    found = list_devices(session=acting.session, actor=acting.actor, limit=200)
    return page_for(
        acting,
        "devices.html",
        title="School-owned devices",
        devices=found.items,
    )


@router.get("/app/pending-changes")
def pending_changes(acting: PageDep, done: str | None = None) -> Response:
    waiting = privileged.list_pending(session=acting.session, actor=acting.actor, at=acting.at)
    return page_for(
        acting,
        "pending.html",
        title="Changes to confirm",
        notice={"confirmed": "Confirmed.", "refused": "Refused."}.get(done or ""),
        changes=waiting,
    )


@router.post("/app/pending-changes/{change_id:int}")
def decide_change(
    change_id: RecordId,
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The second person confirms or refuses, as POST /pending-changes/{id}/confirm does."""
    acting.check_form(form_token)
    privileged.decide(
        session=acting.session,
        actor=acting.actor,
        change_id=change_id,
        confirm=decision == "confirm",
        at=acting.at,
    )
    done = "confirmed" if decision == "confirm" else "refused"
    return see_other(f"/app/pending-changes?done={done}")
