"""What goes into a concern's case file, by its readers: notes and decisions with their
reasons, referrals (the LADO first), actions with owners and dates, a change of kind, and the
outcome that closes it. Each is dated, attributed and in the change record."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col

from contacts.concerns import readers
from contacts.concerns.models import (
    ALLEGATION_OUTCOMES,
    Concern,
    ConcernAction,
    ConcernKind,
    ConcernNote,
    ConcernReferral,
    NoteKind,
)
from contacts.concerns.raising import hold_subject, lado_due
from contacts.concerns.schemas import (
    ActionCreate,
    KindChange,
    NoteCreate,
    OutcomeCreate,
    ReferralCreate,
)
from core import once
from core.directory.models import School, Staff
from core.errors import Conflict, InvalidInput, NotFound
from core.policy import Policy
from core.principal import Principal
from core.record import audit


def _not_ahead(
    field: str, day: date, what: str, *, policy: Policy, school: School, at: datetime
) -> None:
    if day > policy.today(school, at):
        raise InvalidInput(
            f"{field}: {what} is recorded once made, not ahead.",
            extra={"errors": [{"field": field, "message": "in the future"}]},
        )


def _filed(
    session: Session,
    *,
    actor: Principal,
    at: datetime,
    concern: Concern,
    row: Any,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """A row added to the case file, and the concern sealed again with it, in the record."""
    session.add(row)
    session.flush()
    audit.record_change(
        session, actor=actor, at=at, of=concern, action=f"concern.{action}", details=details
    )


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
    _filed(session, actor=actor, at=at, concern=concern, row=note, action=f"{note_in.kind}_added")
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
    _not_ahead(
        "referred_on", referral_in.referred_on, "a referral", policy=policy, school=school, at=at
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
    _filed(
        session,
        actor=actor,
        at=at,
        concern=concern,
        row=referral,
        action="referred",
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
    _filed(session, actor=actor, at=at, concern=concern, row=action, action="action_set")
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
    _not_ahead(
        "outcome_on", outcome_in.outcome_on, "an outcome", policy=policy, school=school, at=at
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


def change_kind(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    concern_id: int,
    change: KindChange,
) -> Concern:
    """A low-level concern found to meet the harm threshold becomes an allegation (its LADO
    deadline counted from now, its subject held), or an allegation the LADO advises does not
    becomes a low-level concern; the decision and its reason go into the case file."""
    concern = readers.get_readable(session, actor, concern_id)
    assert actor.staff_id is not None
    words = "an allegation" if change.kind == ConcernKind.allegation else "a low-level concern"
    if concern.kind == change.kind:
        raise Conflict(f"This concern is already {words}.")
    school = session.get(School, concern.school_id)
    assert school is not None
    once.claim(
        session,
        Concern,
        concern_id,
        still=(col(Concern.closed_at).is_(None)) & (col(Concern.kind) == concern.kind),
        values={
            "kind": change.kind,
            "lado_due_at": lado_due(policy, school, at)
            if change.kind == ConcernKind.allegation
            else None,
        },
        too_late="This concern has been closed or changed meanwhile.",
    )
    session.refresh(concern)
    held: list[tuple[str, int | None]] = []
    if change.kind == ConcernKind.allegation and concern.subject_staff_id and not concern.hold_id:
        subject = session.get(Staff, concern.subject_staff_id)
        assert subject is not None
        hold = hold_subject(session, school=school, concern=concern, staff=subject, at=at)
        held.append(("legal_hold", hold.id))
    session.add(
        ConcernNote(
            concern_id=concern_id,
            kind=NoteKind.decision,
            text=f"Treated from now as {words}.",
            reason=change.reason,
            written_by_id=actor.staff_id,
            written_at=at,
        )
    )
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=concern,
        action="concern.kind_changed",
        also=held,
        details={"kind": change.kind},
    )
    return concern
