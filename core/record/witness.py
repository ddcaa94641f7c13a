"""Witnessing, both ways (C2SP tlog-witness, with Ed25519 tlog-cosignature/v1): as a witness for
others, a checkpoint is cosigned only if it is signed by a log this deployment witnesses and is
consistent with the last one it cosigned for that log, checked and stored in one transaction;
as a log, each checkpoint is submitted to the trust's witnesses with its consistency proof and
their cosignatures are added to it.

The insider who holds both the database and the trust's key can rewrite a log and sign the
result; no witness that saw the log before will cosign it, and the refusal is what the DSLs
are told.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.record import logs, merkle, notes
from core.record.models import Log, LogCheckpoint, LogWitness, WitnessedLog
from core.record.tiles import Tiles
from core.text import one_line

COSIGNATURE = b"\x04"  # Ed25519 cosignature/v1's key type
SIZE_TYPE = "text/x.tlog.size"
MOST_PROOF_LINES = 63


# ---------------------------------------------------------------- cosignatures


# A witness's key is a verifier key of its own kind (0x04), read and named as a log's is.
Cosigner = notes.Verifier


def cosigner_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The witness's verifier key, to give to the logs it witnesses and their readers."""
    return notes.vkey(name, public_key, COSIGNATURE)


def read_cosigner(vkey: str) -> Cosigner:
    return notes.read_vkey(vkey, COSIGNATURE)


def _message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, key: Ed25519PrivateKey, at: datetime) -> str:
    """The cosignature line over a checkpoint's text, as of `at`."""
    timestamp = int(at.timestamp())
    signature = struct.pack(">Q", timestamp) + key.sign(_message(text, timestamp))
    ident = notes.key_id(name, key.public_key(), COSIGNATURE)
    encoded = base64.b64encode(ident + signature).decode()
    return f"{notes.DASH} {name} {encoded}\n"


def cosigned_at(note: str, cosigner: Cosigner) -> int | None:
    """When the cosigner cosigned this checkpoint (its timestamp), or None if it did not."""
    try:
        text, signatures = notes.split(note)
    except notes.NoteInvalid:
        return None
    for name, ident, signature in signatures:
        if (name, ident) != (cosigner.name, cosigner.key_id) or len(signature) != 72:
            continue
        (timestamp,) = struct.unpack(">Q", signature[:8])
        try:
            cosigner.public_key.verify(signature[8:], _message(text, timestamp))
        except InvalidSignature:
            return None
        return int(timestamp)
    return None


# ---------------------------------------------------------------- as a witness for others


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def _read_request(body: str) -> tuple[int, list[bytes], str]:
    head, sep, checkpoint = body.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise ValueError("the body is an old size line, proof lines, a blank line, a checkpoint")
    size = lines[0][4:]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise ValueError("the old size is a decimal number without leading zeroes")
    if len(lines) - 1 > MOST_PROOF_LINES:
        raise ValueError(f"a consistency proof is at most {MOST_PROOF_LINES} hashes")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error:
        raise ValueError("each proof line is a base64 hash") from None
    if any(len(h) != merkle.HASH_SIZE for h in proof):
        raise ValueError("each proof line is a 32-byte hash")
    return int(size), proof, checkpoint


def add_checkpoint(
    session: Session,
    body: str,
    *,
    witnessed: dict[str, notes.Verifier],
    name: str,
    key: Ed25519PrivateKey,
    at: datetime,
) -> Answer:
    """The add-checkpoint call: the cosignature, or why not, with the status the protocol
    gives each reason. The log's row is locked while it is checked and replaced."""
    try:
        old, proof, note = _read_request(body)
        text, _ = notes.split(note)
        checkpoint = notes.read_checkpoint(text)
    except (ValueError, notes.NoteInvalid) as exc:
        return Answer(400, f"{exc}\n")
    verifier = witnessed.get(checkpoint.origin)
    if verifier is None:
        return Answer(404, "This witness does not witness that log.\n")
    try:
        notes.verify(note, [verifier])
    except notes.NoteInvalid:
        return Answer(403, "The checkpoint is not signed by the log's key.\n")
    if old > checkpoint.size:
        return Answer(400, "The old size is larger than the checkpoint's.\n")
    stored = session.exec(
        select(WitnessedLog).where(WitnessedLog.origin == checkpoint.origin).with_for_update()
    ).first()
    latest = stored.size if stored is not None else 0
    if old != latest:
        return Answer(409, f"{latest}\n", SIZE_TYPE)
    problem = _inconsistent(old, proof, checkpoint, stored)
    if problem is not None:
        return Answer(422, f"{problem}\n")
    cosignature = cosign(text, name, key, at)
    kept = note + cosignature
    if stored is None:
        stored = WitnessedLog(
            origin=checkpoint.origin,
            size=checkpoint.size,
            root=checkpoint.root,
            note=kept,
            updated_at=at,
        )
    else:
        stored.size, stored.root, stored.note, stored.updated_at = (
            checkpoint.size,
            checkpoint.root,
            kept,
            at,
        )
    try:
        with session.begin_nested():
            session.add(stored)
            session.flush()
    except IntegrityError:  # another submission for a new log was stored a moment ago
        held = session.get(WitnessedLog, checkpoint.origin)
        return Answer(409, f"{held.size if held else 0}\n", SIZE_TYPE)
    return Answer(200, cosignature)


def _inconsistent(
    old: int, proof: list[bytes], checkpoint: notes.Checkpoint, stored: WitnessedLog | None
) -> str | None:
    if checkpoint.size == 0 and checkpoint.root != merkle.EMPTY_ROOT:
        return "A checkpoint of no entries has the empty tree's root."
    if old == 0:
        return "A proof from the empty tree is empty." if proof else None
    assert stored is not None
    try:  # of the same size too: then the proof is empty and the roots the same
        merkle.verify_consistency(old, checkpoint.size, proof, stored.root, checkpoint.root)
    except merkle.ProofInvalid:
        return "The checkpoint is not consistent with the one this witness cosigned."
    return None


def witnessed_checkpoint(session: Session, origin_hash: str) -> str | None:
    """The latest checkpoint cosigned for the log whose origin hashes to `origin_hash`."""
    for found in session.exec(select(WitnessedLog)).all():
        if hashlib.sha256(found.origin.encode()).hexdigest() == origin_hash:
            return found.note
    return None


# ---------------------------------------------------------------- as a log, to its witnesses


@dataclass(frozen=True)
class Exchange:
    """What a witness answered a submission: its cosignature lines (None: it did not cosign),
    or why not; `refused`: it judged the checkpoint and would not (not a witness down, which
    the next run retries quietly)."""

    cosignature: str | None = None
    problem: str | None = None
    refused: bool = False


def exchange(
    session: Session,
    log: Log,
    checkpoint: LogCheckpoint,
    witness: LogWitness,
    *,
    http: httpx.Client,
) -> Exchange:
    """Send the checkpoint to the witness with the consistency proof from what it cosigned
    last (once more from the size it says it holds, if that differs). Only reads: it runs in
    a reading session, so no writer waits on a witness far away (`record` files the answer)."""
    assert log.id is not None
    cosigner = read_cosigner(witness.vkey)
    tiles = Tiles(session, log.id)
    old = min(witness.size, checkpoint.size)
    for _ in range(2):
        proof = logs.consistency(tiles, old, checkpoint.size) if old else []
        lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
        body = "\n".join(lines) + "\n\n" + _log_signed(checkpoint.note, log)
        try:
            answer = http.post(f"{witness.url.rstrip('/')}/add-checkpoint", content=body)
        except httpx.HTTPError as exc:
            return Exchange(problem=f"could not be reached ({type(exc).__name__})")
        if answer.status_code == 409 and answer.text.strip().isdigit():
            old = int(answer.text.strip())
            if old > checkpoint.size:
                break
            continue
        if answer.status_code != 200:
            # The witness's own words, from another server: one line, and short.
            why = one_line(answer.text)[:200]
            return Exchange(
                problem=f"refused it ({answer.status_code}: {why})",
                refused=answer.status_code in (403, 409, 422),
            )
        lines_of_it = _lines_of(answer.text, cosigner)
        if cosigned_at(checkpoint.note + lines_of_it, cosigner) is None:
            return Exchange(problem="answered without a valid cosignature")
        return Exchange(cosignature=lines_of_it)
    return Exchange(
        problem=f"holds a later checkpoint ({old} events) than this log's", refused=True
    )


def record(
    session: Session, witness: LogWitness, checkpoint: LogCheckpoint, done: Exchange, at: datetime
) -> str | None:
    """File a witness's answer: its cosignature added to the checkpoint, or why not on the
    witness's row (the problem, prefixed with the witness's name)."""
    witness.submitted_at = at
    if done.cosignature is None:
        witness.problem = f"witness {witness.name} {done.problem}"
        session.add(witness)
        return witness.problem
    if cosigned_at(checkpoint.note, read_cosigner(witness.vkey)) is None:
        checkpoint.note += done.cosignature
    witness.size, witness.problem = max(witness.size, checkpoint.size), None
    session.add_all([checkpoint, witness])
    return None


def _log_signed(note: str, log: Log) -> str:
    """The checkpoint with the log's own signature only (cosignatures are the witnesses')."""
    text, signatures = notes.split(note)
    lines = [
        f"{notes.DASH} {name} {base64.b64encode(ident + signature).decode()}\n"
        for name, ident, signature in signatures
        if name == log.origin
    ]
    return text + "\n" + "".join(lines)


def _lines_of(answer: str, cosigner: Cosigner) -> str:
    """The answer's signature lines of this cosigner's key (any others are ignored)."""
    found = []
    for line in answer.splitlines():
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if dash == notes.DASH and name == cosigner.name and raw[:4] == cosigner.key_id:
            found.append(line + "\n")
    return "".join(found)


def witnessed_logs(path: Path | None) -> dict[str, notes.Verifier]:
    """The logs this deployment witnesses, by origin, from their verifier keys' file."""
    if path is None or not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            verifier = notes.read_vkey(line)
            found[verifier.name] = verifier
    return found


def cosign_now(
    session: Session, log: Log, checkpoint: LogCheckpoint, *, at: datetime, timeout: float = 5.0
) -> list[str]:
    """The checkpoint sent to each of the log's witnesses at once (for a pack made now, so its
    proofs are cosigned): why each that did not cosign did not."""
    found = session.exec(select(LogWitness).where(LogWitness.log_id == log.id)).all()
    problems = []
    with httpx.Client(timeout=timeout) as http:
        for each in found:
            if cosigned_at(checkpoint.note, read_cosigner(each.vkey)) is not None:
                continue
            done = exchange(session, log, checkpoint, each, http=http)
            problem = record(session, each, checkpoint, done, at)
            if problem is not None:
                problems.append(problem)
    return problems
