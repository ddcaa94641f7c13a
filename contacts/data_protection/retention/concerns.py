"""Which concerns about adults are past their retention period (KCSIE Part 4): an allegation
about a member of staff for the allegation period from when it was raised (and while its hold
stands); a low-level concern until the person leaves, then the trust's period; a concern about
someone without an account for the allegation or the closed-record period. An open case is
never due."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from contacts.concerns.models import Concern, ConcernKind
from contacts.data_protection.legal_holds.models import HeldSubject
from core.clock import years_after
from core.directory.models import Staff

if TYPE_CHECKING:
    from contacts.data_protection.retention.schedule import Plan, Trust


def concerns_due(session: Session, trust: Trust, plan: Plan) -> None:
    policy = trust.policy
    found: list[Any] = list(
        session.exec(
            select(Concern, col(Staff.left_on))
            .join(Staff, col(Staff.id) == col(Concern.subject_staff_id), isouter=True)
            .where(
                col(Concern.school_id).in_(list(trust.schools)),
                col(Concern.redacted_at).is_(None),
                col(Concern.closed_at).is_not(None),
            )
            .order_by(col(Concern.id))
        ).all()
    )
    for concern, left_on in found:
        raised = concern.raised_at.date()
        allegation = concern.kind == ConcernKind.allegation
        if concern.subject_staff_id is None:
            years = policy.allegation_years if allegation else policy.closed_contact_years
            until = years_after(raised, years)
            holds = []
        else:
            if not allegation and left_on is None:
                continue  # still with the school: kept at least until they leave
            until = max(
                years_after(raised, policy.allegation_years)
                if allegation
                else years_after(left_on, policy.low_level_years),
                trust.allegation_until(concern.subject_staff_id) or raised,
            )
            holds = trust.holds.over((HeldSubject.staff, [concern.subject_staff_id]))
        if until > trust.today(concern.school_id):
            continue
        plan.add(concern.school_id, {"concern": [concern.id]}, holds)
