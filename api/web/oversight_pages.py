"""Oversight pages: incidents and deletions owed (DSL), a member of staff's chronology, and
privileged changes waiting for a second person (admin, headteacher)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, local_time, submit
from api.web.render import PAGE_SIZE, page_for, paged
from contacts import deletions
from contacts.capture import gaps
from contacts.incidents import service as incidents
from contacts.incidents.models import DiscussionCreate
from contacts.oversight import chronology
from core.directory import privileged
from core.directory.models import Role
from core.directory.names import pupil_names, staff_names
from core.errors import Forbidden
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/app/incidents")
def incident_list(
    acting: PageDep, open_only: bool = False, done: str | None = None, cursor: str | None = None
) -> Response:
    return _incidents(acting, open_only=open_only, done=done, cursor=cursor)


@router.get("/app/incidents/{incident_id:int}")
def incident_page(incident_id: RecordId, acting: PageDep) -> Response:
    """One incident, as its email links to it: what happened, and its discussion."""
    return _incidents(acting, incident_id=incident_id)


def _incidents(
    acting: PageActing,
    *,
    incident_id: int | None = None,
    open_only: bool = False,
    done: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
    cursor: str | None = None,
) -> Response:
    if incident_id is not None:
        one = incidents.get_incident(
            session=acting.session, actor=acting.actor, incident_id=incident_id
        )
        shown, pager, title = [one], None, f"Incident #{incident_id}"
    else:
        found = incidents.list_incidents(
            session=acting.session,
            actor=acting.actor,
            open_only=open_only,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        shown, pager, title = found.items, paged(acting, found), "Incidents"
    views = incidents.incident_views(acting.session, shown)
    return page_for(
        acting,
        "incidents.html",
        title=title,
        incidents=views,
        pupils=pupil_names(
            acting.session, acting.actor, (p.pupil_id for v in views for p in v.pupils)
        ),
        staff=staff_names(acting.session, acting.actor, (v.reporter_id for v in views)),
        pager=pager,
        # The reporter's line manager or headteacher records the discussion (§5.2).
        may_discuss=acting.actor.has(Role.approver) or acting.actor.is_headteacher,
        now=acting.at.astimezone(acting.policy.zone_of(None)).strftime("%Y-%m-%dT%H:%M"),
        notice="Discussion recorded." if done == "discussed" else None,
        problems=problems or [],
        status=status,
        # One incident, for a DSL who did not report it: it may be kept for an investigation.
        may_keep=incident_id is not None
        and views[0].reporter_id != acting.actor.staff_id
        and (acting.actor.has(Role.dsl) or acting.actor.has(Role.trust_dsl)),
        subject_type="incident",
        subject_id=incident_id,
    )


@router.get("/app/deletions")
def deletions_owed(acting: PageDep, cursor: str | None = None) -> Response:
    tasks = deletions.list_deletion_tasks(
        session=acting.session, actor=acting.actor, open_only=True, cursor=cursor, limit=PAGE_SIZE
    )
    return page_for(
        acting,
        "deletions.html",
        title="Deletions owed",
        pager=paged(acting, tasks),
        pupils=pupil_names(acting.session, acting.actor, (t.pupil_id for t in tasks.items)),
        staff=staff_names(acting.session, acting.actor, (t.staff_id for t in tasks.items)),
        now=acting.at,
    )


@router.get("/app/staff/{staff_id:int}/chronology")
def staff_chronology(staff_id: RecordId, acting: PageDep, cursor: str | None = None) -> Response:
    entries = chronology.staff_chronology(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_id=staff_id,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    named = staff_names(acting.session, acting.actor, [staff_id])
    try:  # what the platform captured on their contacts, against their log
        captured = gaps.staff_gaps(
            session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
        )
    except Forbidden:  # never one's own
        captured = []
    return page_for(
        acting,
        "chronology.html",
        captured=[c for c in captured if c.captured],
        title=f"Chronology of {named.get(staff_id, 'a member of staff')}",
        pager=paged(acting, entries),
        subject_type="staff",
        subject_id=staff_id,
        subject_page=f"/app/staff/{staff_id}",
        subject_link="Their account",
        may_keep=True,  # the chronology is a DSL's, and so are holds and requests
    )


@router.get("/app/pending-changes")
def pending_changes(acting: PageDep, done: str | None = None) -> Response:
    waiting = privileged.list_pending(session=acting.session, actor=acting.actor, at=acting.at)
    # The second person must know whose record they confirm, and who proposed it.
    people = [c.staff_id for c in waiting] + [c.proposed_by_id for c in waiting]
    return page_for(
        acting,
        "pending.html",
        title="Changes to confirm",
        notice={"confirmed": "Confirmed.", "refused": "Refused."}.get(done or ""),
        changes=waiting,
        pupils=pupil_names(acting.session, acting.actor, (c.pupil_id or 0 for c in waiting)),
        staff=staff_names(acting.session, acting.actor, people),
    )


class ChangeDecisionForm(PageForm):
    decision: str = ""


@router.post("/app/pending-changes/{change_id:int}")
def decide_change(
    change_id: RecordId, acting: PageDep, form: Annotated[ChangeDecisionForm, Form()]
) -> Response:
    """The second person confirms or refuses, as POST /pending-changes/{id}/confirm does."""

    def act(confirm: bool) -> str:
        privileged.decide(
            session=acting.session,
            actor=acting.actor,
            change_id=change_id,
            confirm=confirm,
            at=acting.at,
        )
        return f"/app/pending-changes?done={'confirmed' if confirm else 'refused'}"

    return submit(acting, form, lambda: form.decision == "confirm", act)


class DiscussionForm(PageForm):
    discussed_at: str = ""
    outcome: str = ""
    parent_involved: str = ""


@router.post("/app/incidents/{incident_id:int}/discussion")
def record_discussion(
    incident_id: RecordId, acting: PageDep, form: Annotated[DiscussionForm, Form()]
) -> Response:
    """As POST /incidents/{id}/discussion: what was discussed with the reporter, and the outcome."""

    def read() -> DiscussionCreate:
        return DiscussionCreate.model_validate(
            {
                "discussed_at": local_time(
                    "discussed_at", form.discussed_at, acting.policy.zone_of(None)
                ),
                "outcome": form.outcome,
                "parent_involved": form.parent_involved == "yes",
            }
        )

    def act(discussion: DiscussionCreate) -> str:
        incidents.record_discussion(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            incident_id=incident_id,
            discussion=discussion,
        )
        return "/app/incidents?done=discussed"

    def again(problems: Problems) -> Response:
        return _incidents(acting, incident_id=incident_id, problems=problems, status=422)

    return submit(acting, form, read, act, again)
