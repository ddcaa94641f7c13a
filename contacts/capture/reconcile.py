"""Each captured message against the log: which contact of its school account it falls under
(approved, in its dates, with its pupils on it, before its end), which logged entry covers it
(same contact and direction, pupils in common, within the trust's window), and what it is if
none does: not logged, or a breach with the log's own words for what was broken."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from contacts.capture.models import Finding
from contacts.models import Contact, ContactPupil, ContactState, Flag, Message, MessagePupil
from core.clock import school_date
from core.policy import Policy


@dataclass
class Held:
    """A contact on the school account, as reconciliation needs it."""

    contact: Contact
    pupils: dict[int, datetime | None]  # pupil → when they were ended on it, if they were


@dataclass
class Placed:
    contact_id: int | None
    staff_id: int | None
    finding: Finding
    flags: list[str] = field(default_factory=list)
    matched_message_id: int | None = None


def account_key(account: str) -> str:
    """A school account as typed on a request and on an upload: one, whatever the case or the
    spaces around it."""
    return " ".join(account.split()).casefold()


def contacts_on(session: Session, *, school_id: int, platform: str, account: str) -> list[Held]:
    """Every contact of the school on this platform and school account, with its pupils."""
    contacts = [
        c
        for c in session.exec(
            select(Contact).where(Contact.school_id == school_id, Contact.platform == platform)
        ).all()
        if account_key(c.school_account) == account_key(account)
    ]
    pupils: dict[int, dict[int, datetime | None]] = defaultdict(dict)
    ids = [c.id for c in contacts if c.id is not None]
    if ids:
        for row in session.exec(
            select(ContactPupil).where(col(ContactPupil.contact_id).in_(ids))
        ).all():
            pupils[row.contact_id][row.pupil_id] = row.ended_at
    return [Held(c, pupils[c.id]) for c in contacts if c.id is not None]


def place(
    held: list[Held],
    *,
    sent_at: datetime,
    pupil_ids: set[int],
    unknown: bool,
    zone: ZoneInfo,
) -> Placed:
    """The contact a captured message falls under, and what it is before any entry is matched:
    not logged (or an unknown participant) under an approved contact that covers it, else a
    breach naming what no contact covered."""
    candidates = [h for h in held if not pupil_ids or pupil_ids & set(h.pupils)]
    if not candidates:
        flags = ["no_approved_contact"] if not held else ["pupil_not_on_contact"]
        return Placed(None, None, Finding.outside_contact, flags)
    judged = [(h, _broken(h, sent_at=sent_at, pupil_ids=pupil_ids, zone=zone)) for h in candidates]
    judged.sort(key=lambda pair: (len(pair[1]), -(pair[0].contact.id or 0)))
    best, broken = judged[0]
    finding = (
        Finding.outside_contact
        if broken
        else Finding.unknown_participant
        if unknown
        else Finding.not_logged
    )
    return Placed(best.contact.id, best.contact.staff_id, finding, broken)


def _broken(held: Held, *, sent_at: datetime, pupil_ids: set[int], zone: ZoneInfo) -> list[str]:
    """What a message at `sent_at` with these pupils breaks on this contact, in the log's words."""
    contact = held.contact
    broken = []
    approved = contact.state in (ContactState.approved, ContactState.ended, ContactState.closed)
    if not approved or contact.decided_at is None or sent_at < contact.decided_at:
        broken.append("before_approval")
    day = school_date(sent_at, zone)
    if not contact.starts_on <= day <= contact.ends_on:
        broken.append("outside_dates")
    if contact.ended_at is not None and sent_at >= contact.ended_at:
        broken.append("contact_not_active")
    for pupil in pupil_ids:
        if pupil not in held.pupils:
            broken.append("pupil_not_on_contact")
            break
        ended = held.pupils[pupil]
        if ended is not None and sent_at >= ended:
            broken.append("contact_not_active")
            break
    return sorted(set(broken))


@dataclass(frozen=True)
class Entry:
    id: int
    direction: str
    occurred_at: datetime
    pupils: frozenset[int]


@dataclass
class Logged:
    """A contact's logged entries, oldest first, found by time in a few steps (bisection)
    however long the log: a 40 000-message export against 10 000 entries is not 400 million
    comparisons."""

    entries: list[Entry] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.times.append(entry.occurred_at)

    def within(self, at: datetime, window: timedelta) -> list[Entry]:
        return self.entries[
            bisect_left(self.times, at - window) : bisect_right(self.times, at + window)
        ]


def entries_near(
    session: Session, *, contact_ids: set[int], start: datetime, end: datetime, policy: Policy
) -> dict[int, Logged]:
    """The logged entries of these contacts from `start` to `end` (widened by the window), by
    contact, oldest first."""
    if not contact_ids:
        return {}
    window = timedelta(minutes=policy.capture_window_minutes)
    rows = session.exec(
        select(Message.id, Message.contact_id, Message.direction, Message.occurred_at)
        .where(
            col(Message.contact_id).in_(contact_ids),
            col(Message.occurred_at) >= start - window,
            col(Message.occurred_at) <= end + window,
            # An entry made from a capture nobody logged covers nothing: it is the gap itself.
            col(Message.flags).not_like(f"%{Flag.not_logged.value}%"),
        )
        .order_by(col(Message.occurred_at))
    ).all()
    ids = [r[0] for r in rows]
    pupils: dict[int, set[int]] = defaultdict(set)
    for start_at in range(0, len(ids), 500):
        chunk = ids[start_at : start_at + 500]
        for message_id, pupil_id in session.exec(
            select(MessagePupil.message_id, MessagePupil.pupil_id).where(
                col(MessagePupil.message_id).in_(chunk)
            )
        ).all():
            pupils[message_id].add(pupil_id)
    found: dict[int, Logged] = defaultdict(Logged)
    for entry_id, contact_id, direction, occurred_at in rows:  # oldest first
        assert entry_id is not None
        found[contact_id].add(Entry(entry_id, direction, occurred_at, frozenset(pupils[entry_id])))
    return found


def covering(
    logged: Logged | None,
    *,
    direction: str,
    sent_at: datetime,
    pupil_ids: set[int],
    policy: Policy,
) -> Entry | None:
    """The logged entry nearest in time that covers a captured message, if any: one entry may
    cover several messages of a conversation (a teacher logs the exchange, not each line)."""
    if logged is None:
        return None
    window = timedelta(minutes=policy.capture_window_minutes)
    best: Entry | None = None
    for entry in logged.within(sent_at, window):
        if entry.direction != direction or abs(entry.occurred_at - sent_at) > window:
            continue
        if pupil_ids and entry.pupils and not pupil_ids & entry.pupils:
            continue
        if best is None or abs(entry.occurred_at - sent_at) < abs(best.occurred_at - sent_at):
            best = entry
    return best


def school_days_after(day: date, count: int) -> date:
    """The day `count` school days (Monday to Friday) after `day`."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def contact_ids_of(held: list[Held]) -> set[int]:
    return {h.contact.id for h in held if h.contact.id is not None}
