"""Reading the change record: who may (DSLs), what they see (their school's, or their trust's
for trust roles), checking it is unaltered, and the checkpoints that vouch for it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, col

from core import about
from core.db import snapshot_of
from core.directory.access import require_role, visible_school
from core.directory.models import TRUST_ROLES, Role
from core.directory.schools import list_schools
from core.errors import TooManyAttempts
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit, checkpoints, verification
from core.record.audit import AuditEventPublic, EventFilter
from core.record.models import AuditEvent, ChainCheck
from core.record.verification import VerifyResult
from core.settings import Settings


def _as_dsl(session: Session, actor: Principal, action: str) -> list[int]:
    """The schools whose record this DSL reads; Forbidden for anyone else."""
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.dsl, action=action)
    if actor.roles & TRUST_ROLES:
        return [s.id for s in list_schools(session=session, actor=actor) if s.id is not None]
    assert school.id is not None
    return [school.id]


def read_events(
    *,
    session: Session,
    actor: Principal,
    where: EventFilter,
    cursor: str | None,
    limit: int,
    newest_first: bool = False,
) -> Page[AuditEventPublic]:
    """The events of the actor's schools that match `where`, in the chain's order (or the
    latest first, as a page lists them)."""
    schools = _as_dsl(session, actor, "read the change record")
    # Events about a record that is about the reader (a hold on her) are not hers to see.
    mine = about.not_about(actor.staff_id, col(AuditEvent.object_type), col(AuditEvent.object_id))
    page = fetch_page(
        session,
        audit.events_query(replace(where, school_ids=schools)).where(mine),
        col(AuditEvent.seq),
        cursor=cursor,
        limit=limit,
        newest_first=newest_first,
        key="seq",
    )
    return Page(items=[audit.public(e) for e in page.items], next_cursor=page.next_cursor)


def verify(*, session: Session, actor: Principal, settings: Settings, at: datetime) -> VerifyResult:
    """Every link of the chain recomputed; a check made within VERIFY_REUSE_SECONDS is served
    again."""
    schools = _as_dsl(session, actor, "verify the change record")
    # One check is shared by every reader; each is shown only their own schools' records. It
    # judges one moment of the record, never a blur of commits made while it read.
    with snapshot_of(session) as moment:
        whole = verification.verify_or_reuse(
            moment, at=at, reuse_seconds=settings.verify_reuse_seconds
        )
    trust_id = actor.trust_id if actor.roles & TRUST_ROLES else None
    return whole.seen_from(set(schools), trust_id)


# A DSL's "check it now" at most this often (whoever pressed): a full check hashes everything.
CHECK_NOW_EVERY = timedelta(minutes=1)


def check_now(*, session: Session, actor: Principal, at: datetime) -> ChainCheck:
    """A DSL asks for a full check now: made, filed, and shown as the latest. One runs at a
    time, and not again within a minute of the last, so that nobody can keep the server
    hashing the whole record; a second press is told to wait."""
    _as_dsl(session, actor, "check the change record")
    last = verification.latest_check(session)
    if last is not None and timedelta(0) <= at - last.checked_at < CHECK_NOW_EVERY:
        wait = int((CHECK_NOW_EVERY - (at - last.checked_at)).total_seconds()) + 1
        raise TooManyAttempts(
            "The record was checked moments ago; its outcome is on the dashboard. Check again "
            "in a minute.",
            retry_after=wait,
        )
    with verification.only_check(
        busy="A check of the record is running now; its outcome will show on the dashboard."
    ):
        with snapshot_of(session) as moment:  # one moment of the record, never a blur
            result = verification.verify(moment)
        return verification.keep(session, result, at=at)


def latest_check(*, session: Session, actor: Principal) -> ChainCheck | None:
    _as_dsl(session, actor, "read the change record's last check")
    return verification.latest_check(session)


def public_key(*, session: Session, actor: Principal, settings: Settings) -> checkpoints.PublicKey:
    _as_dsl(session, actor, "read the checkpoints' public key")
    return checkpoints.public_key(checkpoints.load_key(settings.checkpoint_key_path))


def list_checkpoints(
    *, session: Session, actor: Principal, limit: int
) -> list[checkpoints.CheckpointPublic]:
    _as_dsl(session, actor, "read the checkpoints")
    return [
        checkpoints.CheckpointPublic.model_validate(c, from_attributes=True)
        for c in checkpoints.listed(session, limit=limit)
    ]


def check_checkpoint(
    *,
    session: Session,
    actor: Principal,
    checkpoint: checkpoints.CheckpointIn,
    trusted_key: str | None,
) -> checkpoints.CheckpointVerdict:
    schools = _as_dsl(session, actor, "check the change record")
    with snapshot_of(session) as moment:  # one moment of the record, never a blur
        verdict = checkpoints.verify_against(moment, checkpoint=checkpoint, trusted_key=trusted_key)
    trust_id = actor.trust_id if actor.roles & TRUST_ROLES else None
    seen = VerifyResult(ok=verdict.ok, checked=0, first_bad=None, altered=verdict.altered)
    return verdict.model_copy(update={"altered": seen.seen_from(set(schools), trust_id).altered})
