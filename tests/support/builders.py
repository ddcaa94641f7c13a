"""What tests start from: a trust with people in every role, pupils, a device, the bodies of
a contact request and of a message. Dated from the clock the app reads, in the schools' zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from core import clock
from core.clock import school_date
from core.db import Database
from core.directory.models import PupilCreate, Role, SchoolCreate, StaffCreate
from core.directory.pupils import create_pupil
from core.directory.schools import create_school, create_trust
from core.directory.staff import create_staff
from core.identity.security import Passwords, TokenService
from core.policy import deployment_policy
from core.principal import Principal
from core.settings import Settings
from tests.support.ground import PASSWORD, test_settings
from tests.support.snapshots import Snapshots


@dataclass
class World:
    """A trust with two schools and people in every role, plus a token for each of them."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    school_a: int = 0
    school_b: int = 0
    trust: int = 0

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}


# who: (school, roles, headteacher, manager)
PEOPLE: dict[str, tuple[str, list[Role], bool, str | None]] = {
    "head": ("a", [Role.staff, Role.approver], True, None),
    "manager": ("a", [Role.staff, Role.approver], False, "head"),
    "other_manager": ("a", [Role.staff, Role.approver], False, "head"),
    "owner": ("a", [Role.staff], False, "manager"),
    "other_staff": ("a", [Role.staff], False, "other_manager"),
    "dsl": ("a", [Role.staff, Role.dsl], False, "head"),
    "admin": ("a", [Role.admin], False, None),
    "trust_admin": ("a", [Role.trust_admin], False, None),
    "trust_dsl": ("a", [Role.trust_dsl], False, None),
    # School A's chair of governors: handles concerns about its headteacher.
    "case_manager": ("a", [Role.case_manager], False, None),
    "other_school": ("b", [Role.staff, Role.approver, Role.dsl, Role.admin], True, None),
    "other_school_staff": ("b", [Role.staff], False, "other_school"),
}


@pytest.fixture
def make_world(app, db: Database, settings: Settings, passwords: Passwords) -> Callable[[], World]:  # type: ignore[no-untyped-def]
    def build() -> World:
        world = World()
        operator = Principal.command_line()
        tokens = TokenService(settings)
        at = clock.now()
        with db.transaction() as session:
            trust = create_trust(session=session, actor=operator, at=at, name="Test Trust")
            assert trust.id is not None
            world.trust = trust.id
            a, b = (
                create_school(
                    session=session,
                    actor=operator,
                    at=at,
                    school_in=SchoolCreate(name=name),
                    trust_id=trust.id,
                )
                for name in ("A", "B")
            )
            assert a.id is not None
            assert b.id is not None
            world.school_a, world.school_b = a.id, b.id
            for who, (school, roles, head, manager) in PEOPLE.items():
                created = create_staff(
                    session=session,
                    actor=operator,
                    at=at,
                    staff_in=StaffCreate(
                        name=who.replace("_", " ").title(),
                        email=f"{who}@{school}.example.org",
                        school_id=a.id if school == "a" else b.id,
                        roles=roles,
                        is_headteacher=head,
                        line_manager_id=world.ids[manager] if manager else None,
                    ),
                    passwords=passwords,
                    settings=settings,
                    password=PASSWORD,
                )
                world.ids[who] = created.id
                world.tokens[who] = tokens.issue(staff_id=created.id, generation=0, at=at)[0]
        return world

    return build


@pytest.fixture(scope="session")
def snapshots(db: Database) -> Snapshots:
    return Snapshots(db)


@pytest.fixture
def world(
    make_world: Callable[[], World], snapshots: Snapshots, db: Database, settings: Settings
) -> World:
    """The trust's people, built once per database and day; each test gets fresh tokens."""
    built = snapshots.scene("world", today(), make_world)
    return signed_in(built, db, settings)


def signed_in(world: World, db: Database, settings: Settings) -> World:
    """`world` with a new token for everyone in it, as of now (a loaded scene's are old)."""
    tokens, at = TokenService(settings), clock.now()
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, token_generation FROM staff")).all()
    generations = {int(staff_id): int(generation) for staff_id, generation in rows}
    world.tokens = {
        who: tokens.issue(staff_id=staff_id, generation=generations[staff_id], at=at)[0]
        for who, staff_id in world.ids.items()
    }
    return world


def enrol(db: Database, staff_id: int) -> str:
    """Give an account a confirmed second factor with a known secret; the secret, for codes."""
    import pyotp

    from core.directory.models import Staff
    from core.identity import mfa

    secret = pyotp.random_base32()
    with db.transaction() as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        keyed = test_settings(Path("unused"))  # the suite's key outside the database
        mfa.seed(session, staff=staff, secret=secret, settings=keyed, at=clock.now())
    return secret


def invitation_token(db: Database, email: str) -> str:
    """The token in the newest invitation or reset link emailed to `email`, as its owner reads
    it in the email (the database holds only its hash)."""
    with db.engine.connect() as conn:
        body = conn.execute(
            text("SELECT body FROM outbox_email WHERE to_address = :e ORDER BY id DESC"),
            {"e": email},
        ).first()
    assert body is not None, f"no email to {email}"
    return str(body[0]).split("/account/password/", 1)[1].split()[0]


# ---------------------------------------------------------------- pupils and contacts


def today() -> date:
    """The schools' date now, by the clock the app reads (a test may have moved it)."""
    return school_date(clock.now(), ZoneInfo("Europe/London"))


TODAY = today()  # as the suite starts: for values fixed when a module is read
_test_day = TODAY


def day_of_test() -> date:
    """The schools' date when the running test started (set by conftest before any fixture)."""
    return _test_day


def start_test_day() -> None:
    global _test_day
    _test_day = today()


def dob(years: int, extra_days: int = 30) -> str:
    """A date of birth making a pupil `years` old today (plus a few days)."""
    now = today()
    born = date(now.year - years, now.month, min(now.day, 28)) - timedelta(days=extra_days)
    return born.isoformat()


@pytest.fixture
def school(client: TestClient, world: World, snapshots: Snapshots) -> dict[str, int]:
    """Two pupils (14 and 17), a guardian each, a registered device."""
    return snapshots.scene("school", today(), lambda: _school(client, world))


def _school(client: TestClient, world: World) -> dict[str, int]:
    admin = world.auth("admin")
    young = client.post(
        "/pupils",
        json={
            "given_name": "Ava",
            "family_name": "T",
            "date_of_birth": dob(14),
            "school_reference": "Y1",
        },
        headers=admin,
    ).json()
    older = client.post(
        "/pupils",
        json={
            "given_name": "Noah",
            "family_name": "F",
            "date_of_birth": dob(17),
            "school_reference": "O1",
        },
        headers=admin,
    ).json()
    guardian = client.post(
        f"/pupils/{young['id']}/guardians",
        json={"name": "Claire T", "relationship": "mother", "has_parental_responsibility": True},
        headers=admin,
    ).json()
    no_pr = client.post(
        f"/pupils/{young['id']}/guardians",
        json={
            "name": "Gran T",
            "relationship": "grandmother",
            "has_parental_responsibility": False,
        },
        headers=admin,
    ).json()
    device = client.post(
        "/devices", json={"asset_tag": "PE-IPAD", "description": "PE iPad"}, headers=admin
    ).json()
    return {
        "young": young["id"],
        "older": older["id"],
        "guardian": guardian["id"],
        "no_pr": no_pr["id"],
        "device": device["id"],
    }


CLAIRE = "claire@home.example.org"


def guardian_with_email(  # type: ignore[no-untyped-def]
    client, world, school, *, name="Claire Lewis", email=CLAIRE, responsible=True
) -> int:
    """A guardian of the 14-year-old whom contactlog can email (the `school` fixture's guardians
    have no address, so they cannot be asked for consent online); their id."""
    added = client.post(
        f"/pupils/{school['young']}/guardians",
        json={
            "name": name,
            "relationship": "mother" if responsible else "grandmother",
            "email": email,
            "has_parental_responsibility": responsible,
        },
        headers=world.auth("admin"),
    )
    assert added.status_code == 201, added.text
    return int(added.json()["id"])


def request_body(school: dict[str, int], **changes: Any) -> dict[str, Any]:
    body = {
        "pupil_ids": [school["young"], school["older"]],
        "platform": "whatsapp",
        "school_account": "Riverside U15 football (school phone)",
        "purpose": "Fixture times and kit reminders for the U15 team",
        "device_ids": [school["device"]],
        "starts_on": (today() - timedelta(days=1)).isoformat(),
        "ends_on": (today() + timedelta(days=60)).isoformat(),
    }
    body.update(changes)
    return body


def message(**changes: Any) -> dict[str, Any]:
    body = {
        "direction": "sent",
        "occurred_at": clock.now().isoformat(),
        "device_tag": "PE-IPAD",
        "summary": "Reminded the team of Saturday's kick-off time",
    }
    body.update(changes)
    return body


# An incident as a member of staff reports it.
INCIDENT = {
    "kind": "unsolicited_contact",
    "platform": "instagram",
    "occurred_at": "2026-01-10T19:30:00Z",
    "what_happened": "A friend request from a Year 9 pupil; not accepted.",
    "personal_information_shared": False,
}


@pytest.fixture
def contact(client: TestClient, world: World, school: dict[str, int]) -> int:
    """An approved contact whose 17-year-old's parents were informed: clean messages stay clean
    until the under-16 pupil's consent is recorded (tests that need it record it)."""
    owner = world.auth("owner")
    cid = client.post(
        "/contacts",
        json=request_body(school, pupil_ids=[school["older"], school["young"]]),
        headers=owner,
    ).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    client.post(
        f"/pupils/{school['older']}/parent-notices",
        json={
            "contact_id": cid,
            "informed_on": today().isoformat(),
            "informed_by": "Office",
            "method": "letter",
            "reason_explained": "Team chat",
        },
        headers=world.auth("admin"),
    )
    return int(cid)


def log(client: TestClient, world: World, cid: int, **changes: Any) -> dict[str, Any]:
    response = client.post(
        f"/contacts/{cid}/messages", json=message(**changes), headers=world.auth("owner")
    )
    assert response.status_code == 201, response.text
    logged: dict[str, Any] = response.json()
    return logged


def approved_contact(
    client: TestClient, world: World, school: dict[str, int], **changes: Any
) -> int:
    """The owner's request for both pupils (with `changes` to its body), approved by their
    line manager."""
    owner = world.auth("owner")
    body = request_body(school, **changes)
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    return int(cid)


@pytest.fixture
def busy(client: TestClient, world: World, school: dict[str, int]) -> int:
    """An approved contact with three messages logged on it: a change record with something
    in it, for the tests of its log and checkpoints."""
    cid = approved_contact(client, world, school)
    for n in range(3):
        client.post(
            f"/contacts/{cid}/messages",
            json=message(summary=f"note {n}"),
            headers=world.auth("owner"),
        )
    return cid


def consent_given(client: TestClient, world: World, school: dict[str, int], cid: int) -> int:
    """The 14-year-old's mother's signed form, recorded by the office today; the consent's id."""
    given = client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "signed_form",
            "evidence_reference": "Office file 12",
            "given_on": today().isoformat(),
        },
        headers=world.auth("admin"),
    )
    assert given.status_code == 201, given.text
    return int(given.json()["id"])


@dataclass
class OtherTrust:
    """A second trust, with its own school, DSL and pupil: what one trust is never told of
    another's."""

    trust_id: int
    dsl_email: str
    dsl_token: str
    pupil_id: int


def other_trust(db: Database, settings: Settings, passwords: Passwords) -> OtherTrust:
    operator, at = Principal.command_line(), clock.now()
    with db.transaction() as session:
        trust = create_trust(session=session, actor=operator, at=at, name="Other Trust")
        assert trust.id is not None
        school = create_school(
            session=session,
            actor=operator,
            at=at,
            school_in=SchoolCreate(name="Elsewhere"),
            trust_id=trust.id,
        )
        dsl = create_staff(
            session=session,
            actor=operator,
            at=at,
            staff_in=StaffCreate(
                name="Elsewhere DSL",
                email="dsl@elsewhere.example.org",
                school_id=school.id,
                roles=[Role.staff, Role.dsl],
            ),
            passwords=passwords,
            settings=settings,
            password=PASSWORD,
        )
        pupil = create_pupil(
            session=session,
            actor=operator,
            policy=deployment_policy(settings),
            at=at,
            pupil_in=PupilCreate(
                given_name="Zoe",
                family_name="E",
                school_reference="E1",
                school_id=school.id,
                date_of_birth=date(2012, 1, 1),
            ),
        )
        assert dsl.id is not None
        assert pupil.id is not None
        token = TokenService(settings).issue(staff_id=dsl.id, generation=0, at=at)[0]
        return OtherTrust(trust.id, dsl.email, token, pupil.id)
