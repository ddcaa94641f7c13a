"""The web pages in a real browser (Debian's Chromium, driven by Playwright): a teacher logs a
message from a phone, a line manager approves a request, a DSL signs in with a second factor,
works the review queue, exports the log and reads a pupil's chronology, an admin records a
consent. On every page axe-core finds nothing serious or critical."""

from __future__ import annotations

import csv
import io
import os

import pyotp

from tests.browser import browse, chromium, live_server, serious_violations  # noqa: F401
from tests.builders import INCIDENT, enrol, message, request_body
from tests.conftest import PASSWORD

SHOTS = os.environ.get("CONTACTLOG_SCREENSHOTS")


def sign_in(page, email: str, code: str | None = None) -> None:  # type: ignore[no-untyped-def]
    page.goto("/sign-in")
    assert serious_violations(page) == []
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if code is not None:
        page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def checked(page) -> None:  # type: ignore[no-untyped-def]
    assert serious_violations(page) == [], page.url
    if SHOTS:  # for a person to look at: CONTACTLOG_SCREENSHOTS=/some/folder
        name = page.url.split("//", 1)[1].split("/", 1)[1].replace("/", "_").split("?")[0]
        page.screenshot(
            path=f"{SHOTS}/{name or 'home'}-{page.viewport_size['width']}.png", full_page=True
        )


def approved_contact(client, world, school) -> int:  # type: ignore[no-untyped-def]
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    return int(cid)


def test_a_teacher_logs_a_message_from_a_phone(client, world, school, browse):  # noqa: F811
    cid = approved_contact(client, world, school)
    page = browse(phone=True)
    sign_in(page, "owner@a.example.org")
    checked(page)
    page.get_by_role("link", name="My contacts").first.click()
    checked(page)
    page.get_by_role("link", name="Log a communication").first.click()
    checked(page)
    assert page.get_by_label("School device used").input_value() == "PE-IPAD"
    assert page.get_by_label("Ava T").is_checked() and page.get_by_label("Noah F").is_checked()
    page.get_by_label("What it was about").fill("Reminded the team about Saturday's kit")
    page.get_by_role("button", name="Log it").click()
    page.wait_for_url(f"**/app/contacts/{cid}?done=logged")
    assert page.get_by_role("status").inner_text() == "Logged. It is on the record."
    checked(page)
    [entry] = client.get(f"/contacts/{cid}/messages", headers=world.auth("owner")).json()["items"]
    assert entry["summary"] == "Reminded the team about Saturday's kit"
    assert sorted(entry["pupil_ids"]) == sorted([school["young"], school["older"]])
    assert entry["device_tag"] == "PE-IPAD"


def test_a_line_manager_approves_a_request(client, world, school, db, browse):  # noqa: F811
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    secret = enrol(db, world.ids["manager"])
    page = browse()
    sign_in(page, "manager@a.example.org", pyotp.TOTP(secret).now())
    page.get_by_role("link", name="Requests to decide").first.click()
    checked(page)
    page.get_by_role("link", name=f"Contact #{cid}: Whatsapp").click()
    checked(page)
    page.get_by_label("Approve").check()
    page.get_by_label("Conditions (with an approval)").fill("Team group only")
    page.get_by_role("button", name="Record my decision").click()
    page.wait_for_url(f"**/app/contacts/{cid}?done=approved")
    checked(page)
    shown = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()
    assert (shown["state"], shown["conditions"]) == ("approved", "Team group only")
    assert shown["decided_by_id"] == world.ids["manager"]


def test_a_dsl_reviews_the_flagged_entry_exports_and_reads_the_chronology(
    client,
    world,
    school,
    db,
    browse,  # noqa: F811
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
    page.get_by_label("Pupil (number)").fill(str(school["young"]))
    page.get_by_role("button", name="Search").click()
    checked(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export all as CSV").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert [r["summary"] for r in rows] == ["Sent my own number"]

    page.goto(f"/app/pupils/{school['young']}/chronology")
    checked(page)
    entries = page.locator(".timeline li")
    assert entries.filter(has_text="Sent my own number").count() == 1
    assert entries.filter(has_text="Approved by staff").count() == 1


def test_an_admin_records_a_consent(client, world, school, db, browse):  # noqa: F811
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
    browse,  # noqa: F811
):
    page = browse(phone=True)
    sign_in(page, "owner@a.example.org")
    page.goto("/app/contacts/new")
    checked(page)
    page.get_by_label("Platform").select_option("whatsapp")
    page.get_by_label("The school account you will use").fill("U15 football (school phone)")
    page.get_by_label("The work purpose").fill("Fixture times for the U15 team")
    page.get_by_label("Pupils, by school reference").fill("Y1, O1")
    page.get_by_label("PE-IPAD: PE iPad").check()
    page.get_by_label("Until").fill("2027-03-31")
    page.get_by_role("button", name="Ask for permission").click()
    page.wait_for_url("**?done=requested")
    checked(page)
    [asked] = client.get("/contacts", headers=world.auth("owner")).json()["items"]
    assert asked["state"] == "requested" and asked["ends_on"] == "2027-03-31"
    assert sorted(p["pupil_id"] for p in asked["pupils"]) == [school["young"], school["older"]]

    page.goto("/app/incidents/new")
    checked(page)
    page.get_by_label("The pupil involved").select_option(label="Ava T")
    page.get_by_label("Their part").select_option("initiated")
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
    browse,  # noqa: F811
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


def test_a_teacher_logs_with_the_keyboard_alone(client, world, school, browse):  # noqa: F811
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
    page.wait_for_url(f"**/app/contacts/{cid}?done=logged")
    [entry] = client.get(f"/contacts/{cid}/messages", headers=world.auth("owner")).json()["items"]
    assert entry["summary"] == "Match moved to 10am"
