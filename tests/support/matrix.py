"""The authorisation matrix: every route of the app, who may use it, and the scene of one of
each record its cells are tried on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from core import clock
from core.db import Database
from core.models import OutboxEmail
from core.record.models import AuditEvent, Log
from core.settings import Settings
from scheduler.checkpointing import sign_now
from tests.support.builders import TODAY, World, message, request_body, signed_in, today
from tests.support.snapshots import Snapshots

ACTORS = [
    "owner",
    "other_staff",
    "manager",
    "other_manager",
    "dsl",
    "admin",
    "other_school",
    None,
]


SIGNED_IN = frozenset(a for a in ACTORS if a is not None)


SCHOOL_A = SIGNED_IN - {"other_school"}


PUBLIC = {
    ("POST", "/auth/token"),
    ("POST", "/auth/password-reset"),
    ("POST", "/auth/password"),
    # The staff client's sign-in through the browser (RFC 8628): asking needs no account, and
    # the token comes only once approved (tests/test_device_grant.py).
    ("POST", "/auth/device"),
    ("POST", "/auth/device/token"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    # The logs' hashes, for monitors outside the trust (C2SP tlog-tiles): never content.
    ("GET", "/log/trust/{trust_id}/checkpoint"),
    ("GET", "/log/trust/{trust_id}/tile/entries/{path}"),
    ("GET", "/log/trust/{trust_id}/tile/{level}/{path}"),
    ("GET", "/log/deployment/checkpoint"),
    ("GET", "/log/deployment/tile/entries/{path}"),
    ("GET", "/log/deployment/tile/{level}/{path}"),
    # As a witness for others: the log's signature is the credential (tests/test_witnesses).
    ("POST", "/witness/add-checkpoint"),
    ("GET", "/witness/{origin_hash}/checkpoint"),
    # Meta's: the app secret's signature over each delivery is the credential
    # (tests/test_capture_webhook).
    ("GET", "/capture/whatsapp"),
    ("POST", "/capture/whatsapp"),
}


CREDENTIAL_ONLY = {("GET", "/metrics")}


@dataclass
class Scene:
    """One of each record, all at school A, the contacts held by `owner`."""

    world: Any
    school: dict[str, int]
    requested: int
    approved: int
    ended: int
    message: int
    consent: int
    incident: int
    change: int
    hold: int
    request: int
    staff_request: int
    # Approved, with the young pupil's consent not yet asked for.
    asking: int
    # A parent's refusal, not yet resolved (consent.refusals).
    refusal: int
    # The last event of school A, and the size of the trust's log's checkpoint that holds it.
    event: int
    log_size: int
    # A message the school phone's export holds that the owner has not logged.
    captured: int = 0
    # A concern about the owner, raised by other_staff, with an action and an attachment: read
    # by the DSL (and the headteacher) alone.
    concern: int = 0
    concern_action: int = 0
    concern_attachment: int = 0


@dataclass(frozen=True)
class Cell:
    allowed: frozenset[str]
    call: Callable[[Scene], tuple[str, Any]]  # the path, and the JSON body (None for none)


def _cell(allowed: set[str] | frozenset[str], call: Callable[[Scene], tuple[str, Any]]) -> Cell:
    return Cell(frozenset(allowed), call)


CONSENT = {"method": "email", "evidence_reference": "m", "given_on": TODAY.isoformat()}


NOTICE = {
    "informed_on": TODAY.isoformat(),
    "informed_by": "Office",
    "method": "letter",
    "reason_explained": "Team chat",
}


INCIDENT = {
    "kind": "chance_contact",
    "platform": "facebook",
    "occurred_at": "2026-01-01T10:00:00Z",
    "what_happened": "Seen in a public group",
    "personal_information_shared": False,
}


def HOLD(school: dict[str, int]) -> dict[str, object]:
    return {
        "subject_type": "pupil",
        "subject_id": school["young"],
        "case_reference": "LADO/2026/7",
        "reason": "Allegation under investigation",
    }


def SAR(school: dict[str, int]) -> dict[str, object]:
    return {
        "subject_type": "pupil",
        "subject_id": school["young"],
        "requested_by": "Parent, by email",
        "received_on": TODAY.isoformat(),
    }


FAKE = {
    "id": 1,
    "seq": 1,
    "link_hash": "0" * 64,
    "signed_at": "2026-01-01T00:00:00Z",
    "key_id": "0" * 16,
    "public_key": "not a key",
    "payload": "{}",
    "signature": "AAAA",
}


MATRIX: dict[tuple[str, str], Cell] = {
    ("POST", "/auth/revoke"): _cell(SIGNED_IN, lambda s: ("/auth/revoke", None)),
    ("GET", "/me"): _cell(SIGNED_IN, lambda s: ("/me", None)),
    # Passkeys are one's own: nobody lists, registers for or removes another's
    # (tests/test_passkeys.py registers and signs in with one in Chromium).
    ("POST", "/me/passkeys/options"): _cell(SIGNED_IN, lambda s: ("/me/passkeys/options", None)),
    ("POST", "/me/passkeys"): _cell(set(), lambda s: ("/me/passkeys", {"credential": {}})),
    ("GET", "/me/passkeys"): _cell(SIGNED_IN, lambda s: ("/me/passkeys", None)),
    ("DELETE", "/me/passkeys/{passkey_id}"): _cell(set(), lambda s: ("/me/passkeys/999999", None)),
    # Links to school accounts (tests/test_sso.py makes and removes them through a provider).
    ("GET", "/me/sso-links"): _cell(SIGNED_IN, lambda s: ("/me/sso-links", None)),
    ("DELETE", "/me/sso-links/{link_id}"): _cell(set(), lambda s: ("/me/sso-links/999999", None)),
    ("GET", "/staff/{staff_id}/sso-links"): _cell(
        {"admin"}, lambda s: (f"/staff/{s.world.ids['owner']}/sso-links", None)
    ),
    ("DELETE", "/staff/{staff_id}/sso-links/{link_id}"): _cell(
        set(), lambda s: (f"/staff/{s.world.ids['owner']}/sso-links/999999", None)
    ),
    ("POST", "/schools"): _cell(set(), lambda s: ("/schools", {"name": "New"})),
    ("GET", "/schools"): _cell(SIGNED_IN, lambda s: ("/schools", None)),
    ("GET", "/schools/{school_id}"): _cell(
        SCHOOL_A, lambda s: (f"/schools/{s.world.school_a}", None)
    ),
    ("POST", "/staff"): _cell(
        {"admin"},
        lambda s: (
            "/staff",
            {"name": "N", "email": "n@a.example.org", "school_id": s.world.school_a},
        ),
    ),
    ("GET", "/staff"): _cell(
        {"manager", "other_manager", "dsl", "admin"},
        lambda s: (f"/staff?school_id={s.world.school_a}", None),
    ),
    ("GET", "/staff/{staff_id}"): _cell(
        {"owner", "manager", "dsl", "admin"}, lambda s: (f"/staff/{s.world.ids['owner']}", None)
    ),
    ("PATCH", "/staff/{staff_id}"): _cell(
        {"admin"}, lambda s: (f"/staff/{s.world.ids['owner']}", {"name": "Renamed"})
    ),
    ("POST", "/pupils"): _cell(
        {"admin"},
        lambda s: (
            "/pupils",
            {
                "given_name": "A",
                "family_name": "B",
                "date_of_birth": "2012-01-01",
                "school_reference": "NEW1",
                "school_id": s.world.school_a,
            },
        ),
    ),
    ("POST", "/pupils/import"): _cell(
        {"admin"}, lambda s: (f"/pupils/import?school_id={s.world.school_a}", "csv")
    ),
    ("GET", "/pupils"): _cell(
        {"dsl", "admin"}, lambda s: (f"/pupils?school_id={s.world.school_a}", None)
    ),
    ("GET", "/pupils/{pupil_id}"): _cell(
        {"dsl", "admin"}, lambda s: (f"/pupils/{s.school['young']}", None)
    ),
    ("PATCH", "/pupils/{pupil_id}"): _cell(
        {"admin"}, lambda s: (f"/pupils/{s.school['young']}", {"given_name": "Eva"})
    ),
    ("POST", "/pupils/{pupil_id}/guardians"): _cell(
        {"admin"},
        lambda s: (
            f"/pupils/{s.school['young']}/guardians",
            {"name": "G", "relationship": "father", "has_parental_responsibility": True},
        ),
    ),
    ("GET", "/pupils/{pupil_id}/guardians"): _cell(
        {"dsl", "admin"}, lambda s: (f"/pupils/{s.school['young']}/guardians", None)
    ),
    ("POST", "/devices"): _cell(
        {"admin"},
        lambda s: (
            "/devices",
            {"asset_tag": "NEW", "description": "d", "school_id": s.world.school_a},
        ),
    ),
    ("GET", "/devices"): _cell(
        SCHOOL_A, lambda s: (f"/devices?school_id={s.world.school_a}", None)
    ),
    ("GET", "/devices/{device_id}"): _cell(
        SCHOOL_A, lambda s: (f"/devices/{s.school['device']}", None)
    ),
    ("PATCH", "/devices/{device_id}"): _cell(
        {"admin"}, lambda s: (f"/devices/{s.school['device']}", {"description": "Renamed"})
    ),
    ("POST", "/contacts"): _cell(
        SCHOOL_A - {"admin"}, lambda s: ("/contacts", request_body(s.school))
    ),
    ("GET", "/contacts"): _cell(SIGNED_IN, lambda s: ("/contacts", None)),
    ("GET", "/contacts/{contact_id}"): _cell(
        {"owner", "manager", "dsl", "admin"}, lambda s: (f"/contacts/{s.approved}", None)
    ),
    ("POST", "/contacts/{contact_id}/decision"): _cell(
        {"manager"}, lambda s: (f"/contacts/{s.requested}/decision", {"approve": True})
    ),
    ("POST", "/contacts/{contact_id}/end"): _cell(
        {"owner", "manager", "dsl"}, lambda s: (f"/contacts/{s.approved}/end", {"reason": "done"})
    ),
    ("POST", "/contacts/{contact_id}/deletion"): _cell(
        {"owner"}, lambda s: (f"/contacts/{s.ended}/deletion", {"how": "left the group"})
    ),
    ("POST", "/contacts/{contact_id}/messages"): _cell(
        {"owner"}, lambda s: (f"/contacts/{s.approved}/messages", message())
    ),
    ("GET", "/contacts/{contact_id}/messages"): _cell(
        {"owner", "manager", "dsl"}, lambda s: (f"/contacts/{s.approved}/messages", None)
    ),
    ("GET", "/contacts/{contact_id}/messages/{message_id}"): _cell(
        {"owner", "manager", "dsl"},
        lambda s: (f"/contacts/{s.approved}/messages/{s.message}", None),
    ),
    ("GET", "/deletion-tasks"): _cell(SIGNED_IN, lambda s: ("/deletion-tasks", None)),
    ("POST", "/pupils/{pupil_id}/consents"): _cell(
        {"dsl", "admin"},
        lambda s: (
            f"/pupils/{s.school['young']}/consents",
            {**CONSENT, "contact_id": s.approved, "guardian_id": s.school["guardian"]},
        ),
    ),
    ("GET", "/pupils/{pupil_id}/consents"): _cell(
        {"dsl", "admin"}, lambda s: (f"/pupils/{s.school['young']}/consents", None)
    ),
    ("POST", "/consents/{consent_id}/withdrawal"): _cell(
        {"dsl", "admin"},
        lambda s: (f"/consents/{s.consent}/withdrawal", {"reason": "Parent asked"}),
    ),
    ("POST", "/pupils/{pupil_id}/parent-notices"): _cell(
        {"dsl", "admin"}, lambda s: (f"/pupils/{s.school['older']}/parent-notices", NOTICE)
    ),
    ("GET", "/pupils/{pupil_id}/parent-notices"): _cell(
        {"dsl", "admin"}, lambda s: (f"/pupils/{s.school['older']}/parent-notices", None)
    ),
    ("POST", "/incidents"): _cell(
        SCHOOL_A,
        lambda s: (
            "/incidents",
            {**INCIDENT, "pupils": [{"pupil_id": s.school["young"], "part": "other"}]},
        ),
    ),
    ("GET", "/incidents"): _cell(SIGNED_IN, lambda s: ("/incidents", None)),
    ("GET", "/incidents/{incident_id}"): _cell(
        {"owner", "manager", "dsl"}, lambda s: (f"/incidents/{s.incident}", None)
    ),
    ("POST", "/incidents/{incident_id}/discussion"): _cell(
        {"manager"},
        lambda s: (
            f"/incidents/{s.incident}/discussion",
            {"discussed_at": "2026-01-02T10:00:00Z", "outcome": "ok", "parent_involved": False},
        ),
    ),
    ("GET", "/messages"): _cell(
        SCHOOL_A, lambda s: (f"/messages?school_id={s.world.school_a}", None)
    ),
    ("POST", "/messages/{message_id}/reviews"): _cell(
        {"dsl"}, lambda s: (f"/messages/{s.message}/reviews", {"note": "seen"})
    ),
    # Every DSL has a queue, a summary and a change record of their own school (and every admin
    # an outbox): `other_school` reads theirs, never this school's.
    ("GET", "/review-queue"): _cell({"dsl", "other_school"}, lambda s: ("/review-queue", None)),
    ("GET", "/pupils/{pupil_id}/chronology"): _cell(
        {"dsl"}, lambda s: (f"/pupils/{s.school['young']}/chronology", None)
    ),
    ("GET", "/staff/{staff_id}/chronology"): _cell(
        {"dsl", "manager"}, lambda s: (f"/staff/{s.world.ids['owner']}/chronology", None)
    ),
    ("GET", "/summary"): _cell(
        {"dsl", "manager", "other_manager", "other_school"}, lambda s: ("/summary", None)
    ),
    ("GET", "/audit/events"): _cell({"dsl", "other_school"}, lambda s: ("/audit/events", None)),
    ("GET", "/audit/verify"): _cell({"dsl", "other_school"}, lambda s: ("/audit/verify", None)),
    ("POST", "/audit/verify"): _cell({"dsl", "other_school"}, lambda s: ("/audit/verify", None)),
    ("GET", "/outbox"): _cell({"admin", "other_school"}, lambda s: ("/outbox", None)),
    ("GET", "/contacts/{contact_id}/evidence-pack"): _cell(
        {"dsl"}, lambda s: (f"/contacts/{s.approved}/evidence-pack", None)
    ),
    ("GET", "/pupils/{pupil_id}/evidence-pack"): _cell(
        {"dsl"}, lambda s: (f"/pupils/{s.school['young']}/evidence-pack", None)
    ),
    ("GET", "/audit/log"): _cell({"dsl", "other_school"}, lambda s: ("/audit/log", None)),
    ("GET", "/audit/log/checkpoints"): _cell(
        {"dsl", "other_school"}, lambda s: ("/audit/log/checkpoints", None)
    ),
    # Only the school's own DSL: an event of school A is not in another school's record.
    ("GET", "/audit/events/{seq}/proof"): _cell(
        {"dsl"}, lambda s: (f"/audit/events/{s.event}/proof", None)
    ),
    ("GET", "/audit/log/consistency"): _cell(
        {"dsl", "other_school"},
        lambda s: (f"/audit/log/consistency?old_size=1&size={s.log_size}", None),
    ),
    ("POST", "/audit/log/checkpoints/verify"): _cell(
        {"dsl", "other_school"},
        lambda s: ("/audit/log/checkpoints/verify", {"note": "not\na\ncheckpoint\n"}),
    ),
    # The account's holder and the DSLs (each of their own school).
    ("POST", "/captures"): _cell(
        {"owner", "dsl", "other_school"}, lambda s: ("/captures", "upload")
    ),
    ("GET", "/captures"): _cell(SIGNED_IN, lambda s: ("/captures", None)),
    ("GET", "/captures/unplaced"): _cell(
        {"dsl", "other_school"}, lambda s: ("/captures/unplaced", None)
    ),
    ("GET", "/staff/{staff_id}/reconciliation"): _cell(
        {"manager", "dsl"}, lambda s: (f"/staff/{s.world.ids['owner']}/reconciliation", None)
    ),
    ("GET", "/contacts/{contact_id}/reconciliation"): _cell(
        {"owner", "manager", "dsl"}, lambda s: (f"/contacts/{s.approved}/reconciliation", None)
    ),
    ("POST", "/captures/messages/{captured_id}/log"): _cell(
        {"owner"},
        lambda s: (
            f"/captures/messages/{s.captured}/log",
            {"summary": "Asked about kit", "device_tag": "PE-IPAD"},
        ),
    ),
    ("POST", "/me/mfa"): _cell(SIGNED_IN, lambda s: ("/me/mfa", None)),
    # Without the code of a secret just enrolled, nobody can confirm: tested in test_access.
    ("POST", "/me/mfa/confirm"): _cell(set(), lambda s: ("/me/mfa/confirm", {"code": "000000"})),
    ("POST", "/staff/{staff_id}/mfa-reset"): _cell(
        {"admin"}, lambda s: (f"/staff/{s.world.ids['owner']}/mfa-reset", None)
    ),
    ("GET", "/pending-changes"): _cell(SIGNED_IN, lambda s: ("/pending-changes", None)),
    # The admin proposed it, so the admin may not confirm it; the school's headteacher or
    # another admin may (not among these actors; tested in test_access).
    ("POST", "/pending-changes/{change_id}/confirm"): _cell(
        set(), lambda s: (f"/pending-changes/{s.change}/confirm", None)
    ),
    ("POST", "/pending-changes/{change_id}/refuse"): _cell(
        set(), lambda s: (f"/pending-changes/{s.change}/refuse", None)
    ),
    # Legal holds: the DSL of the school places, lists and releases them; another school's DSL
    # lists their own school's.
    ("POST", "/legal-holds"): _cell({"dsl"}, lambda s: ("/legal-holds", HOLD(s.school))),
    ("GET", "/legal-holds"): _cell({"dsl", "other_school"}, lambda s: ("/legal-holds", None)),
    ("POST", "/legal-holds/{hold_id}/release"): _cell(
        {"dsl"}, lambda s: (f"/legal-holds/{s.hold}/release", {"reason": "Case closed"})
    ),
    # Subject access requests: the school's DSL records, extends and completes them.
    ("POST", "/subject-access-requests"): _cell(
        {"dsl"}, lambda s: ("/subject-access-requests", SAR(s.school))
    ),
    ("GET", "/subject-access-requests"): _cell(
        {"dsl", "other_school"}, lambda s: ("/subject-access-requests", None)
    ),
    ("POST", "/subject-access-requests/{request_id}/extension"): _cell(
        {"dsl"},
        lambda s: (
            f"/subject-access-requests/{s.request}/extension",
            {"extra_months": 1, "reason": "Many records"},
        ),
    ),
    ("POST", "/subject-access-requests/{request_id}/completion"): _cell(
        {"dsl"},
        lambda s: (
            f"/subject-access-requests/{s.request}/completion",
            {"completed_on": TODAY.isoformat()},
        ),
    ),
    # Asking parents for consent online: the school's admins and DSL.
    ("POST", "/contacts/{contact_id}/consent-requests"): _cell(
        {"admin", "dsl"}, lambda s: (f"/contacts/{s.asking}/consent-requests", None)
    ),
    ("GET", "/contacts/{contact_id}/consent-requests"): _cell(
        {"admin", "dsl"}, lambda s: (f"/contacts/{s.approved}/consent-requests", None)
    ),
    # A parent's refusal: the school's DSLs and headteacher list and resolve them.
    ("GET", "/consent-refusals"): _cell(
        {"dsl", "other_school"}, lambda s: ("/consent-refusals", None)
    ),
    ("POST", "/consent-requests/{request_id}/resolution"): _cell(
        {"dsl"},
        lambda s: (f"/consent-requests/{s.refusal}/resolution", {"how": "Spoke with the family"}),
    ),
    # Subject access exports: the school's DSL, for an open request about that person.
    ("GET", "/pupils/{pupil_id}/subject-access"): _cell(
        {"dsl"},
        lambda s: (f"/pupils/{s.school['young']}/subject-access?request_id={s.request}", None),
    ),
    ("GET", "/staff/{staff_id}/subject-access"): _cell(
        {"dsl"},
        lambda s: (
            f"/staff/{s.world.ids['owner']}/subject-access?request_id={s.staff_request}",
            None,
        ),
    ),
    # Retention: DSLs (each of their own school's lines) and trust administrators read what
    # runs redacted and what a run now would do.
    ("GET", "/retention/reports"): _cell(
        {"dsl", "other_school"}, lambda s: ("/retention/reports", None)
    ),
    ("GET", "/retention/plan"): _cell({"dsl", "other_school"}, lambda s: ("/retention/plan", None)),
    # Everyone in the trust may read the rules they work under; only a trust admin sets them.
    ("GET", "/trusts/{trust_id}/policy"): _cell(
        SIGNED_IN, lambda s: (f"/trusts/{s.world.trust}/policy", None)
    ),
    ("PATCH", "/trusts/{trust_id}/policy"): _cell(
        set(), lambda s: (f"/trusts/{s.world.trust}/policy", {"escalate_after_days": 30})
    ),
    # Concerns about adults: anyone raises one about a colleague they can see; its subject
    # (owner), its raiser (other_staff), the subject's line manager and the admin get nothing
    # of it (tests/test_concerns.py tries every route as a subject holding each role).
    ("POST", "/concerns"): _cell(SCHOOL_A, lambda s: ("/concerns", CONCERN(s))),
    ("GET", "/concerns/raised"): _cell(SIGNED_IN, lambda s: ("/concerns/raised", None)),
    ("GET", "/concerns"): _cell(SIGNED_IN, lambda s: ("/concerns", None)),
    ("GET", "/concerns/review"): _cell(SIGNED_IN, lambda s: ("/concerns/review", None)),
    ("GET", "/concerns/{concern_id}"): _cell({"dsl"}, lambda s: (f"/concerns/{s.concern}", None)),
    ("POST", "/concerns/{concern_id}/notes"): _cell(
        {"dsl"}, lambda s: (f"/concerns/{s.concern}/notes", {"text": "Spoke to the parent."})
    ),
    ("POST", "/concerns/{concern_id}/referral"): _cell(
        {"dsl"},
        lambda s: (
            f"/concerns/{s.concern}/referral",
            {"agency": "lado", "referred_on": today().isoformat()},
        ),
    ),
    ("POST", "/concerns/{concern_id}/actions"): _cell(
        {"dsl"},
        lambda s: (
            f"/concerns/{s.concern}/actions",
            {"what": "Meet", "owner_id": s.world.ids["dsl"], "due_on": today().isoformat()},
        ),
    ),
    ("POST", "/concerns/{concern_id}/actions/{action_id}/done"): _cell(
        {"dsl"}, lambda s: (f"/concerns/{s.concern}/actions/{s.concern_action}/done", None)
    ),
    ("POST", "/concerns/{concern_id}/kind"): _cell(
        {"dsl"},
        lambda s: (
            f"/concerns/{s.concern}/kind",
            {"kind": "allegation", "reason": "Meets the harm threshold"},
        ),
    ),
    ("POST", "/concerns/{concern_id}/outcome"): _cell(
        {"dsl"},
        lambda s: (
            f"/concerns/{s.concern}/outcome",
            {"outcome": "addressed", "outcome_on": today().isoformat(), "reason": "Advice."},
        ),
    ),
    ("POST", "/concerns/{concern_id}/attachments"): _cell(
        {"dsl"}, lambda s: (f"/concerns/{s.concern}/attachments", "attachment")
    ),
    ("GET", "/concerns/{concern_id}/attachments/{attachment_id}"): _cell(
        {"dsl"},
        lambda s: (f"/concerns/{s.concern}/attachments/{s.concern_attachment}", None),
    ),
    ("GET", "/concerns/{concern_id}/evidence-pack"): _cell(
        {"dsl"}, lambda s: (f"/concerns/{s.concern}/evidence-pack", None)
    ),
    ("GET", "/staff/{staff_id}/pattern"): _cell(
        {"dsl"}, lambda s: (f"/staff/{s.world.ids['owner']}/pattern", None)
    ),
}


def CONCERN(s: Scene) -> dict[str, object]:
    return {
        "kind": "low_level",
        "subject_staff_id": s.world.ids["owner"],
        "happened_at": "2026-01-01T10:00:00Z",
        "what_happened": "Followed a pupil from a personal account",
    }


@pytest.fixture
def scene(
    client: TestClient,
    world: World,
    school: dict[str, int],
    snapshots: Snapshots,
    db: Database,
    settings: Settings,
) -> Scene:
    """One of each record: built once per database and day, loaded for every cell."""
    built = snapshots.scene("matrix", today(), lambda: _scene(client, world, school, db, settings))
    signed_in(built.world, db, settings)
    return built


def _scene(
    client: TestClient, world: World, school: dict[str, int], db: Database, settings: Settings
) -> Scene:
    owner, manager, admin = (world.auth(w) for w in ("owner", "manager", "admin"))
    made = {}
    for name in ("requested", "approved", "ended", "asking", "refused"):
        made[name] = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    for name in ("approved", "ended", "asking", "refused"):
        client.post(f"/contacts/{made[name]}/decision", json={"approve": True}, headers=manager)
    client.post(f"/contacts/{made['ended']}/end", json={"reason": "over"}, headers=owner)
    consent = client.post(
        f"/pupils/{school['young']}/consents",
        json={**CONSENT, "contact_id": made["approved"], "guardian_id": school["guardian"]},
        headers=admin,
    ).json()["id"]
    message_id = client.post(
        f"/contacts/{made['approved']}/messages", json=message(), headers=owner
    ).json()["id"]
    incident = client.post(
        "/incidents", json={**INCIDENT, "other_person": "A parent"}, headers=owner
    ).json()["id"]
    client.patch(
        f"/staff/{world.ids['other_staff']}", json={"roles": ["staff", "approver"]}, headers=admin
    )
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    client.post(
        f"/pupils/{school['young']}/guardians",
        json={
            "name": "A Parent",
            "relationship": "mother",
            "email": "parent@home.example.org",
            "has_parental_responsibility": True,
        },
        headers=admin,
    )
    [asked] = client.post(f"/contacts/{made['refused']}/consent-requests", headers=admin).json()[
        "items"
    ]
    with db.session() as session:
        [body] = session.exec(
            select(OutboxEmail.body).where(OutboxEmail.kind == "consent_request")
        ).all()
    link = re.search(r"(/consent/[A-Za-z0-9_\-]+)", body)
    assert link is not None
    client.post(link.group(1), data={"choice": "decline"})
    hold = client.post("/legal-holds", json=HOLD(school), headers=world.auth("dsl")).json()["id"]
    sar = client.post("/subject-access-requests", json=SAR(school), headers=world.auth("dsl"))
    about_owner = {**SAR(school), "subject_type": "staff", "subject_id": world.ids["owner"]}
    staff_sar = client.post(
        "/subject-access-requests", json=about_owner, headers=world.auth("dsl")
    ).json()["id"]
    captured = _captured(client, world, school, list(made.values()))
    concern, action, attachment = _concern(client, world)
    return Scene(
        world,
        school,
        made["requested"],
        made["approved"],
        made["ended"],
        message_id,
        consent,
        incident,
        change["id"],
        hold,
        sar.json()["id"],
        staff_sar,
        made["asking"],
        asked["id"],
        *_logged(db, settings, world.school_a),
        captured=captured,
        concern=concern,
        concern_action=action,
        concern_attachment=attachment,
    )


def _concern(client: TestClient, world: World) -> tuple[int, int, int]:
    body = {
        "kind": "low_level",
        "subject_staff_id": world.ids["owner"],
        "happened_at": "2026-01-01T10:00:00Z",
        "what_happened": "Messaged a pupil late at night",
    }
    made = client.post("/concerns", json=body, headers=world.auth("other_staff"))
    assert made.status_code == 201, made.text
    cid = int(made.json()["id"])
    dsl = world.auth("dsl")
    action = {"what": "Meet", "owner_id": world.ids["dsl"], "due_on": today().isoformat()}
    [made_action] = client.post(f"/concerns/{cid}/actions", json=action, headers=dsl).json()[
        "actions"
    ]
    files = {"file": ("screenshot.txt", b"what the post said")}
    [attached] = client.post(f"/concerns/{cid}/attachments", files=files, headers=dsl).json()[
        "attachments"
    ]
    return cid, int(made_action["id"]), int(attached["id"])


def upload_form(school_name: str = "Riverside U15 (School)") -> tuple[dict[str, str], Any]:
    """The fields and file of an upload of the school phone's export of its chat with a pupil."""
    london = ZoneInfo("Europe/London")
    when = (clock.now() - timedelta(minutes=10)).astimezone(london).strftime("%d/%m/%Y, %H:%M")
    chat = f"{when} - Ellie B: Is training still on?\n".encode()
    fields = {
        "platform": "whatsapp",
        "school_account": "Riverside U15 football (school phone)",
        "source": "whatsapp_export",
        "school_name": school_name,
    }
    return fields, {"file": ("WhatsApp Chat with Ellie B.txt", chat)}


def _captured(client: TestClient, world: World, school: dict[str, int], contacts: list[int]) -> int:
    fields, files = upload_form()
    made = client.post(
        "/captures",
        headers=world.auth("owner"),
        data={**fields, "names": json.dumps({"Ellie B": school["young"]})},
        files=files,
    )
    assert made.status_code == 201, made.text
    owner = world.auth("owner")
    found = [client.get(f"/contacts/{c}/reconciliation", headers=owner).json() for c in contacts]
    [missing] = [m for f in found for m in f["not_logged"] + f["breaches"]]
    return int(missing["id"])


def _logged(db: Database, settings: Settings, school_id: int) -> tuple[int, int]:
    """The scene's events into their log, signed: (school A's last event, the log's size)."""
    sign_now(db, settings, clock.now())
    with db.session() as session:
        event = session.exec(
            select(func.max(AuditEvent.seq)).where(AuditEvent.school_id == school_id)
        ).one()
        size = session.exec(select(func.max(Log.size))).one()
    assert event is not None
    assert size is not None
    return event, size
