"""Import of the pupil list a school's MIS exports as CSV: every row or none, errors per row."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from core.directory import privileged
from core.directory.access import require_role, target_school
from core.directory.models import Pupil, PupilCreate, Role, School
from core.directory.pupils import WAITING_DATES, has_records
from core.errors import InvalidInput
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals
from core.settings import Settings

# Column names as the common MIS exports spell them, folded to lower case without punctuation.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "school_reference": (
        "schoolreference",
        "reference",
        "upn",
        "admissionnumber",
        "admissionno",
        "adno",
        "misid",
    ),
    "given_name": ("givenname", "forename", "legalforename", "firstname", "preferredforename"),
    "family_name": ("familyname", "surname", "legalsurname", "lastname", "preferredsurname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
}
# Read when the export has them; a file without the column changes no one's leaving date.
OPTIONAL_ALIASES: dict[str, tuple[str, ...]] = {
    "left_on": ("leavingdate", "dateofleaving", "leftdate", "leftschool", "dol"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
NOT_A_DATE = "not a date (YYYY-MM-DD or DD/MM/YYYY)"
MAX_REPORTED_ERRORS = 200


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Pupils with records whose date of birth or leaving date the file changes: each change
    # waits for a second person (GET /pending-changes); the rest of the row is applied.
    dates_waiting: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)


def _fold(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _columns(header: list[str]) -> dict[str, int]:
    folded = [_fold(h) for h in header]
    found: dict[str, int] = {}
    missing = []
    for target, aliases in COLUMN_ALIASES.items():
        index = next((i for i, name in enumerate(folded) if name in aliases), None)
        if index is None:
            missing.append(target)
        else:
            found[target] = index
    for target, aliases in OPTIONAL_ALIASES.items():
        index = next((i for i, name in enumerate(folded) if name in aliases), None)
        if index is not None:
            found[target] = index
    if missing:
        raise InvalidInput(
            "The CSV header lacks required columns: " + ", ".join(missing) + ".",
            extra={
                "errors": [{"row": 1, "field": m, "message": "column missing"} for m in missing]
            },
        )
    return found


def _parse_date(text: str) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007  (a date, not an instant)
        except ValueError:
            continue
    return None


def decode(raw: bytes) -> str:
    """A pupil list's bytes as text: UTF-8 (with or without BOM), or Windows-1252, which older
    MIS exports still write."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InvalidInput("The file is neither UTF-8 nor Windows-1252 text.") from exc


def read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, raw values) for each data row; the header is line 1."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("The CSV file is empty.") from None
    except csv.Error as exc:
        raise InvalidInput("The CSV file could not be read.") from exc
    columns = _columns(header)
    rows = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            values = {t: (line[i] if i < len(line) else "") for t, i in columns.items()}
            rows.append((reader.line_num, values))
    except csv.Error as exc:
        raise InvalidInput(f"The CSV file is malformed near line {reader.line_num}.") from exc
    return rows


def _dates_wait(
    session: Session,
    actor: Principal,
    pupil: Pupil,
    school: School,
    fields: dict[str, Any],
    settings: Settings,
    at: datetime,
    report: ImportReport,
) -> dict[str, Any]:
    """The row's fields without the dates that must wait for a second person (proposed)."""
    dated = {k: fields[k] for k in WAITING_DATES if k in fields and fields[k] != getattr(pupil, k)}
    if not dated or pupil.id is None or not has_records(session, pupil.id):
        return fields
    privileged.propose_pupil_dates(
        session,
        actor=actor,
        pupil=pupil,
        school=school,
        date_of_birth=dated.get("date_of_birth"),
        left_on=dated.get("left_on"),
        changes_left_on="left_on" in dated,
        settings=settings,
        at=at,
    )
    report.dates_waiting += 1
    return {k: v for k, v in fields.items() if k not in dated}


def import_pupils(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    settings: Settings,
    at: datetime,
    csv_text: str,
    school_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Create or update pupils by school reference; any bad row refuses the whole file."""
    school = target_school(session, actor, school_id)
    require_role(actor, school, Role.admin, action="import pupils")
    assert school.id is not None
    today = policy.today(school, at)
    rows = read_rows(csv_text)
    columns_read = set(rows[0][1]) if rows else set()
    report = ImportReport(rows=len(rows))
    valid: list[PupilCreate] = []
    first_line: dict[str, int] = {}
    for done, (line, raw) in enumerate(rows, start=1):
        born = _parse_date(raw["date_of_birth"]) if raw["date_of_birth"].strip() else None
        if raw["date_of_birth"].strip() and born is None:
            report.errors.append(
                {
                    "row": line,
                    "field": "date_of_birth",
                    "message": NOT_A_DATE,
                }
            )
        left = raw.get("left_on", "").strip()
        left_on = _parse_date(left) if left else None
        if left and left_on is None:
            report.errors.append(
                {
                    "row": line,
                    "field": "left_on",
                    "message": NOT_A_DATE,
                }
            )
            continue
        try:
            pupil = PupilCreate.model_validate({**raw, "date_of_birth": born, "left_on": left_on})
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else "row"
                if name == "date_of_birth" and born is None and raw["date_of_birth"].strip():
                    continue  # already reported above in plainer words
                report.errors.append({"row": line, "field": name, "message": err["msg"]})
        else:
            if pupil.date_of_birth > today:
                report.errors.append(
                    {"row": line, "field": "date_of_birth", "message": "in the future"}
                )
            elif pupil.school_reference in first_line:
                earlier = first_line[pupil.school_reference]
                report.errors.append(
                    {
                        "row": line,
                        "field": "school_reference",
                        "message": f"repeats the reference on row {earlier}",
                    }
                )
            else:
                first_line[pupil.school_reference] = line
                valid.append(pupil)
        if progress is not None:
            progress(done, len(rows))
    if report.errors:
        shown = report.errors[:MAX_REPORTED_ERRORS]
        raise InvalidInput(
            f"{len(report.errors)} problem(s) in the file; no pupils were imported.",
            extra={"errors": shown, "rows": report.rows},
        )
    existing = {
        p.school_reference: p
        for p in session.exec(
            select(Pupil).where(
                Pupil.school_id == school.id,
                col(Pupil.school_reference).in_(list(first_line)),
            )
        )
    }
    changed: list[Pupil] = []
    for pupil_in in valid:
        current = existing.get(pupil_in.school_reference)
        keep_leaving = set() if "left_on" in columns_read else {"left_on"}
        fields = pupil_in.model_dump(exclude={"school_id"} | keep_leaving)
        if current is None:
            created = Pupil(school_id=school.id, created_at=at, **fields)
            session.add(created)
            changed.append(created)
            report.created += 1
            continue
        fields = _dates_wait(session, actor, current, school, fields, settings, at, report)
        if any(getattr(current, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(current, key, value)
            session.add(current)
            changed.append(current)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="pupils.imported",
        object_type="school",
        object_id=school.id,
        school_id=school.id,
        details={"created": report.created, "updated": report.updated, "rows": report.rows},
        sealed=seals.seal(session, *(("pupil", p.id) for p in changed)),
    )
    return report
