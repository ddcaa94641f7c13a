"""Reading the change record: who may (DSLs), what they see (their school's, or their trust's
for trust roles), checking it is unaltered, and the checkpoints that vouch for it."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core import about
from core.db import snapshot_of
from core.directory.access import require_role, visible_school
from core.directory.models import TRUST_ROLES, Role
from core.directory.schools import list_schools
from core.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit, checkpoints, full_check, logs, notes, proofs, signer, verification
from core.record.audit import AuditEventPublic, EventFilter
from core.record.models import AuditEvent, ChainCheck, Log, LogCheckpoint, LogWitness
from core.record.verification import VerifyResult
from core.settings import Settings


def _as_dsl(session: Session, actor: Principal, action: str) -> list[int]:
    """The schools whose record this DSL reads; Forbidden for anyone else."""
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.dsl, action=action)
    if actor.roles & TRUST_ROLES:
        return [s.id for s in list_schools(session=session, actor=actor) if s.id is not None]
    assert school.id is not None
    return [school.id]


def read_events(
    *,
    session: Session,
    actor: Principal,
    where: EventFilter,
    cursor: str | None,
    limit: int,
    newest_first: bool = False,
) -> Page[AuditEventPublic]:
    """The events of the actor's schools that match `where`, in the chain's order (or the
    latest first, as a page lists them)."""
    schools = _as_dsl(session, actor, "read the change record")
    # Events about a record that is about the reader (a hold on her) are not hers to see.
    mine = about.not_about(actor.staff_id, col(AuditEvent.object_type), col(AuditEvent.object_id))
    page = fetch_page(
        session,
        audit.events_query(replace(where, school_ids=schools)).where(mine),
        col(AuditEvent.seq),
        cursor=cursor,
        limit=limit,
        newest_first=newest_first,
        key="seq",
    )
    return Page(items=[audit.public(e) for e in page.items], next_cursor=page.next_cursor)


def verify(*, session: Session, actor: Principal) -> VerifyResult:
    """The latest full check as this DSL may see it: the whole record's verdict, with their own
    schools' findings named and the rest counted; and the check under way now, if any. Nothing
    is hashed here: checks are made by the scheduler (hourly, or when a DSL asks)."""
    schools = _as_dsl(session, actor, "verify the change record")
    whole = full_check.outcome(session, full_check.latest(session))
    trust_id = actor.trust_id if actor.roles & TRUST_ROLES else None
    return whole.seen_from(set(schools), trust_id, actor.trust_id)


# A DSL's "check it now" at most this often (whoever pressed): a full check hashes everything.
CHECK_NOW_EVERY = timedelta(minutes=1)


def check_now(*, session: Session, actor: Principal, at: datetime) -> VerifyResult:
    """A DSL asks for a full check now, rather than wait for the schedule: the scheduler makes
    it within seconds, and its outcome replaces the latest. One at a time (a second press while
    one is on its way is told so, 409), and not within a minute of the last being asked for,
    so that nobody can keep the server hashing the whole record (429)."""
    _as_dsl(session, actor, "check the change record")
    last = session.exec(
        select(ChainCheck.checked_at).order_by(col(ChainCheck.checked_at).desc()).limit(1)
    ).first()
    if last is not None and timedelta(0) <= at - last < CHECK_NOW_EVERY:
        wait = int((CHECK_NOW_EVERY - (at - last)).total_seconds()) + 1
        raise TooManyAttempts(
            "The record was checked moments ago; its outcome is on the dashboard. Check again "
            "in a minute.",
            retry_after=wait,
        )
    full_check.ask(session, asked_by=actor.staff_id, at=at)
    return verify(session=session, actor=actor)


# ---------------------------------------------------------------- the trust's verifiable log


class CheckpointNote(BaseModel):
    """A signed checkpoint of a log as issued (C2SP signed note): keep the note as it is."""

    size: int
    signed_at: datetime
    note: str


class WitnessPublic(BaseModel):
    """A witness of the log: who, its key, what it last cosigned, what went wrong last."""

    name: str
    vkey: str
    url: str
    size: int
    submitted_at: datetime | None
    problem: str | None


class LogPublic(BaseModel):
    """A trust's log as its DSLs see it: its name, size, the key to check it with, the last
    checkpoint, and the server's own check of it."""

    origin: str
    size: int
    vkey: str
    checked_at: datetime | None
    # What the server's own check found wrong (None: nothing); while set, nothing is signed.
    problem: str | None
    latest: CheckpointNote | None
    witnesses: list[WitnessPublic] = []


class ConsistencyProof(BaseModel):
    origin: str
    old_size: int
    size: int
    # RFC 9162 consistency path, base64 hashes in order.
    proof: list[str]


def _note(c: LogCheckpoint) -> CheckpointNote:
    return CheckpointNote(size=c.size, signed_at=c.signed_at, note=c.note)


def _log_of_reader(session: Session, actor: Principal, action: str) -> Log:
    """The log of the reader's trust; Forbidden for anyone but a DSL."""
    _as_dsl(session, actor, action)
    log = logs.log_of(session, actor.trust_id)
    if log is None:
        raise NotFound("Your trust's log has no events yet: it is made as the first one joins.")
    return log


def read_log(*, session: Session, actor: Principal, settings: Settings) -> LogPublic:
    log = _log_of_reader(session, actor, "read the change record's log")
    assert log.id is not None
    latest = logs.latest_checkpoint(session, log.id)
    key = checkpoints.load_key(settings.checkpoint_key_path)
    return LogPublic(
        origin=log.origin,
        size=log.size,
        vkey=signer.vkey(log, key),
        checked_at=log.checked_at,
        problem=log.problem,
        latest=_note(latest) if latest is not None else None,
        witnesses=[
            WitnessPublic.model_validate(w, from_attributes=True)
            for w in session.exec(
                select(LogWitness).where(LogWitness.log_id == log.id).order_by(col(LogWitness.id))
            ).all()
        ],
    )


def log_checkpoints(
    *, session: Session, actor: Principal, limit: int, before: int | None
) -> list[CheckpointNote]:
    """The log's checkpoints, newest first (`before`: only those of fewer events)."""
    log = _log_of_reader(session, actor, "read the change record's checkpoints")
    query = select(LogCheckpoint).where(LogCheckpoint.log_id == log.id)
    if before is not None:
        query = query.where(col(LogCheckpoint.size) < before)
    found = session.exec(query.order_by(col(LogCheckpoint.size).desc()).limit(limit)).all()
    return [_note(c) for c in found]


def event_proof(*, session: Session, actor: Principal, seq: int, size: int | None) -> proofs.Proven:
    """The inclusion proof of one event the reader may read, against the log's latest
    checkpoint (or its checkpoint of `size`)."""
    schools = _as_dsl(session, actor, "read a proof from the change record")
    mine = about.not_about(actor.staff_id, col(AuditEvent.object_type), col(AuditEvent.object_id))
    event = session.exec(select(AuditEvent).where(AuditEvent.seq == seq, mine)).first()
    if event is None or event.school_id not in schools:
        raise NotFound(f"Event #{seq} is not in your record.")
    proven = proofs.proof_of(session, seq, size=size)
    if proven is not None:
        return proven
    leaf = logs.leaf_of(session, seq)
    if size is not None and (
        leaf is None or logs.checkpoint_at(session, leaf.log_id, size) is None
    ):
        raise NotFound(f"The log has no checkpoint of {size} events.")
    raise Conflict(
        f"Event #{seq} is not in a signed checkpoint yet: the log takes it in within minutes "
        "(or ask for a checkpoint of a size that holds it)."
    )


def consistency_proof(
    *, session: Session, actor: Principal, old_size: int, size: int
) -> ConsistencyProof:
    """The proof that the log's tree of `size` events extends its tree of `old_size` (those of
    two checkpoints someone holds)."""
    log = _log_of_reader(session, actor, "read a proof from the change record")
    assert log.id is not None
    if old_size > size:
        raise InvalidInput(
            "old_size is at most size: a log only grows.",
            extra={"errors": [{"field": "old_size", "message": "greater than size"}]},
        )
    if size > log.size:
        raise NotFound(f"The log holds {log.size} events, not {size}.")
    path = proofs.consistency_of(session, log, old_size, size)
    return ConsistencyProof(
        origin=log.origin,
        old_size=old_size,
        size=size,
        proof=[base64.b64encode(h).decode() for h in path],
    )


def check_kept_note(
    *, session: Session, actor: Principal, settings: Settings, note: str, vkey: str | None
) -> proofs.KeptVerdict:
    """Whether a checkpoint someone kept is still vouched for by the log as it stands, checked
    with the verifier key they hold (the server's own, if they give none)."""
    log = _log_of_reader(session, actor, "check the change record")
    key = checkpoints.load_key(settings.checkpoint_key_path)
    try:
        verifier = proofs.verifier_for(log, vkey, key)
    except notes.NoteInvalid as exc:
        raise InvalidInput(
            f"That is not a verifier key: {exc}.",
            extra={"errors": [{"field": "vkey", "message": str(exc)}]},
        ) from None
    # It compares every event up to the checkpoint with its leaf: one such check at a time,
    # so nobody can keep the server hashing the whole log.
    with (
        verification.only_check(busy="A check of the record is running now; try again soon."),
        snapshot_of(session) as moment,  # one moment of the log, never a blur
    ):
        found = moment.get(Log, log.id)
        assert found is not None
        return proofs.check_kept(moment, found, note, verifier)
