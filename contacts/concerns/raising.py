"""Raising a concern about an adult: any member of staff, about a colleague, a volunteer or
contractor, or themselves; recorded, an allegation's subject held, and the raiser told only
that it was received."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, SQLModel, col, select

from contacts.capture.models import CapturedMessage
from contacts.concerns.models import Concern, ConcernKind, ConcernRecord, RecordKind, SubjectKind
from contacts.concerns.schemas import ConcernCreate, Receipt
from contacts.data_protection.legal_holds.models import HeldSubject, LegalHold
from contacts.data_protection.legal_holds.service import serialise_with_retention
from contacts.incidents.models import Incident
from contacts.models import Contact, Message
from core.directory.access import get_scoped, visible_school
from core.directory.models import School, Staff
from core.errors import Forbidden, InvalidInput
from core.policy import Policy
from core.principal import Principal
from core.record import audit

RECORDS: dict[RecordKind, type[SQLModel]] = {
    RecordKind.contact: Contact,
    RecordKind.message: Message,
    RecordKind.incident: Incident,
    RecordKind.captured_message: CapturedMessage,
}


def lado_due(policy: Policy, school: School, raised_at: datetime) -> datetime:
    """One working day after it was raised, in the school's time: a Friday afternoon's
    allegation is due with the LADO on Monday afternoon."""
    local = raised_at.astimezone(policy.zone(school)) + timedelta(days=1)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local


def _school_of_record(session: Session, ref_type: RecordKind, ref_id: int) -> int | None:
    model = RECORDS[ref_type]
    school = session.exec(
        select(model.school_id).where(model.id == ref_id)  # type: ignore[attr-defined]
    ).first()
    return int(school) if school is not None else None


def raise_concern(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, concern_in: ConcernCreate
) -> Receipt:
    """Record the concern at the school of the person it is about. An allegation about a
    member of staff places the legal hold on them at once (their records are kept for KCSIE's
    period), so nobody can let retention take what an investigation will need."""
    if actor.staff_id is None:
        raise Forbidden("A concern is raised by a member of staff, signed in.")
    subject: Staff | None = None
    if concern_in.subject_kind == SubjectKind.staff:
        assert concern_in.subject_staff_id is not None
        subject = get_scoped(
            session, actor, Staff, concern_in.subject_staff_id, "No such member of staff."
        )
        school = visible_school(session, actor, subject.school_id)
    else:
        if actor.school_id is None:
            raise Forbidden("Name the member of staff: you have no school of your own.")
        school = visible_school(session, actor, actor.school_id)
    assert school.id is not None
    for ref in concern_in.records:
        if _school_of_record(session, ref.record_type, ref.record_id) != school.id:
            raise InvalidInput(
                f"records: no {ref.record_type.replace('_', ' ')} #{ref.record_id} at this school.",
                extra={"errors": [{"field": "records", "message": "not at this school"}]},
            )
    concern = Concern(
        school_id=school.id,
        subject_kind=concern_in.subject_kind,
        subject_staff_id=subject.id if subject else None,
        subject_name=concern_in.subject_name,
        about_headteacher=bool(subject and subject.is_headteacher),
        kind=concern_in.kind,
        raised_by_id=actor.staff_id,
        raised_at=at,
        self_report=subject is not None and subject.id == actor.staff_id,
        on_behalf_of=concern_in.on_behalf_of,
        source_name=concern_in.source_name,
        happened_at=concern_in.happened_at,
        what_happened=concern_in.what_happened,
        platform=concern_in.platform,
        platform_name=concern_in.platform_name,
        lado_due_at=(
            lado_due(policy, school, at) if concern_in.kind == ConcernKind.allegation else None
        ),
    )
    session.add(concern)
    session.flush()
    assert concern.id is not None
    for ref in concern_in.records:
        session.add(
            ConcernRecord(
                concern_id=concern.id, record_type=ref.record_type, record_id=ref.record_id
            )
        )
    held: list[tuple[str, int | None]] = []
    if concern_in.kind == ConcernKind.allegation and subject is not None:
        hold = hold_subject(session, school=school, concern=concern, staff=subject, at=at)
        held.append(("legal_hold", hold.id))
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=concern,
        action="concern.raised",
        also=held,
        details={"kind": concern.kind},
    )
    return Receipt(id=concern.id, received_at=at)


def hold_subject(
    session: Session, *, school: School, concern: Concern, staff: Staff, at: datetime
) -> LegalHold:
    """The hold an allegation places on its subject: placed by no one (so only a trust DSL
    releases it, never the raiser), its reason saying nothing of what was alleged."""
    serialise_with_retention(session, school.trust_id)
    assert school.id is not None
    hold = LegalHold(
        school_id=school.id,
        subject_type=HeldSubject.staff,
        subject_id=staff.id or 0,
        case_reference=f"concern-{concern.id}",
        reason="An allegation about this member of staff (KCSIE): kept for its retention period.",
        placed_by_id=None,
        placed_at=at,
    )
    session.add(hold)
    session.flush()
    concern.hold_id = hold.id
    session.add(concern)
    return hold


def raised_by_me(*, session: Session, actor: Principal, limit: int = 50) -> list[Receipt]:
    """The raiser's own receipts: that each was received, and nothing more."""
    found = session.exec(
        select(col(Concern.id), col(Concern.raised_at))
        .where(col(Concern.raised_by_id) == (actor.staff_id or 0))
        .order_by(col(Concern.id).desc())
        .limit(limit)
    ).all()
    return [Receipt(id=i, received_at=at) for i, at in found if i is not None]


def colleagues(*, session: Session, actor: Principal) -> list[tuple[int, str]]:
    """Whom a concern may be about, for the form: the active staff of the raiser's school
    (themselves included, for a self-report)."""
    rows = session.exec(
        select(col(Staff.id), col(Staff.name))
        .where(Staff.school_id == (actor.school_id or 0), col(Staff.is_active))
        .order_by(col(Staff.name))
    ).all()
    return [(i, n) for i, n in rows if i is not None]
