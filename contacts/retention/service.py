"""Running the retention schedule for one trust, and reading its reports: a run redacts what is
due, leaves what holds keep, removes what minimisation says, and files a report (sealed in the
change record); a dry run answers the same report without changing anything."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, col, select

from contacts.legal_holds.service import serialise_with_retention
from contacts.retention.models import (
    Forgotten,
    KeptByHold,
    Redacted,
    RetentionReport,
    RetentionRun,
)
from contacts.retention.redaction import redact
from contacts.retention.schedule import Plan, plan
from core import audit, minimisation, seals
from core.directory.access import require_role, visible_school
from core.directory.models import Role
from core.errors import Forbidden
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal


def _report(
    found: Plan,
    forgotten: dict[str, int],
    *,
    policy: Policy,
    at: datetime,
    dry_run: bool,
    run_by_id: int | None,
) -> RetentionReport:
    assert policy.trust_id is not None
    return RetentionReport(
        trust_id=policy.trust_id,
        ran_at=at,
        dry_run=dry_run,
        run_by_id=run_by_id,
        redacted=[
            Redacted(school_id=school_id, record_type=kind, count=len(ids), ids=sorted(ids))
            for (school_id, kind), ids in sorted(found.due.items())
        ],
        kept=[
            KeptByHold(
                hold_id=hold_id,
                school_id=found.holds[hold_id].school_id,
                case_reference=found.holds[hold_id].case_reference,
                record_type=kind,
                count=len(ids),
                ids=sorted(ids),
            )
            for (hold_id, kind), ids in sorted(found.kept.items())
        ],
        forgotten=Forgotten(**forgotten),
    )


def dry_run(*, session: Session, policy: Policy, at: datetime) -> RetentionReport:
    """Exactly what a run at `at` would do, changing nothing."""
    found = plan(session=session, policy=policy, at=at)
    forgotten = minimisation.to_forget(session=session, policy=policy, at=at)
    return _report(found, forgotten, policy=policy, at=at, dry_run=True, run_by_id=None)


def run(
    *, session: Session, actor: Principal, policy: Policy, at: datetime
) -> RetentionReport | None:
    """Apply the schedule to the trust's records, in the caller's transaction; holds placed
    before this starts are seen, and one placed while it runs waits for it. A run with nothing
    to redact or remove, and holds keeping what the last report said they kept, files no report
    (None): the dry run shows what holds keep at any time."""
    assert policy.trust_id is not None
    serialise_with_retention(session, policy.trust_id)
    found = plan(session=session, policy=policy, at=at)
    to_forget = minimisation.to_forget(session=session, policy=policy, at=at)
    if not found.due and not any(to_forget.values()) and not _kept_anew(session, found, policy, at):
        return None
    run_row = RetentionRun(trust_id=policy.trust_id, ran_at=at, run_by_id=actor.staff_id, report="")
    session.add(run_row)
    session.flush()
    assert run_row.id is not None
    redact(session=session, actor=actor, at=at, run_id=run_row.id, due=found.due)
    forgotten = minimisation.forget(session=session, policy=policy, at=at)
    report = _report(
        found, forgotten, policy=policy, at=at, dry_run=False, run_by_id=actor.staff_id
    )
    run_row.report = report.model_dump_json(exclude={"id"})
    session.add(run_row)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="retention.ran",
        object_type="retention_run",
        object_id=run_row.id,
        school_id=None,
        details={
            "trust_id": policy.trust_id,
            "redacted": sum(r.count for r in report.redacted),
            "kept_by_holds": sum(k.count for k in report.kept),
        },
        sealed=seals.seal(session, ("retention_run", run_row.id)),
    )
    report.id = run_row.id
    return report


def _kept_anew(session: Session, found: Plan, policy: Policy, at: datetime) -> bool:
    """Whether holds keep other records than the trust's last report said they kept."""
    last = session.exec(
        select(RetentionRun)
        .where(RetentionRun.trust_id == policy.trust_id)
        .order_by(col(RetentionRun.id).desc())
        .limit(1)
    ).first()
    before = json.loads(last.report)["kept"] if last is not None else []
    kept = _report(found, {}, policy=policy, at=at, dry_run=True, run_by_id=None).kept
    return [k.model_dump() for k in kept] != before


# ---------------------------------------------------------------- reading the reports


def _reader_schools(session: Session, actor: Principal) -> tuple[int, set[int] | None]:
    """The reader's trust, and the schools whose lines they see (None: all of the trust's)."""
    own = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, own, Role.dsl, Role.trust_admin, action="read retention reports")
    assert own.id is not None
    if actor.has(Role.trust_admin) or actor.has(Role.trust_dsl):
        return own.trust_id, None
    return own.trust_id, {own.id}


def _for_reader(report: RetentionReport, schools: set[int] | None) -> RetentionReport:
    if schools is None:
        return report
    return report.model_copy(
        update={
            "redacted": [r for r in report.redacted if r.school_id in schools],
            "kept": [k for k in report.kept if k.school_id in schools],
        }
    )


def list_reports(
    *, session: Session, actor: Principal, cursor: str | None, limit: int
) -> Page[RetentionReport]:
    """The trust's runs, newest first: a school's DSL sees their school's lines of each."""
    trust_id, schools = _reader_schools(session, actor)
    query = select(RetentionRun).where(RetentionRun.trust_id == trust_id)
    page = fetch_page(
        session, query, col(RetentionRun.id), cursor=cursor, limit=limit, newest_first=True
    )
    items = [
        _for_reader(RetentionReport.model_validate({**json.loads(r.report), "id": r.id}), schools)
        for r in page.items
    ]
    return Page(items=items, next_cursor=page.next_cursor)


def plan_for_reader(
    *, session: Session, actor: Principal, policy: Policy, at: datetime
) -> RetentionReport:
    """The dry run, for a DSL or trust administrator of the trust."""
    trust_id, schools = _reader_schools(session, actor)
    if policy.trust_id != trust_id:
        raise Forbidden("Only the trust's own schedule may be read.")
    return _for_reader(dry_run(session=session, policy=policy, at=at), schools)
