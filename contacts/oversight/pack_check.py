"""Checking an evidence pack offline, as its receiver does (`contactlog audit verify-pack`): the
manifest against the files, each event's hashes against its fields, and each record against
what the latest event sealed."""

from __future__ import annotations

import hashlib
import json
import zipfile
from typing import IO

from core.record import audit, seals


def verify_pack(data: IO[bytes]) -> list[str]:
    """What is wrong with a pack (nothing: an empty list), checked offline."""
    problems: list[str] = []
    with zipfile.ZipFile(data) as archive:
        names = set(archive.namelist())
        if "MANIFEST.sha256" not in names:
            return ["MANIFEST.sha256 is missing"]
        listed: set[str] = set()
        for line in archive.read("MANIFEST.sha256").decode().splitlines():
            expected, name = line.split("  ", 1)
            listed.add(name)
            if name not in names:
                problems.append(f"{name}: missing")
            elif hashlib.sha256(archive.read(name)).hexdigest() != expected:
                problems.append(f"{name}: altered")
        problems += [
            f"{n}: not in the manifest" for n in sorted(names - listed - {"MANIFEST.sha256"})
        ]
        sealed: dict[str, str] = {}
        for number, line in enumerate(archive.read("events.jsonl").decode().splitlines(), 1):
            event = json.loads(line)
            sealed.update(event["details"].get("sealed", {}))
            digest = audit.content_digest(
                event["at"],
                event["actor_id"],
                event["school_id"],
                event["action"],
                event["object_type"],
                event["object_id"],
                event["reason"],
                audit.canonical(event["details"]),
            )
            if (
                digest != event["content_hash"]
                or audit.link_hash_of(event["seq"], event["prev_hash"], digest)
                != event["link_hash"]
            ):
                problems.append(f"events.jsonl line {number} (event {event['seq']}): altered")
        if "records/sealed.jsonl" in names:
            problems += _unsealed(archive.read("records/sealed.jsonl").decode(), sealed)
    return problems


def _unsealed(lines: str, sealed: dict[str, str]) -> list[str]:
    """Records of the pack whose content is not what the latest event sealed."""
    problems = []
    for line in lines.splitlines():
        entry = json.loads(line)
        name = entry["record"].split(":")[0]
        expected = sealed.get(entry["record"])
        if expected is None:
            problems.append(f"records/sealed.jsonl: {entry['record']} is sealed by no event")
        elif seals.digest(name, entry["content"]) != expected:
            problems.append(f"records/sealed.jsonl: {entry['record']} is not what was sealed")
    return problems
