"""Property: any single edit, deletion, insertion or reordering of the change record is caught,
and verification names the first link that no longer holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.record.audit import content_hash_of, link_hash_of
from core.record.chain import check_chain
from core.record.models import GENESIS, AuditEvent

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        event = AuditEvent(
            seq=seq,
            at=START + timedelta(minutes=seq),
            actor_id=seq % 5 + 1,
            school_id=1,
            action=["contact.requested", "message.logged", "consent.recorded"][seq % 3],
            object_type="contact",
            object_id=seq // 2 + 1,
            reason=None,
            details=json.dumps({"n": seq}),
            content_hash="",
            prev_hash=prev,
            link_hash="",
        )
        event.content_hash = content_hash_of(event)
        event.link_hash = link_hash_of(seq, prev, event.content_hash)
        events.append(event)
        prev = event.link_hash
    return events


def copy(event: AuditEvent) -> AuditEvent:
    return AuditEvent.model_validate(event.model_dump())


EDITS = ["reason", "actor_id", "action", "details", "at", "object_id", "link_hash", "content_hash"]


@st.composite
def tampered(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(min_value=2, max_value=30))
    events = chain(n)
    head_seq, head_link = n, events[-1].link_hash
    kind = draw(st.sampled_from(["edit", "delete", "insert", "swap"]))
    i = draw(st.integers(min_value=0, max_value=n - 1))
    if kind == "edit":
        field = draw(st.sampled_from(EDITS))
        victim = copy(events[i])
        value = {
            "reason": "nothing to see",
            "actor_id": (victim.actor_id or 0) + 7,
            "action": "contact.rejected",
            "details": json.dumps({"n": -1}),
            "at": victim.at + timedelta(seconds=1),
            "object_id": (victim.object_id or 0) + 1,
            "link_hash": "f" * 64,
            "content_hash": "e" * 64,
        }[field]
        setattr(victim, field, value)
        events[i] = victim
        first_bad = i + 1
    elif kind == "delete":
        del events[i]
        first_bad = i + 1
    elif kind == "insert":
        forged = copy(events[i])
        forged.details = json.dumps({"forged": True})
        forged.content_hash = content_hash_of(forged)
        forged.link_hash = link_hash_of(forged.seq, forged.prev_hash, forged.content_hash)
        # A well-formed forgery slipped in before the real event: it links to its predecessor,
        # so the break shows at the real event it displaced, one place on.
        events.insert(i, forged)
        first_bad = i + 2
    else:
        j = draw(st.integers(min_value=0, max_value=n - 1).filter(lambda j: j != i))
        a, b = sorted((i, j))
        events[a], events[b] = events[b], events[a]
        first_bad = a + 1
    return events, head_seq, head_link, first_bad


def test_an_untouched_chain_verifies():
    events = chain(25)
    result = check_chain(events, head_seq=25, head_link=events[-1].link_hash)
    assert result.ok
    assert result.checked == 25
    assert result.first_bad is None


@settings(max_examples=1200, deadline=None)
@given(tampered())
def test_every_single_tampering_is_caught_at_its_first_bad_link(case):
    events, head_seq, head_link, first_bad = case
    result = check_chain(events, head_seq=head_seq, head_link=head_link)
    assert not result.ok
    assert result.first_bad == first_bad
    assert result.checked == first_bad - 1


@settings(max_examples=300, deadline=None)
# Hypothesis takes naive bounds; the zone of each instant comes from `timezones`.
@given(st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.timezones()))  # noqa: DTZ001
def test_a_time_as_sqlite_stores_it_hashes_as_the_time_itself(moment):
    # SQLite verification reads times as stored text; it must hash what the writer hashed.
    from sqlalchemy.dialects import sqlite

    from core.record.chain import _stamp_of_stored

    stored = sqlite.DATETIME().bind_processor(sqlite.dialect())(moment.astimezone(UTC))
    assert _stamp_of_stored(stored) == moment.astimezone(UTC).isoformat()
