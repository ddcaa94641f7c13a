"""The dashboard figures of §5: what is active, missing, overdue, open and waiting; and the
flagged entries per week that the DSL's chart draws."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, text
from sqlmodel import Session, col, func, select

from consent.models import Consent, ConsentRequest
from consent.refusals import refused
from consent.rules import ConsentTerms
from consent.standing import standing
from contacts.data_protection.subject_access import service as subject_access
from contacts.incidents.models import Incident
from contacts.models import (
    CONCERNING,
    FLAGGED,
    Contact,
    ContactPupil,
    ContactState,
    DeletionTask,
    Message,
)
from core.directory.access import schools_read_by, visible_school
from core.directory.models import TRUST_ROLES, Pupil, Role, School, Staff
from core.errors import Forbidden
from core.policy import Policy
from core.principal import Principal


class SchoolSummary(BaseModel):
    school_id: int | None
    active_contacts: int
    awaiting_decision: int
    pupils_without_valid_consent: int
    overdue_deletions: int
    open_deletions: int
    open_incidents: int
    # The review queue: flagged entries and the sample of clean ones, nobody has reviewed yet.
    awaiting_review: int
    oldest_awaiting_review_at: datetime | None
    # Of those, the ones a rule or the lexicon flagged (the sampled clean entries left out).
    unreviewed_flagged: int
    # Subject access requests not answered by their deadline.
    overdue_subject_access: int = 0
    # Parents asked online (consent.requests): still able to answer; and whose link expired
    # without an answer (the admins follow these up).
    consent_requests_waiting: int = 0
    consent_requests_unanswered: int = 0
    # Pupils a parent refused on an approved contact, with the refusal not yet resolved: no
    # contact with them until the school speaks with the family (consent.refusals).
    refusals_to_resolve: int = 0


class Summary(BaseModel):
    schools: list[SchoolSummary]
    trust: SchoolSummary | None


def _school_figures(
    session: Session,
    school: School,
    staff_ids: list[int] | None,
    *,
    policy: Policy,
    at: datetime,
) -> SchoolSummary:
    def mine(query: Any, column: Any) -> Any:
        """Narrowed to the given staff's records, for an approver's figures."""
        return query if staff_ids is None else query.where(col(column).in_(staff_ids))

    today = policy.today(school, at)
    approved = mine(
        select(Contact).where(
            Contact.school_id == school.id, Contact.state == ContactState.approved
        ),
        Contact.staff_id,
    )
    contacts = list(session.exec(approved).all())
    ids = [c.id for c in contacts if c.id is not None]
    links = session.exec(
        select(ContactPupil, Pupil)
        .join(Pupil, col(Pupil.id) == col(ContactPupil.pupil_id))
        .where(col(ContactPupil.contact_id).in_(ids), col(ContactPupil.ended_at).is_(None))
    ).all()
    consents: dict[tuple[int, int], list[ConsentTerms]] = defaultdict(list)
    for c in session.exec(select(Consent).where(col(Consent.contact_id).in_(ids))).all():
        consents[(c.contact_id, c.pupil_id)].append(c.terms)
    by_id = {c.id: c for c in contacts}
    stopped = refused(session, ids)
    # Parent notices do not change either figure, so none are read.
    standings = [
        (
            link.contact_id,
            standing(
                policy=policy,
                day=today,
                decision=by_id[link.contact_id].state,
                starts_on=by_id[link.contact_id].starts_on,
                ends_on=by_id[link.contact_id].ends_on,
                ended_at=link.ended_at,
                deletion_confirmed=False,
                born=pupil.date_of_birth,
                consents=consents[(link.contact_id, link.pupil_id)],
                informed_on=(),
                refused=(link.contact_id, link.pupil_id) in stopped,
            ),
        )
        for link, pupil in links
    ]
    live = {contact_id for contact_id, stands in standings if stands.active}
    missing = sum(1 for _, stands in standings if stands.missing_consent)
    escalate = timedelta(days=policy.escalate_after_days)
    open_tasks: list[DeletionTask] = list(
        session.exec(
            mine(
                select(DeletionTask).where(
                    DeletionTask.school_id == school.id, col(DeletionTask.confirmed_at).is_(None)
                ),
                DeletionTask.staff_id,
            )
        ).all()
    )
    unreviewed = mine(
        select(
            func.count(),
            func.min(Message.logged_at),
            func.count().filter(col(Message.sampled).is_(False)),
        ).where(
            Message.school_id == school.id,
            col(Message.needs_review),
            col(Message.reviewed_at).is_(None),
        ),
        Message.staff_id,
    )
    count, oldest, flagged = session.exec(unreviewed).one()
    asked = mine(
        select(
            func.count().filter(col(ConsentRequest.expires_at) > at),
            func.count().filter(col(ConsentRequest.expires_at) <= at),
        )
        .join(Contact, col(Contact.id) == col(ConsentRequest.contact_id))
        .where(ConsentRequest.school_id == school.id, col(ConsentRequest.answer).is_(None)),
        Contact.staff_id,
    )
    waiting, no_answer = session.exec(asked).one()
    return SchoolSummary(
        consent_requests_waiting=waiting,
        consent_requests_unanswered=no_answer,
        school_id=school.id,
        active_contacts=len(live),
        awaiting_decision=session.exec(
            mine(
                select(func.count()).where(
                    Contact.school_id == school.id, Contact.state == ContactState.requested
                ),
                Contact.staff_id,
            )
        ).one(),
        pupils_without_valid_consent=missing,
        refusals_to_resolve=sum(
            1 for link, _ in links if (link.contact_id, link.pupil_id) in stopped
        ),
        overdue_deletions=sum(1 for t in open_tasks if t.created_at + escalate <= at),
        open_deletions=len(open_tasks),
        open_incidents=session.exec(
            mine(
                select(func.count()).where(
                    Incident.school_id == school.id, col(Incident.discussed_at).is_(None)
                ),
                Incident.reporter_id,
            )
        ).one(),
        awaiting_review=count,
        oldest_awaiting_review_at=oldest,
        unreviewed_flagged=flagged,
        # An approver's figures are their reports' records; requests are the DSL's to answer.
        overdue_subject_access=(
            subject_access.overdue_count(session, school.id or 0, today) if staff_ids is None else 0
        ),
    )


def summary(*, session: Session, actor: Principal, policy: Policy, at: datetime) -> Summary:
    """Per school for DSLs and headteachers (every school for trust DSLs, with a trust total);
    an approver's figures cover the staff they manage."""
    own = visible_school(session, actor, actor.school_id or 0)
    assert own.id is not None
    if actor.roles & TRUST_ROLES and actor.acts_as(
        Role.dsl, school_id=own.id, trust_id=own.trust_id
    ):
        schools = list(session.exec(select(School).where(School.trust_id == own.trust_id)).all())
        figures = [_school_figures(session, s, None, policy=policy, at=at) for s in schools]
        total = SchoolSummary(
            school_id=None,
            **{
                name: sum(getattr(f, name) for f in figures)
                for name in SchoolSummary.model_fields
                if name not in ("school_id", "oldest_awaiting_review_at")
            },
            oldest_awaiting_review_at=min(
                (f.oldest_awaiting_review_at for f in figures if f.oldest_awaiting_review_at),
                default=None,
            ),
        )
        return Summary(schools=figures, trust=total)
    if actor.acts_as(Role.dsl, school_id=own.id, trust_id=own.trust_id) or actor.is_headteacher:
        return Summary(
            schools=[_school_figures(session, own, None, policy=policy, at=at)], trust=None
        )
    if actor.acts_as(Role.approver, school_id=own.id, trust_id=own.trust_id):
        reports = list(
            session.exec(select(Staff.id).where(Staff.line_manager_id == actor.staff_id))
        )
        ids = [i for i in reports if i is not None]
        return Summary(
            schools=[_school_figures(session, own, ids, policy=policy, at=at)], trust=None
        )
    raise Forbidden("Only dsl or approver may see the summary.")


@dataclass(frozen=True)
class WeekOfFlags:
    school_id: int
    week_of: date  # the Monday the week starts, in the school's time zone
    flagged: int


def flagged_per_week(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, weeks: int
) -> list[WeekOfFlags]:
    """Entries flagged for a concern per week and school over the last `weeks` weeks, for the
    DSL's chart: their own school, every school of the trust for a trust DSL. Weeks with none
    count 0. An entry flagged only for advice is not counted, as the review queue leaves it out."""
    own = visible_school(session, actor, actor.school_id or 0)
    assert own.id is not None
    if not actor.acts_as(Role.dsl, school_id=own.id, trust_id=own.trust_id):
        raise Forbidden("Only dsl may see flagged entries by week.")
    schools = list(
        session.exec(select(School).where(col(School.id).in_(schools_read_by(actor, own)))).all()
    )
    found: list[WeekOfFlags] = []
    for school in schools:
        assert school.id is not None
        today = policy.today(school, at)
        first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
        mondays = [first + timedelta(weeks=n) for n in range(weeks)]
        # Each week starts at midnight on Monday in the school's zone; the database counts the
        # entries of each (weeks are CASE buckets, the same SQL on both databases), so the
        # chart costs what its weeks are, not every flagged entry in them.
        starts = [
            datetime.combine(d, datetime.min.time(), tzinfo=policy.zone(school)) for d in mondays
        ]
        week = case(
            *(
                (col(Message.occurred_at) >= start, n)
                for n, start in reversed(list(enumerate(starts)))
            ),
            else_=-1,
        )
        flagged = (
            select(week.label("week"))
            .where(
                Message.school_id == school.id,
                text(FLAGGED),
                text(CONCERNING),
                col(Message.occurred_at) >= starts[0],
            )
            .subquery()
        )
        # Grouped outside: PostgreSQL cannot match a CASE of bound values to itself.
        grouped = select(flagged.c.week, func.count()).group_by(flagged.c.week)
        counts: dict[int, int] = {n: count for n, count in session.execute(grouped).all()}
        found += [
            WeekOfFlags(school.id, monday, counts.get(n, 0)) for n, monday in enumerate(mondays)
        ]
    return found
