"""What the logs publish to anyone, as C2SP tlog-tiles: each log's latest checkpoint, its tiles
of hashes and its entry bundles (an event's number and content hash: never a word of content),
so a monitor outside the trust (the local authority, another trust, the DPO) mirrors a log and
checks that it only ever grows, with standard clients. A full tile, or a partial one of a
given width, never changes once served."""

from __future__ import annotations

import struct

from sqlmodel import Session

from core.errors import NotFound
from core.record import logs, tiles
from core.record.models import Log
from core.record.tiles import WIDTH, Tiles


def _log(session: Session, trust_id: int | None) -> Log:
    log = logs.log_of(session, trust_id)
    if log is None:
        raise NotFound("There is no such log.")
    return log


def checkpoint(session: Session, trust_id: int | None) -> str:
    """The log's latest signed checkpoint, as issued."""
    log = _log(session, trust_id)
    assert log.id is not None
    latest = logs.latest_checkpoint(session, log.id)
    if latest is None:
        raise NotFound("The log has no signed checkpoint yet.")
    return latest.note


def _wanted(log: Log, level: int, path: str) -> tuple[int, int]:
    """(tile number, width) the path asks for, if the log has that tile; else NotFound."""
    try:
        number, partial = tiles.read_path(path)
    except ValueError as exc:
        raise NotFound(f"No such tile: {exc}.") from None
    full, width = tiles.widths(log.size, level)
    if partial is None:
        if number >= full:
            raise NotFound("The log has no such full tile.")
        return number, WIDTH
    if number > full or (number == full and partial > width):
        raise NotFound("The log has no such partial tile.")
    return number, partial


def tile(session: Session, trust_id: int | None, level: int, path: str) -> bytes:
    """A tile of hashes: `level` 0 the leaves', each level above the hashes of full tiles."""
    log = _log(session, trust_id)
    assert log.id is not None
    if not 0 <= level < 64:
        raise NotFound("No such tile level.")
    number, width = _wanted(log, level, path)
    hashes = bytes(Tiles(session, log.id).tile(level, number))
    return hashes[: width * 32]


def entries(session: Session, trust_id: int | None, path: str) -> bytes:
    """An entry bundle: the entries of a level-0 tile, each as a big-endian uint16 length and
    the entry (tiles.entry: the event's number and the hash of its content)."""
    log = _log(session, trust_id)
    assert log.id is not None
    number, width = _wanted(log, 0, path)
    found = logs.leaf_entries(session, log.id, number * WIDTH, number * WIDTH + width)
    return b"".join(struct.pack(">H", len(e)) + e for e in found)
