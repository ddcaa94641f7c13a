"""The witness job: each log's newest checkpoint sent to each of its trust's witnesses with its
consistency proof, their cosignatures added; a witness that refuses a checkpoint (it is not
consistent with what the witness saw before: the log was rewritten, even if re-signed with
the trust's real key) is reported to the log's DSLs at once, once for each refusal."""

from __future__ import annotations

import hashlib
from datetime import datetime

import httpx
from sqlmodel import col, select

from core.db import Database
from core.record import logs, witness
from core.record.models import Log, LogWitness
from core.settings import Settings
from scheduler import emails
from scheduler.checkpointing import dsls_of
from scheduler.recipients import send

TIMEOUT = httpx.Timeout(10.0)


def cosign(db: Database, settings: Settings, at: datetime) -> int:
    """Submit what each witness has not cosigned yet: how many cosignatures were added."""
    with db.session(for_reading=True) as session:
        ids = list(session.exec(select(LogWitness.id).order_by(col(LogWitness.id))).all())
    added = 0
    with httpx.Client(timeout=TIMEOUT) as http:
        for witness_id in ids:
            with db.transaction() as session:
                found = session.exec(
                    select(LogWitness).where(LogWitness.id == witness_id).with_for_update()
                ).one()
                log = session.get(Log, found.log_id)
                assert log is not None
                assert log.id is not None
                latest = logs.latest_checkpoint(session, log.id)
                if latest is None or (
                    latest.size <= found.size
                    and witness.cosigned_at(latest.note, witness.read_cosigner(found.vkey))
                ):
                    continue
                done = witness.submit(session, log, latest, found, http=http, at=at)
                if done.problem is None:
                    added += 1
                elif done.refused:
                    email = emails.witness_refused(why=done.problem, base_url=settings.public_url)
                    what = hashlib.sha256(f"{found.id}|{latest.size}".encode()).hexdigest()[:16]
                    for dsl in dsls_of(session, log):
                        key = f"witness-refused:{what}"
                        send(session, key, "chain_altered", dsl, email, None, at=at)
    return added
