"""P8, the verifiable log as its users rely on it: a pupil's pack checked offline by the verifier
it ships, in a log of a million events; the signer's check of 100 new events in a small log and
a large one; the full record scan's peak memory at 100 000 and 1 000 000 sealed records."""

from __future__ import annotations

import hashlib
import io
import tempfile
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from bench import data
from bench.measure import n, report, timed
from contacts.oversight import evidence
from core.db import Database
from core.principal import Principal
from core.record import checkpoints, logs, notes, pack_verifier, scan, seals, signer
from core.record.models import Log
from core.settings import Settings

NEW = 100


def _sealed(db: Database) -> None:
    """Every message (and the seeded contact, written without an event) sealed as it stands,
    by events as a migration's reseal makes them."""
    with db.transaction() as session:
        for kind in ("contact", "message"):
            seals.reseal(
                session, kind, actor=Principal.command_line(), at=datetime.now(UTC), why="bench"
            )


def _joined_and_signed(db: Database, settings: Settings) -> None:
    at = datetime.now(UTC)
    key = checkpoints.load_key(settings.checkpoint_key_path)
    memory = signer.Memory(settings.checkpoint_key_path)
    with db.transaction() as session:
        logs.integrate_all(session, public_url=settings.public_url, at=at)
    with db.transaction() as session:
        for log in session.exec(select(Log)).all():
            signer.sign(session, log, key=key, memory=memory, at=at)


def _check_of_new(db: Database, settings: Settings) -> float:
    """The signer's check of NEW events joined since the last checkpoint."""
    data.bulk_chain(db, NEW, "new events")
    key = checkpoints.load_key(settings.checkpoint_key_path)
    with db.transaction() as session:
        logs.integrate_all(session, public_url=settings.public_url, at=datetime.now(UTC))
        log = _largest(session)
        assert log.id is not None
        last = logs.latest_checkpoint(session, log.id)
        verifiers = [notes.read_vkey(signer.vkey(log, key))]
        assert signer.check(session, log, last, verifiers=verifiers) is None
        return timed(lambda: signer.check(session, log, last, verifiers=verifiers), repeat=3)


def _largest(session: Session) -> Log:
    found = session.exec(select(Log).order_by(col(Log.size).desc())).first()
    assert found is not None
    return found


def _pack_figure(backend: str, db: Database, settings: Settings, school: data.School) -> None:
    dsl = Principal(
        staff_id=school.dsl_id,
        school_id=school.school_id,
        trust_id=1,
        roles=frozenset({data.Role.dsl, data.Role.staff}),
    )
    at = datetime.now(UTC)
    with db.transaction() as session:
        scope = evidence.pupil_scope(session=session, actor=dsl, at=at, pupil_id=school.pupil_id)
        with evidence.build(session, scope, made=at, settings=settings) as made:
            content = made.read()
        vkey = signer.vkey(_largest(session), checkpoints.load_key(settings.checkpoint_key_path))
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    events = files["events.jsonl"].count(b"\n")
    proofs = files["events.jsonl"].count(b"c2sp.org/tlog-proof@v1")
    found = pack_verifier.check(files, [vkey], pack_verifier.openssl_ed25519)
    assert found == [], found[:5]
    checked = timed(lambda: pack_verifier.check(files, [vkey], pack_verifier.openssl_ed25519))
    hashed = timed(lambda: [hashlib.sha256(b).digest() for b in files.values()])
    report(
        "P8 pack verified offline / 1 s",
        backend,
        checked,
        "< 1.00",
        f"{checked * 1000:.0f} ms for {events:,} events ({proofs:,} proofs, "
        f"{len(content) / 1024:.0f} KiB) in a {_size(db):,}-event log; SHA-256 of its files "
        f"alone {hashed * 1000:.0f} ms",
    )


def _size(db: Database) -> int:
    with db.session() as session:
        return _largest(session).size


def _scan_peak(db: Database) -> tuple[int, float, int]:
    """(peak Python memory in bytes, seconds, records) of the full record scan."""
    with db.session() as session:
        tracemalloc.start()
        try:
            took = timed(lambda: _scan_records(session))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        checked, altered = _scan_records(session)
    assert not [a for a in altered if a.record_type == "message"]
    return peak, took, checked


def _scan_records(session: Session) -> tuple[int, list[seals.Altered]]:
    """The full check's records phase, step by step as the scheduler makes it."""
    checked, altered = 0, []
    for step in scan.record_steps(session.connection(), scan.Place("records")):
        checked += step.records
        altered += [a for a, _ in step.altered]
    return checked, altered


def p8_verifiable(backend: str, folder: str, settings: Settings) -> None:
    with tempfile.TemporaryDirectory() as keys:
        keyed = settings.model_copy(update={"checkpoint_key_file": Path(keys) / "key.pem"})
        big = n(1_000_000)
        # A pupil with 1 000 entries, in a log of a million events.
        db, _, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, keyed)
            data.bulk_messages(db, school, 1_000, f"P8 {backend}")
            _sealed(db)
            data.bulk_chain(db, big, f"P8 {backend}")
            _joined_and_signed(db, keyed)
            _pack_figure(backend, db, keyed, school)
            large = _check_of_new(db, keyed)
        finally:
            db.dispose()
            data.drop(backend, schema)
        db, _, schema = data.fresh_database(backend, folder)
        try:
            data.seed_school(db, keyed)
            data.bulk_chain(db, 10_000, f"P8 {backend}")
            _joined_and_signed(db, keyed)
            small = _check_of_new(db, keyed)
        finally:
            db.dispose()
            data.drop(backend, schema)
    report(
        "P8 signer's check of 100 new: 1M / 10k",
        backend,
        large / small,
        "<= 2",
        f"{large * 1000:.1f} ms at {big:,} events vs {small * 1000:.1f} ms at 10,000",
    )
    scans = {}
    for records in (n(100_000), n(1_000_000)):
        db, _, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, settings)
            data.bulk_messages(db, school, records, f"P8 {backend}")
            _sealed(db)
            scans[records] = _scan_peak(db)
        finally:
            db.dispose()
            data.drop(backend, schema)
    (few, few_s, few_n), (many, many_s, many_n) = scans.values()
    report(
        "P8 full record scan memory: 1M / 100k",
        backend,
        many / few,
        "<= 1.2",
        f"peak {many / 1024:.0f} KiB and {many_s:.1f} s over {many_n:,} records vs "
        f"{few / 1024:.0f} KiB and {few_s:.1f} s over {few_n:,}",
    )
