"""A pack as it is written: a ZIP, entry by entry into a spooled file (its size never decides
the server's memory), each entry's SHA-256 in MANIFEST.sha256 (checked with `sha256sum -c`),
and, for an evidence pack, the manifest signed with the trust's log key (MANIFEST.note)."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Iterable
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.record import notes, pack_verifier


class Pack:
    """A ZIP written entry by entry into a spooled file, each entry's SHA-256 noted; with a
    `signer` (a log's origin and key), the manifest is signed too (MANIFEST.note)."""

    def __init__(self, signer: tuple[str, Ed25519PrivateKey] | None = None) -> None:
        self.signer = signer
        # Handed to the response, which closes it once sent.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        self.zip = zipfile.ZipFile(self.file, "w", compression=zipfile.ZIP_DEFLATED)
        self.digests: list[tuple[str, str]] = []

    def add(self, name: str, chunks: Iterable[bytes]) -> None:
        digest = hashlib.sha256()
        with self.zip.open(name, "w") as entry:
            for chunk in chunks:
                digest.update(chunk)
                entry.write(chunk)
        self.digests.append((digest.hexdigest(), name))

    def close(self) -> IO[bytes]:
        manifest = "".join(f"{hexdigest}  {name}\n" for hexdigest, name in self.digests)
        self.zip.writestr("MANIFEST.sha256", manifest)
        if self.signer is not None:
            origin, key = self.signer
            note = notes.sign(pack_verifier.PACK_NOTE_HEADER + manifest, origin, key)
            self.zip.writestr("MANIFEST.note", note)
        self.zip.close()
        self.file.seek(0)
        return self.file
