"""Running the retention schedule for one trust, and reading its reports: a run redacts what is
due, leaves what holds keep, removes what minimisation says, and files a report (sealed in the
change record); a dry run answers the same report without changing anything."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from contacts.concerns.models import Concern
from contacts.data_protection.legal_holds.service import serialise_with_retention
from contacts.data_protection.retention.models import (
    Forgotten,
    KeptByHold,
    Redacted,
    RetentionReport,
    RetentionRun,
)
from contacts.data_protection.retention.redaction import redact
from contacts.data_protection.retention.schedule import Plan, chunks, plan
from contacts.incidents.models import Incident
from contacts.models import Contact
from core import about, minimisation
from core.clock import years_after
from core.directory.access import require_role, visible_school
from core.directory.models import Role
from core.errors import Forbidden
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals


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
    too_young = younger_than_floor(session, found, policy=policy, at=at)
    if too_young:
        return _refuse(session, actor, found, too_young, policy=policy, at=at)
    to_forget = minimisation.to_forget(session=session, policy=policy, at=at)
    if not found.due and not any(to_forget.values()) and not _kept_anew(session, found, policy, at):
        return None
    run_row = _new_run(session, actor, policy, at)
    assert run_row.id is not None
    redact(session=session, actor=actor, at=at, run_id=run_row.id, due=found.due)
    forgotten = minimisation.forget(session=session, policy=policy, at=at)
    report = _report(
        found, forgotten, policy=policy, at=at, dry_run=False, run_by_id=actor.staff_id
    )
    details = {
        "redacted": sum(r.count for r in report.redacted),
        "kept_by_holds": sum(k.count for k in report.kept),
    }
    return _filed(session, actor, run_row, report, "retention.ran", details, policy, at)


def _new_run(session: Session, actor: Principal, policy: Policy, at: datetime) -> RetentionRun:
    assert policy.trust_id is not None
    run_row = RetentionRun(trust_id=policy.trust_id, ran_at=at, run_by_id=actor.staff_id, report="")
    session.add(run_row)
    session.flush()
    return run_row


def _filed(
    session: Session,
    actor: Principal,
    run_row: RetentionRun,
    report: RetentionReport,
    action: str,
    details: dict[str, Any],
    policy: Policy,
    at: datetime,
) -> RetentionReport:
    """The run's report kept with it, and the run sealed in the change record."""
    run_row.report = report.model_dump_json(exclude={"id"})
    session.add(run_row)
    audit.record(
        session,
        actor=actor,
        at=at,
        action=action,
        object_type="retention_run",
        object_id=run_row.id,
        school_id=None,
        details={"trust_id": policy.trust_id, **details},
        sealed=seals.seal(session, ("retention_run", run_row.id)),
    )
    report.id = run_row.id
    return report


# When each kind of evidence the schedule redacts was made: (its id, its stamp). A pupil's own
# record is not here: it goes only once every contact and incident naming them has gone, and a
# long-gone leaver may be imported today.
MADE_AT: dict[str, tuple[Any, Any]] = {
    "contact": (col(Contact.id), col(Contact.requested_at)),
    "incident": (col(Incident.id), col(Incident.reported_at)),
    "concern": (col(Concern.id), col(Concern.raised_at)),
}


def younger_than_floor(
    session: Session, found: Plan, *, policy: Policy, at: datetime
) -> list[Redacted]:
    """Records the plan would redact that were made less than the floor's years ago. None
    should ever be: every period is longer than the floor. One that is means a date was
    changed to shorten a period, or a value was edited outside contactlog."""
    floor = years_after(at.date(), -policy.retention_floor_years)
    young: list[Redacted] = []
    for (school_id, kind), ids in sorted(found.due.items()):
        if kind not in MADE_AT:
            continue
        key, made = MADE_AT[kind]
        hits: list[int] = []
        for part in chunks(sorted(ids)):
            hits.extend(
                session.exec(select(key).where(key.in_(part), made > _start_of(floor))).all()
            )
        if hits:
            young.append(Redacted(school_id=school_id, record_type=kind, count=len(hits), ids=hits))
    return young


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _refuse(
    session: Session,
    actor: Principal,
    found: Plan,
    too_young: list[Redacted],
    *,
    policy: Policy,
    at: datetime,
) -> RetentionReport:
    """File the refusal (nothing is redacted or removed) as a run of its own, in the record."""
    run_row = _new_run(session, actor, policy, at)
    report = _report(found, {}, policy=policy, at=at, dry_run=False, run_by_id=actor.staff_id)
    report = report.model_copy(update={"redacted": [], "refused_too_young": too_young})
    details = {
        "too_young": sum(r.count for r in too_young),
        "floor_years": policy.retention_floor_years,
    }
    return _filed(session, actor, run_row, report, "retention.refused", details, policy, at)


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


def seen_by(
    report: RetentionReport,
    schools: set[int] | None,
    hidden: set[int],
    concerns_hidden: set[int] | frozenset[int] = frozenset(),
) -> RetentionReport:
    """The lines of the reader's schools, without the holds about the reader, nor the concerns
    they do not handle (a count of them would say there are some)."""

    def mine(line: Any) -> Any:
        if line.record_type != "concern" or not concerns_hidden:
            return line
        ids = [i for i in line.ids if i not in concerns_hidden]
        return line.model_copy(update={"ids": ids, "count": len(ids)}) if ids else None

    def lines(found: list[Any], also: Any = lambda line: True) -> list[Any]:
        kept = [mine(r) for r in found if (schools is None or r.school_id in schools) and also(r)]
        return [r for r in kept if r is not None]

    return report.model_copy(
        update={
            "redacted": lines(report.redacted),
            "refused_too_young": lines(report.refused_too_young),
            "kept": lines(report.kept, lambda k: k.hold_id not in hidden),
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
    hidden = about.hidden_ids(session, "legal_hold", actor.staff_id)
    concerns = about.hidden_ids(session, "concern", actor.staff_id)
    items = [
        seen_by(
            RetentionReport.model_validate({**json.loads(r.report), "id": r.id}),
            schools,
            hidden,
            concerns,
        )
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
    hidden = about.hidden_ids(session, "legal_hold", actor.staff_id)
    concerns = about.hidden_ids(session, "concern", actor.staff_id)
    return seen_by(dry_run(session=session, policy=policy, at=at), schools, hidden, concerns)
