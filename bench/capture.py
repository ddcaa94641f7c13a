"""P9, the log checked against the platform: a 40 000-message WhatsApp export (the app's own cap)
uploaded, read, stored and reconciled against a log of 10 000 entries, its time and peak memory,
against the same at 4 000 messages measured in the same run (ten times the work, so at most
twelve times the time)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench import data
from bench.measure import n, report, timed
from contacts.capture import uploads
from contacts.capture.models import Source
from contacts.models import Platform
from core.db import Database
from core.policy import deployment_policy
from core.principal import Principal
from core.roles import Role
from core.settings import Settings

ENTRIES = 10_000
LONDON = ZoneInfo("Europe/London")


def export_of(count: int) -> bytes:
    """An iPhone's export of the school phone's chat with the pupil: `count` messages spread
    over the same six years as the log, every other one the school's (a third of those logged,
    near an entry's time), as _chat.txt in its zip."""
    lines = ["\u200e[01/01/2020, 09:00:00] P Q: \u200eMessages and calls are end-to-end encrypted."]
    for i in range(count):
        logged_near = data.message_at(i * ENTRIES // count, ENTRIES)
        at = (logged_near + timedelta(minutes=i % 7)).astimezone(LONDON)
        who = "Bench School" if i % 2 else "P Q"
        text = f"Message {i} about Saturday's fixture" + (
            "\ncontinued on a second line" if i % 5 == 0 else ""
        )
        lines.append(f"[{at:%d/%m/%Y, %H:%M:%S}] {who}: {text}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_chat.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


def _uploaded(
    db: Database, settings: Settings, school: data.School, export: bytes
) -> tuple[float, int, int]:
    """(seconds, peak Python memory in bytes, messages stored) of one upload, committed."""
    teacher = Principal(
        staff_id=school.teacher_id,
        school_id=school.school_id,
        trust_id=1,
        roles=frozenset({Role.staff}),
    )
    policy = deployment_policy(settings)
    stored = 0

    def upload() -> None:
        nonlocal stored
        with db.transaction() as session:
            made = uploads.upload(
                session=session,
                actor=teacher,
                policy=policy,
                at=datetime.now(UTC),
                upload_in=uploads.UploadIn(
                    platform=Platform.whatsapp,
                    school_account="bench",
                    source=Source.whatsapp_export,
                    school_name="Bench School",
                    names={"P Q": school.pupil_id},
                ),
                file_name="WhatsApp Chat - P Q.zip",
                data=export,
                device="bench",
            )
            stored = made.new_messages

    tracemalloc.start()
    try:
        took = timed(upload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return took, peak, stored


def p9_capture(backend: str, folder: str, settings: Settings) -> None:
    measured = {}
    for count in (n(4_000), n(40_000)):
        export = export_of(count)
        db, _, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, settings)
            data.bulk_messages(db, school, ENTRIES, f"P9 {backend}")
            measured[count] = _uploaded(db, settings, school, export)
        finally:
            db.dispose()
            data.drop(backend, schema)
        took, peak, stored = measured[count]
        assert stored == count, (stored, count)
        print(
            f"  P9 {backend}: {count:,} messages ({len(export) / 1e6:.1f} MB zipped) against "
            f"{ENTRIES:,} entries: {took:.2f} s, peak {peak / 2**20:.0f} MiB",
            flush=True,
        )
    (small, big) = sorted(measured)
    report(
        "P9 export read and reconciled: 40k / 4k",
        backend,
        measured[big][0] / measured[small][0],
        "<= 12",
        f"{measured[big][0]:.2f} s at {big:,} vs {measured[small][0]:.2f} s at {small:,}; peak "
        f"{measured[big][1] / 2**20:.0f} vs {measured[small][1] / 2**20:.0f} MiB",
    )
