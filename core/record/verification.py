"""Checking the change record: every link from the first, by the hashes the writer made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as Detail
from sqlmodel import Session, col, select

from core.db import table_of
from core.errors import Conflict
from core.record import seals
from core.record.audit import content_digest, content_hash_of, link_hash_of
from core.record.models import GENESIS, AuditHead, ChainCheck


class AlteredRecord(BaseModel):
    record_type: str
    record_id: int
    # edited, deleted, or unrecorded (a row no event sealed)
    change: str
    # Whose record it is (from the event that last sealed it, or the row itself): a reader is
    # named only their own schools' records, and told how many others there are.
    school_id: int | None = Detail(default=None, exclude=True)
    trust_id: int | None = Detail(default=None, exclude=True)


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    first_bad: int | None
    verified_at: datetime | None = None
    # The records under the chain, each compared with the hash its latest event sealed.
    records_checked: int = 0
    altered: list[AlteredRecord] = []
    # Altered records outside the reader's schools: counted, not named.
    altered_elsewhere: int = 0

    def seen_from(self, school_ids: set[int], trust_id: int | None) -> VerifyResult:
        """This result as one reader may see it: the altered records of their own schools
        (and their trust's own row), a count for the rest. `ok` stays the whole record's."""
        mine = [
            a
            for a in self.altered
            if (a.school_id is not None and a.school_id in school_ids)
            or (a.school_id is None and a.trust_id is not None and a.trust_id == trust_id)
        ]
        return self.model_copy(
            update={"altered": mine, "altered_elsewhere": len(self.altered) - len(mine)}
        )


@dataclass(frozen=True)
class _Verified:
    result: VerifyResult
    at: datetime


# One full check at a time per process, and its answer served again for a while: a caller who
# asks over and over (or many at once) cannot make the server hash the whole record each time.
_one_at_a_time = threading.Lock()
_last: dict[str, _Verified] = {}


_checking = threading.Lock()


@contextmanager
def only_check(*, busy: str) -> Iterator[None]:
    """Held while a check asked for by a person runs: a second one at the same moment is
    refused (Conflict) rather than queued behind it."""
    if not _checking.acquire(blocking=False):
        raise Conflict(busy)
    try:
        yield
    finally:
        _checking.release()


def verify_or_reuse(session: Session, *, at: datetime, reuse_seconds: int) -> VerifyResult:
    """The last full check if it is younger than `reuse_seconds`, or a new one; the answer
    says when it was made (`verified_at`)."""
    database = str(session.get_bind().engine.url)
    with _one_at_a_time:
        last = _last.get(database)
        if last is not None and 0 <= (at - last.at).total_seconds() < reuse_seconds:
            return last.result
        result = verify(session).model_copy(update={"verified_at": at})
        _last[database] = _Verified(result, at)
        return result


def keep(session: Session, result: VerifyResult, *, at: datetime) -> ChainCheck:
    """File a full check's outcome (made with `verify`, in a read-only session if it is long)."""
    check = ChainCheck(
        checked_at=at,
        ok=result.ok,
        events_checked=result.checked,
        first_bad=result.first_bad,
        records_checked=result.records_checked,
        altered=len(result.altered),
    )
    session.add(check)
    return check


def latest_check(session: Session) -> ChainCheck | None:
    """The most recent check on file, if any."""
    query = select(ChainCheck).order_by(
        col(ChainCheck.checked_at).desc(), col(ChainCheck.id).desc()
    )
    return session.exec(query.limit(1)).first()


def verify(session: Session) -> VerifyResult:
    """Walk the chain from its start (the first event whose content or link does not match),
    then compare every kept record with the hash its latest event sealed."""
    chain = verify_chain(session)
    schools: dict[str, int | None] = {}
    checked, altered = seals.altered(session.connection(), sealed_by_chain(session, schools))
    return chain.model_copy(
        update={
            "ok": chain.ok and not altered,
            "records_checked": checked,
            "altered": _placed(session, altered, schools),
        }
    )


def _placed(
    session: Session, altered: list[seals.Altered], schools: dict[str, int | None]
) -> list[AlteredRecord]:
    """Each altered record with its school (and trust): from the event that last sealed it,
    else from its own row (one no event sealed)."""
    conn = session.connection()
    school_trusts: dict[int | None, int] = {
        i: t for i, t in conn.execute(sa.text("SELECT id, trust_id FROM school")).all()
    }
    found = []
    for a in altered:
        key = f"{a.record_type}:{a.record_id}"
        school_id = schools.get(key)
        if school_id is None and a.record_type in seals.KEPT:
            table = table_of(seals.KEPT[a.record_type].model)
            if "school_id" in table.c:
                school_id = conn.execute(
                    sa.select(table.c.school_id).where(table.c.id == a.record_id)
                ).scalar()
        if a.record_type == "school" and school_id is None:
            school_id = a.record_id
        trust_id = a.record_id if a.record_type == "trust" else school_trusts.get(school_id)
        found.append(AlteredRecord(**a.__dict__, school_id=school_id, trust_id=trust_id))
    return found


def verify_chain(session: Session) -> VerifyResult:
    """The chain alone: the first event whose content or link does not match."""
    head = session.get(AuditHead, 1)
    head_seq, head_link = (head.seq, head.link_hash) if head else (0, GENESIS)
    if session.connection().dialect.name == "postgresql":
        return _verify_on_server(session, head_seq=head_seq, head_link=head_link)
    return _verify_stored_rows(session, head_seq=head_seq, head_link=head_link)


_SEALING = sa.text(
    "SELECT school_id, details FROM audit_event WHERE details LIKE '%\"sealed\"%' ORDER BY seq"
)


def sealed_by_chain(
    session: Session, schools: dict[str, int | None] | None = None
) -> dict[str, str]:
    """The latest hash the chain sealed for each record ("type:id"), events read in order;
    `schools`, if given, is filled with the school of the event that last sealed each."""
    latest: dict[str, str] = {}
    for school_id, details in session.connection().execute(_SEALING):
        sealed = json.loads(details).get("sealed", {})
        latest.update(sealed)
        if schools is not None:
            schools.update(dict.fromkeys(sealed, school_id))
    return latest


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
