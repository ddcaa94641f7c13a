"""Parental consent obtained online (§5.5), through a real SMTP server: the request goes only to
guardians with parental responsibility; the link gives consent once and the pupil becomes
active that day, with the message flags following; declining tells the staff member and their
line manager; withdrawing through the same link ends the pupil's part; reminders come with a
fresh link, then the request shows as unanswered; used, expired and forged links get a plain
page; everything is in the change record."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core import clock
from scheduler.runner import run_job
from tests.support.builders import CLAIRE, guardian_with_email, message, request_body
from tests.support.ground import assert_problem
from tests.support.mail import MANAGER, OWNER, text
from tests.support.pages import as_person, form_token
from tests.support.record import checked

GRAN = "gran@home.example.org"
LINK = re.compile(r"(/consent/[A-Za-z0-9_\-]+)")


@pytest.fixture
def approved(client, world, school):  # type: ignore[no-untyped-def]
    """An approved contact with the 14-year-old (needs consent) and the 17-year-old; the
    14-year-old's mother and grandmother, with email addresses, only the mother with parental
    responsibility."""
    for name, email, responsible in (("Claire Lewis", CLAIRE, True), ("Gran Lewis", GRAN, False)):
        school[email] = guardian_with_email(
            client, world, school, name=name, email=email, responsible=responsible
        )
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    return cid


def ask(client, world, cid: int):  # type: ignore[no-untyped-def]
    return client.post(f"/contacts/{cid}/consent-requests", headers=world.auth("admin"))


def link_in(mail_server, address: str, n: int = -1) -> str:  # type: ignore[no-untyped-def]
    emails = [m for m in mail_server.inbox.to(address) if "consent" in m["Subject"]]
    found = LINK.search(text(emails[n]))
    assert found, "the email holds the link"
    return found.group(1)


def deliver(db, mail_settings) -> None:  # type: ignore[no-untyped-def]
    run_job("outbox", db, mail_settings, clock.now())


def young_part(client, world, cid: int, school) -> dict:  # type: ignore[no-untyped-def,type-arg]
    shown = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()
    return next(p for p in shown["pupils"] if p["pupil_id"] == school["young"])


def test_only_guardians_with_parental_responsibility_are_asked_and_one_tap_gives_consent(
    client, world, school, approved, db, mail_settings, mail_server
):
    sent = ask(client, world, approved)
    assert sent.status_code == 201, sent.text
    [request] = sent.json()["items"]
    assert (request["pupil_id"], request["guardian_id"]) == (school["young"], school[CLAIRE])
    assert request["state"] == "waiting"
    deliver(db, mail_settings)
    assert mail_server.inbox.to(GRAN) == []  # no parental responsibility
    [email] = mail_server.inbox.to(CLAIRE)
    body = text(email)
    assert "Owner" in body
    assert "WhatsApp" in body
    assert "Fixture times" in body
    assert young_part(client, world, approved, school)["state"] == "awaiting_consent"
    assert young_part(client, world, approved, school)["consent_request"] == "waiting"
    flagged = client.post(
        f"/contacts/{approved}/messages", json=message(), headers=world.auth("owner")
    )
    assert "no_valid_consent" in flagged.json()["flags"]

    link = link_in(mail_server, CLAIRE)
    page = client.get(link)
    assert page.status_code == 200
    assert "I give consent" in page.text
    assert "Noah" not in page.text  # nothing about other pupils
    given = client.post(link, data={"choice": "give"})
    assert given.status_code == 200
    assert "your consent is recorded" in given.text
    part = young_part(client, world, approved, school)
    assert part["state"] == "active"
    assert part["consent_valid"] is True
    assert part["consent_request"] == "given"
    clean = client.post(
        f"/contacts/{approved}/messages", json=message(), headers=world.auth("owner")
    )
    assert "no_valid_consent" not in clean.json()["flags"]

    [consent] = client.get(
        f"/pupils/{school['young']}/consents", headers=world.auth("admin")
    ).json()
    assert consent["method"] == "online"
    assert consent["guardian_id"] == school[CLAIRE]
    [listed] = client.get(
        f"/contacts/{approved}/consent-requests", headers=world.auth("admin")
    ).json()
    assert listed["shown_text_sha256"]
    assert listed["consent_id"] == consent["id"]
    again = client.post(link, data={"choice": "give"})
    assert again.status_code == 409
    assert "already answered" in again.text
    assert "Traceback" not in again.text
    actions = {
        e["action"]
        for e in client.get(
            "/audit/events?object_type=consent_request", headers=world.auth("dsl")
        ).json()["items"]
    }
    assert {"consent_request.sent", "consent_request.given"} <= actions
    verdict = checked(client, world.auth("dsl"))
    assert verdict["ok"] is True, verdict["altered"]
    assert verdict["altered"] == [], verdict["altered"]


def test_declining_tells_the_staff_member_and_their_line_manager(
    client, world, school, approved, db, mail_settings, mail_server
):
    ask(client, world, approved)
    deliver(db, mail_settings)
    link = link_in(mail_server, CLAIRE)
    declined = client.post(link, data={"choice": "decline", "reason": "Not on WhatsApp, please"})
    assert declined.status_code == 200
    assert "will not contact your child" in declined.text
    deliver(db, mail_settings)
    for person in (OWNER, MANAGER):
        [told] = [m for m in mail_server.inbox.to(person) if "declined consent" in m["Subject"]]
        assert "Ava" not in told["Subject"]  # a name in the body only
        assert "Ava T" in text(told)
        assert "Claire" not in text(told)  # the parent is not named to staff
        assert "/app/contacts/" in text(told)
    part = young_part(client, world, approved, school)
    assert part["consent_request"] == "declined"
    assert part["state"] == "parent_refused"


DAD = "dad@home.example.org"


def test_one_parents_refusal_stops_the_contact_though_the_other_consented(
    client, world, school, approved, db, mail_settings, mail_server
):
    """A father who declined was told "The school will not contact your child this way" while
    the pupil stayed active because the mother had consented, and the decline showed nowhere.
    A refusal from anyone with parental responsibility now stops the contact until the school
    resolves it with the family: said to each person, shown on the contact, the dashboard and
    the chronology, and flagged if the teacher logs a message anyway."""
    school[DAD] = guardian_with_email(client, world, school, name="Dan Lewis", email=DAD)
    ask(client, world, approved)
    deliver(db, mail_settings)
    assert client.post(link_in(mail_server, CLAIRE), data={"choice": "give"}).status_code == 200
    assert young_part(client, world, approved, school)["state"] == "active"
    said = client.post(link_in(mail_server, DAD), data={"choice": "decline", "reason": "No"})
    assert "even if another parent or carer agreed" in said.text
    part = young_part(client, world, approved, school)
    assert part["state"] == "parent_refused"
    assert part["consent_valid"] is True  # the mother's consent stands, and does not override
    logged = client.post(
        f"/contacts/{approved}/messages", json=message(), headers=world.auth("owner")
    ).json()
    assert "parent_refused" in logged["flags"]
    figures = client.get("/summary", headers=world.auth("dsl")).json()["schools"][0]
    assert figures["refusals_to_resolve"] == 1
    [waiting] = client.get("/consent-refusals", headers=world.auth("dsl")).json()["items"]
    assert waiting["guardian_id"] == school[DAD]

    # Nobody resolves a refusal of their own contact; the teacher cannot; the DSL can, once.
    assert_problem(
        client.post(
            f"/consent-requests/{waiting['id']}/resolution",
            json={"how": "I asked again"},
            headers=world.auth("owner"),
        ),
        403,
    )
    resolved = client.post(
        f"/consent-requests/{waiting['id']}/resolution",
        json={"how": "Met both parents; Mr Lewis is content with the group."},
        headers=world.auth("dsl"),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_by_id"] == world.ids["dsl"]
    again = client.post(
        f"/consent-requests/{waiting['id']}/resolution",
        json={"how": "Again"},
        headers=world.auth("dsl"),
    )
    assert_problem(again, 409)
    assert young_part(client, world, approved, school)["state"] == "active"
    assert client.get("/consent-refusals", headers=world.auth("dsl")).json()["items"] == []
    story = client.get(f"/pupils/{school['young']}/chronology", headers=world.auth("dsl")).json()[
        "items"
    ]
    said_in_story = {e["type"]: e["summary"] for e in story}
    assert said_in_story["consent_request.declined"] == "Dan Lewis refused consent for Ava T: No"
    assert said_in_story["consent_request.resolved"].startswith("Refusal resolved by Dsl: Met")
    verdict = checked(client, world.auth("dsl"))
    assert verdict["ok"] is True, verdict["altered"]


def test_the_dsl_resolves_a_refusal_on_its_page(
    client, world, school, approved, db, mail_settings, mail_server
):
    ask(client, world, approved)
    deliver(db, mail_settings)
    client.post(link_in(mail_server, CLAIRE), data={"choice": "decline", "reason": "Not yet"})
    as_person(client, db, world, "owner")
    mine = client.get(f"/app/contacts/{approved}").text
    assert "parent refused" in mine
    assert "/app/refusals" not in mine  # not offered to the teacher, who may not resolve it
    as_person(client, db, world, "dsl")
    assert "/app/refusals" in client.get(f"/app/contacts/{approved}").text
    assert "to resolve" in client.get("/app/dashboard").text
    listed = client.get("/app/refusals")
    assert "Claire Lewis refused consent for Ava T" in listed.text
    assert "Their reason: Not yet" in listed.text
    [request_id] = re.findall(r'action="/app/refusals/(\d+)"', listed.text)
    empty = client.post(
        f"/app/refusals/{request_id}", data={"form_token": form_token(listed.text), "how": ""}
    )
    assert empty.status_code == 422
    assert 'class="problem field-problem" id="how-problem"' in empty.text
    done = client.post(
        f"/app/refusals/{request_id}",
        data={"form_token": form_token(listed.text), "how": "Spoke with Mrs Lewis"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "No refusals are waiting." in done.text
    assert young_part(client, world, approved, school)["state"] == "awaiting_consent"


def test_only_a_refusal_is_resolved(
    client, world, school, approved, db, mail_settings, mail_server
):
    [request] = ask(client, world, approved).json()["items"]
    assert_problem(
        client.post(
            f"/consent-requests/{request['id']}/resolution",
            json={"how": "Nothing to resolve"},
            headers=world.auth("dsl"),
        ),
        422,
    )
    assert_problem(
        client.post(
            f"/consent-requests/{request['id']}/resolution",
            json={"how": ""},
            headers=world.auth("dsl"),
        ),
        422,
        detail_contains="how",
    )


def test_a_parents_reason_follows_the_rules_of_any_free_text(
    client, world, school, approved, db, mail_settings, mail_server
):
    """A reason with a right-to-left override once went into the record as typed: a DSL reading
    it later saw words in another order than the parent wrote them."""
    ask(client, world, approved)
    deliver(db, mail_settings)
    link = link_in(mail_server, CLAIRE)
    refused = client.post(link, data={"choice": "decline", "reason": "Not \u202eppastahw"})
    assert refused.status_code == 422
    assert "reason" in refused.text
    assert young_part(client, world, approved, school)["consent_request"] == "waiting"
    kept = client.post(link, data={"choice": "decline", "reason": "Not on WhatsApp,\nplease"})
    assert kept.status_code == 200
    assert young_part(client, world, approved, school)["consent_request"] == "declined"


def test_withdrawing_through_the_same_link_ends_the_pupils_part_at_once(
    client, world, school, approved, db, mail_settings, mail_server
):
    ask(client, world, approved)
    deliver(db, mail_settings)
    link = link_in(mail_server, CLAIRE)
    client.post(link, data={"choice": "give"})
    assert "Withdraw my consent" in client.get(link).text
    gone = client.post(link, data={"choice": "withdraw", "reason": "Changed our mind"})
    assert gone.status_code == 200
    assert "has ended" in gone.text
    part = young_part(client, world, approved, school)
    assert part["state"] == "ended"
    assert part["end_reason"] == "Parental consent was withdrawn."
    assert part["consent_request"] == "withdrawn"
    tasks = client.get("/deletion-tasks", headers=world.auth("owner")).json()["items"]
    assert [t["pupil_id"] for t in tasks] == [school["young"]]


def test_reminders_come_with_a_fresh_link_then_it_shows_as_unanswered(
    client, world, school, approved, db, mail_settings, mail_server
):
    ask(client, world, approved)
    start = clock.now()
    deliver(db, mail_settings)
    first = link_in(mail_server, CLAIRE)
    for days, reminders in ((2, 1), (3, 2), (4, 2), (7, 3), (8, 3)):
        run_job("consent_requests", db, mail_settings, start + timedelta(days=days))
        run_job("outbox", db, mail_settings, start + timedelta(days=days, minutes=5))
        assert len(mail_server.inbox.to(CLAIRE)) == reminders, days
    assert " ".join(mail_server.inbox.subjects(CLAIRE)[-1].split()).startswith("Reminder:")
    assert client.get(first).status_code == 404  # replaced by the reminder's link
    latest = link_in(mail_server, CLAIRE)
    assert client.get(latest).status_code == 200

    later = start + timedelta(days=7 + 15)
    clock.set_clock(lambda: later)
    expired = client.post(latest, data={"choice": "give"})
    assert expired.status_code == 409
    assert "expired" in expired.text
    assert young_part(client, world, approved, school)["consent_request"] == "no_answer"
    figures = client.get("/summary", headers=world.auth("dsl")).json()["schools"][0]
    assert figures["consent_requests_unanswered"] == 1


def test_forged_links_get_a_plain_page_and_then_must_wait(client, world, approved):
    for n in range(10):
        forged = client.get(f"/consent/not-a-real-link-{n}")
        assert forged.status_code == 404
        assert "This link is not valid" in forged.text
        assert forged.headers["content-type"].startswith("text/html")
    assert client.get("/consent/one-more").status_code == 429


def test_only_admins_and_dsls_ask_and_only_for_an_approved_contact(client, world, school):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    assert_problem(ask(client, world, cid), 409)  # not approved yet
    for who, status in (("owner", 403), ("manager", 403), ("other_school", 404)):
        assert_problem(
            client.post(f"/contacts/{cid}/consent-requests", headers=world.auth(who)), status
        )


def test_a_trust_that_asks_by_policy_has_contactlog_send_the_requests(
    client, world, school, approved, db, mail_settings, mail_server
):
    chosen = client.patch(
        f"/trusts/{world.trust}/policy",
        json={"consent_requests_automatic": True},
        headers=world.auth("trust_admin"),
    )
    assert chosen.status_code == 200, chosen.text
    for _ in range(2):  # asked once, however often the job runs
        run_job("consent_requests", db, mail_settings, clock.now())
    deliver(db, mail_settings)
    assert len(mail_server.inbox.to(CLAIRE)) == 1
