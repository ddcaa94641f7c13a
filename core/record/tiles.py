"""A log's tree kept as C2SP tiles: the leaves' hashes 256 to a tile, and above them the hash of
each full tile below, so any subtree's hash (and so any proof) is read from a few tiles and
at most 255 hashings, and the tiles themselves are what a monitor fetches.

Only the hashes are here: an entry is an event's number and the hash of its content, never the
content, so a tile can be served to anyone and retention's redaction never touches one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session

from core.db import table_of
from core.record import merkle
from core.record.models import LogTile

HEIGHT = 8
WIDTH = 1 << HEIGHT  # hashes in a full tile
_HASH = merkle.HASH_SIZE
_tile = table_of(LogTile)


def entry(seq: int, content_hash: str) -> bytes:
    """The log's entry for event `seq`: what its leaf hash is the hash of. The content hash
    covers every field of the event, its seals included (core/record/audit.py)."""
    return f"contactlog-event {seq} {content_hash}\n".encode()


def perfect_root(hashes: bytes) -> bytes:
    """MTH of 2**k consecutive hashes given as their concatenation."""
    level = [hashes[i : i + _HASH] for i in range(0, len(hashes), _HASH)]
    while len(level) > 1:
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class Tiles:
    """One log's tiles in one session: read once each, written back by `flush`."""

    def __init__(self, session: Session, log_id: int) -> None:
        self.session, self.log_id = session, log_id
        self._tiles: dict[tuple[int, int], bytearray] = {}
        self._stored: set[tuple[int, int]] = set()
        self._changed: set[tuple[int, int]] = set()
        self._subtrees: dict[tuple[int, int], bytes] = {}

    def tile(self, level: int, number: int) -> bytearray:
        key = (level, number)
        if key not in self._tiles:
            found = self.session.connection().execute(
                sa.select(_tile.c.hashes).where(
                    _tile.c.log_id == self.log_id,
                    _tile.c.level == level,
                    _tile.c.number == number,
                )
            )
            hashes = found.scalar()
            if hashes is not None:
                self._stored.add(key)
            self._tiles[key] = bytearray(hashes or b"")
        return self._tiles[key]

    def node(self, height: int, index: int) -> bytes:
        """The perfect subtree of 2**height leaves from leaf index * 2**height: its hash."""
        level, below = divmod(height, HEIGHT)
        first = index << below  # in hashes of its tile level
        tile = self.tile(level, first >> HEIGHT)
        start = (first % WIDTH) * _HASH
        part = bytes(tile[start : start + (_HASH << below)])
        if len(part) != _HASH << below:
            raise merkle.ProofInvalid(f"the log holds no subtree {height}/{index} yet")
        return perfect_root(part)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]), for the ranges a tree's proofs and root ask for."""
        key = (start, end)
        if key not in self._subtrees:
            size = end - start
            if size & (size - 1) == 0 and start % size == 0:
                found = self.node(size.bit_length() - 1, start // size)
            else:
                k = 1 << ((size - 1).bit_length() - 1)
                found = merkle.node_hash(
                    self.subtree(start, start + k), self.subtree(start + k, end)
                )
            self._subtrees[key] = found
        return self._subtrees[key]

    def root(self, size: int) -> bytes:
        return merkle.EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def append(self, size: int, leaves: Iterable[bytes]) -> int:
        """Add leaf hashes to a tree of `size` leaves; each tile that fills is hashed into the
        level above. The new size."""
        for leaf in leaves:
            level, index, value = 0, size, leaf
            while True:
                number, position = divmod(index, WIDTH)
                tile = self.tile(level, number)
                if len(tile) != position * _HASH:
                    raise RuntimeError(
                        f"log {self.log_id}: tile {level}/{number} holds "
                        f"{len(tile) // _HASH} hashes, expected {position}"
                    )
                tile += value
                self._changed.add((level, number))
                if position != WIDTH - 1:
                    break
                level, index, value = level + 1, number, perfect_root(bytes(tile))
            size += 1
        self._subtrees.clear()
        return size

    def flush(self) -> None:
        conn = self.session.connection()
        for key in sorted(self._changed):
            level, number = key
            hashes = bytes(self._tiles[key])
            if key in self._stored:
                conn.execute(
                    _tile.update()
                    .where(
                        _tile.c.log_id == self.log_id,
                        _tile.c.level == level,
                        _tile.c.number == number,
                    )
                    .values(hashes=hashes)
                )
            else:
                conn.execute(
                    _tile.insert().values(
                        log_id=self.log_id, level=level, number=number, hashes=hashes
                    )
                )
                self._stored.add(key)
        self._changed.clear()


def widths(size: int, level: int) -> tuple[int, int]:
    """(full tiles, width of the partial one) at a level for a tree of `size` leaves."""
    hashes = size // (WIDTH**level)
    return hashes // WIDTH, hashes % WIDTH


# ---------------------------------------------------------------- tile paths (C2SP tlog-tiles)

_PATH = re.compile(r"^((?:x\d{3}/)*)(\d{3})(?:\.p/([1-9]\d*))?$")


def path_of(number: int) -> str:
    """A tile index as path elements: 1234067 -> x001/x234/067."""
    groups = f"{number:d}"
    groups = groups.zfill(-(-len(groups) // 3) * 3)
    parts = [groups[i : i + 3] for i in range(0, len(groups), 3)]
    return "/".join([*(f"x{p}" for p in parts[:-1]), parts[-1]])


def read_path(path: str) -> tuple[int, int | None]:
    """(tile index, partial width or None) from `x001/x234/067[.p/W]`; ValueError if malformed."""
    found = _PATH.match(path)
    if found is None:
        raise ValueError("a tile index is 3-digit groups, all but the last starting with x")
    head, last, width = found.groups()
    digits = head.replace("x", "").replace("/", "") + last
    if len(digits) > 3 and digits.startswith("000"):
        raise ValueError("a tile index has no leading groups of zeroes")
    partial = int(width) if width is not None else None
    if partial is not None and not 1 <= partial < WIDTH:
        raise ValueError("a partial tile is 1 to 255 wide")
    return int(digits), partial
