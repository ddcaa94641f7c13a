"""A concern's case file as its readers see it: the list, and the file itself with the people
in it named and its deadlines worked out. Every read is on the record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from contacts.concerns import readers
from contacts.concerns.models import (
    Agency,
    Concern,
    ConcernAction,
    ConcernAttachment,
    ConcernNote,
    ConcernRecord,
    ConcernReferral,
    RecordKind,
)
from contacts.concerns.schemas import (
    ActionPublic,
    AttachmentPublic,
    ConcernPublic,
    ConcernSummary,
    NotePublic,
    RecordRef,
    ReferralPublic,
)
from core.directory.models import School, Staff
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit


def _names(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    """Staff named by the case file: its readers see who did what, whichever school."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = session.exec(select(col(Staff.id), col(Staff.name)).where(col(Staff.id).in_(wanted)))
    return {i: n for i, n in rows.all() if i is not None}


def _subject(concern: Concern, names: dict[int, str]) -> str:
    if concern.subject_staff_id is not None:
        return names.get(concern.subject_staff_id, "a member of staff")
    return concern.subject_name or "someone without an account"


def lado_referred(session: Session, concern_ids: Sequence[int]) -> set[int]:
    if not concern_ids:
        return set()
    found = session.exec(
        select(col(ConcernReferral.concern_id)).where(
            col(ConcernReferral.concern_id).in_(list(concern_ids)),
            col(ConcernReferral.agency) == Agency.lado,
        )
    ).all()
    return set(found)


def _summary(
    concern: Concern, names: dict[int, str], referred: set[int], at: datetime
) -> dict[str, Any]:
    assert concern.id is not None
    is_referred = concern.id in referred
    return {
        "id": concern.id,
        "school_id": concern.school_id,
        "kind": concern.kind,
        "subject_kind": concern.subject_kind,
        "subject_staff_id": concern.subject_staff_id,
        "subject": _subject(concern, names),
        "about_headteacher": concern.about_headteacher,
        "raised_at": concern.raised_at,
        "self_report": concern.self_report,
        "open": concern.closed_at is None,
        "outcome": concern.outcome,
        "lado_due_at": concern.lado_due_at,
        "lado_referred": is_referred,
        "lado_overdue": bool(
            concern.lado_due_at is not None
            and not is_referred
            and concern.closed_at is None
            and concern.lado_due_at <= at
        ),
    }


def _read(session: Session, actor: Principal, at: datetime, concern: Concern, what: str) -> None:
    """Every read of a concern is on the record: who looked, when, at what."""
    audit.record(
        session,
        actor=actor,
        at=at,
        action=f"access.{what}",
        object_type="concern",
        object_id=concern.id,
        school_id=concern.school_id,
    )


def list_concerns(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    open_only: bool,
    subject_staff_id: int | None,
    cursor: str | None,
    limit: int,
) -> Page[ConcernSummary]:
    """The concerns this reader handles: nobody else's, and never one about themselves. For
    anyone who handles none, an empty list (not a refusal: a refusal would say there are some
    they may not see)."""
    query = select(Concern).where(readers.readable_by(actor.staff_id))
    if open_only:
        query = query.where(col(Concern.closed_at).is_(None))
    if subject_staff_id is not None:
        query = query.where(col(Concern.subject_staff_id) == subject_staff_id)
    page = fetch_page(
        session, query, col(Concern.id), cursor=cursor, limit=limit, newest_first=True
    )
    concerns: list[Concern] = list(page.items)
    names = _names(session, [c.subject_staff_id for c in concerns])
    referred = lado_referred(session, [c.id for c in concerns if c.id is not None])
    for concern in concerns:
        _read(session, actor, at, concern, "concern_listed")
    return Page(
        items=[ConcernSummary.model_validate(_summary(c, names, referred, at)) for c in concerns],
        next_cursor=page.next_cursor,
    )


def view(session: Session, concern: Concern, at: datetime) -> ConcernPublic:
    """The whole case file, the people in it named."""
    assert concern.id is not None
    notes = session.exec(
        select(ConcernNote)
        .where(ConcernNote.concern_id == concern.id)
        .order_by(col(ConcernNote.id))
    ).all()
    referrals = session.exec(
        select(ConcernReferral)
        .where(ConcernReferral.concern_id == concern.id)
        .order_by(col(ConcernReferral.id))
    ).all()
    actions = session.exec(
        select(ConcernAction)
        .where(ConcernAction.concern_id == concern.id)
        .order_by(col(ConcernAction.due_on), col(ConcernAction.id))
    ).all()
    attachments = session.exec(
        select(ConcernAttachment)
        .where(ConcernAttachment.concern_id == concern.id)
        .order_by(col(ConcernAttachment.id))
    ).all()
    records = session.exec(
        select(ConcernRecord).where(ConcernRecord.concern_id == concern.id)
    ).all()
    names = _names(
        session,
        [concern.subject_staff_id, concern.raised_by_id]
        + [n.written_by_id for n in notes]
        + [r.recorded_by_id for r in referrals]
        + [a.owner_id for a in actions]
        + [a.added_by_id for a in attachments],
    )
    school = session.get(School, concern.school_id)
    assert school is not None
    today = at.date()
    return ConcernPublic.model_validate(
        {
            **_summary(concern, names, lado_referred(session, [concern.id]), at),
            **concern.model_dump(
                include={
                    "raised_by_id",
                    "on_behalf_of",
                    "source_name",
                    "happened_at",
                    "what_happened",
                    "platform",
                    "platform_name",
                    "hold_id",
                    "closed_at",
                    "closed_by_id",
                    "outcome_on",
                    "outcome_reason",
                }
            ),
            "raised_by": names.get(concern.raised_by_id, ""),
            "records": [
                RecordRef(record_type=RecordKind(r.record_type), record_id=r.record_id)
                for r in records
            ],
            "notes": [
                NotePublic.model_validate(
                    {**n.model_dump(), "written_by": names.get(n.written_by_id, "")}
                )
                for n in notes
            ],
            "referrals": [
                ReferralPublic.model_validate(
                    {**r.model_dump(), "recorded_by": names.get(r.recorded_by_id, "")}
                )
                for r in referrals
            ],
            "actions": [
                ActionPublic.model_validate(
                    {
                        **a.model_dump(),
                        "owner": names.get(a.owner_id, ""),
                        "overdue": a.done_at is None and a.due_on < today,
                    }
                )
                for a in actions
            ],
            "attachments": [
                AttachmentPublic.model_validate(
                    {**a.model_dump(), "added_by": names.get(a.added_by_id, "")}
                )
                for a in attachments
            ],
        }
    )


def read_concern(
    *, session: Session, actor: Principal, at: datetime, concern_id: int
) -> ConcernPublic:
    concern = readers.get_readable(session, actor, concern_id)
    _read(session, actor, at, concern, "concern")
    return view(session, concern, at)
