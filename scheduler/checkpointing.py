"""The change record's log jobs: events into their trust's log within seconds, each log checked
and signed every few minutes (a refusal emailed to its DSLs at once), and the day's checkpoint
emailed to each trust's own DSLs to keep outside contactlog."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.db import Database
from core.directory.models import Role, School, Staff, StaffRole, Trust
from core.record import checkpoints, logs, signer
from core.record.models import Log
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import send, staff_with_role


def dsls_of(session: Session, trust_id: int | None) -> list[Staff]:
    """Who a trust's checkpoints and alerts go to: the DSLs of its schools (the trust's DSLs
    where a school has none) and the trust's DSLs, each once; for None (the deployment's own
    log, or what is no one trust's), those of every trust."""
    schools = select(School)
    trust_dsls = (
        select(Staff)
        .join(StaffRole, col(StaffRole.staff_id) == col(Staff.id))
        .join(School, col(School.id) == col(Staff.school_id))
        .where(StaffRole.role == Role.trust_dsl, col(Staff.is_active))
    )
    if trust_id is not None:
        schools = schools.where(School.trust_id == trust_id)
        trust_dsls = trust_dsls.where(School.trust_id == trust_id)
    told: dict[int | None, Staff] = {}
    for school in session.exec(schools).all():
        for dsl in staff_with_role(session, school, Role.dsl):
            told.setdefault(dsl.id, dsl)
    for dsl in session.exec(trust_dsls).all():
        told.setdefault(dsl.id, dsl)
    return list(told.values())


# A grown log is signed at most this often: proofs against a checkpoint a few minutes old.
SIGN_EVERY = timedelta(minutes=5)


def log_and_sign(db: Database, settings: Settings, at: datetime) -> int:
    """The log job: events that committed join their trust's log, every log is checked, and
    one that has grown is signed if its last checkpoint is SIGN_EVERY old: how many signed."""
    return _log_and_sign(db, settings, at, unless_signed_since=at - SIGN_EVERY)


def sign_now(db: Database, settings: Settings, at: datetime) -> int:
    """Every log brought up to date, checked and, where it has grown, signed at once (for an
    evidence pack, or `contactlog audit checkpoint`): how many checkpoints were signed."""
    return _log_and_sign(db, settings, at, unless_signed_since=None)


def _log_and_sign(
    db: Database, settings: Settings, at: datetime, *, unless_signed_since: datetime | None
) -> int:
    key = checkpoints.load_key(settings.checkpoint_key_path)
    memory = signer.Memory(settings.checkpoint_key_path)
    with db.transaction() as session:
        done = logs.integrate_all(session, public_url=settings.public_url, at=at)
        if done.stopped is not None:
            _refused(session, None, done.stopped, settings=settings, at=at)
        log_ids = list(session.exec(select(Log.id).order_by(col(Log.id))).all())
    signed = 0
    for log_id in log_ids:
        with db.transaction() as session:
            # Locked: two schedulers check and sign one log in turn, never both at once.
            log = session.exec(select(Log).where(Log.id == log_id).with_for_update()).one()
            result = signer.sign(
                session,
                log,
                key=key,
                memory=memory,
                at=at,
                unless_signed_since=unless_signed_since,
            )
            if result.refused is not None:
                _refused(session, log, result.refused, settings=settings, at=at)
            made = result.checkpoint
            origin, vkey = log.origin, signer.vkey(log, key)
        if made is not None:
            memory.remember(origin, made.size, made.root, vkey)  # once it is in the database
            signed += 1
    return signed


def _refused(
    session: Session, log: Log | None, why: str, *, settings: Settings, at: datetime
) -> None:
    """Tell the log's DSLs (everyone's, for the deployment's log or events no log took) why
    nothing was signed: once while the log stays refused (its last checkpoint, which no new
    one replaces meanwhile, names the occasion; the finding's words change as the log grows),
    and again if its checkpoints are tampered with too."""
    email = emails.checkpoint_refused(why=why, base_url=settings.public_url)
    if log is not None and log.id is not None:
        last = logs.latest_checkpoint(session, log.id)
        occasion = f"{log.id}|{last.id if last else '-'}"
    else:
        occasion = f"-|{why}"  # where the log stopped: the same words until it is put right
    what = hashlib.sha256(occasion.encode()).hexdigest()[:16]
    for dsl in dsls_of(session, log.trust_id if log is not None else None):
        send(session, f"checkpoint-refused:{what}", "chain_altered", dsl, email, None, at=at)


def send_checkpoints(db: Database, settings: Settings, at: datetime) -> int:
    """The daily checkpoint: every log signed as it stands, and each log's latest checkpoint
    emailed to its own DSLs, who keep it outside contactlog (once per checkpoint)."""
    sign_now(db, settings, at)
    key = checkpoints.load_key(settings.checkpoint_key_path)
    sent = 0
    with db.transaction() as session:
        for log in session.exec(select(Log).order_by(col(Log.id))).all():
            assert log.id is not None
            latest = logs.latest_checkpoint(session, log.id)
            if latest is None:
                continue
            trust = session.get(Trust, log.trust_id) if log.trust_id is not None else None
            email = emails.checkpoint_signed(
                owner=trust.name if trust is not None else "this deployment",
                size=latest.size,
                note=latest.note,
                vkey=signer.vkey(log, key),
            )
            told = [
                send(session, f"log-checkpoint:{latest.id}", "checkpoint", dsl, email, None, at=at)
                for dsl in dsls_of(session, log.trust_id)
            ]
            sent += any(told)
    return sent
