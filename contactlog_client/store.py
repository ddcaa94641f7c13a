"""What the client keeps on this computer: the sign-in and the queue of entries not yet sent."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    explicit = os.environ.get("CONTACTLOG_CLIENT_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "contactlog"


def _write_private(path: Path, text: str) -> None:
    """Written owner-only, via a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


@dataclass
class Credentials:
    server: str
    email: str
    token: str
    device: str | None = None

    @classmethod
    def load(cls) -> Credentials | None:
        path = config_dir() / "credentials.json"
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            return None

    def save(self) -> None:
        _write_private(config_dir() / "credentials.json", json.dumps(asdict(self), indent=2))

    @staticmethod
    def forget() -> None:
        (config_dir() / "credentials.json").unlink(missing_ok=True)


def device_token(server: str, email: str) -> str | None:
    """The token this computer was given the last time it signed in to this account: sent with
    the next sign-in, so that others' failed tries never lock this computer out. It outlives
    `contactlog logout`, as a browser's device cookie does."""
    path = config_dir() / "devices.json"
    try:
        known = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return None
    found = known.get(f"{server} {email.strip().lower()}") if isinstance(known, dict) else None
    return found if isinstance(found, str) else None


def keep_device_token(server: str, email: str, token: str) -> None:
    path = config_dir() / "devices.json"
    try:
        known = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        known = {}
    if not isinstance(known, dict):
        known = {}
    known[f"{server} {email.strip().lower()}"] = token
    _write_private(path, json.dumps(known, indent=2))


@dataclass
class QueuedEntry:
    """A message that could not be sent yet; it keeps its key, so sending it twice is harmless."""

    contact_id: int
    body: dict[str, Any]
    key: str = field(default_factory=lambda: str(uuid.uuid4()))


class Queue:
    def __init__(self) -> None:
        self.path = config_dir() / "queue.json"

    def entries(self) -> list[QueuedEntry]:
        if not self.path.exists():
            return []
        return [QueuedEntry(**item) for item in json.loads(self.path.read_text())]

    def replace(self, entries: list[QueuedEntry]) -> None:
        _write_private(self.path, json.dumps([asdict(e) for e in entries], indent=2))

    def add(self, entry: QueuedEntry) -> None:
        self.replace([*self.entries(), entry])
