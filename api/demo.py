"""A demo trust to try contactlog with: two schools, their people, pupils either side of 16."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from core.auth import Principal
from core.clock import now, school_date
from core.directory.models import (
    DeviceCreate,
    GuardianCreate,
    PupilCreate,
    Role,
    SchoolCreate,
    StaffCreate,
    Trust,
)
from core.directory.pupils import add_guardian, create_pupil
from core.directory.schools import create_school, create_trust, register_device
from core.directory.staff import create_staff
from core.security import Passwords
from core.settings import Settings

DEMO_PASSWORD = "contactlog-demo"  # printed for the person trying the demo


@dataclass(frozen=True)
class DemoSignIn:
    email: str
    name: str
    school: str
    roles: str


def _born(years: int, months: int, today: date) -> date:
    """A date of birth giving `years` and `months` of age today, so the demo never ages out."""
    month = today.month - months
    year = today.year - years
    while month < 1:
        month += 12
        year -= 1
    return date(year, month, min(today.day, 28))


SCHOOLS = {
    "Riverside Academy": "riverside",
    "Hillcrest School": "hillcrest",
}

# name, local part, school slug, roles, headteacher, line manager's local part
PEOPLE = [
    ("Tara Quinn", "tara.quinn", "riverside", [Role.trust_admin, Role.trust_dsl], False, None),
    ("Helen Carter", "helen.carter", "riverside", [Role.staff, Role.approver], True, None),
    ("Mark Patel", "mark.patel", "riverside", [Role.staff, Role.approver], False, "helen.carter"),
    ("Sam Okafor", "sam.okafor", "riverside", [Role.staff], False, "mark.patel"),
    ("Priya Shah", "priya.shah", "riverside", [Role.staff], False, "mark.patel"),
    ("Dana Lewis", "dana.lewis", "riverside", [Role.staff, Role.dsl], False, "helen.carter"),
    ("Alex Morgan", "alex.morgan", "riverside", [Role.admin], False, None),
    ("Ruth Evans", "ruth.evans", "hillcrest", [Role.staff, Role.approver], True, None),
    ("Tom Hughes", "tom.hughes", "hillcrest", [Role.staff], False, "ruth.evans"),
    ("Nia Roberts", "nia.roberts", "hillcrest", [Role.staff, Role.dsl], False, "ruth.evans"),
    ("Ben Clarke", "ben.clarke", "hillcrest", [Role.admin], False, None),
]

# given, family, reference, (years, months) of age, guardian name, relationship
PUPILS = {
    "riverside": [
        ("Ava", "Thompson", "R1001", (14, 3), "Claire Thompson", "mother"),
        ("Leo", "Walsh", "R1002", (15, 11), "Gary Walsh", "father"),
        ("Maya", "Begum", "R1003", (16, 2), "Ruksana Begum", "mother"),
        ("Noah", "Fraser", "R1004", (17, 6), "Iain Fraser", "father"),
    ],
    "hillcrest": [
        ("Ella", "Jenkins", "H2001", (13, 8), "Sian Jenkins", "mother"),
        ("Owen", "Price", "H2002", (16, 9), "Dylan Price", "carer"),
    ],
}

DEVICES = {
    "riverside": [("RA-IPAD-014", "PE department iPad"), ("RA-LAP-221", "Music office laptop")],
    "hillcrest": [("HS-IPAD-003", "Sports hall iPad")],
}


def is_seeded(session: Session) -> bool:
    return session.exec(select(Trust)).first() is not None


def seed(*, session: Session, settings: Settings, passwords: Passwords) -> None:
    """Create the demo trust; call only on an empty database."""
    operator = Principal.command_line()
    today = school_date(now(), settings.zone)
    trust = create_trust(session=session, actor=operator, name="Riverside Learning Trust")
    school_ids: dict[str, int] = {}
    for name, slug in SCHOOLS.items():
        school = create_school(
            session=session, actor=operator, school_in=SchoolCreate(name=name), trust_id=trust.id
        )
        assert school.id is not None
        school_ids[slug] = school.id
    staff_ids: dict[str, int] = {}
    for name, local, slug, roles, head, manager in PEOPLE:
        email = f"{local}@{slug}.example.org"
        created = create_staff(
            session=session,
            actor=operator,
            staff_in=StaffCreate(
                name=name,
                email=email,
                school_id=school_ids[slug],
                roles=roles,
                is_headteacher=head,
                line_manager_id=staff_ids[manager] if manager else None,
                password=DEMO_PASSWORD,
            ),
            passwords=passwords,
        )
        staff_ids[local] = created.id
    for slug, rows in PUPILS.items():
        for given, family, ref, (years, months), guardian, relation in rows:
            pupil = create_pupil(
                session=session,
                actor=operator,
                pupil_in=PupilCreate(
                    given_name=given,
                    family_name=family,
                    school_reference=ref,
                    date_of_birth=_born(years, months, today),
                    school_id=school_ids[slug],
                ),
            )
            assert pupil.id is not None
            add_guardian(
                session=session,
                actor=operator,
                pupil_id=pupil.id,
                guardian_in=GuardianCreate(
                    name=guardian,
                    relationship=relation,
                    email=f"{guardian.split()[0].lower()}.{family.lower()}@parents.example.org",
                    has_parental_responsibility=True,
                ),
            )
    for slug, devices in DEVICES.items():
        for tag, description in devices:
            register_device(
                session=session,
                actor=operator,
                device_in=DeviceCreate(
                    asset_tag=tag, description=description, school_id=school_ids[slug]
                ),
            )


def sign_ins() -> list[DemoSignIn]:
    """The demo accounts, as printed for the person trying the demo."""
    out = []
    for name, local, slug, roles, head, _ in PEOPLE:
        school_name = next(n for n, s in SCHOOLS.items() if s == slug)
        label = ", ".join(r.value for r in roles) + (" (headteacher)" if head else "")
        out.append(DemoSignIn(f"{local}@{slug}.example.org", name, school_name, label))
    return out
