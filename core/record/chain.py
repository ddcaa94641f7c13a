"""The hash chain the verifiable log replaced, walked from its first link: still written at
commit (each event's number and links), and checked only for a checkpoint of the chain someone
kept from before the log (`contactlog audit verify --against checkpoint.json`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.record.audit import content_digest, content_hash_of, link_hash_of
from core.record.models import GENESIS, AuditHead
from core.record.verification import VerifyResult


def verify_chain(session: Session) -> VerifyResult:
    """The chain alone: the first event whose content or link does not match."""
    head = session.get(AuditHead, 1)
    head_seq, head_link = (head.seq, head.link_hash) if head else (0, GENESIS)
    if session.connection().dialect.name == "postgresql":
        return _verify_on_server(session, head_seq=head_seq, head_link=head_link)
    return _verify_stored_rows(session, head_seq=head_seq, head_link=head_link)


_STORED_EVENTS = (
    "SELECT seq, at, actor_id, school_id, action, object_type, object_id, reason, details,"
    " content_hash, prev_hash, link_hash FROM audit_event ORDER BY seq"
)


def _verify_stored_rows(session: Session, *, head_seq: int, head_link: str) -> VerifyResult:
    """`check_chain` over the rows as SQLite stores them, read straight from its driver.

    SQLite has no SHA-256 to hash next to the data, so the hashing is Python's; what is saved
    is the rest of each row's cost (typed rows, parsing each time into a datetime only to
    print it again), which was most of it. The same checks as `check_chain`; a test compares
    the two on untouched and tampered chains.
    """
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_STORED_EVENTS)
        prev, expected = GENESIS, 1
        while rows := cursor.fetchmany(20_000):
            for row in rows:
                # seq, at, the six other fields hashed, then content_hash, prev_hash, link_hash
                seq, content, prev_hash, link = row[0], row[9], row[10], row[11]
                try:
                    good = (
                        seq == expected
                        and prev_hash == prev
                        and content == content_digest(_stamp_of_stored(row[1]), *row[2:9])
                        and link == link_hash_of(seq, prev, content)
                    )
                except (TypeError, ValueError):  # a value of the wrong type: edited by hand
                    good = False
                if not good:
                    return VerifyResult(ok=False, checked=expected - 1, first_bad=expected)
                prev = link
                expected += 1
    finally:
        cursor.close()
    checked = expected - 1
    if head_seq != checked or head_link != prev:
        return VerifyResult(ok=False, checked=checked, first_bad=checked + 1)
    return VerifyResult(ok=True, checked=checked, first_bad=None)


def _stamp_of_stored(at: str) -> str:
    """`datetime.isoformat()` of a time as SQLite holds it ("2026-11-24 09:30:00.250000", UTC)."""
    if len(at) == 26 and at[10] == " " and at[19] == ".":
        return f"{at[:10]}T{at[11:19] if at.endswith('000000') else at[11:]}+00:00"
    value = datetime.fromisoformat(at)
    return (
        value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    ).isoformat()


# The same checks as `check_chain`, with the hashing done by PostgreSQL (in C, next to the data)
# rather than row by row in Python: `content_hash_of` and `link_hash_of` written in SQL. The
# tamper tests run against both, and a test compares them on the same chain.
_CHECK_ON_SERVER = sa.text(
    """
    SELECT
        min(position) FILTER (WHERE seq <> position OR NOT good) AS first_bad,
        count(*) AS total,
        (SELECT link_hash FROM audit_event ORDER BY seq DESC LIMIT 1) AS last_link
    FROM (
        SELECT
            seq,
            row_number() OVER (ORDER BY seq) AS position,
            prev_hash = lag(link_hash, 1, :genesis) OVER (ORDER BY seq)
            AND content_hash = encode(sha256(
                convert_to(
                    replace(to_char(at AT TIME ZONE 'UTC', :stamp), '.000000', '') || :utc || :sep,
                    'UTF8')
                || coalesce(convert_to(actor_id::text, 'UTF8'), :nul)
                || convert_to(:sep, 'UTF8')
                || coalesce(convert_to(school_id::text, 'UTF8'), :nul)
                || convert_to(:sep || action || :sep || object_type || :sep, 'UTF8')
                || coalesce(convert_to(object_id::text, 'UTF8'), :nul)
                || convert_to(:sep, 'UTF8')
                || coalesce(convert_to(reason, 'UTF8'), :nul)
                || convert_to(:sep || details, 'UTF8')
            ), 'hex')
            AND link_hash = encode(
                sha256(convert_to(seq::text || ':' || prev_hash || ':' || content_hash, 'UTF8')),
                'hex'
            ) AS good
        FROM audit_event
    ) AS checked
    """
).bindparams(
    sa.bindparam("sep", "\x1f"),
    sa.bindparam("nul", b"\x00", type_=sa.LargeBinary),
    # isoformat(): microseconds only when there are some
    sa.bindparam("stamp", 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    sa.bindparam("utc", "+00:00"),
    sa.bindparam("genesis", GENESIS),
)


def _verify_on_server(session: Session, *, head_seq: int, head_link: str) -> VerifyResult:
    found = session.connection().execute(_CHECK_ON_SERVER).one()
    if found.first_bad is not None:
        return VerifyResult(ok=False, checked=found.first_bad - 1, first_bad=found.first_bad)
    checked, last = int(found.total), found.last_link or GENESIS
    if head_seq != checked or head_link != last:
        return VerifyResult(ok=False, checked=checked, first_bad=checked + 1)
    return VerifyResult(ok=True, checked=checked, first_bad=None)


def check_chain(events: Iterable[Any], *, head_seq: int, head_link: str) -> VerifyResult:
    """The verification itself, over events in the order they are stored."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for event in events:
        good = (
            event.seq == expected_seq
            and event.prev_hash == prev
            and event.content_hash == content_hash_of(event)
            and event.link_hash == link_hash_of(event.seq, prev, event.content_hash)
        )
        if not good:
            return VerifyResult(ok=False, checked=checked, first_bad=expected_seq)
        checked += 1
        prev = event.link_hash
        expected_seq += 1
    if head_seq != checked or head_link != prev:
        # Events cut from the end of the chain: the head still remembers them.
        return VerifyResult(ok=False, checked=checked, first_bad=checked + 1)
    return VerifyResult(ok=True, checked=checked, first_bad=None)
