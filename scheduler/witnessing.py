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
from core.record.models import Log, LogCheckpoint, LogWitness
from core.settings import Settings
from scheduler import emails
from scheduler.checkpointing import dsls_of
from scheduler.recipients import send

TIMEOUT = httpx.Timeout(10.0)


def cosign(db: Database, settings: Settings, at: datetime) -> int:
    """Submit what each witness has not cosigned yet: how many cosignatures were added. The
    witness is asked from a reading session (no writer waits for it on SQLite); its answer is
    filed in a short transaction of its own."""
    added = 0
    with db.session(for_reading=True) as session:
        due = [
            (w, latest)
            for w in session.exec(select(LogWitness).order_by(col(LogWitness.id))).all()
            if (latest := logs.latest_checkpoint(session, w.log_id)) is not None
            and witness.cosigned_at(latest.note, witness.read_cosigner(w.vkey)) is None
        ]
        with httpx.Client(timeout=TIMEOUT) as http:
            answers = []
            for each, latest in due:
                log = session.get(Log, each.log_id)
                assert log is not None
                answers.append(witness.exchange(session, log, latest, each, http=http))
    for (each, latest), done in zip(due, answers, strict=True):
        with db.transaction() as session:
            found = session.get(LogWitness, each.id)
            checkpoint = session.get(LogCheckpoint, latest.id)
            if found is None or checkpoint is None:
                continue  # removed meanwhile
            problem = witness.record(session, found, checkpoint, done, at)
            if problem is None:
                added += 1
            elif done.refused:
                # Once for each refusal of what the witness last cosigned: a witness that
                # refuses every checkpoint after a rewrite is one alert, not one each time.
                email = emails.witness_refused(why=problem, base_url=settings.public_url)
                what = hashlib.sha256(f"{found.id}|{found.size}".encode()).hexdigest()[:16]
                log = session.get(Log, found.log_id)
                for dsl in dsls_of(session, log.trust_id if log is not None else None):
                    send(
                        session, f"witness-refused:{what}", "chain_altered", dsl, email, None, at=at
                    )
    return added
