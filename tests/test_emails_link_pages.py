"""Every email contactlog sends points its reader at a page (issue: pages a school runs on,
item 3): never an API address, which answers a browser with JSON, never a bare "GET /…", and
never a person as a bare number. Each email is built as the scheduler builds it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from contacts.data_protection.retention.models import (
    Forgotten,
    KeptByHold,
    Redacted,
    RetentionReport,
)
from contacts.incidents.models import Incident
from contacts.models import Contact
from core.links import PAGES
from scheduler import emails

BASE = "https://contactlog.example.org"
WHEN = datetime(2026, 7, 1, 18, 30, tzinfo=UTC)
CONTACT = Contact(
    id=7,
    school_id=1,
    staff_id=4,
    platform="whatsapp",
    school_account="U15 football (school phone)",
    purpose="Fixtures",
    starts_on=date(2026, 9, 1),
    ends_on=date(2026, 12, 20),
    state="approved",
    requested_at=WHEN,
)
INCIDENT = Incident(
    id=3,
    school_id=1,
    reporter_id=4,
    kind="unsolicited_contact",
    platform="instagram",
    occurred_at=WHEN,
    reported_at=WHEN,
    what_happened="A follow request",
    personal_information_shared=False,
)
REPORT = RetentionReport(
    id=2,
    trust_id=1,
    ran_at=WHEN,
    dry_run=False,
    run_by_id=None,
    redacted=[Redacted(school_id=1, record_type="message", count=3, ids=[1, 2, 3])],
    kept=[
        KeptByHold(
            hold_id=5, school_id=1, case_reference="LADO-1", record_type="message", count=1, ids=[4]
        )
    ],
    forgotten=Forgotten(),
)
SCHOOLS = {1: "Riverside Academy"}


def every_email() -> dict[str, emails.Email]:
    return {
        "ending_soon": emails.ending_soon(CONTACT, base_url=BASE),
        "delete": emails.delete_contact_method(
            CONTACT, pupils=["Ava T"], reminder=2, escalate_on=date(2026, 12, 30), base_url=BASE
        ),
        "overdue": emails.deletion_overdue(CONTACT, staff_name="Sam Okafor", days=7, base_url=BASE),
        "flagged": emails.flagged_message(
            CONTACT, message_id=9, flags=["no_valid_consent"], base_url=BASE
        ),
        "withdrawn": emails.consent_withdrawn(CONTACT, base_url=BASE),
        "incident": emails.incident_reported(
            INCIDENT, reporter="Sam Okafor", zone=ZoneInfo("Europe/London"), base_url=BASE
        ),
        "asked": emails.approval_requested(CONTACT, requester="Sam Okafor", base_url=BASE),
        "waiting": emails.approval_waiting(CONTACT, requester="Sam Okafor", base_url=BASE),
        "undelivered": emails.delivery_failed(
            email_id=11, kind="approval", hours=48, base_url=BASE
        ),
        "altered": emails.chain_altered(
            problem="event #12 is not the one its leaf (11) was made of", altered=1, base_url=BASE
        ),
        "witness": emails.witness_refused(
            why="witness la.example/witness refused it (422: not consistent)", base_url=BASE
        ),
        "refused": emails.checkpoint_refused(why="the record was cut short", base_url=BASE),
        "retention": emails.retention_report(REPORT, BASE, SCHOOLS),
        "concern": emails.concern_raised(
            concern_id=4, allegation=True, due="Monday 6 July 2026 at 18:30", base_url=BASE
        ),
        "lado": emails.lado_overdue(concern_id=4, due="Monday 6 July 2026 at 18:30", base_url=BASE),
        "concern_action": emails.concern_action_due(
            concern_id=4, due_on=date(2026, 7, 3), base_url=BASE
        ),
        "concern_review": emails.concern_review(staff_count=2, base_url=BASE),
        "retention_refused": emails.retention_refused(
            REPORT.model_copy(update={"refused_too_young": REPORT.redacted}), BASE, SCHOOLS
        ),
        "subject_access": emails.subject_access_due(
            request_id=4,
            received_on=date(2026, 6, 1),
            due_on=date(2026, 7, 1),
            today=date(2026, 6, 24),
            base_url=BASE,
        ),
    }


PAGE_PATHS = [re.compile("^" + re.sub(r"\{id\}", r"\\d+", p) + "$") for p in PAGES.values()]


def test_every_link_in_every_email_is_a_page():
    for name, email in every_email().items():
        links = re.findall(re.escape(BASE) + r"(/\S*)", email.body)
        assert links, f"{name} links to nothing"
        for path in links:
            assert any(p.match(path) for p in PAGE_PATHS), (name, path)
        assert not re.search(r"\b(GET|POST|PATCH) /", email.body), (name, email.body)


def test_no_email_names_a_person_by_number_and_times_are_the_school_s():
    for name, email in every_email().items():
        assert not re.search(r"\b(staff|pupil|guardian|school) #?\d", email.body), name
    incident = every_email()["incident"].body
    assert "1 July 2026 at 19:30 (school time)" in incident  # 18:30 UTC is 19:30 in London
    assert "Riverside Academy: 3 message record(s)" in every_email()["retention"].body
