"""A demo trust to try contactlog with: two schools, their people, pupils either side of 16."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from consent.models import ConsentCreate, ConsentMethod
from consent.service import record_consent
from contacts.capture import uploads
from contacts.capture.models import Source
from contacts.concerns.models import ConcernKind
from contacts.concerns.raising import raise_concern
from contacts.concerns.schemas import ConcernCreate
from contacts.consenting import CONTACTS
from contacts.models import ContactCreate, DecisionCreate, Platform
from contacts.service import decide, request_contact
from core.clock import school_date
from core.directory.models import (
    DeviceCreate,
    Guardian,
    GuardianCreate,
    Pupil,
    PupilCreate,
    Role,
    School,
    SchoolCreate,
    Staff,
    StaffCreate,
    Trust,
)
from core.directory.pupils import add_guardian, create_pupil
from core.directory.schools import create_school, create_trust, register_device
from core.directory.staff import create_staff
from core.identity import mfa
from core.identity.security import Passwords
from core.policy import Policy, deployment_policy, policy_of
from core.principal import Principal
from core.settings import Settings

DEMO_PASSWORD = "contactlog-demo"  # printed for the person trying the demo
# The second factor of every demo account whose roles need one: printed too, so that a newcomer
# can add it to an authenticator app (or print a code with pyotp) and try every role.
DEMO_TOTP_SECRET = "CONTACTLOGDEMOTOTPSECRETKEY23456"


@dataclass(frozen=True)
class DemoSignIn:
    email: str
    name: str
    school: str
    roles: str
    second_factor: bool


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
    # The chair of governors: concerns about the headteacher go to her, not to the head.
    ("Grace Adebayo", "grace.adebayo", "riverside", [Role.case_manager], False, None),
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


def seed(*, session: Session, settings: Settings, passwords: Passwords, at: datetime) -> None:
    """Create the demo trust as of `at`; call only on an empty database."""
    operator = Principal.command_line()
    policy = deployment_policy(settings)
    today = school_date(at, policy.zone_of(None))
    trust = create_trust(session=session, actor=operator, at=at, name="Riverside Learning Trust")
    policy = policy_of(trust, settings)
    school_ids: dict[str, int] = {}
    for name, slug in SCHOOLS.items():
        school = create_school(
            session=session,
            actor=operator,
            at=at,
            school_in=SchoolCreate(name=name),
            trust_id=trust.id,
        )
        assert school.id is not None
        school_ids[slug] = school.id
    staff_ids: dict[str, int] = {}
    for name, local, slug, roles, head, manager in PEOPLE:
        email = f"{local}@{slug}.example.org"
        created = create_staff(
            session=session,
            actor=operator,
            at=at,
            staff_in=StaffCreate(
                name=name,
                email=email,
                school_id=school_ids[slug],
                roles=roles,
                is_headteacher=head,
                line_manager_id=staff_ids[manager] if manager else None,
            ),
            passwords=passwords,
            settings=settings,
            password=DEMO_PASSWORD,
        )
        staff_ids[local] = created.id
        if mfa.required(frozenset(roles), settings):
            account = session.get(Staff, created.id)
            assert account is not None
            mfa.seed(session, staff=account, secret=DEMO_TOTP_SECRET, settings=settings, at=at)
    for slug, rows in PUPILS.items():
        for given, family, ref, (years, months), guardian, relation in rows:
            pupil = create_pupil(
                session=session,
                actor=operator,
                policy=policy,
                at=at,
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
                at=at,
                pupil_id=pupil.id,
                guardian_in=GuardianCreate(
                    name=guardian,
                    relationship=relation,
                    email=f"{guardian.split()[0].lower()}.{family.lower()}@parents.example.org",
                    has_parental_responsibility=True,
                ),
            )
    device_ids: dict[str, int] = {}
    for slug, devices in DEVICES.items():
        for tag, description in devices:
            device = register_device(
                session=session,
                actor=operator,
                at=at,
                device_in=DeviceCreate(
                    asset_tag=tag, description=description, school_id=school_ids[slug]
                ),
            )
            assert device.id is not None
            device_ids[tag] = device.id
    _seed_contact(session, staff_ids, device_ids, today, policy=policy, at=at)
    _seed_concern(session, staff_ids, policy=policy, at=at)


def _seed_concern(
    session: Session, staff_ids: dict[str, int], *, policy: Policy, at: datetime
) -> None:
    """A low-level concern about Sam, raised by Priya: Helen (the head) and Dana (the DSL) read
    it, Sam never sees it; Grace, the chair, would read one about Helen."""
    raise_concern(
        session=session,
        actor=_as(session, staff_ids["priya.shah"]),
        policy=policy,
        at=at,
        concern_in=ConcernCreate(
            kind=ConcernKind.low_level,
            subject_staff_id=staff_ids["sam.okafor"],
            happened_at=at - timedelta(days=1),
            what_happened="Sam follows a Year 10 pupil's personal Instagram account from his own "
            "phone; the pupil mentioned it in class.",
            platform=Platform.instagram,
        ),
    )


def _as(session: Session, staff_id: int) -> Principal:
    from core.identity.auth import roles_of

    staff = session.get(Staff, staff_id)
    school = session.get(School, staff.school_id) if staff else None
    assert staff is not None
    assert school is not None
    return Principal(
        staff_id=staff_id,
        school_id=staff.school_id,
        trust_id=school.trust_id,
        roles=roles_of(session, staff_id),
        is_headteacher=staff.is_headteacher,
    )


def _seed_contact(
    session: Session,
    staff_ids: dict[str, int],
    device_ids: dict[str, int],
    today: date,
    *,
    policy: Policy,
    at: datetime,
) -> None:
    """Sam's approved team WhatsApp: one pupil consented, one awaiting consent, one 16+; and
    the school phone's export of the team chat, with a message from before the approval that
    is not in Sam's log (My contacts says so; the DSL sees the breach)."""
    sam, mark, alex = (
        _as(session, staff_ids[k]) for k in ("sam.okafor", "mark.patel", "alex.morgan")
    )
    contact = request_contact(
        session=session,
        actor=sam,
        policy=policy,
        at=at,
        contact_in=ContactCreate(
            pupil_references=["R1001", "R1002", "R1003"],
            platform=Platform.whatsapp,
            school_account="Riverside U16 football (school phone)",
            purpose="Fixture times, kit and transport for the U16 football team",
            device_ids=[device_ids["RA-IPAD-014"]],
            starts_on=today - timedelta(days=7),
            ends_on=today + timedelta(days=90),
        ),
    )
    assert contact.id is not None
    decide(
        session=session,
        actor=mark,
        policy=policy,
        at=at,
        contact_id=contact.id,
        decision=DecisionCreate(approve=True, conditions="Team group only; no direct messages"),
    )
    ava = session.exec(select(Pupil).where(Pupil.school_reference == "R1001")).one()
    guardian = session.exec(select(Guardian).where(Guardian.pupil_id == ava.id)).one()
    assert ava.id is not None
    assert guardian.id is not None
    record_consent(
        session=session,
        actor=alex,
        policy=policy,
        at=at,
        contacts=CONTACTS,
        pupil_id=ava.id,
        consent_in=ConsentCreate(
            contact_id=contact.id,
            guardian_id=guardian.id,
            method=ConsentMethod.signed_form,
            evidence_reference="Consent form, office file 2026/14",
            given_on=today - timedelta(days=3),
        ),
    )
    school = session.get(School, sam.school_id)
    assert school is not None
    asked = (at - timedelta(days=2)).astimezone(policy.zone(school))
    said = f"{asked:%d/%m/%Y, %H:%M}"
    chat = (
        f"{said} - Ava Thompson: Is training still on Thursday?\n"
        f"{said} - Riverside U16 (School): Yes, 4pm on the top pitch\n"
    )
    uploads.upload(
        session=session,
        actor=sam,
        policy=policy,
        at=at,
        upload_in=uploads.UploadIn(
            platform=Platform.whatsapp,
            school_account="Riverside U16 football (school phone)",
            source=Source.whatsapp_export,
            school_name="Riverside U16 (School)",
            names={"Ava Thompson": ava.id},
        ),
        file_name="WhatsApp Chat with U16 football.txt",
        data=chat.encode(),
        device="the demo",
    )


def sign_ins(settings: Settings) -> list[DemoSignIn]:
    """The demo accounts, as printed for the person trying the demo."""
    out = []
    for name, local, slug, roles, head, _ in PEOPLE:
        school_name = next(n for n, s in SCHOOLS.items() if s == slug)
        label = ", ".join(r.value for r in roles) + (" (headteacher)" if head else "")
        second = mfa.required(frozenset(roles), settings)
        out.append(DemoSignIn(f"{local}@{slug}.example.org", name, school_name, label, second))
    return out
