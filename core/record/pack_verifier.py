"""The evidence pack's own verifier, shipped inside every pack as verify.py: it runs with nothing
but Python 3.9+ and OpenSSL 3 (for Ed25519), so whoever receives a pack (the LADO, the police,
a tribunal) checks it without contactlog, with the trust's verifier key obtained out of band.

    python3 verify.py --vkey 'example.org/log/trust/1+89abcdef+AUx...' \
        [--witness 'la.example.gov.uk/witness+0123abcd+BK...'] [pack.zip | folder]

It checks, and names whatever fails:
  1. MANIFEST.note: the manifest signed by the trust's key, so no file was added, removed or
     altered after the pack was made (the manifest's SHA-256 of every file, as sha256sum -c).
  2. Each event of events.jsonl: its content hash recomputed from its fields, the log entry and
     leaf hash from that, and its inclusion proof (C2SP tlog-proof) checked up to the root of a
     checkpoint signed by the trust's key (and cosigned by each --witness): the event is the
     one the trust's log holds, and the log is the one the witnesses saw.
  3. Each record of records/sealed.jsonl: its SHA-256 recomputed and compared with the seal the
     latest event about it carries: the record is as the proven events say it was.

This file imports nothing from contactlog (contactlog's own `audit verify-pack` runs it too);
its hashing is the same as core/record's, and the tests check one against the other.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PACK_NOTE_HEADER = "contactlog evidence pack v1\n"
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
DASH = "\u2014"
Ed25519Check = Callable[[bytes, bytes, bytes], bool]  # (public key, message, signature)


# ---------------------------------------------------------------- hashing (as core/record)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def content_hash(event: Mapping[str, Any]) -> str:
    """An event's content hash: its fields joined by U+001F, a missing one as NUL."""

    def field(value: Any) -> str:
        return "\x00" if value is None else str(value)

    details = json.dumps(event["details"], sort_keys=True, separators=(",", ":"), default=str)
    joined = "\x1f".join(
        (
            event["at"],
            field(event["actor_id"]),
            field(event["school_id"]),
            event["action"],
            event["object_type"],
            field(event["object_id"]),
            field(event["reason"]),
            details,
        )
    )
    return hashlib.sha256(joined.encode()).hexdigest()


def log_entry(seq: int, content: str) -> bytes:
    return f"contactlog-event {seq} {content}\n".encode()


def seal_of(record_type: str, content: Mapping[str, Any]) -> str:
    text = json.dumps(
        [record_type, content], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root a leaf and its inclusion path lead to (None: the
    path does not fit the tree's shape)."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


# ---------------------------------------------------------------- signed notes (C2SP)


class Key:
    """A verifier key: the log's (type 0x01), or a witness's cosigner key (0x04)."""

    def __init__(self, vkey: str, kind: bytes = b"\x01") -> None:
        name, hex_id, material = vkey.strip().split("+", 2)
        raw = base64.b64decode(material, validate=True)
        if raw[:1] != kind or len(raw) != 33:
            raise ValueError("not an Ed25519 key of the kind asked for")
        self.name, self.public = name, raw[1:]
        self.key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
        if self.key_id.hex() != hex_id.lower():
            raise ValueError("the verifier key's id is not its key's")


def note_signed(note: str, keys: list[Key], ed25519: Ed25519Check) -> str | None:
    """The note's text if a trusted key signed it (and none of theirs fails), else None."""
    cut = note.rfind("\n\n")
    if not note.endswith("\n") or cut < 0:
        return None
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    good = False
    for line in lines:
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            return None
        if dash != DASH or len(raw) < 5:
            return None
        for key in keys:
            if key.name == name and key.key_id == raw[:4]:
                if not ed25519(key.public, text.encode(), raw[4:]):
                    return None
                good = True
    return text if good else None


def cosigned(note: str, witness: Key, ed25519: Ed25519Check) -> bool:
    """Whether the witness cosigned the checkpoint (C2SP tlog-cosignature/v1, Ed25519)."""
    cut = note.rfind("\n\n")
    if cut < 0:
        return False
    text = note[: cut + 1]
    for line in note[cut + 2 :].splitlines():
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if dash != DASH or name != witness.name or raw[:4] != witness.key_id or len(raw) != 76:
            continue
        timestamp = int.from_bytes(raw[4:12], "big")
        message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
        return ed25519(witness.public, message, raw[12:])
    return False


def openssl_ed25519(public: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 by OpenSSL 3: the key as SPKI PEM, `pkeyutl -verify -rawin`."""
    der = bytes.fromhex("302a300506032b6570032100") + public
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n"
    pem += "-----END PUBLIC KEY-----\n"
    with tempfile.TemporaryDirectory() as folder:
        paths = {n: os.path.join(folder, n) for n in ("key.pem", "message", "signature")}
        for name, data in (
            ("key.pem", pem.encode()),
            ("message", message),
            ("signature", signature),
        ):
            with open(paths[name], "wb") as handle:
                handle.write(data)
        # The recipient's own OpenSSL, found on their PATH; every argument is ours.
        done = subprocess.run(  # noqa: S603
            [
                shutil.which("openssl") or "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                paths["key.pem"],
                "-rawin",
                "-in",
                paths["message"],
                "-sigfile",
                paths["signature"],
            ],
            capture_output=True,
            check=False,
        )
    return done.returncode == 0


# ---------------------------------------------------------------- the pack


def _checkpoint(text: str) -> tuple[str, int, bytes] | None:
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        return None
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        return None
    return (lines[0], int(lines[1]), root) if len(root) == 32 else None


def _proof(text: str) -> tuple[int, list[bytes], str] | None:
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != PROOF_HEADER:
        return None
    if len(lines) > 1 and lines[1].startswith("extra "):
        lines = [lines[0], *lines[2:]]
    if len(lines) < 2 or not lines[1].startswith("index ") or not lines[1][6:].isdigit():
        return None
    try:
        path = [base64.b64decode(line, validate=True) for line in lines[2:]]
    except binascii.Error:
        return None
    return int(lines[1][6:]), path, note


def _event_problem(
    event: Mapping[str, Any], keys: list[Key], ed25519: Ed25519Check, witnesses: list[Key]
) -> str | None:
    seq = event.get("seq")
    if not isinstance(seq, int):
        return "an event has no number"
    try:
        recomputed = content_hash(event)
    except (KeyError, TypeError):
        return f"event {seq}: a field is missing"
    if recomputed != event.get("content_hash"):
        return f"event {seq}: altered (its fields are not what its hash says)"
    proof = _proof(event.get("tlog_proof") or "")
    if proof is None:
        return f"event {seq}: no proof that the trust's log holds it"
    index, path, note = proof
    text = note_signed(note, keys, ed25519)
    signed = _checkpoint(text) if text is not None else None
    if signed is None:
        return f"event {seq}: its proof's checkpoint is not signed by the trust's key"
    for witness in witnesses:
        if not cosigned(note, witness, ed25519):
            return f"event {seq}: its checkpoint is not cosigned by the witness {witness.name}"
    _, size, root = signed
    if root_from_inclusion(index, size, leaf_hash(log_entry(seq, recomputed)), path) != root:
        return f"event {seq}: altered or added (the trust's log does not hold it as it is here)"
    return None


def _remembering(ed25519: Ed25519Check) -> Ed25519Check:
    known: dict[tuple[bytes, bytes, bytes], bool] = {}

    def checked(public: bytes, message: bytes, signature: bytes) -> bool:
        key = (public, hashlib.sha256(message).digest(), signature)
        if key not in known:
            known[key] = ed25519(public, message, signature)
        return known[key]

    return checked


def check(
    files: Mapping[str, bytes],
    vkeys: list[str],
    ed25519: Ed25519Check,
    witness_vkeys: list[str] | None = None,
) -> list[str]:
    """What is wrong with the pack whose files are `files` (name -> content): [] if nothing.
    With `witness_vkeys`, every event's checkpoint must be cosigned by each of those witnesses."""
    try:
        keys = [Key(v) for v in vkeys if v.strip()]
        witnesses = [Key(v, b"\x04") for v in witness_vkeys or [] if v.strip()]
    except ValueError as exc:
        return [f"a verifier key is not one: {exc}"]
    if not keys:
        return ["no verifier key: give the trust's (--vkey)"]
    # Every event of a pack is proven against the same checkpoint or a few: each signature is
    # checked once (with OpenSSL, a process each), not once per event.
    ed25519 = _remembering(ed25519)
    problems: list[str] = []
    manifest = files.get("MANIFEST.sha256")
    if manifest is None:
        return ["MANIFEST.sha256 is missing"]
    note = files.get("MANIFEST.note", b"").decode(errors="replace")
    signed = note_signed(note, keys, ed25519)
    if signed != PACK_NOTE_HEADER + manifest.decode(errors="replace"):
        problems.append("MANIFEST.note: the manifest is not the one the trust signed")
    listed: set[str] = set()
    for line in manifest.decode(errors="replace").splitlines():
        expected, _, name = line.partition("  ")
        listed.add(name)
        if name not in files:
            problems.append(f"{name}: missing")
        elif hashlib.sha256(files[name]).hexdigest() != expected:
            problems.append(f"{name}: altered")
    unlisted = set(files) - listed - {"MANIFEST.sha256", "MANIFEST.note"}
    problems += [f"{n}: not in the manifest" for n in sorted(unlisted)]
    proven: list[tuple[int, dict[str, str]]] = []
    for line in files.get("events.jsonl", b"").decode(errors="replace").splitlines():
        event = json.loads(line)
        problem = _event_problem(event, keys, ed25519, witnesses)
        if problem is not None:
            problems.append(f"events.jsonl: {problem}")
        else:  # only a proven event vouches for a record
            proven.append((event["seq"], event["details"].get("sealed", {})))
    sealed: dict[str, str] = {}
    for _, seals_of_event in sorted(proven, key=lambda p: p[0]):  # the latest seal wins
        sealed.update(seals_of_event)
    for line in files.get("records/sealed.jsonl", b"").decode(errors="replace").splitlines():
        entry = json.loads(line)
        record = entry["record"]
        expected_seal = sealed.get(record)
        if expected_seal is None:
            problems.append(f"records/sealed.jsonl: {record} is sealed by no proven event")
        elif seal_of(record.split(":")[0], entry["content"]) != expected_seal:
            problems.append(f"records/sealed.jsonl: {record} is not what was sealed")
    return problems


def read_pack(where: Path) -> dict[str, bytes]:
    """A pack's files, from its ZIP or the folder it was unpacked into (never written out)."""
    if where.is_dir():
        found = sorted(p for p in where.rglob("*") if p.is_file())
        return {p.relative_to(where).as_posix(): p.read_bytes() for p in found}
    with zipfile.ZipFile(where) as archive:
        return {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a contactlog evidence pack.")
    parser.add_argument("pack", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--vkey", action="append", default=[], help="The trust's verifier key")
    parser.add_argument("--vkey-file", action="append", default=[], help="A file holding it")
    parser.add_argument(
        "--witness", action="append", default=[], help="A witness's verifier key: require it"
    )
    given = parser.parse_args(argv)
    vkeys = list(given.vkey) + [Path(f).read_text() for f in given.vkey_file]
    files = read_pack(Path(given.pack))
    if not vkeys:
        vkeys = files.get("vkey.txt", b"").decode().splitlines()
        print(
            "No --vkey given: checking with the key in the pack (vkey.txt). That shows the pack\n"
            "is whole, not who made it: compare vkey.txt with the key your trust published.",
            file=sys.stderr,
        )
    if shutil.which("openssl") is None:
        print("OpenSSL is needed to check the signatures, and was not found.", file=sys.stderr)
        return 2
    problems = check(files, vkeys, openssl_ed25519, given.witness)
    for problem in problems:
        print(problem)
    print("The pack is as it was made." if not problems else f"{len(problems)} problem(s).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
