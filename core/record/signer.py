"""The log's signer and its own check: a checkpoint is signed only over a log that checks out and
extends the last checkpoint signed; anything else is refused, and the refusal says why.

The check costs what is new, not what is kept: the leaves added since it last ran are compared
with their events, the tree's root is recomputed from its tiles, and a consistency proof from
the last signed checkpoint to now is made from the tiles and verified. An event rewritten with
every hash after it recomputed, or a tail cut, cannot pass: the tiles that would have to change
are under a signature kept outside the database.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import table_of
from core.record import logs, merkle, notes
from core.record.audit import content_hash_of
from core.record.models import AuditEvent, AuditHead, Log, LogCheckpoint, LogCursor, LogLeaf
from core.record.tiles import WIDTH, Tiles, entry

_leaf = table_of(LogLeaf)
_event = table_of(AuditEvent)


class Memory:
    """What the signer last signed for each log, kept in a file beside its key, never in the
    database: someone who can rewrite the database, checkpoints and all, cannot make the signer
    forget what it signed. Written after the checkpoint commits, so it can lag the database
    (harmless: the database's checkpoints are checked with the key) but never lead it."""

    def __init__(self, key_path: Path) -> None:
        self.path = key_path.with_name(key_path.name + ".signed.json")

    def _all(self) -> dict[str, list[object]]:
        try:
            found = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return found if isinstance(found, dict) else {}

    def last(self, origin: str) -> tuple[int, bytes] | None:
        found = self._all().get(origin)
        if not isinstance(found, list) or len(found) < 2:
            return None
        return (int(str(found[0])), base64.b64decode(str(found[1])))

    def vkey(self, origin: str) -> str | None:
        """The verifier key of the last checkpoint signed: after the key is rotated, the one
        that signed the checkpoints before it."""
        found = self._all().get(origin)
        return str(found[2]) if isinstance(found, list) and len(found) > 2 else None

    def remember(self, origin: str, size: int, root: bytes, vkey: str) -> None:
        kept = self._all()
        before = kept.get(origin)
        if isinstance(before, list) and before and int(str(before[0])) > size:
            return
        kept[origin] = [size, base64.b64encode(root).decode(), vkey]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".signed-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(kept, handle, indent=1)
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def vkey(log: Log, key: Ed25519PrivateKey) -> str:
    """The verifier key a recipient holds for this log (C2SP vkey, named by the origin)."""
    return notes.vkey(log.origin, key.public_key())


@dataclass(frozen=True)
class Mismatch:
    """A leaf that does not match its event: the event's number (None: no event) and why."""

    seq: int | None
    why: str


def leaves_match(
    session: Session, log: Log, tiles: Tiles, start: int, end: int | None = None
) -> Mismatch | None:
    """Each leaf in [start, end) (to the log's end, if None) against its event as the event now
    stands, a tile at a time: what is wrong, or None."""
    conn = session.connection()
    end = log.size if end is None else end
    for first in range(start - start % WIDTH, end, WIDTH):
        tile = tiles.tile(0, first // WIDTH)
        query = (
            sa.select(_leaf.c.leaf_index, _event)
            .join(_event, _event.c.seq == _leaf.c.seq, isouter=True)
            .where(
                _leaf.c.log_id == log.id,
                _leaf.c.leaf_index >= max(first, start),
                _leaf.c.leaf_index < min(first + WIDTH, end),
            )
            .order_by(_leaf.c.leaf_index)
        )
        try:
            rows = conn.execute(query).all()
        except (TypeError, ValueError):
            last = min(first + WIDTH, end) - 1
            return Mismatch(
                None,
                f"an event of leaves {max(first, start)} to {last} holds a value no event can "
                "hold: it was edited by hand",
            )
        expected = max(first, start)
        for row in rows:
            index = row.leaf_index
            if index != expected:
                return Mismatch(
                    None, f"leaf {expected} of the log has no event: its row was removed"
                )
            if row.seq is None:
                return Mismatch(
                    None, f"the event of leaf {index} was removed from the change record"
                )
            if content_hash_of(row) != row.content_hash:
                return Mismatch(row.seq, f"event #{row.seq} was changed after it was logged")
            offset = (index % WIDTH) * merkle.HASH_SIZE
            stored = bytes(tile[offset : offset + merkle.HASH_SIZE])
            if merkle.leaf_hash(entry(row.seq, row.content_hash)) != stored:
                return Mismatch(
                    row.seq, f"event #{row.seq} is not the one its leaf ({index}) was made of"
                )
            expected += 1
        if expected < min(first + WIDTH, end):
            return Mismatch(None, f"leaf {expected} of the log has no event: its row was removed")
    return None


def _signed_by(last: LogCheckpoint, log: Log, verifiers: list[notes.Verifier]) -> bool:
    try:
        text, _ = notes.verify(last.note, verifiers)
        signed = notes.read_checkpoint(text)
    except notes.NoteInvalid:
        return False
    return (signed.origin, signed.size, signed.root) == (log.origin, last.size, last.root)


def check(
    session: Session,
    log: Log,
    last: LogCheckpoint | None,
    *,
    verifiers: list[notes.Verifier] | None = None,
    remembered: tuple[int, bytes] | None = None,
) -> str | None:
    """What is wrong with the log (None: nothing), checked against the last checkpoint on file
    (its signature checked with `verifiers`) and what the signer `remembered` signing last."""
    assert log.id is not None
    tiles = Tiles(session, log.id)
    if last is not None and verifiers and not _signed_by(last, log, verifiers):
        return "the last checkpoint on file is not one the signer signed: it was changed"
    signed = [(c.size, c.root, f"{c.signed_at:%Y-%m-%d %H:%M} UTC") for c in [last] if c]
    if remembered is not None:
        signed.append((*remembered, "the signer's own record"))
    for size, _, when in signed:
        if log.size < size:
            return (
                f"the log now holds {log.size} events, fewer than the {size} signed "
                f"({when}): events were cut from its end"
            )
    try:
        root = tiles.root(log.size)
    except merkle.ProofInvalid:
        return "the log's tiles are incomplete: hashes were removed"
    if root != log.root:
        return "the log's tiles do not give the root it records: its hashes were changed"
    for size, signed_root, when in signed:
        if not logs.extends(tiles, log.size, root, size, signed_root):
            return (
                f"the log is not the one signed at {size} events ({when}): its history was "
                "rewritten"
            )
    start = min(log.checked_size, last.size if last else 0, log.size)
    found = leaves_match(session, log, tiles, start)
    if found is not None:
        return found.why
    return record_whole(session)


def record_whole(session: Session) -> str | None:
    """Events numbered but gone before they joined a log (the head remembers them)."""
    head = session.get(AuditHead, 1)
    cursor = session.get(LogCursor, 1)
    if head is None or cursor is None:
        return None
    newest = session.connection().execute(sa.select(sa.func.max(_event.c.seq))).scalar() or 0
    if newest < head.seq:
        return f"events #{newest + 1} to #{head.seq} were removed from the change record"
    return None


@dataclass(frozen=True)
class Signed:
    checkpoint: LogCheckpoint | None = None
    # Why nothing was signed when something should have been: the log failed its check.
    refused: str | None = None


def sign(
    session: Session,
    log: Log,
    *,
    key: Ed25519PrivateKey,
    memory: Memory,
    at: datetime,
    unless_signed_since: datetime | None = None,
) -> Signed:
    """Check the log and sign a checkpoint of it as it stands, if it has grown (or has none)
    and its last was signed before `unless_signed_since` (if given): the check runs either way.
    Once the transaction commits, the caller has the signer remember it (`memory.remember`)."""
    assert log.id is not None
    last = logs.latest_checkpoint(session, log.id)
    verifiers = [notes.read_vkey(vkey(log, key))]
    before = memory.vkey(log.origin)  # the key signed before a rotation
    if before is not None and before != vkey(log, key):
        verifiers.append(notes.read_vkey(before))
    problem = check(session, log, last, verifiers=verifiers, remembered=memory.last(log.origin))
    log.checked_at = at
    if problem is not None:
        log.problem = problem
        session.add(log)
        return Signed(refused=problem)
    log.checked_size, log.problem = log.size, None
    session.add(log)
    if last is not None and (
        last.size == log.size
        or (unless_signed_since is not None and last.signed_at > unless_signed_since)
    ):
        return Signed()
    text = notes.Checkpoint(log.origin, log.size, log.root).text()
    checkpoint = LogCheckpoint(
        log_id=log.id,
        size=log.size,
        root=log.root,
        signed_at=at,
        note=notes.sign(text, log.origin, key),
    )
    try:
        with session.begin_nested():
            session.add(checkpoint)
            session.flush()
    except IntegrityError:
        return Signed()  # another signer signed this size a moment ago
    return Signed(checkpoint=checkpoint)
