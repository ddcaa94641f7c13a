"""The change record's jobs: the hourly full check, whose failure the DSLs are told of at once,
and the daily checkpoint, its head signed and sent to the DSLs, who keep copies outside
contactlog's database (see `core.record.checkpoints`)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.db import Database, read_consistently
from core.directory.models import Role, School, Staff, StaffRole
from core.record import checkpoints, verification
from core.record.models import AuditEvent, AuditHead, ChainCheckpoint
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import send, staff_with_role

# The job runs daily; a scheduler restarting in between does not sign (and email) again.
DAILY = timedelta(hours=23)


def check_chain(db: Database, settings: Settings, at: datetime) -> int:
    """Check every link and every sealed record, file the outcome, and if anything was altered
    email every DSL (once for each distinct set of alterations): 1 if they were told, else 0.

    The check only reads, and on a large log it takes minutes, so it runs in a read-only
    session (on SQLite, no writer waits for it); the outcome is filed in a short transaction.
    """
    with db.session(for_reading=True) as reading:
        read_consistently(reading)  # one moment: rows committed meanwhile are not "altered"
        result = verification.verify(reading)
        reading.rollback()
    with db.transaction() as session:
        verification.keep(session, result, at=at)
        if result.ok:
            return 0
        found = sorted(f"{a.record_type}:{a.record_id}:{a.change}" for a in result.altered)
        what = hashlib.sha256(f"{result.first_bad}|{','.join(found)}".encode()).hexdigest()[:16]
        email = emails.chain_altered(
            first_bad=result.first_bad, altered=len(result.altered), base_url=settings.public_url
        )
        # The trust's DSLs too: what was altered may be a school DSL's own doing.
        for dsl in _every_dsl_and_trust_dsl(session):
            send(session, f"chain-altered:{what}", "chain_altered", dsl, email, None, at=at)
        return 1


def _why_not_sign(
    session: Session, head: AuditHead | None, last: ChainCheckpoint | None
) -> str | None:
    """Why this head must not be signed (None: it may be): a checkpoint vouches only for a
    record that verifies and extends the one signed last."""
    seq = head.seq if head is not None else 0
    if last is not None and seq < last.seq:
        return (
            f"the record now ends at event #{seq}, before event #{last.seq} which the last "
            "checkpoint signed: events were cut from its end"
        )
    if last is not None and last.seq > 0:
        signed = session.get(AuditEvent, last.seq)
        if signed is None or signed.link_hash != last.link_hash:
            return (
                f"event #{last.seq}, which the last checkpoint signed, is no longer the one "
                "signed: events were altered and the chain recomputed"
            )
    result = verification.verify(session)
    if not result.ok:
        return (
            f"it fails its own check (first bad event: {result.first_bad}; "
            f"{len(result.altered)} record(s) not as sealed)"
        )
    return None


def _every_dsl_and_trust_dsl(session: Session) -> list[Staff]:
    trust_dsls = session.exec(
        select(Staff)
        .join(StaffRole, col(StaffRole.staff_id) == col(Staff.id))
        .where(StaffRole.role == Role.trust_dsl, col(Staff.is_active))
    ).all()
    return list({s.id: s for s in [*_every_dsl(session), *trust_dsls]}.values())


def _every_dsl(session: Session) -> list[Staff]:
    """Each school's DSLs (its trust's DSLs where it has none), each once."""
    told: dict[int | None, Staff] = {}
    for school in session.exec(select(School)).all():
        for dsl in staff_with_role(session, school, Role.dsl):
            told.setdefault(dsl.id, dsl)
    return list(told.values())


def sign_and_send(db: Database, settings: Settings, at: datetime) -> int:
    """The daily checkpoint, when the record has grown since the last one."""
    return sign_now(db, settings, at, unless_signed_since=at - DAILY)


def sign_now(
    db: Database, settings: Settings, at: datetime, *, unless_signed_since: datetime | None = None
) -> int:
    """Sign the head and email each DSL the checkpoint (1), or nothing new to sign (0)."""
    key = checkpoints.load_key(settings.checkpoint_key_path)
    with db.transaction() as session:
        read_consistently(session)  # the head signed is the record checked, as of one moment
        head = session.get(AuditHead, 1)
        last = checkpoints.latest(session)
        if last is not None and head is not None and last.seq == head.seq:
            return 0  # nothing new to vouch for since the last one
        if last is not None and unless_signed_since and last.signed_at > unless_signed_since:
            return 0
        why = _why_not_sign(session, head, last)
        if why is not None:
            email = emails.checkpoint_refused(why=why, base_url=settings.public_url)
            what = hashlib.sha256(why.encode()).hexdigest()[:16]
            for dsl in _every_dsl_and_trust_dsl(session):
                send(
                    session, f"checkpoint-refused:{what}", "chain_altered", dsl, email, None, at=at
                )
            return 0
        try:
            with session.begin_nested():
                checkpoint = checkpoints.sign(session, key=key, at=at)
        except IntegrityError:
            return 0  # another scheduler signed this head a moment ago
        public = checkpoints.CheckpointPublic.model_validate(checkpoint, from_attributes=True)
        email = emails.checkpoint_signed(public.model_dump_json(indent=1))
        for dsl in _every_dsl(session):
            send(session, f"checkpoint:{checkpoint.id}", "checkpoint", dsl, email, None, at=at)
        return 1
