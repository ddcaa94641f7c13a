"""P9, the log checked against the platform: a 40 000-message WhatsApp export (the app's own cap)
uploaded, read, stored and reconciled against a log of 10 000 entries, its time and peak memory,
against the same at 4 000 messages measured in the same run (ten times the work, so at most
twelve times the time); and the WhatsApp Business webhook's signed deliveries per second on one
worker, against a bare POST on the same stack, with wrk's own ceiling shown."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import sys
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from bench import data, wrk
from bench.measure import SECONDS, n, report, serve, stop, timed
from contacts.capture import uploads
from contacts.capture.models import CapturedMessage, CaptureName, Source, WhatsAppNumber
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


# ---------------------------------------------------------------- the webhook's deliveries

PUPIL_WA, NUMBER_ID = "447700900123", "109876543210"
SECRET = b"bench-meta-app-secret"
PREPARED = 60_000  # more than any run sends: no delivery is sent twice


def _deliveries(path: Path, count: int) -> None:
    """Signed deliveries, each a pupil's new message, one a line: signature, tab, body."""
    start = int(datetime.now(UTC).timestamp()) - count
    with path.open("w") as file:
        for i in range(count):
            body = json.dumps(
                {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": "WABA",
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {
                                            "display_phone_number": "447700900001",
                                            "phone_number_id": NUMBER_ID,
                                        },
                                        "messages": [
                                            {
                                                "from": PUPIL_WA,
                                                "id": f"wamid.bench{i}",
                                                "timestamp": str(start + i),
                                                "type": "text",
                                                "text": {"body": f"Is training on? ({i})"},
                                            }
                                        ],
                                    },
                                }
                            ],
                        }
                    ],
                },
                separators=(",", ":"),
            )
            signature = hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()
            file.write(f"sha256={signature}\t{body}\n")


def p9_webhook(backend: str, folder: str, settings: Settings, env: dict[str, str]) -> None:
    """Deliveries per second on one worker, each a new message kept, placed and sealed, against
    a bare `def` POST of the same size on the same stack (the server's ceiling for any POST)."""
    db, url, schema = data.fresh_database(backend, folder)
    try:
        school = data.seed_school(db, settings)
        data.bulk_messages(db, school, ENTRIES, f"P9 webhook {backend}")
        with db.transaction() as session:
            session.add(
                WhatsAppNumber(
                    phone_number_id=NUMBER_ID,
                    school_id=school.school_id,
                    school_account="bench",
                    added_at=datetime.now(UTC),
                )
            )
            session.add(
                CaptureName(
                    school_id=school.school_id,
                    platform="whatsapp",
                    school_account="bench",
                    name=PUPIL_WA,
                    pupil_id=school.pupil_id,
                    named_by_id=school.dsl_id,
                    named_at=datetime.now(UTC),
                )
            )
        place = Path(folder)
        (place / "whatsapp-secret").write_bytes(SECRET)
        (place / "whatsapp-token").write_text("bench")
        lines = place / "deliveries.txt"
        _deliveries(lines, PREPARED)
        body = lines.read_text().split("\n", 1)[0].split("\t", 1)[1]
        served = {
            **env,
            "CONTACTLOG_DATABASE_URL": url,
            "CONTACTLOG_WHATSAPP_APP_SECRET_FILE": str(place / "whatsapp-secret"),
            "CONTACTLOG_WHATSAPP_VERIFY_TOKEN_FILE": str(place / "whatsapp-token"),
        }
        uvicorn = [sys.executable, "-m", "uvicorn", "bench.bare_app:app"]
        process, base = serve(uvicorn, served, "/bare-async")
        try:
            bare = wrk.run(
                base,
                "/bare-sync",
                server_pid=process.pid,
                seconds=SECONDS,
                method="POST",
                body=body,
            )
        finally:
            stop(process)
        contactlog = [sys.executable, "-m", "api.cli", "serve", "--workers", "1"]
        process, base = serve(contactlog, served, "/healthz")
        try:
            taken = wrk.run(
                base,
                "/capture/whatsapp",
                server_pid=process.pid,
                seconds=SECONDS,
                prepared=(lines, "X-Hub-Signature-256"),
            )
        finally:
            stop(process)
        with db.session() as session:
            kept = session.exec(select(func.count()).select_from(CapturedMessage)).one()
    finally:
        db.dispose()
        data.drop(backend, schema)
    print(f"  P9 {backend}: bare def POST {bare.line()}\n    webhook {taken.line()}", flush=True)
    assert taken.errors == 0, taken
    # Each delivery kept, once (wrk counts those answered before it stopped; a few more were
    # in flight).
    assert taken.requests <= kept <= taken.requests + wrk.CLIENTS, (kept, taken.requests)
    report(
        "P9 webhook deliveries / bare def POST",
        backend,
        taken.rps / bare.rps,
        "report",
        f"{taken.rps:,.0f} deliveries/s on one worker, each a message kept and sealed, vs "
        f"{bare.rps:,.0f} req/s; wrk's ceiling {bare.generator_ceiling * wrk.THREADS:,.0f} req/s",
    )
