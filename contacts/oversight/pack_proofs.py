"""What proves an evidence pack: every log brought up to date and signed in the request's own
transaction as the pack is made, its checkpoint sent to the trust's witnesses, and the events
that last sealed each of the pack's records found by the seal index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import union_all
from sqlmodel import Session, col, select

from core.record import checkpoints, logs, proofs, signer, witness
from core.record.models import AuditEvent, Log, LogCheckpoint, SealIndex
from core.settings import Settings


@dataclass(frozen=True)
class Proving:
    """The trust's log as the pack is made: what signs the pack and proves its events."""

    origin: str
    key: Ed25519PrivateKey
    checkpoint: LogCheckpoint | None
    # Why the log could not be signed now (it failed its own check), if it could not.
    refused: str | None
    # Why any of the trust's witnesses did not cosign the pack's checkpoint.
    uncosigned: list[str]
    # The verifier key of each log whose events the pack may hold.
    vkeys: list[str]
    prover: proofs.Prover


def prove(session: Session, *, trust_id: int, settings: Settings, at: datetime) -> Proving:
    key = checkpoints.load_key(settings.checkpoint_key_path)
    made, refused = proofs.signed_now(
        session,
        key=key,
        memory=signer.Memory(settings.checkpoint_key_path),
        public_url=settings.public_url,
        at=at,
    )
    log = logs.log_of(session, trust_id)
    assert log is not None  # the school's own events are in it, joined just now
    assert log.id is not None
    checkpoint = made.get(log.id)
    uncosigned = (
        witness.cosign_now(session, log, checkpoint, at=at) if checkpoint is not None else []
    )
    signed = [found for log_id in sorted(made) if (found := session.get(Log, log_id))]
    return Proving(
        origin=log.origin,
        key=key,
        checkpoint=checkpoint,
        refused=refused.get(log.id),
        uncosigned=uncosigned,
        vkeys=[signer.vkey(found, key) for found in signed],
        prover=proofs.Prover(session, made),
    )


def newest_event(moment: Session) -> int:
    return int(moment.exec(select(sa.func.max(AuditEvent.seq))).one() or 0)


def sealing_events(session: Session, kept: Sequence[tuple[str, Any]], *, newest: int) -> list[int]:
    """The events that last sealed each of these records (kind, ids), up to the moment's
    newest event: read in the request's session, whose integration just indexed the events
    it took into the log (the moment's own snapshot cannot see that yet)."""
    found = session.connection().execute(
        union_all(
            *(
                select(SealIndex.seq).where(
                    SealIndex.record_type == name,
                    col(SealIndex.record_id).in_(ids),
                    col(SealIndex.seq) <= newest,
                )
                for name, ids in kept
            )
        )
    )
    return sorted({int(seq) for seq in found.scalars()})
