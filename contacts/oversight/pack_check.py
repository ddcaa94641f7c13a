"""Checking an evidence pack offline, as its receiver does, for `contactlog audit verify-pack`:
the very verifier the pack ships (core/record/pack_verifier.py, standard library only), with
Ed25519 checked by the `cryptography` package instead of the OpenSSL command."""

from __future__ import annotations

import zipfile
from typing import IO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.record import pack_verifier


def _ed25519(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_pack(
    data: IO[bytes], vkeys: list[str] | None = None, witnesses: list[str] | None = None
) -> list[str]:
    """What is wrong with a pack (nothing: an empty list), checked with the trust's verifier
    keys (`vkeys`; without them, the pack's own vkey.txt: whole, but not who made it), and
    requiring the cosignature of each of `witnesses`."""
    with zipfile.ZipFile(data) as archive:
        files = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    if vkeys is None:
        vkeys = files.get("vkey.txt", b"").decode(errors="replace").splitlines()
    return pack_verifier.check(files, vkeys, _ed25519, witnesses)
