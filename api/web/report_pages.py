"""Forms a member of staff fills in from anywhere: ask in advance for contact with pupils (the
written permission comes from their line manager), and report unsolicited or chance contact."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, kept_as_typed, local_time, submit
from api.web.render import all_of, page, page_for
from contacts import service
from contacts.incidents import service as incidents
from contacts.incidents.models import IncidentCreate, IncidentKind, PupilPart
from contacts.models import ContactCreate, Platform
from contacts.views import contact_views
from core.directory.models import School
from core.directory.names import find_pupils, pupil_names
from core.directory.schools import list_devices

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _school(acting: PageActing) -> School:
    school = acting.session.get(School, acting.actor.school_id or 0)
    assert school is not None
    return school


@dataclass(frozen=True)
class Picker:
    """The pupils a form has named so far (ticked), and those found by what was typed."""

    chosen: list[tuple[int, str]]
    matches: list[tuple[int, str, str]]
    searched: str = ""


def _ids(typed: list[str]) -> list[int]:
    return [int(i) for i in typed if i.isdigit() and len(i) < 10]


def _picker(
    acting: PageActing, ticked: list[str], searched: str, shown: Iterable[int] = ()
) -> Picker:
    """`shown`: pupils the form lists already (the incident form's own contacts' pupils), left
    out of the picker so that nobody appears twice."""
    listed = set(shown)
    ids = [i for i in _ids(ticked) if i not in listed]
    named = pupil_names(acting.session, acting.actor, ids)
    chosen = [(i, named[i]) for i in dict.fromkeys(ids) if i in named]
    found = find_pupils(
        session=acting.session,
        actor=acting.actor,
        text=searched,
        at=acting.policy.today(_school(acting), acting.at),
    )
    matches = [m for m in found if m[0] not in named and m[0] not in listed]
    return Picker(chosen, matches, searched.strip())


def _request_form(
    acting: PageActing,
    problems: list[str] | None = None,
    status: int = 200,
    picker: Picker | None = None,
) -> Response:
    devices = all_of(list_devices, session=acting.session, actor=acting.actor, active=True)
    return page_for(
        acting,
        "request.html",
        title="Ask for contact with pupils",
        platforms=list(Platform),
        devices=devices,
        today=acting.policy.today(_school(acting), acting.at),
        problems=problems if problems is not None else [],
        status=status,
        picker=picker or Picker([], []),
    )


@router.get("/app/contacts/new")
def request_form(acting: PageDep) -> Response:
    return _request_form(acting)


class RequestForm(PageForm):
    platform: str = ""
    platform_name: str = ""
    school_account: str = ""
    purpose: str = ""
    # The pupils ticked from a search by name, and any school references typed instead
    # (separated by spaces, commas or semicolons).
    pupil_ids: list[str] = []
    pupil_references: str = ""
    # A search for a pupil by name; "find" asks for its matches without sending the request.
    pupil_search: str = ""
    find: str = ""
    device_ids: list[str] = []
    starts_on: str = ""
    ends_on: str = ""


@router.post("/app/contacts/new")
def request_contact(acting: PageDep, form: Annotated[RequestForm, Form()]) -> Response:
    """As POST /contacts: the pupils ticked from a search by name, or named by the school
    references staff know them by. "Find" shows the pupils a name finds, keeping the rest."""
    picker = _picker(acting, form.pupil_ids, form.pupil_search)

    def again(problems: Problems) -> Response:
        return _request_form(acting, problems, status=422, picker=picker)

    if form.find:  # without JavaScript: the matches are shown on the form as it was typed
        acting.check_form(form.form_token)
        return _request_form(acting, kept_as_typed(form), picker=picker)

    def read() -> ContactCreate:
        references = [r for r in re.split(r"[\s,;]+", form.pupil_references) if r]
        return ContactCreate.model_validate(
            {
                **form.values(but=("pupil_references", "pupil_search", "find")),
                "pupil_references": references,
            }
        )

    def act(contact_in: ContactCreate) -> str:
        contact = service.request_contact(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contact_in=contact_in,
        )
        return f"/app/contacts/{contact.id}?done=requested"

    return submit(acting, form, read, act, again)


class MatchesForm(PageForm):
    pupil_ids: list[str] = []
    pupil_search: str = ""
    listed_ids: list[str] = []  # pupils the form shows already


@router.post("/app/pupil-matches")
def pupil_matches(acting: PageDep, form: Annotated[MatchesForm, Form()]) -> Response:
    """The type-ahead: the ticked pupils and those the typed name finds, as the form's part.
    A POST, so that a name typed is never in a URL (nor in an access log)."""
    acting.check_form(form.form_token)
    picker = _picker(acting, form.pupil_ids, form.pupil_search, _ids(form.listed_ids))
    return page("_pupil_matches.html", picker=picker)


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
    return pupil_names(acting.session, acting.actor, ids)


def _incident_form(
    acting: PageActing,
    problems: list[str] | None = None,
    status: int = 200,
    picker: Picker | None = None,
) -> Response:
    known = _known_pupils(acting)
    return page_for(
        acting,
        "incident.html",
        title="Report unsolicited or chance contact",
        kinds=list(IncidentKind),
        parts=list(PupilPart),
        pupils=sorted(known.items(), key=lambda p: p[1]),
        picker=picker or Picker([], []),
        platforms=list(Platform),
        now=acting.at.astimezone(acting.policy.zone(_school(acting))).strftime("%Y-%m-%dT%H:%M"),
        problems=problems if problems is not None else [],
        status=status,
    )


@router.get("/app/incidents/new")
def incident_form(acting: PageDep) -> Response:
    return _incident_form(acting)


class IncidentForm(PageForm):
    kind: str = ""
    platform: str = ""
    occurred_at: str = ""
    what_happened: str = ""
    personal_information_shared: str = ""
    other_person: str = ""
    # The pupils ticked: from my contacts' pupils, or found by name (the same picker as a
    # request's); each has the part chosen.
    pupil_ids: list[str] = []
    pupil_search: str = ""
    find: str = ""
    part: str = ""


@router.post("/app/incidents/new")
def report_incident(acting: PageDep, form: Annotated[IncidentForm, Form()]) -> Response:
    """As POST /incidents; the DSL hears of it at once. "Find" shows the pupils a name finds,
    keeping everything typed."""
    picker = _picker(acting, form.pupil_ids, form.pupil_search, _known_pupils(acting))
    if form.find:
        acting.check_form(form.form_token)
        return _incident_form(acting, kept_as_typed(form), picker=picker)

    def read() -> IncidentCreate:
        typed = form.values()
        return IncidentCreate.model_validate(
            {
                "kind": typed["kind"],
                "platform": typed["platform"],
                "occurred_at": local_time(
                    "occurred_at", form.occurred_at, acting.policy.zone(_school(acting))
                ),
                "what_happened": form.what_happened,
                "personal_information_shared": form.personal_information_shared == "yes",
                "other_person": typed["other_person"],
                "pupils": [
                    {"pupil_id": pupil_id, "part": typed["part"]}
                    for pupil_id in dict.fromkeys(form.pupil_ids)
                ],
            }
        )

    def act(incident_in: IncidentCreate) -> str:
        incidents.report_incident(
            session=acting.session, actor=acting.actor, at=acting.at, incident_in=incident_in
        )
        return "/?done=reported"

    return submit(
        acting,
        form,
        read,
        act,
        again=lambda p: _incident_form(acting, p, status=422, picker=picker),
    )
