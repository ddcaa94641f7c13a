"""Proofs handed out of the change record: an event's inclusion in its trust's log as a C2SP
tlog-proof (one text an investigator checks offline, checkpoint and all), the consistency of two
checkpoints, a checkpoint someone kept checked against the log as it stands, and the log
brought up to date and signed in the caller's transaction, for a pack made now."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.record import logs, merkle, notes, signer
from core.record.models import Log, LogCheckpoint
from core.record.tiles import Tiles

PROOF_HEADER = "c2sp.org/tlog-proof@v1"


def tlog_proof(leaf_index: int, path: list[bytes], note: str) -> str:
    """The proof text: header, index, the inclusion path a hash a line, a blank line, the
    checkpoint note verbatim."""
    lines = [PROOF_HEADER, f"index {leaf_index}", *(base64.b64encode(h).decode() for h in path)]
    return "\n".join(lines) + "\n\n" + note


@dataclass(frozen=True)
class Proven:
    """An event's place in its log and the proof of it against a signed checkpoint."""

    origin: str
    leaf_index: int
    checkpoint_size: int
    proof: str


def proof_of(session: Session, seq: int, *, size: int | None = None) -> Proven | None:
    """The inclusion proof of event `seq` against its log's checkpoint of `size` (the latest,
    if None); None while the event is in no signed checkpoint yet."""
    leaf = logs.leaf_of(session, seq)
    if leaf is None:
        return None
    checkpoint = (
        logs.latest_checkpoint(session, leaf.log_id)
        if size is None
        else logs.checkpoint_at(session, leaf.log_id, size)
    )
    if checkpoint is None:
        return None
    return Prover(session, {leaf.log_id: checkpoint}).proof(seq)


class Prover:
    """Proofs of many events of one moment, each log's tiles read once."""

    def __init__(self, session: Session, checkpoints: dict[int, LogCheckpoint]) -> None:
        self.session, self.checkpoints = session, checkpoints
        self._tiles: dict[int, Tiles] = {}
        self._logs: dict[int, Log] = {}

    def proof(self, seq: int) -> Proven | None:
        leaf = logs.leaf_of(self.session, seq)
        if leaf is None or leaf.log_id not in self.checkpoints:
            return None
        checkpoint = self.checkpoints[leaf.log_id]
        if checkpoint.size <= leaf.leaf_index:
            return None
        if leaf.log_id not in self._logs:
            found = self.session.get(Log, leaf.log_id)
            assert found is not None
            self._logs[leaf.log_id] = found
            self._tiles[leaf.log_id] = Tiles(self.session, leaf.log_id)
        path = logs.inclusion(self._tiles[leaf.log_id], leaf.leaf_index, checkpoint.size)
        return Proven(
            self._logs[leaf.log_id].origin,
            leaf.leaf_index,
            checkpoint.size,
            tlog_proof(leaf.leaf_index, path, checkpoint.note),
        )


def signed_now(
    session: Session,
    *,
    key: Ed25519PrivateKey,
    memory: signer.Memory,
    public_url: str,
    at: datetime,
) -> tuple[dict[int, LogCheckpoint], dict[int, str]]:
    """Every event committed so far joined to its log, and every log checked and signed as it
    stands, in the caller's transaction: (each log's latest checkpoint, by log id; why each
    log that was not signed was refused).
    A pack made after this proves every event it holds. The signer's memory is not written
    (it must never lead the database, and this transaction commits later); the next run of the
    log job records it."""
    logs.integrate_all(session, public_url=public_url, at=at)
    made: dict[int, LogCheckpoint] = {}
    refused: dict[int, str] = {}
    for log in session.exec(select(Log).order_by(col(Log.id)).with_for_update()).all():
        assert log.id is not None
        result = signer.sign(session, log, key=key, memory=memory, at=at)
        if result.refused is not None:
            refused[log.id] = result.refused
        # Refused or not, the last checkpoint signed still proves the events before it.
        latest = logs.latest_checkpoint(session, log.id)
        if latest is not None:
            made[log.id] = latest
    return made, refused


# ---------------------------------------------------------------- consistency and kept checkpoints


def consistency_of(session: Session, log: Log, old_size: int, size: int) -> list[bytes]:
    """The proof that the log's checkpoint of `size` extends its checkpoint of `old_size`."""
    assert log.id is not None
    return logs.consistency(Tiles(session, log.id), old_size, size)


class KeptVerdict(BaseModel):
    """Whether a checkpoint someone kept is still vouched for by the log, and why (not)."""

    ok: bool
    detail: str
    size: int | None = None


def as_kept(text: str) -> str:
    """A checkpoint as someone kept it, as a note again: copied out of an email, its line
    endings may have become CRLF and its last one been dropped."""
    return text.replace("\r\n", "\n").strip("\n") + "\n"


def verifier_for(log: Log, vkey: str | None, key: Ed25519PrivateKey) -> notes.Verifier:
    """The verifier key someone holds for the log (the server's own, if they give none);
    NoteInvalid if what they gave is not one."""
    return notes.read_vkey(vkey if vkey is not None else signer.vkey(log, key))


def check_kept(session: Session, log: Log, note: str, verifier: notes.Verifier) -> KeptVerdict:
    """Whether a checkpoint someone kept (from an email, a pack) is signed by the trust's key
    and the log as it stands still extends it: the events it vouched for are still those."""
    assert log.id is not None
    note = as_kept(note)
    try:
        text, _ = notes.verify(note, [verifier])
        kept = notes.read_checkpoint(text)
    except notes.NoteInvalid as exc:
        return KeptVerdict(
            ok=False, detail=f"The checkpoint is not one this log's key signed: {exc}."
        )
    if kept.origin != log.origin:
        return KeptVerdict(
            ok=False, detail=f"The checkpoint is of another log ({kept.origin}).", size=kept.size
        )
    if kept.size > log.size:
        return KeptVerdict(
            ok=False,
            detail=f"The log holds {log.size} events, fewer than the {kept.size} the checkpoint "
            "signed: events were cut from its end.",
            size=kept.size,
        )
    tiles = Tiles(session, log.id)
    try:
        root = tiles.root(log.size)
    except merkle.ProofInvalid:
        root = b""  # hashes removed from the tiles: nothing extends anything
    if not logs.extends(tiles, log.size, root, kept.size, kept.root):
        return KeptVerdict(
            ok=False,
            detail=f"The log is not the one signed at {kept.size} events: its history was "
            "rewritten.",
            size=kept.size,
        )
    found = signer.leaves_match(session, log, tiles, 0, kept.size)
    if found is not None:
        return KeptVerdict(
            ok=False, detail=f"The log's tree is the one signed, but {found.why}.", size=kept.size
        )
    return KeptVerdict(
        ok=True,
        detail=f"The log still holds the {kept.size} events the checkpoint signed, unchanged.",
        size=kept.size,
    )
