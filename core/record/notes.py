"""Signed notes and checkpoints in the formats transparency logs share (C2SP signed-note and
tlog-checkpoint): a text signed by Ed25519 keys, each signature line naming its key; a
verifier key ("vkey") as one line of text to publish; and a checkpoint's text, the log's origin,
its size and its root. Standard clients (Go's sumdb/note, Sigstore, the witnesses) read them."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"  # the signature type's byte (C2SP signed-note)
DASH = "\u2014"  # em dash: every signature line starts with it and a space
MOST_SIGNATURES = 16  # the spec's minimum a verifier must accept; more are refused


class NoteInvalid(ValueError):
    """A note that is not well formed, or not signed by a key the reader trusts."""


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteInvalid("a key name is non-empty, with no spaces and no '+'")


def key_id(name: str, public_key: Ed25519PublicKey, kind: bytes = ED25519) -> bytes:
    """SHA-256(key name || 0x0A || kind || public key)[:4]: kind 0x01 for a signer (a log),
    0x04 for an Ed25519 cosigner (a witness, C2SP tlog-cosignature)."""
    return hashlib.sha256(name.encode() + b"\n" + kind + _raw(public_key)).digest()[:4]


def vkey(name: str, public_key: Ed25519PublicKey, kind: bytes = ED25519) -> str:
    """The verifier key to publish: name+hex(key id)+base64(kind || public key)."""
    _check_name(name)
    material = base64.b64encode(kind + _raw(public_key)).decode()
    return f"{name}+{key_id(name, public_key, kind).hex()}+{material}"


def read_vkey(text: str, kind: bytes = ED25519) -> Verifier:
    parts = text.strip().split("+", 2)  # the key's base64 may hold a "+" of its own
    if len(parts) != 3:
        raise NoteInvalid("a verifier key is name+id+key")
    name, hex_id, material = parts
    _check_name(name)
    try:
        given_id, raw = bytes.fromhex(hex_id), base64.b64decode(material, validate=True)
    except (ValueError, binascii.Error):
        raise NoteInvalid("a verifier key's id is hex and its key base64") from None
    if len(given_id) != 4 or raw[:1] != kind or len(raw) != 33:
        raise NoteInvalid(f"only Ed25519 verifier keys of type 0x{kind.hex()} are read here")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key, kind) != given_id:
        raise NoteInvalid("the verifier key's id is not its key's")
    return Verifier(name, given_id, public_key)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteInvalid("a note's text ends with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteInvalid("a note holds no control characters but newlines")


def sign(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The note: the text, a blank line, and the signature line of this key."""
    _check_text(text)
    _check_name(name)
    ident = key_id(name, private_key.public_key())
    signature = base64.b64encode(ident + private_key.sign(text.encode())).decode()
    return f"{text}\n{DASH} {name} {signature}\n"


def add_signature(note: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The note with one more signature (a witness's cosignature, a key being rotated in)."""
    text, _ = split(note)
    ident = key_id(name, private_key.public_key())
    signature = base64.b64encode(ident + private_key.sign(text.encode())).decode()
    return f"{note}{DASH} {name} {signature}\n"


def split(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(text, [(key name, key id, signature)]): the text ends at the note's last blank line."""
    if not note.endswith("\n"):
        raise NoteInvalid("a note ends with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteInvalid("a note has a blank line before its signatures")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    _check_text(text)
    if not lines or len(lines) > MOST_SIGNATURES:
        raise NoteInvalid(f"a note has between 1 and {MOST_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if dash != DASH or not name or not encoded:
            raise NoteInvalid("a signature line is: em dash, key name, signature")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteInvalid("a signature is base64") from None
        if len(raw) < 5:
            raise NoteInvalid("a signature is a key id and the signature")
        signatures.append((name, raw[:4], raw[4:]))
    return text, signatures


def verify(note: str, trusted: list[Verifier]) -> tuple[str, list[Verifier]]:
    """The text, and which trusted keys signed it. Signatures of keys not trusted are ignored;
    one of a trusted key that does not verify refuses the note, and so does none at all."""
    text, signatures = split(note)
    by_key = {(v.name, v.key_id): v for v in trusted}
    signed: list[Verifier] = []
    for name, ident, signature in signatures:
        verifier = by_key.get((name, ident))
        if verifier is None:
            continue
        try:
            verifier.public_key.verify(signature, text.encode())
        except InvalidSignature:
            raise NoteInvalid(f"the signature of {name} does not verify") from None
        signed.append(verifier)
    if not signed:
        raise NoteInvalid("no key the reader trusts signed this note")
    return text, signed


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: who (origin), how many entries, and the root over them."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def read_checkpoint(text: str) -> Checkpoint:
    """A checkpoint's note text (C2SP tlog-checkpoint), strictly."""
    _check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteInvalid("a checkpoint is an origin, a size and a root, each on its line")
    origin, size, encoded, *extensions = lines
    if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteInvalid("a checkpoint's size is a decimal number without leading zeroes")
    try:
        root = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteInvalid("a checkpoint's root is base64") from None
    if len(root) != 32:
        raise NoteInvalid("a checkpoint's root is 32 bytes")
    return Checkpoint(origin, int(size), root, tuple(extensions))
