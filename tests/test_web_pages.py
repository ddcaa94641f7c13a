"""The web pages in a real browser (Debian's Chromium, driven by Playwright): a teacher logs a
message from a phone, a line manager approves a request, a DSL signs in with a second factor,
works the review queue, exports the log and reads a pupil's chronology, an admin records a
consent. On every page axe-core finds nothing serious or critical."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyotp
import pytest

from core import clock
from scheduler.runner import run_job
from tests.support.browser import checked, sign_in
from tests.support.builders import (
    CLAIRE,
    INCIDENT,
    approved_contact,
    enrol,
    guardian_with_email,
    message,
    request_body,
)
from tests.support.ground import PASSWORD
from tests.support.mail import text


def test_a_teacher_logs_a_message_from_a_phone(client, world, school, browse):
    cid = approved_contact(client, world, school)
    page = browse(phone=True)
    sign_in(page, "owner@a.example.org")
    checked(page)
    page.get_by_role("link", name="My contacts").first.click()
    checked(page)
    page.get_by_role("link", name="Log a communication").first.click()
    checked(page)
    assert page.get_by_label("School device used").input_value() == "PE-IPAD"
    # Ava (14) has no consent yet: warned before, and not ticked for her.
    assert not page.get_by_label("Ava T").is_checked()
    assert "no valid parental consent yet" in page.get_by_label("Ava T").locator("..").inner_text()
    assert page.get_by_label("Noah F").is_checked()
    page.get_by_label("What it was about").fill("Reminded the team about Saturday's kit")
    page.get_by_role("button", name="Log it").click()
    page.wait_for_url(f"**/app/contacts/{cid}?done=logged&entry=*")
    # Noah is 17 and his parents are not on record as told: advice, said as advice.
    assert page.get_by_role("status").inner_text().startswith("Logged. Advice only:")
    checked(page)
    [entry] = client.get(f"/contacts/{cid}/messages", headers=world.auth("owner")).json()["items"]
    assert entry["summary"] == "Reminded the team about Saturday's kit"
    assert entry["pupil_ids"] == [school["older"]]
    assert entry["device_tag"] == "PE-IPAD"


@pytest.mark.parametrize("who", ["manager", "head"])
def test_a_line_manager_or_the_headteacher_approves_a_request(
    client, world, school, db, browse, who
):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    secret = enrol(db, world.ids[who])
    page = browse()
    sign_in(page, f"{who}@a.example.org", pyotp.TOTP(secret).now())
    page.get_by_role("link", name="Requests to decide").first.click()
    checked(page)
    page.get_by_role("link", name=f"Contact #{cid}: WhatsApp").click()
    checked(page)
    page.get_by_label("Approve").check()
    page.get_by_label("Conditions (with an approval)").fill("Team group only")
    page.get_by_role("button", name="Record my decision").click()
    page.wait_for_url(f"**/app/contacts/{cid}?done=approved")
    checked(page)
    shown = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()
    assert (shown["state"], shown["conditions"]) == ("approved", "Team group only")
    assert shown["decided_by_id"] == world.ids[who]


def test_a_dsl_reviews_the_flagged_entry_exports_and_reads_the_chronology(
    client,
    world,
    school,
    db,
    browse,
):
    cid = approved_contact(client, world, school)
    flagged = client.post(
        f"/contacts/{cid}/messages",
        json=message(summary="Sent my own number"),
        headers=world.auth("owner"),
    ).json()
    assert flagged["flags"]
    secret = enrol(db, world.ids["dsl"])
    page = browse()
    sign_in(page, "dsl@a.example.org", pyotp.TOTP(secret).now())
    page.get_by_role("link", name="Dashboard").first.click()
    checked(page)
    assert page.locator("svg.chart").count() == 1
    page.get_by_role("link", name="Review queue").first.click()
    checked(page)
    entry = page.locator(f"#entry-{flagged['id']}")
    entry.get_by_label("Your note").fill("Spoke to the teacher; number removed")
    entry.get_by_role("button", name="Mark reviewed").click()
    page.locator(f"#entry-{flagged['id']} [role=status]").wait_for()  # swapped in place (htmx)
    assert client.get(f"/contacts/{cid}/messages", headers=world.auth("dsl")).json()["items"][0][
        "reviewed_at"
    ]

    page.get_by_role("link", name="Search the log").first.click()
    # The pupil found by name; the link to their entries carries their number only.
    page.get_by_label("Find a pupil by name or school reference").fill("Ava")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Ava T (Y1)").click()
    assert page.get_by_label("Ava T", exact=True).is_checked()
    page.get_by_role("button", name="Search", exact=True).click()
    checked(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export all as CSV").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert [r["summary"] for r in rows] == ["Sent my own number"]
    assert "Ava T" in rows[0]["pupils"].split(";")  # by name

    page.goto(f"/app/pupils/{school['young']}/chronology")
    checked(page)
    entries = page.locator(".timeline li")
    assert entries.filter(has_text="Sent my own number").count() == 1
    assert entries.filter(has_text="Approved by Manager").count() == 1  # by name, not number


def test_an_admin_records_a_consent(client, world, school, db, browse):
    cid = approved_contact(client, world, school)
    secret = enrol(db, world.ids["admin"])
    page = browse()
    sign_in(page, "admin@a.example.org", pyotp.TOTP(secret).now())
    page.get_by_role("link", name="Pupils").first.click()
    checked(page)
    page.get_by_role("link", name="Ava T").click()
    checked(page)
    page.get_by_label("Where the evidence is kept").fill("Signed form, office file 12")
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url("**?done=consent")
    checked(page)
    [recorded] = client.get(
        f"/pupils/{school['young']}/consents", headers=world.auth("admin")
    ).json()
    assert (recorded["contact_id"], recorded["guardian_id"]) == (cid, school["guardian"])
    young = next(
        p
        for p in client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()["pupils"]
        if p["pupil_id"] == school["young"]
    )
    assert young["consent_valid"] is True


def test_a_teacher_asks_for_contact_and_reports_an_incident_from_a_phone(
    client,
    world,
    school,
    browse,
):
    page = browse(phone=True)
    sign_in(page, "owner@a.example.org")
    page.goto("/app/contacts/new")
    checked(page)
    page.get_by_label("Platform").select_option("whatsapp")
    page.get_by_label("The school account you will use").fill("U15 football (school phone)")
    page.get_by_label("The work purpose").fill("Fixture times for the U15 team")
    # Found by name as they type (htmx), each ticked; a second search keeps the first pupil.
    search = page.get_by_label("Find a pupil by name or school reference")
    search.press_sequentially("ava")
    page.get_by_label("Ava T (Y1)").check()
    search.fill("")
    search.press_sequentially("noah")
    page.get_by_label("Noah F (O1)").check()
    assert page.get_by_label("Ava T", exact=True).is_checked()
    page.get_by_label("PE-IPAD: PE iPad").check()
    page.get_by_label("Until").fill("2027-03-31")
    page.get_by_role("button", name="Ask for permission").click()
    page.wait_for_url("**?done=requested")
    checked(page)
    [asked] = client.get("/contacts", headers=world.auth("owner")).json()["items"]
    assert asked["state"] == "requested"
    assert asked["ends_on"] == "2027-03-31"
    assert sorted(p["pupil_id"] for p in asked["pupils"]) == [school["young"], school["older"]]

    page.goto("/app/incidents/new")
    checked(page)
    # Ava is on one of the teacher's contacts, so she is listed; typing finds no one twice.
    page.get_by_role("checkbox", name="Ava T").check()
    page.get_by_label("Or find another by name or school reference").press_sequentially("ava")
    page.locator("#pupil-matches", has_text="No other pupil").wait_for()
    page.get_by_label("Their part").select_option(label="Started the contact")
    page.get_by_label("What happened").fill("A friend request on Instagram; not accepted.")
    page.get_by_role("button", name="Report it").click()
    page.wait_for_url("**?done=reported")
    [reported] = client.get("/incidents", headers=world.auth("dsl")).json()["items"]
    assert reported["pupils"] == [{"pupil_id": school["young"], "part": "initiated"}]


def test_every_other_page_passes_axe_and_errors_are_plain_pages(
    client,
    world,
    school,
    db,
    browse,
):
    cid = approved_contact(client, world, school)
    client.post(
        "/incidents", json={**INCIDENT, "other_person": "A parent"}, headers=world.auth("owner")
    )
    client.post(f"/contacts/{cid}/end", json={"reason": "Season over"}, headers=world.auth("owner"))
    for who, paths in (
        (
            "dsl",
            ["/app/incidents", "/app/deletions", f"/app/staff/{world.ids['owner']}/chronology"],
        ),
        ("admin", ["/app/devices", "/app/pending-changes", f"/app/contacts/{cid}"]),
    ):
        page = browse()
        sign_in(page, f"{who}@a.example.org", pyotp.TOTP(enrol(db, world.ids[who])).now())
        for path in paths:
            page.goto(path)
            checked(page)
    page.goto("/app/pupils/999999")  # not found: a plain page, in words
    assert page.get_by_role("alert").inner_text() == "No such pupil."
    checked(page)


def test_a_teacher_logs_with_the_keyboard_alone(client, world, school, browse):
    cid = approved_contact(client, world, school)
    page = browse(phone=True)
    sign_in(page, "owner@a.example.org")
    page.goto(f"/app/contacts/{cid}/log")
    for _ in range(30):  # Tab through the page until the summary has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "summary":
            break
    assert page.evaluate("document.activeElement.id") == "summary"
    page.keyboard.type("Match moved to 10am")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Log it":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/app/contacts/{cid}?done=logged&entry=*")
    [entry] = client.get(f"/contacts/{cid}/messages", headers=world.auth("owner")).json()["items"]
    assert entry["summary"] == "Match moved to 10am"


def test_a_new_dsl_sets_up_a_second_factor_in_the_browser_first(client, world, browse):
    page = browse(phone=True)
    page.goto("/sign-in")
    page.get_by_label("Email address").fill("dsl@a.example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/second-factor")
    checked(page)
    page.goto("/app/dashboard")  # nothing else until it is set up
    assert "Set up your second factor first" in page.get_by_role("alert").inner_text()
    page.goto("/app/second-factor")
    # On a phone: a link that opens its authenticator app, and the key in groups to type.
    link = page.get_by_role("link", name="Add contactlog to your authenticator app")
    assert link.get_attribute("href").startswith("otpauth://totp/")
    key = page.locator("code.key").inner_text().replace(" ", "")
    page.get_by_label("The six digits your app now shows").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn it on").click()
    checked(page)
    codes = page.locator("li code").all_inner_texts()  # the recovery codes, shown once
    assert len(codes) >= 8
    with page.expect_download() as saving:
        page.get_by_role("link", name="Save them as a file").click()
    saved = Path(saving.value.path()).read_text()
    assert all(code in saved for code in codes)
    # That code was used; one recovery code signs in (a code is never taken twice).
    sign_in(page, "dsl@a.example.org", codes[0])
    page.goto("/app/dashboard")
    assert page.get_by_role("heading", name="Dashboard").count() == 1


def test_an_admin_keeps_the_directory(client, world, school, db, browse):
    cid = approved_contact(client, world, school)
    page = browse()
    sign_in(page, "admin@a.example.org", pyotp.TOTP(enrol(db, world.ids["admin"])).now())
    page.get_by_role("link", name="Staff").first.click()
    checked(page)
    page.get_by_label("Name").fill("Jo Baker")
    page.get_by_label("Email").fill("jo.baker@a.example.org")
    page.get_by_label("Line manager").select_option(label="Manager")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_url("**/app/staff")
    assert page.get_by_role("cell", name="jo.baker@a.example.org").count() == 1

    page.get_by_role("link", name="Devices").first.click()
    page.get_by_label("Asset tag").fill("DRAMA-IPAD")
    page.get_by_label("Description").fill("Drama department iPad")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/app/devices")
    checked(page)
    assert page.get_by_role("cell", name="DRAMA-IPAD", exact=True).count() == 1
    page.get_by_role("button", name="Retire DRAMA-IPAD").click()
    page.wait_for_url("**/app/devices")
    assert page.get_by_role("button", name="Put back in use DRAMA-IPAD").count() == 1

    page.goto(f"/app/pupils/{school['older']}")
    page.get_by_text("Add a guardian").click()
    page.get_by_label("Name", exact=True).fill("Femi F")
    page.get_by_label("Relationship to the pupil").fill("father")
    page.get_by_role("button", name="Add guardian").click()
    page.wait_for_url("**?done=guardian")
    page.get_by_text("Record that parents were informed").click()
    page.get_by_label("About the contact").select_option(str(cid))
    page.get_by_label("Informed by").fill("School office")
    page.get_by_label("What was explained").fill("Team chat for fixtures")
    page.get_by_role("button", name="Record notice").click()
    page.wait_for_url("**?done=notice")
    checked(page)
    admin = world.auth("admin")
    guardians = client.get(f"/pupils/{school['older']}/guardians", headers=admin).json()
    assert [g["name"] for g in guardians] == ["Femi F"]
    [told] = client.get(f"/pupils/{school['older']}/parent-notices", headers=admin).json()
    assert (told["contact_id"], told["informed_by"]) == (cid, "School office")


def test_a_line_manager_records_the_discussion_of_an_incident(client, world, school, db, browse):
    involved = {**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "initiated"}]}
    incident = client.post("/incidents", json=involved, headers=world.auth("owner")).json()["id"]
    page = browse()
    sign_in(page, "manager@a.example.org", pyotp.TOTP(enrol(db, world.ids["manager"])).now())
    page.get_by_role("link", name="Incidents").first.click()
    checked(page)
    page.get_by_text("Record the discussion").click()
    page.get_by_label("Outcome").fill("Talked it through; no further action")
    page.get_by_role("button", name="Record it").click()
    page.wait_for_url("**?done=discussed")
    checked(page)
    shown = client.get(f"/incidents/{incident}", headers=world.auth("dsl")).json()
    assert shown["open"] is False
    assert shown["outcome"] == "Talked it through; no further action"


def test_a_parent_gives_consent_on_a_phone(
    client, world, school, db, mail_settings, mail_server, browse
):
    guardian_with_email(client, world, school)
    cid = approved_contact(client, world, school)
    assert (
        client.post(f"/contacts/{cid}/consent-requests", headers=world.auth("admin")).status_code
        == 201
    )
    run_job("outbox", db, mail_settings, clock.now())
    [email] = mail_server.inbox.to(CLAIRE)
    link = text(email).split("/consent/", 1)[1].split()[0]
    page = browse(phone=True)
    page.goto(f"/consent/{link}")
    checked(page)
    assert page.get_by_text("Fixture times and kit reminders for the U15 team").count() == 1
    page.get_by_role("button", name="I give consent").click()
    assert "your consent is recorded" in page.get_by_role("status").inner_text()
    checked(page)
    young = next(
        p
        for p in client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()["pupils"]
        if p["pupil_id"] == school["young"]
    )
    assert young["state"] == "active"
