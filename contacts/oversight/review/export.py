"""The log as a spreadsheet: a search's whole selection as CSV, each person by name (of the
reader's own schools), the platform and the review beside each entry, safe to open in Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from contacts.messages import message_views
from contacts.models import Contact, Message, MessagePublic, platform_name
from contacts.oversight.review.models import MessageReview
from contacts.oversight.review.service import LogFilter, search_query
from core.db import Database
from core.directory.models import School
from core.directory.names import pupil_names, staff_names
from core.principal import Principal

# Rows read, named and written at a time: memory stays flat however long the selection.
EXPORT_BATCH = 1000

# Each id stays beside the name it stands for: the ids tie a row to the change record.
CSV_COLUMNS = [
    "id",
    "logged_at",
    "occurred_at",
    "school",
    "staff_id",
    "staff",
    "contact_id",
    "platform",
    "direction",
    "pupil_ids",
    "pupils",
    "device_tag",
    "device_registered",
    "flags",
    "summary",
    "verbatim",
    "amends_id",
    "amend_reason",
    "reviewed_at",
    "reviewed_by",
    "review_note",
]


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will show as text: no formula can start it (CSV injection)."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_rows(
    session: Session, reader: Principal, views: Sequence[MessagePublic]
) -> list[list[str]]:
    """The entries as rows, with a fixed number of queries per batch however many there are."""
    contact_ids = {v.contact_id for v in views}
    contacts = {
        c.id: platform_name(c.platform, c.platform_name)
        for c in session.exec(select(Contact).where(col(Contact.id).in_(contact_ids)))
    }
    reviews = {
        r.message_id: r
        for r in session.exec(
            select(MessageReview).where(col(MessageReview.message_id).in_([v.id for v in views]))
        )
    }
    staff = staff_names(
        session,
        reader,
        [*(v.staff_id for v in views), *(r.reviewer_id for r in reviews.values())],
    )
    pupils = pupil_names(session, reader, (p for v in views for p in v.pupil_ids))
    schools = {
        s.id: s.name
        for s in session.exec(
            select(School).where(col(School.id).in_({v.school_id for v in views}))
        )
    }
    rows = []
    for view in views:
        review = reviews.get(view.id)
        values = view.model_dump()
        values |= {
            "school": schools.get(view.school_id, ""),
            "staff": staff.get(view.staff_id, ""),
            "platform": contacts.get(view.contact_id, ""),
            "pupil_ids": ";".join(str(p) for p in view.pupil_ids),
            "pupils": ";".join(pupils.get(p, "a pupil") for p in view.pupil_ids),
            "flags": ";".join(view.flags),
            "reviewed_by": staff.get(review.reviewer_id, "") if review else "",
            "review_note": review.note if review else "",
        }
        rows.append([safe_cell(values[column]) for column in CSV_COLUMNS])
    return rows


def export_csv(db: Database, actor: Principal, where: LogFilter) -> Iterator[str]:
    """The same selection as the search, as CSV, newest first, in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    before: int | None = None
    while True:
        with db.session(for_reading=True) as session:
            query = search_query(session, actor, where, before=before)
            rows = session.exec(query.order_by(col(Message.id).desc()).limit(EXPORT_BATCH)).all()
            if not rows:
                return
            written = csv_rows(session, actor, message_views(session, rows))
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(written)
        yield buffer.getvalue()
        before = rows[-1].id
