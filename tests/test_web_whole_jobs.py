"""Each role's whole job through the pages, in Chromium (issue: pages a school runs on): a DSL
investigates one pupil and one member of staff from an emailed alert to a verified evidence
pack; an admin keeps the school's accounts and pupils; the headteacher confirms a colleague's
new role and resolves a parent's refusal. Every page on the way passes axe and is saved as a
screenshot (tests/test_web_pages.py: `checked`)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pyotp

from contacts.oversight.pack_check import verify_pack
from core import clock
from scheduler.runner import run_job
from tests.support.browser import checked, sign_in
from tests.support.builders import (
    CLAIRE,
    approved_contact,
    consent_given,
    enrol,
    guardian_with_email,
    message,
)
from tests.support.ground import PASSWORD
from tests.support.mail import DSL, run_all, text


def test_a_dsl_investigates_from_the_emailed_alert_to_a_verified_evidence_pack(
    client, world, school, db, mail_settings, mail_server, browse, tmp_path
):
    cid = approved_contact(client, world, school)
    flagged = client.post(
        f"/contacts/{cid}/messages",
        json=message(summary="Sent my own mobile number to Ava"),
        headers=world.auth("owner"),
    ).json()
    assert flagged["flags"]
    run_all(db, mail_settings, clock.now())
    [alert] = [m for m in mail_server.inbox.to(DSL) if "Flagged" in m["Subject"]]
    path = urlsplit(re.search(r"https?://\S+", text(alert)).group(0)).path  # type: ignore[union-attr]

    # The emailed link, opened before signing in: sign in, and back to the entry.
    page = browse()
    page.goto(path)
    page.get_by_label("Email address").fill("dsl@a.example.org")
    secret = enrol(db, world.ids["dsl"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
    checked(page)
    assert page.get_by_text("Sent my own mobile number to Ava").count() == 1

    # The pupil: their chronology, a hold on their record, the pack, verified offline.
    page.get_by_role("link", name="Ava T").first.click()
    page.wait_for_url("**/chronology")
    checked(page)
    page.get_by_text("Place a legal hold").click()
    page.get_by_label("Case reference").fill("LADO-2026-031")
    page.get_by_label("Why it is kept").fill("Teacher shared a personal number with a pupil")
    page.get_by_role("button", name="Place the hold").click()
    page.wait_for_url("**/app/legal-holds?done=placed")
    checked(page)
    assert page.get_by_role("heading", name="LADO-2026-031: Ava T").count() == 1
    page.get_by_role("link", name="Ava T").first.click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the evidence pack").click()
    pack = tmp_path / "pack.zip"
    download.value.save_as(pack)
    with pack.open("rb") as kept:
        assert verify_pack(kept) == []

    # The member of staff: their chronology from their account's page, and what they asked.
    page.goto(f"/app/staff/{world.ids['owner']}")
    checked(page)
    page.get_by_role("link", name="Chronology").click()
    checked(page)
    assert page.locator(".timeline li").filter(has_text="Sent my own mobile number").count() == 1
    # The teacher asks for their own data: recorded, and its export downloaded to send.
    page.get_by_text("Record a subject access request").click()
    page.get_by_label("Who asked, and how").fill("Owner, by letter to the headteacher")
    page.get_by_label("Received on").fill(clock.now().date().isoformat())
    page.get_by_role("button", name="Record the request").click()
    page.wait_for_url("**/app/subject-access?done=recorded")
    checked(page)
    with page.expect_download() as export:
        page.get_by_role("link", name="Download the export").click()
    assert Path(export.value.path()).read_bytes()[:2] == b"PK"

    # Everything it did is on the change record, by name.
    page.get_by_role("link", name="Records").first.click()
    checked(page)
    page.get_by_role("link", name="The change record").click()
    checked(page)
    assert page.get_by_role("cell", name="legal hold: placed").count() >= 1


def test_an_admin_keeps_the_school_s_accounts_and_pupils(client, world, school, db, browse):
    cid = approved_contact(client, world, school)
    consent_given(client, world, school, cid)
    page = browse()
    sign_in(page, "admin@a.example.org", pyotp.TOTP(enrol(db, world.ids["admin"])).now())

    # The MIS's pupil list, with one bad row, then put right.
    page.get_by_role("link", name="Pupils").first.click()
    page.get_by_role("link", name="Import the pupil list from the MIS").click()
    checked(page)
    bad = b"UPN,Legal Forename,Legal Surname,DOB\nN1,Isla,Grant,2012-05-04\nN2,Omar,,2012-13-01\n"
    page.get_by_label("The CSV file").set_input_files(
        {"name": "pupils.csv", "mimeType": "text/csv", "buffer": bad}
    )
    page.get_by_role("button", name="Import").click()
    checked(page)
    assert page.get_by_role("cell", name="date of birth").count() == 1
    page.goto("/app/pupils/import")
    good = (
        b"UPN,Legal Forename,Legal Surname,DOB\nN1,Isla,Grant,2012-05-04\nN2,Omar,Ali,2012-11-01\n"
    )
    page.get_by_label("The CSV file").set_input_files(
        {"name": "pupils.csv", "mimeType": "text/csv", "buffer": good}
    )
    page.get_by_role("button", name="Import").click()
    assert "2 new pupils" in page.get_by_role("status").inner_text()
    checked(page)

    # A mother phones: her consent is withdrawn.
    page.goto(f"/app/pupils/{school['young']}")
    page.get_by_text("Record a withdrawal").click()
    page.get_by_label("What the parent said").fill("Mother phoned the office: please stop")
    page.get_by_role("button", name="Record the withdrawal").click()
    page.wait_for_url("**?done=withdrawn")
    checked(page)
    assert page.get_by_text("withdrawn", exact=False).count() >= 1

    # A colleague moves team, and another leaves.
    page.goto(f"/app/staff/{world.ids['owner']}")
    checked(page)
    page.get_by_label("Line manager").select_option(label="Other Manager")
    page.get_by_role("button", name="Save the changes").click()
    page.wait_for_url("**?done=changed")
    assert page.get_by_text("Other Manager").count() >= 1
    page.goto(f"/app/staff/{world.ids['other_staff']}")
    page.get_by_role("button", name="Deactivate Other Staff").click()
    page.wait_for_url("**?done=deactivated")
    checked(page)
    assert client.get("/me", headers=world.auth("other_staff")).status_code == 401

    page.get_by_role("link", name="Emails").first.click()
    checked(page)


def test_the_headteacher_confirms_a_new_role_and_resolves_a_parent_s_refusal(
    client, world, school, db, mail_settings, mail_server, browse
):
    # An admin asks for the owner to become an approver; a father declines consent.
    client.patch(
        f"/staff/{world.ids['owner']}",
        json={"roles": ["staff", "approver"]},
        headers=world.auth("admin"),
    )
    guardian_with_email(client, world, school)
    cid = approved_contact(client, world, school)
    client.post(f"/contacts/{cid}/consent-requests", headers=world.auth("admin"))
    run_job("outbox", db, mail_settings, clock.now())
    [email] = mail_server.inbox.to(CLAIRE)
    parent = browse(phone=True)
    parent.goto("/consent/" + text(email).split("/consent/", 1)[1].split()[0])
    parent.get_by_role("button", name="I do not consent").click()
    parent.get_by_role("status").wait_for()

    page = browse()
    sign_in(page, "head@a.example.org", pyotp.TOTP(enrol(db, world.ids["head"])).now())
    page.get_by_role("link", name="Changes to confirm").first.click()
    checked(page)
    assert page.get_by_text("Give them the approver role.").count() == 1
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/app/pending-changes**")
    assert (
        "approver"
        in client.get(f"/staff/{world.ids['owner']}", headers=world.auth("admin")).json()["roles"]
    )

    page.goto("/app/refusals")
    checked(page)
    page.get_by_text("Record how it was resolved").click()
    page.get_by_label("How it was resolved with the family").fill(
        "Met both parents; they agreed to the team group"
    )
    page.get_by_role("button", name="Resolve the refusal").click()
    page.wait_for_url("**/app/refusals?done=resolved")
    checked(page)
    assert page.get_by_text("No refusals are waiting.").count() == 1
