"""The contacts that end by the calendar, not by a hand: past their approved end date, and a
leaver's part of every contact on the day they leave. The scheduler's end sweep runs both."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from contacts import repository
from contacts.models import Contact, ContactState
from contacts.service import end_pupils
from core.directory.models import School
from core.policy import policy_for
from core.principal import Principal
from core.settings import Settings

SWEEP_REASON = "The approved end date has passed."
LEAVER_REASON = "The pupil has left the school."


def end_contacts_past_their_end_date(
    *,
    session: Session,
    actor: Principal,
    settings: Settings,
    at: datetime,
    limit: int | None = None,
) -> int:
    """The end sweep: approved contacts whose `ends_on` is over in their school's time zone,
    up to `limit` of them; how many it ended. On PostgreSQL contacts another sweep is ending
    are skipped, not waited for, so two schedulers share the work."""
    found, ended = 0, 0
    for school in session.exec(select(School)).all():
        today = policy_for(session, school.trust_id, settings).today(school, at)
        due = session.exec(
            select(Contact)
            .where(
                Contact.school_id == school.id,
                Contact.state == ContactState.approved,
                Contact.ends_on < today,
            )
            .order_by(col(Contact.id))
            .limit(None if limit is None else limit - found)
            .with_for_update(skip_locked=True)
        ).all()
        for contact in due:
            found += 1
            if end_pupils(
                session, actor=actor, at=at, contact=contact, pupil_ids=None, reason=SWEEP_REASON
            ):
                ended += 1
        if limit is not None and found >= limit:
            break
    return ended


def end_for_leavers(
    *, session: Session, actor: Principal, settings: Settings, at: datetime, limit: int
) -> int:
    """Pupils who have left the school by today: their part of every contact ends (§7, §5.6),
    up to `limit` of them; how many parts it ended."""
    ended = 0
    for school in session.exec(select(School)).all():
        assert school.id is not None
        today = policy_for(session, school.trust_id, settings).today(school, at)
        for contact_id, pupil_id in session.exec(
            repository.leavers_on_contacts(school.id, today).limit(limit - ended)
        ).all():
            contact = session.get(Contact, contact_id)
            assert contact is not None
            ended += len(
                end_pupils(
                    session,
                    actor=actor,
                    at=at,
                    contact=contact,
                    pupil_ids=[pupil_id],
                    reason=LEAVER_REASON,
                )
            )
        if ended >= limit:
            break
    return ended
