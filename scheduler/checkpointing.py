"""The checkpoint job: the change record's head signed, and sent to the trust's DSLs, who keep
copies outside contactlog's database (see `core.checkpoints`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core import checkpoints
from core.audit import AuditHead
from core.db import Database
from core.directory.models import Role, School
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import send, staff_with_role

# The job runs daily; a scheduler restarting in between does not sign (and email) again.
DAILY = timedelta(hours=23)


def sign_and_send(db: Database, settings: Settings, at: datetime) -> int:
    """The daily checkpoint, when the record has grown since the last one."""
    return sign_now(db, settings, at, unless_signed_since=at - DAILY)


def sign_now(
    db: Database, settings: Settings, at: datetime, *, unless_signed_since: datetime | None = None
) -> int:
    """Sign the head and email each DSL the checkpoint (1), or nothing new to sign (0)."""
    key = checkpoints.load_key(settings.checkpoint_key_path)
    with db.transaction() as session:
        head = session.get(AuditHead, 1)
        last = checkpoints.latest(session)
        if last is not None and head is not None and last.seq == head.seq:
            return 0  # nothing new to vouch for since the last one
        if last is not None and unless_signed_since and last.signed_at > unless_signed_since:
            return 0
        try:
            with session.begin_nested():
                checkpoint = checkpoints.sign(session, key=key, at=at)
        except IntegrityError:
            return 0  # another scheduler signed this head a moment ago
        public = checkpoints.CheckpointPublic.model_validate(checkpoint, from_attributes=True)
        email = emails.checkpoint_signed(public.model_dump_json(indent=1))
        told: set[int | None] = set()
        for school in session.exec(select(School)).all():
            for dsl in staff_with_role(session, school, Role.dsl):
                if dsl.id not in told:
                    told.add(dsl.id)
                    send(
                        session,
                        f"checkpoint:{checkpoint.id}",
                        "checkpoint",
                        dsl,
                        email,
                        None,
                        at=at,
                    )
        return 1
