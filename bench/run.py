"""`make bench`: the seven figures, each a ratio to a baseline measured in the same run, on
SQLite and on PostgreSQL. Sizes scale with BENCH_SCALE (1.0 = the sizes the targets name)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from bench import data
from bench.capture import p9_capture, p9_webhook
from bench.email import p4_outbox
from bench.measure import BACKENDS, ONLY, RESULTS, SCALE, SECONDS, n, report, timed
from bench.p1 import p1_log_write
from bench.reads import Reading, read_as_dsl
from bench.startup import s1_startup
from bench.verifiable import p8_verifiable
from bench.wrk import require_wrk
from contacts.oversight.review import service as review
from contacts.sweeps import end_contacts_past_their_end_date
from core.db import Database
from core.pagination import encode_cursor
from core.principal import Principal
from core.record import checkpoints, logs, notes, scan, signer
from core.record.models import Log
from core.record.tiles import Tiles
from core.settings import Settings

# ---------------------------------------------------------------- the figures


def p2_review_page(
    backend: str, db: Database, school: data.School, total: int, small_first: float | None
) -> float:
    """Page 10 000 against page 1, and page 1 against page 1 of the small log if measured;
    returns this log's page-1 time."""
    dsl = Principal(
        staff_id=school.dsl_id,
        school_id=school.school_id,
        trust_id=1,
        roles=frozenset({data.Role.dsl, data.Role.staff}),
    )
    where = review.LogFilter(staff_id=school.teacher_id, pupil_id=school.pupil_id)

    def page(cursor: str | None, size: int = 50) -> None:
        with db.session() as session:
            review.search(
                session=session,
                actor=dsl,
                at=datetime.now(UTC),
                where=where,
                cursor=cursor,
                limit=size,
            )
            session.rollback()  # not the access record: the read itself is measured

    deep = (
        encode_cursor(total - 50 * 9_999 + 1) if total > 50 * 10_000 else encode_cursor(total // 2)
    )
    first = timed(lambda: page(None), 7)
    far = timed(lambda: page(deep), 7)
    report(
        "P2 page 10 000 / page 1",
        backend,
        far / first,
        "<= 1.5",
        f"{far * 1000:.1f} vs {first * 1000:.1f} ms over {total:,} rows",
    )
    if small_first is not None:
        report(
            "P2 page 1: big log / small log",
            backend,
            first / small_first,
            "<= 2",
            f"{first * 1000:.1f} ms at {total:,} vs {small_first * 1000:.1f} ms at 10,000",
        )
    return first


def p3_end_sweep(backend: str, folder: str, settings: Settings, size: int) -> float:
    db, _, schema = data.fresh_database(backend, folder)
    try:
        school = data.seed_school(db, settings)
        data.bulk_contacts(db, school, size, 1000, f"P3 {backend}")
        at = datetime.now(UTC)

        def sweep() -> None:
            with db.transaction() as session:
                ended = end_contacts_past_their_end_date(
                    session=session, actor=Principal.command_line(), settings=settings, at=at
                )
                assert ended == 1000, ended

        return timed(sweep)
    finally:
        db.dispose()
        data.drop(backend, schema)


def p5_log(backend: str, db: Database, settings: Settings, events: int) -> None:
    """The verifiable log at `events` events: joining them against writing them (the same
    events, bulk-inserted), and the signer's own check of 1 000 new events (their leaves, the
    tree's root, a consistency proof to the last checkpoint) against the full check of all."""
    wrote = timed(lambda: data.bulk_chain(db, events, f"P5 {backend}"))
    at = datetime.now(UTC)
    with db.transaction() as session:
        joined = timed(lambda: logs.integrate_all(session, public_url="https://bench", at=at))
    with tempfile.TemporaryDirectory() as keys:
        key = checkpoints.load_key(Path(keys) / "key.pem")
        memory = signer.Memory(Path(keys) / "key.pem")
        with db.transaction() as session:
            log = session.exec(select(Log).order_by(col(Log.size).desc())).first()
            assert log is not None
            assert signer.sign(session, log, key=key, memory=memory, at=at).checkpoint
        with db.session() as session:
            full = timed(lambda: list(scan.event_steps(session, scan.Place())))
        data.bulk_chain(db, 1_000, f"P5 {backend} (new)")
        with db.transaction() as session:
            logs.integrate_all(session, public_url="https://bench", at=at)
            log = session.exec(select(Log).order_by(col(Log.size).desc())).first()
            assert log is not None
            assert log.id is not None
            last = logs.latest_checkpoint(session, log.id)
            verifiers = [notes.read_vkey(signer.vkey(log, key))]
            new = timed(lambda: signer.check(session, log, last, verifiers=verifiers))
            assert signer.check(session, log, last, verifiers=verifiers) is None
            proof = proofs_len(session, log)
    report(
        "P5 log: joining / writing the events",
        backend,
        joined / wrote,
        "<= 1.00",
        f"{events / joined:,.0f} events/s joined vs {events / wrote:,.0f}/s bulk-written, "
        f"{events:,} events",
    )
    report(
        "P5 log: signer's check / full check",
        backend,
        new / full,
        "<= 0.01",
        f"{new * 1000:.0f} ms for 1,000 new events vs {full:.1f} s for all {events:,}; "
        f"an inclusion proof is {proof} hashes",
    )


def proofs_len(session: Session, log: Log) -> int:
    assert log.id is not None
    return len(logs.inclusion(Tiles(session, log.id), log.size // 3, log.size))


def export_peak(url: str, school: data.School, env: dict[str, str], rows: int, size: int) -> int:
    """Peak memory (KiB) of a process that streams the export of the first `rows` entries of
    the `size`-entry log."""
    last = data.message_at(rows - 1, size)
    code = (
        "import resource, sys\n"
        "from contacts.oversight.review.export import export_csv\n"
        "from contacts.oversight.review.service import LogFilter\n"
        "from core.principal import Principal\nfrom core.db import Database\n"
        "from core.directory.models import Role\n"
        f"db = Database({url!r})\n"
        f"p = Principal(staff_id={school.dsl_id}, school_id={school.school_id}, trust_id=1, "
        "roles=frozenset({Role.dsl}))\n"
        "from datetime import datetime\n"
        f"where = LogFilter(occurred_to=datetime.fromisoformat({last.isoformat()!r}))\n"
        "size = sum(len(chunk) for chunk in export_csv(db, p, where))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, size)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return int(out[0])


def p6_chronology(
    backend: str, folder: str, settings: Settings, env: dict[str, str], big: int, small: int
) -> None:
    """A pupil's chronology, API page and web page, over `big` records of theirs vs `small`."""
    readings: dict[int, Reading] = {}
    for size in (small, big):
        db, url, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, settings)
            data.bulk_messages(db, school, size, f"P6 {backend}")
            pupil = school.pupil_id
            readings[size] = read_as_dsl(
                {**env, "CONTACTLOG_DATABASE_URL": url},
                [f"/pupils/{pupil}/chronology"],
                [f"/app/pupils/{pupil}/chronology"],
            )
        finally:
            db.dispose()
            data.drop(backend, schema)
    _compare("P6 chronology", backend, readings, big, small, "records of one pupil")


def _compare(
    figure: str, backend: str, readings: dict[int, Reading], big: int, small: int, what: str
) -> None:
    for path in readings[big].median_ms:
        kind = "page" if path.startswith("/app/") else "API"
        many, few = readings[big].median_ms[path], readings[small].median_ms[path]
        report(
            f"{figure} {kind}: big / small",
            backend,
            many / few,
            "<= 2",
            f"{many:.1f} ms over {big:,} {what} vs {few:.1f} ms over {small:,} ({path})",
        )
    peak, low = readings[big].peak_mib, readings[small].peak_mib
    report(
        f"{figure} server memory: big / small",
        backend,
        peak / low,
        "<= 1.2",
        f"peak {peak:.0f} MiB vs {low:.0f} MiB",
    )


def log_figures(
    backend: str, folder: str, settings: Settings, env: dict[str, str], big: int, small: int
) -> None:
    """P1 on the small log; P2 and P7 on both logs; P5 beside the big one."""
    small_first: float | None = None
    dashboards: dict[int, Reading] = {}
    sizes = (small, big) if ONLY & {"P2", "P5", "P7"} else (small,)
    for size in sizes:
        db, url, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, settings)
            data.bulk_messages(db, school, size, f"{backend}")
            served = {**env, "CONTACTLOG_DATABASE_URL": url}
            # The reads first: P1's load run adds thousands of entries to the small log.
            if "P2" in ONLY:
                first = p2_review_page(backend, db, school, size, small_first)
                small_first = small_first or first
            if "P7" in ONLY:
                dashboards[size] = read_as_dsl(served, ["/summary"], ["/app/dashboard"])
            if size == small and "P1" in ONLY:
                p1_log_write(backend, served, db, url, settings, school)
            if size == big and "P5" in ONLY:
                # Both exports from the same (big) database, so the figure is the export's own
                # memory; the database's size moves a process's peak by itself (see README).
                exported = min(size, n(1_000_000))
                few, many = (
                    export_peak(url, school, env, rows, size) for rows in (small, exported)
                )
                report(
                    "P5 CSV export memory: big / small",
                    backend,
                    many / few,
                    "<= 1.2",
                    f"{many / 1024:.0f} MiB exporting {exported:,} rows vs "
                    f"{few / 1024:.0f} MiB exporting {small:,}, of a {size:,}-row log",
                )
                p5_log(backend, db, settings, n(1_000_000))
        finally:
            db.dispose()
            data.drop(backend, schema)
    if "P7" in ONLY:
        _compare("P7 dashboard", backend, dashboards, big, small, "log entries")


def main() -> None:
    require_wrk()
    print(f"contactlog benchmarks (scale {SCALE}, {SECONDS:.0f} s load runs from wrk)\n")
    settings = Settings(
        jwt_secret="bench-secret-" + "b" * 40,
        password_time_cost=1,
        password_memory_kib=64,
        scheduler_in_process=False,
    )
    big, small = n(10_000_000), 10_000
    sweep_big = n(1_000_000)
    if "S1" in ONLY:
        s1_startup()
    with tempfile.TemporaryDirectory() as folder:
        for backend in BACKENDS:
            env = {
                **os.environ,
                "CONTACTLOG_JWT_SECRET": settings.jwt_secret,
                "CONTACTLOG_SCHEDULER_IN_PROCESS": "false",
                "CONTACTLOG_DATA_DIR": folder,
                "CONTACTLOG_PASSWORD_TIME_COST": "1",
                "CONTACTLOG_PASSWORD_MEMORY_KIB": "64",
            }
            if ONLY & {"P1", "P2", "P5", "P7"}:
                log_figures(backend, folder, settings, env, big, small)
            if "P6" in ONLY:
                p6_chronology(backend, folder, settings, env, n(200_000), 200)
            if "P3" in ONLY:
                large = p3_end_sweep(backend, folder, settings, sweep_big)
                little = p3_end_sweep(backend, folder, settings, 10_000)
                report(
                    "P3 end sweep: big / small",
                    backend,
                    large / little,
                    "<= 2",
                    f"{large * 1000:.0f} ms over {sweep_big:,} vs {little * 1000:.0f} ms over"
                    " 10,000 contacts, 1,000 due",
                )
            if "P4" in ONLY:
                p4_outbox(backend, folder, env, settings)
            if "P8" in ONLY:
                p8_verifiable(backend, folder, settings)
            if "P9" in ONLY:
                p9_capture(backend, folder, settings)
                p9_webhook(backend, folder, settings, env)
    print(f"\n{'figure':<40} {'backend':<10}   ratio  target")
    for figure, backend, ratio, target, _ in RESULTS:
        print(f"{figure:<40} {backend:<10} {ratio:>7}  {target}")


if __name__ == "__main__":
    main()
