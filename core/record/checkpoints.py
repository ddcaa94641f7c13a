"""Signed checkpoints of the hash chain the verifiable log replaced (core/record/logs.py): its
head (sequence number and link hash), signed with the Ed25519 key kept outside the database.
No new ones are signed; those kept from before the log stay checkable here. The key itself
is loaded here, for the log's checkpoints too.

Anyone able to write the database could rewrite an event and recompute every link after it: the
chain would check out by itself. A checkpoint says what the head was when it was signed; a copy
kept elsewhere (the DSLs' email) then shows whether the chain up to that point is still the one
that was signed. The private key lives in a file (CHECKPOINT_KEY_FILE), never in the database;
each checkpoint carries the public key that signed it, so checkpoints made before a key was
rotated stay checkable, and the current public key is published for anyone to hold.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar

from annotated_types import Interval
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, Strict
from sqlmodel import Field, Session, col, select

from core.inputs import MAX_RECORD_ID, Forbid, Instant
from core.record import chain, verification
from core.record.models import GENESIS, AuditEvent, AuditHead, ChainCheckpoint
from core.record.verification import AlteredRecord


class CheckpointPublic(BaseModel):
    """A checkpoint as kept outside contactlog: everything needed to check it later."""

    id: int
    seq: int
    link_hash: str
    signed_at: datetime
    key_id: str
    public_key: str
    payload: str
    signature: str


class CheckpointIn(Forbid):
    """A checkpoint handed back to be checked (from an email, a file): strictly what one holds."""

    free_text: ClassVar[frozenset[str]] = frozenset({"public_key"})

    # Whole numbers as numbers: `false` is not sequence number 0.
    id: Annotated[int, Strict(), Interval(ge=0, le=MAX_RECORD_ID)]
    seq: Annotated[int, Strict(), Interval(ge=0, le=2**62)]
    link_hash: str = Field(max_length=64)
    signed_at: Instant
    key_id: str = Field(max_length=16)
    public_key: str = Field(max_length=2000)
    payload: str = Field(max_length=2000)
    signature: str = Field(max_length=200)


class PublicKey(BaseModel):
    key_id: str
    public_key: str


class CheckpointVerdict(BaseModel):
    ok: bool
    checkpoint_seq: int
    detail: str
    first_bad: int | None = None
    # Records whose content is not what the chain sealed (by type and id).
    altered: list[AlteredRecord] = []


# ---------------------------------------------------------------- the key


def key_id_of(public_pem: str) -> str:
    return hashlib.sha256(public_pem.encode()).hexdigest()[:16]


def load_key(path: Path) -> Ed25519PrivateKey:
    """The signing key from its file, made on first use (owner-only, written whole)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-key-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_key(key: Ed25519PrivateKey) -> PublicKey:
    pem = public_pem(key)
    return PublicKey(key_id=key_id_of(pem), public_key=pem)


# ---------------------------------------------------------------- signing


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def sign(session: Session, *, key: Ed25519PrivateKey, at: datetime) -> ChainCheckpoint:
    """Sign the chain's head as it stands, and keep the checkpoint."""
    head = session.get(AuditHead, 1)
    seq, link = (head.seq, head.link_hash) if head else (0, GENESIS)
    pem = public_pem(key)
    payload = _canonical(
        {"seq": seq, "link_hash": link, "signed_at": at.isoformat(), "key_id": key_id_of(pem)}
    )
    checkpoint = ChainCheckpoint(
        seq=seq,
        link_hash=link,
        signed_at=at,
        key_id=key_id_of(pem),
        public_key=pem,
        payload=payload,
        signature=base64.b64encode(key.sign(payload.encode())).decode(),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def latest(session: Session) -> ChainCheckpoint | None:
    return session.exec(
        select(ChainCheckpoint).order_by(col(ChainCheckpoint.id).desc()).limit(1)
    ).first()


def listed(session: Session, *, limit: int) -> list[ChainCheckpoint]:
    return list(
        session.exec(
            select(ChainCheckpoint).order_by(col(ChainCheckpoint.id).desc()).limit(limit)
        ).all()
    )


# ---------------------------------------------------------------- checking


def verify_against(
    session: Session, *, checkpoint: CheckpointIn, trusted_key: str | None = None
) -> CheckpointVerdict:
    """Whether the chain up to the checkpoint is the one that was signed.

    `trusted_key` is the public key held outside contactlog (from `GET /audit/public-key` or
    `contactlog audit public-key`, kept when it was published); without it, the key the
    checkpoint carries is used, which proves the checkpoint was not altered but not who made it.
    """
    seq = checkpoint.seq
    pem = trusted_key or checkpoint.public_key
    try:
        loaded = serialization.load_pem_public_key(pem.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        loaded.verify(base64.b64decode(checkpoint.signature), checkpoint.payload.encode())
        signed = json.loads(checkpoint.payload)
    except (InvalidSignature, ValueError, TypeError):
        return CheckpointVerdict(
            ok=False,
            checkpoint_seq=seq,
            detail="The checkpoint's signature does not match: it was altered, or signed "
            "with another key.",
        )
    if signed.get("seq") != seq or signed.get("link_hash") != checkpoint.link_hash:
        return CheckpointVerdict(
            ok=False,
            checkpoint_seq=seq,
            detail="The checkpoint's fields differ from what was signed.",
        )
    walked = chain.verify_chain(session)
    if not walked.ok and walked.first_bad is not None and walked.first_bad <= seq:
        return CheckpointVerdict(
            ok=False,
            checkpoint_seq=seq,
            first_bad=walked.first_bad,
            detail="The change record is broken before the checkpoint.",
        )
    altered = verification.verify(session).altered
    if altered:
        return CheckpointVerdict(
            ok=False,
            checkpoint_seq=seq,
            altered=altered,
            detail=f"{len(altered)} record(s) are not as the change record sealed them: "
            "changed, removed or added outside contactlog.",
        )
    if seq == 0:
        return CheckpointVerdict(ok=True, checkpoint_seq=0, detail="An empty record was signed.")
    stored = session.get(AuditEvent, seq)
    if stored is None or stored.link_hash != signed["link_hash"]:
        return CheckpointVerdict(
            ok=False,
            checkpoint_seq=seq,
            detail="The change record up to the checkpoint is not the one that was signed: "
            "events were altered and the chain recomputed.",
        )
    return CheckpointVerdict(
        ok=True,
        checkpoint_seq=seq,
        detail="The change record up to the checkpoint is the one that was signed.",
    )
