"""Forms a member of staff fills in from anywhere: ask in advance for contact with pupils (the
written permission comes from their line manager), and report unsolicited or chance contact."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.render import all_of, page_for, problems_of, see_other
from contacts import service
from contacts.incidents import service as incidents
from contacts.incidents.models import IncidentCreate, IncidentKind, PupilPart
from contacts.models import ContactCreate, Platform
from contacts.views import contact_views, pupil_names
from core.directory.models import School
from core.directory.schools import list_devices

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _school(acting: PageActing) -> School:
    school = acting.session.get(School, acting.actor.school_id or 0)
    assert school is not None
    return school


def _request_form(
    acting: PageActing, problems: list[str] | None = None, status: int = 200
) -> Response:
    devices = all_of(list_devices, session=acting.session, actor=acting.actor, active=True)
    return page_for(
        acting,
        "request.html",
        title="Ask for contact with pupils",
        platforms=list(Platform),
        devices=devices,
        today=acting.policy.today(_school(acting), acting.at),
        problems=problems or [],
        status=status,
    )


@router.get("/app/contacts/new")
def request_form(acting: PageDep) -> Response:
    return _request_form(acting)


@router.post("/app/contacts/new")
def request_contact(
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    platform: Annotated[str, Form(max_length=20)] = "",
    platform_name: Annotated[str, Form(max_length=110)] = "",
    school_account: Annotated[str, Form(max_length=210)] = "",
    purpose: Annotated[str, Form(max_length=2100)] = "",
    pupil_references: Annotated[str, Form(max_length=5000)] = "",
    device_ids: Annotated[list[int] | None, Form()] = None,
    starts_on: Annotated[str, Form(max_length=20)] = "",
    ends_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """As POST /contacts: the pupils named by the school references staff know them by."""
    acting.check_form(form_token)
    try:
        contact_in = ContactCreate.model_validate(
            {
                "platform": platform or None,
                "platform_name": platform_name or None,
                "school_account": school_account,
                "purpose": purpose,
                "pupil_references": [r for r in re.split(r"[\s,;]+", pupil_references) if r],
                "device_ids": device_ids or [],
                "starts_on": starts_on or None,
                "ends_on": ends_on or None,
            }
        )
    except ValidationError as exc:
        return _request_form(acting, problems_of(exc), status=422)
    contact = service.request_contact(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contact_in=contact_in,
    )
    return see_other(f"/app/contacts/{contact.id}?done=requested")


def _known_pupils(acting: PageActing) -> dict[int, str]:
    """The pupils on my own contacts: the ones a report from me is likely to be about."""
    mine = all_of(
        service.list_contacts,
        session=acting.session,
        actor=acting.actor,
        staff_id=acting.actor.staff_id,
    )
    ids = {
        p.pupil_id
        for v in contact_views(acting.session, mine, policy=acting.policy, at=acting.at)
        for p in v.pupils
    }
    return pupil_names(acting.session, ids)


def _incident_form(
    acting: PageActing, problems: list[str] | None = None, status: int = 200
) -> Response:
    return page_for(
        acting,
        "incident.html",
        title="Report unsolicited or chance contact",
        kinds=list(IncidentKind),
        parts=list(PupilPart),
        pupils=sorted(_known_pupils(acting).items(), key=lambda p: p[1]),
        platforms=list(Platform),
        now=acting.at.astimezone(acting.policy.zone(_school(acting))).strftime("%Y-%m-%dT%H:%M"),
        problems=problems or [],
        status=status,
    )


@router.get("/app/incidents/new")
def incident_form(acting: PageDep) -> Response:
    return _incident_form(acting)


@router.post("/app/incidents/new")
def report_incident(
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    platform: Annotated[str, Form(max_length=20)] = "",
    occurred_at: Annotated[str, Form(max_length=40)] = "",
    what_happened: Annotated[str, Form(max_length=5100)] = "",
    personal_information_shared: Annotated[str, Form(max_length=5)] = "",
    other_person: Annotated[str, Form(max_length=210)] = "",
    pupil_id: Annotated[str, Form(max_length=20)] = "",
    part: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """As POST /incidents; the DSL hears of it at once."""
    acting.check_form(form_token)
    try:
        when = datetime.fromisoformat(occurred_at) if occurred_at else None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=acting.policy.zone(_school(acting)))
        incident_in = IncidentCreate.model_validate(
            {
                "kind": kind or None,
                "platform": platform or None,
                "occurred_at": when,
                "what_happened": what_happened,
                "personal_information_shared": personal_information_shared == "yes",
                "other_person": other_person or None,
                "pupils": [{"pupil_id": pupil_id, "part": part or None}] if pupil_id else [],
            }
        )
    except ValidationError as exc:
        return _incident_form(acting, problems_of(exc), status=422)
    except ValueError:
        return _incident_form(acting, ["when: give the date and time it happened"], status=422)
    incidents.report_incident(
        session=acting.session, actor=acting.actor, at=acting.at, incident_in=incident_in
    )
    return see_other("/?done=reported")
