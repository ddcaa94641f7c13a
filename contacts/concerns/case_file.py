"""A concern's case file for its readers: the list, the file itself with the people named, and
what goes into it — notes and decisions with their reasons, referrals (the LADO first),
actions with owners and dates, and the outcome that closes it. Every read is on the record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from contacts.concerns import readers
from contacts.concerns.models import (
    ALLEGATION_OUTCOMES,
    ActionCreate,
    ActionPublic,
    Agency,
    AttachmentPublic,
    Concern,
    ConcernAction,
    ConcernAttachment,
    ConcernKind,
    ConcernNote,
    ConcernPublic,
    ConcernRecord,
    ConcernReferral,
    ConcernSummary,
    NoteCreate,
    NotePublic,
    OutcomeCreate,
    RecordKind,
    RecordRef,
    ReferralCreate,
    ReferralPublic,
)
from core import once
from core.directory.models import School, Staff
from core.errors import InvalidInput, NotFound
from core.pagination import Page, fetch_page
from core.policy import Policy
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


def add_note(
    *, session: Session, actor: Principal, at: datetime, concern_id: int, note_in: NoteCreate
) -> ConcernNote:
    """A note, or a decision with its reason (a decision not to refer is one), dated and
    attributed; never edited afterwards."""
    concern = readers.get_readable(session, actor, concern_id)
    assert actor.staff_id is not None
    note = ConcernNote(
        concern_id=concern_id,
        kind=note_in.kind,
        text=note_in.text,
        reason=note_in.reason,
        written_by_id=actor.staff_id,
        written_at=at,
    )
    session.add(note)
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=concern,
        action=f"concern.{note_in.kind}_added",
    )
    return note


def record_referral(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    concern_id: int,
    referral_in: ReferralCreate,
) -> ConcernReferral:
    """A referral to the LADO (date, officer, reference, advice), or on to the police, the DBS
    or the Teaching Regulation Agency; not dated in the future or before the concern."""
    concern = readers.get_readable(session, actor, concern_id)
    assert actor.staff_id is not None
    school = session.get(School, concern.school_id)
    assert school is not None
    if referral_in.referred_on > policy.today(school, at):
        raise InvalidInput(
            "referred_on: a referral is recorded once made, not ahead.",
            extra={"errors": [{"field": "referred_on", "message": "in the future"}]},
        )
    if referral_in.referred_on < policy.today(school, concern.raised_at) - timedelta(days=7):
        raise InvalidInput(
            "referred_on: more than a week before the concern was raised.",
            extra={"errors": [{"field": "referred_on", "message": "before the concern"}]},
        )
    referral = ConcernReferral(
        concern_id=concern_id,
        **referral_in.model_dump(),
        recorded_by_id=actor.staff_id,
        recorded_at=at,
    )
    session.add(referral)
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=concern,
        action="concern.referred",
        details={"agency": referral_in.agency},
    )
    return referral


def set_action(
    *, session: Session, actor: Principal, at: datetime, concern_id: int, action_in: ActionCreate
) -> ConcernAction:
    """An action with its owner and date: the owner must be one of the case's readers (nobody
    is given work on a case they may not see, least of all its subject)."""
    concern = readers.get_readable(session, actor, concern_id)
    assert actor.staff_id is not None
    if not readers.reads_id(session, action_in.owner_id, concern_id):
        raise InvalidInput(
            "owner_id: the owner must be one of those who handle this concern.",
            extra={"errors": [{"field": "owner_id", "message": "does not handle this concern"}]},
        )
    action = ConcernAction(
        concern_id=concern_id,
        what=action_in.what,
        owner_id=action_in.owner_id,
        due_on=action_in.due_on,
        set_by_id=actor.staff_id,
        set_at=at,
    )
    session.add(action)
    session.flush()
    audit.record_change(session, actor=actor, at=at, of=concern, action="concern.action_set")
    return action


def action_done(
    *, session: Session, actor: Principal, at: datetime, concern_id: int, action_id: int
) -> ConcernAction:
    concern = readers.get_readable(session, actor, concern_id)
    action = session.get(ConcernAction, action_id)
    if action is None or action.concern_id != concern_id:
        raise NotFound("No such action on this concern.")
    once.claim(
        session,
        ConcernAction,
        action_id,
        still=col(ConcernAction.done_at).is_(None),
        values={"done_at": at, "done_by_id": actor.staff_id},
        too_late="This action is already done.",
    )
    session.refresh(action)
    audit.record_change(session, actor=actor, at=at, of=concern, action="concern.action_done")
    return action


def close(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    concern_id: int,
    outcome_in: OutcomeCreate,
) -> Concern:
    """The outcome, with its date and reason, closes the case: once (two case managers closing
    it at the same moment: one wins, the other is told it is closed). An allegation's outcome is
    one of KCSIE's five; a low-level concern's, that it was addressed or needed nothing more."""
    concern = readers.get_readable(session, actor, concern_id)
    allegation = concern.kind == ConcernKind.allegation
    if (outcome_in.outcome in ALLEGATION_OUTCOMES) != allegation:
        kinds = "an allegation's" if allegation else "a low-level concern's"
        raise InvalidInput(
            f"outcome: {outcome_in.outcome.value} is not {kinds} outcome.",
            extra={"errors": [{"field": "outcome", "message": "not for this kind"}]},
        )
    school = session.get(School, concern.school_id)
    assert school is not None
    if outcome_in.outcome_on > policy.today(school, at):
        raise InvalidInput(
            "outcome_on: an outcome is recorded once reached, not ahead.",
            extra={"errors": [{"field": "outcome_on", "message": "in the future"}]},
        )
    once.claim(
        session,
        Concern,
        concern_id,
        still=col(Concern.closed_at).is_(None),
        values={
            "closed_at": at,
            "closed_by_id": actor.staff_id,
            "outcome": outcome_in.outcome,
            "outcome_on": outcome_in.outcome_on,
            "outcome_reason": outcome_in.reason,
        },
        too_late="This concern has already been closed.",
    )
    session.refresh(concern)
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=concern,
        action="concern.closed",
        details={"outcome": outcome_in.outcome},
    )
    return concern
