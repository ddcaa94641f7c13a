"""The concerns job: a new concern's readers told, an allegation not referred to the LADO by its
deadline chased each school day, overdue actions chased with their owners, and each period's
review of staff with more than one low-level concern sent to those who handle them."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from contacts.concerns import case_file, patterns, readers
from contacts.concerns.models import Concern, ConcernAction, ConcernKind
from core.db import Database
from core.directory.models import School, Staff
from core.models import OutboxEmail
from core.once import stamp_once
from core.policy import Policy
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import send
from scheduler.steps import each_due, schools_and_policies

# Review periods are counted from this Monday, so every scheduler agrees on which one it is.
PERIODS_FROM = date(2024, 1, 1)


def _due(policy: Policy, school: School, at: datetime | None) -> str:
    if at is None:
        return "now"
    local = at.astimezone(policy.zone(school))
    return f"{local:%A} {local.day} {local:%B %Y at %H:%M}"


def concerns(db: Database, settings: Settings, at: datetime) -> int:
    """How many emails were queued."""
    policies = {s.id: (s, p) for s, p in schools_and_policies(db, settings)}

    def tell(session: Session, concern_id: int) -> int:
        if not stamp_once(session, col(Concern.told_at), concern_id, at):
            return 0
        concern = session.get(Concern, concern_id)
        assert concern is not None
        school, policy = policies[concern.school_id]
        email = emails.concern_raised(
            concern_id=concern_id,
            allegation=concern.kind == ConcernKind.allegation,
            due=_due(policy, school, concern.lado_due_at),
            base_url=settings.public_url,
        )
        return sum(
            send(session, f"concern:{concern_id}", "concern_raised", r, email, school.id, at=at)
            for r in readers.readers_of(session, concern)
        )

    queued = each_due(db, select(col(Concern.id)).where(col(Concern.told_at).is_(None)), tell)
    with db.transaction() as session:
        queued += _lado_overdue(session, settings, policies, at)
        queued += _actions_overdue(session, settings, policies, at)
        queued += _reviews(session, settings, policies, at)
    return queued


def _lado_overdue(
    session: Session,
    settings: Settings,
    policies: dict[int | None, tuple[School, Policy]],
    at: datetime,
) -> int:
    """Once a school day for each allegation past its deadline with no LADO referral."""
    late = list(
        session.exec(
            select(Concern).where(
                Concern.kind == ConcernKind.allegation,
                col(Concern.closed_at).is_(None),
                col(Concern.lado_due_at) <= at,
            )
        ).all()
    )
    referred = case_file.lado_referred(session, [c.id for c in late if c.id is not None])
    queued = 0
    for concern in late:
        if concern.id in referred:
            continue
        school, policy = policies[concern.school_id]
        today = policy.today(school, at)
        if today.weekday() >= 5:
            continue
        email = emails.lado_overdue(
            concern_id=concern.id or 0,
            due=_due(policy, school, concern.lado_due_at),
            base_url=settings.public_url,
        )
        for reader in readers.readers_of(session, concern):
            key = f"concern-lado:{concern.id}:{today.isoformat()}"
            queued += send(session, key, "concern_lado_overdue", reader, email, school.id, at=at)
    return queued


def _actions_overdue(
    session: Session,
    settings: Settings,
    policies: dict[int | None, tuple[School, Policy]],
    at: datetime,
) -> int:
    """Once a day to the owner of each action past its date and not done, while they still
    handle the case (an owner who has since become its subject is never told of it)."""
    found = session.exec(
        select(ConcernAction, Concern)
        .join(Concern, col(Concern.id) == col(ConcernAction.concern_id))
        .where(col(ConcernAction.done_at).is_(None), col(Concern.closed_at).is_(None))
    ).all()
    queued = 0
    for action, concern in found:
        school, policy = policies[concern.school_id]
        today = policy.today(school, at)
        if action.due_on >= today or concern.id is None:
            continue
        owner = session.get(Staff, action.owner_id)
        if owner is None or not owner.is_active:
            continue
        if not readers.reads_id(session, action.owner_id, concern.id):
            continue
        email = emails.concern_action_due(
            concern_id=concern.id, due_on=action.due_on, base_url=settings.public_url
        )
        key = f"concern-action:{action.id}:{today.isoformat()}"
        queued += send(session, key, "concern_action_due", owner, email, school.id, at=at)
    return queued


def _reviews(
    session: Session,
    settings: Settings,
    policies: dict[int | None, tuple[School, Policy]],
    at: datetime,
) -> int:
    """Each period, everyone who handles concerns and has staff with more than one low-level
    concern among them is sent the review, once (asked only of those who could handle any,
    and not again once sent)."""
    queued = 0
    seen: set[int] = set()
    for school, policy in policies.values():
        today = policy.today(school, at)
        period = (today - PERIODS_FROM).days // (7 * policy.concern_review_weeks)
        key = f"concern-review:{policy.concern_review_weeks}:{period}"
        for reader in readers.handlers(session, school.id or 0):
            if reader.id is None or reader.id in seen:
                continue
            seen.add(reader.id)
            sent = session.exec(
                select(OutboxEmail.id).where(OutboxEmail.dedupe_key == f"{key}:to:{reader.id}")
            ).first()
            if sent is not None:
                continue
            repeated = patterns.repeated_low_level(session, reader.id)
            if not repeated:
                continue
            email = emails.concern_review(staff_count=len(repeated), base_url=settings.public_url)
            queued += send(session, key, "concern_review", reader, email, school.id, at=at)
    return queued
