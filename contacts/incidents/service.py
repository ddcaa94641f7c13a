"""§5.2 and §4.2: unsolicited or chance contact and online abuse, recorded and then discussed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from contacts.incidents.models import (
    DiscussionCreate,
    Incident,
    IncidentCreate,
    IncidentPublic,
    IncidentPupil,
    IncidentPupilIn,
)
from contacts.models import Alert, AlertKind
from core import once
from core.directory.access import get_scoped, own_or_reports, require_role, visible_school
from core.directory.models import Pupil, Role, School, Staff
from core.directory.pupils import births_now
from core.directory.staff import manages
from core.errors import Conflict, Forbidden, RuleBroken
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit, seals


def report_incident(
    *, session: Session, actor: Principal, at: datetime, incident_in: IncidentCreate
) -> Incident:
    """Any member of staff records what happened; their line manager and the DSL are emailed."""
    if actor.staff_id is None or actor.school_id is None:
        raise Forbidden("Incidents are reported by a member of staff.")
    school = visible_school(session, actor, actor.school_id)
    pupil_ids = [p.pupil_id for p in incident_in.pupils]
    found = session.exec(
        select(Pupil.id).where(col(Pupil.id).in_(pupil_ids), Pupil.school_id == school.id)
    ).all()
    if len(set(found)) != len(pupil_ids):
        raise RuleBroken("Every pupil named must be a pupil of your school.")
    if incident_in.occurred_at > at:
        raise RuleBroken("occurred_at is in the future.")
    assert school.id is not None
    incident = Incident(
        school_id=school.id,
        reporter_id=actor.staff_id,
        kind=incident_in.kind,
        platform=incident_in.platform,
        platform_name=incident_in.platform_name,
        occurred_at=incident_in.occurred_at,
        reported_at=at,
        what_happened=incident_in.what_happened,
        personal_information_shared=incident_in.personal_information_shared,
        other_person=incident_in.other_person,
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    born = births_now(session, [p.pupil_id for p in incident_in.pupils])
    for pupil in incident_in.pupils:
        session.add(
            IncidentPupil(
                incident_id=incident.id,
                pupil_id=pupil.pupil_id,
                part=pupil.part,
                born_on=born[pupil.pupil_id],
            )
        )
    session.add(
        Alert(
            school_id=school.id,
            kind=AlertKind.incident_reported,
            incident_id=incident.id,
            staff_id=actor.staff_id,
            created_at=at,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="incident.reported",
        object_type="incident",
        object_id=incident.id,
        school_id=school.id,
        details={"kind": incident.kind, "pupil_ids": pupil_ids},
        sealed=seals.seal(session, ("incident", incident.id)),
    )
    return incident


def _incident_in_scope(
    session: Session, actor: Principal, incident_id: int
) -> tuple[Incident, School, Staff]:
    incident = get_scoped(session, actor, Incident, incident_id, "No such incident.")
    school = session.get(School, incident.school_id)
    assert school is not None
    reporter = session.get(Staff, incident.reporter_id)
    assert reporter is not None
    if incident.reporter_id != actor.staff_id and not manages(actor, reporter, school):
        require_role(actor, school, Role.dsl, action="read other staff's incidents")
    return incident, school, reporter


def get_incident(*, session: Session, actor: Principal, incident_id: int) -> Incident:
    return _incident_in_scope(session, actor, incident_id)[0]


def list_incidents(
    *,
    session: Session,
    actor: Principal,
    open_only: bool = False,
    pupil_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Incident]:
    """Mine (staff), my reports' (approvers), the school's (DSL, headteacher)."""
    school = visible_school(session, actor, actor.school_id or 0)
    assert school.id is not None
    query = select(Incident).where(
        Incident.school_id == school.id,
        own_or_reports(actor, school, col(Incident.reporter_id)),
    )
    if open_only:
        query = query.where(col(Incident.discussed_at).is_(None))
    if pupil_id is not None:
        involved = select(IncidentPupil.incident_id).where(IncidentPupil.pupil_id == pupil_id)
        query = query.where(col(Incident.id).in_(involved))
    return fetch_page(session, query, col(Incident.id), cursor=cursor, limit=limit)


def record_discussion(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    incident_id: int,
    discussion: DiscussionCreate,
) -> Incident:
    """§5.2: the reporter's headteacher or line manager records the discussion and its outcome."""
    incident, school, reporter = _incident_in_scope(session, actor, incident_id)
    assert school.id is not None
    if incident.reporter_id == actor.staff_id:
        raise Forbidden("The discussion is recorded by the reporter's line manager or headteacher.")
    if not (
        actor.acts_as(Role.approver, school_id=school.id, trust_id=school.trust_id)
        and manages(actor, reporter, school)
    ):
        raise Forbidden("Only the reporter's line manager or headteacher records the discussion.")
    if incident.discussed_at is not None:
        raise Conflict("The discussion of this incident has already been recorded.")
    if discussion.discussed_at.tzinfo is None:
        raise RuleBroken("discussed_at needs a time zone offset.")
    if discussion.discussed_at > at:
        raise RuleBroken("discussed_at is in the future.")
    once.claim(
        session,
        Incident,
        incident.id,
        still=col(Incident.discussed_at).is_(None),
        values={
            "discussed_with_id": actor.staff_id,
            "discussed_at": discussion.discussed_at,
            "outcome": discussion.outcome,
            "parent_involved": discussion.parent_involved,
        },
        too_late="The discussion of this incident has already been recorded.",
    )
    audit.record(
        session,
        actor=actor,
        at=at,
        action="incident.discussed",
        object_type="incident",
        object_id=incident.id,
        school_id=incident.school_id,
        details={"parent_involved": discussion.parent_involved},
        sealed=seals.seal(session, ("incident", incident.id)),
    )
    return incident


def incident_views(session: Session, incidents: Sequence[Incident]) -> list[IncidentPublic]:
    ids = [i.id for i in incidents if i.id is not None]
    parts: dict[int, list[IncidentPupilIn]] = defaultdict(list)
    if ids:
        for row in session.exec(
            select(IncidentPupil).where(col(IncidentPupil.incident_id).in_(ids))
        ):
            parts[row.incident_id].append(
                IncidentPupilIn.model_validate({"pupil_id": row.pupil_id, "part": row.part})
            )
    return [
        IncidentPublic.model_validate(
            {
                **i.model_dump(),
                "pupils": sorted(parts[i.id or 0], key=lambda p: p.pupil_id),
                "open": i.discussed_at is None,
            }
        )
        for i in incidents
    ]
