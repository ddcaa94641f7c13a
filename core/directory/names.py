"""The names of the people a page shows its reader: pupils and staff of the schools the reader
may look into, and nobody else's (another school's pupil stays "a pupil"). Pages, exports and
emails name people; URLs, log lines and email subjects never do."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, col, func, or_, select

from core.directory.models import Guardian, Pupil, School, Staff
from core.principal import Principal


def _seen(session: Session, actor: Principal, school_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(school_ids))
    if not wanted:
        return set()
    schools = session.exec(select(School).where(col(School.id).in_(wanted))).all()
    return {
        s.id
        for s in schools
        if s.id is not None and actor.sees_school(school_id=s.id, trust_id=s.trust_id)
    }


def school_names(session: Session, actor: Principal) -> dict[int, str]:
    """{school id: name} for the schools of the reader's trust (a trust's schools are no
    secret to its staff; what each holds is)."""
    schools = session.exec(select(School).where(School.trust_id == actor.trust_id)).all()
    return {s.id: s.name for s in schools if s.id is not None}


def pupil_names(session: Session, actor: Principal, pupil_ids: Iterable[int]) -> dict[int, str]:
    """{pupil id: "Given Family"} for the pupils the reader's schools hold."""
    wanted = sorted({p for p in pupil_ids if p})
    if not wanted:
        return {}
    rows = session.exec(
        select(
            col(Pupil.id), col(Pupil.school_id), col(Pupil.given_name), col(Pupil.family_name)
        ).where(col(Pupil.id).in_(wanted))
    ).all()
    seen = _seen(session, actor, (r[1] for r in rows))
    return {i: f"{given} {family}" for i, school, given, family in rows if i and school in seen}


def staff_names(
    session: Session, actor: Principal, staff_ids: Iterable[int | None]
) -> dict[int, str]:
    """{staff id: name} for the staff of the reader's schools: colleagues appear in records in
    their professional role."""
    wanted = sorted({s for s in staff_ids if s})
    if not wanted:
        return {}
    rows = session.exec(
        select(col(Staff.id), col(Staff.school_id), col(Staff.name)).where(
            col(Staff.id).in_(wanted)
        )
    ).all()
    seen = _seen(session, actor, (r[1] for r in rows))
    return {i: name for i, school, name in rows if i and school in seen}


def guardian_names(
    session: Session, actor: Principal, guardian_ids: Iterable[int | None]
) -> dict[int, str]:
    """{guardian id: name} for the parents and carers of the reader's schools' pupils."""
    wanted = sorted({g for g in guardian_ids if g})
    if not wanted:
        return {}
    rows = session.exec(
        select(col(Guardian.id), col(Pupil.school_id), col(Guardian.name))
        .join(Pupil, col(Pupil.id) == col(Guardian.pupil_id))
        .where(col(Guardian.id).in_(wanted))
    ).all()
    seen = _seen(session, actor, (r[1] for r in rows))
    return {i: name for i, school, name in rows if i and school in seen}


# A search names at most this many pupils: enough to pick from, never the school's roll.
FOUND_AT_MOST = 10


def find_pupils(
    *, session: Session, actor: Principal, text: str, at: date, limit: int = FOUND_AT_MOST
) -> list[tuple[int, str, str]]:
    """(id, name, school reference) of the pupils of the reader's own school whose name or
    reference holds what was typed (two characters at least), who have not left by `at`:
    for the forms where staff name pupils. Nobody outside the school is ever found."""
    typed = " ".join(text.split()).lower()
    if len(typed) < 2 or actor.school_id is None:
        return []
    school = session.get(School, actor.school_id)
    if school is None or school.id is None:
        return []
    if not actor.sees_school(school_id=school.id, trust_id=school.trust_id):
        return []
    like = "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    full = func.lower(col(Pupil.given_name) + " " + col(Pupil.family_name))
    rows = session.exec(
        select(
            col(Pupil.id),
            col(Pupil.given_name),
            col(Pupil.family_name),
            col(Pupil.school_reference),
        )
        .where(
            Pupil.school_id == school.id,
            col(Pupil.redacted_at).is_(None),
            or_(col(Pupil.left_on).is_(None), col(Pupil.left_on) > at),
            or_(
                full.like(like, escape="\\"),
                func.lower(col(Pupil.school_reference)) == typed,
            ),
        )
        .order_by(col(Pupil.family_name), col(Pupil.given_name), col(Pupil.id))
        .limit(limit)
    ).all()
    return [(i, f"{given} {family}", reference) for i, given, family, reference in rows if i]
