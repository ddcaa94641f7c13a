"""Every job on a page (issue: pages a school runs on, item 4): each done through its page by the
role that does it, as a browser sends it, and what the user then sees and the record holds."""

from __future__ import annotations

import html
import re

from core import clock
from tests.support.builders import approved_contact, consent_given
from tests.support.mail import run_all, text
from tests.support.pages import as_person, every_page, form_token, sign_in

GOOD = "lantern orchard velvet 42"


def test_an_admin_changes_a_colleague_s_roles_and_line_manager_on_their_page(
    client, db, world, settings
):
    as_person(client, db, world, "admin")
    owner = world.ids["owner"]
    shown = client.get(f"/app/staff/{owner}")
    assert shown.status_code == 200
    assert "Line manager</dt><dd>Manager</dd>" in shown.text
    assert "Account</dt><dd>Active</dd>" in shown.text
    moved = client.post(
        f"/app/staff/{owner}",
        data={
            "form_token": form_token(shown.text),
            "name": "Owner",
            "email": "owner@a.example.org",
            "with_roles": "yes",
            "roles": ["staff", "approver"],
            "line_manager_id": str(world.ids["other_manager"]),
        },
        follow_redirects=True,
    )
    assert moved.status_code == 200
    assert "Line manager</dt><dd>Other Manager</dd>" in moved.text
    # The approver role is privileged: it waits for a second person, and the page says so.
    assert "Waiting for a second person</dt><dd>approver</dd>" in moved.text
    record = client.get(f"/staff/{owner}", headers=world.auth("admin")).json()
    assert record["line_manager_id"] == world.ids["other_manager"]
    assert record["roles"] == ["staff"]
    assert record["pending_roles"] == ["approver"]


def test_saving_a_colleague_s_new_name_changes_nothing_else(client, db, world):
    as_person(client, db, world, "admin")
    dsl = world.ids["dsl"]
    shown = client.get(f"/app/staff/{dsl}")
    client.post(
        f"/app/staff/{dsl}",
        data={
            "form_token": form_token(shown.text),
            "name": "Dee Safeguarding",
            "email": "dsl@a.example.org",
            "with_roles": "yes",
            "roles": ["staff", "dsl"],
            "line_manager_id": str(world.ids["head"]),
        },
    )
    record = client.get(f"/staff/{dsl}", headers=world.auth("admin")).json()
    assert record["name"] == "Dee Safeguarding"
    assert sorted(record["roles"]) == ["dsl", "staff"]
    assert record["pending_roles"] == []  # the DSL role was not asked for again
    events = client.get(
        "/audit/events",
        params={"object_type": "staff", "object_id": dsl},
        headers=world.auth("trust_dsl"),
    ).json()["items"]
    assert events[-1]["details"]["fields"] == ["name"]


def test_unticking_every_role_is_said_beside_the_roles_and_nothing_changes(client, db, world):
    as_person(client, db, world, "admin")
    owner = world.ids["owner"]
    shown = client.get(f"/app/staff/{owner}")
    again = client.post(
        f"/app/staff/{owner}",
        data={
            "form_token": form_token(shown.text),
            "name": "Renamed",
            "email": "owner@a.example.org",
            "with_roles": "yes",
            "line_manager_id": "",
        },
    )
    assert again.status_code == 422
    assert 'id="roles-problem">choose at least one' in again.text
    assert 'value="Renamed"' in again.text  # kept as typed
    assert client.get(f"/staff/{owner}", headers=world.auth("admin")).json()["name"] == "Owner"


def test_a_deactivated_colleague_is_signed_out_at_once_and_can_be_reactivated(client, db, world):
    as_person(client, db, world, "admin")
    owner = world.ids["owner"]
    shown = client.get(f"/app/staff/{owner}")
    gone = client.post(
        f"/app/staff/{owner}/active",
        data={"form_token": form_token(shown.text), "active": "no"},
        follow_redirects=True,
    )
    assert "Deactivated: every session they had has ended" in gone.text
    assert "Account</dt><dd>Deactivated</dd>" in gone.text
    assert client.get("/me", headers=world.auth("owner")).status_code == 401
    back = client.post(
        f"/app/staff/{owner}/active",
        data={"form_token": form_token(gone.text), "active": "yes"},
        follow_redirects=True,
    )
    assert "Account</dt><dd>Active</dd>" in back.text


def test_a_lost_second_factor_is_reset_once_a_second_person_confirms(client, db, world, settings):
    from tests.support.builders import enrol

    enrol(db, world.ids["dsl"])
    as_person(client, db, world, "admin")
    dsl = world.ids["dsl"]
    shown = client.get(f"/app/staff/{dsl}")
    assert "Second factor</dt><dd>Set up</dd>" in shown.text
    asked = client.post(
        f"/app/staff/{dsl}/second-factor-reset",
        data={"form_token": form_token(shown.text)},
        follow_redirects=True,
    )
    assert "once a second person confirms" in asked.text
    waiting = client.get("/pending-changes", headers=world.auth("head")).json()
    assert [c["kind"] for c in waiting] == ["mfa_reset"]
    assert "Second factor</dt><dd>Set up</dd>" in asked.text  # not until confirmed


def test_an_invitee_is_shown_as_invited_until_they_join(client, db, world):
    as_person(client, db, world, "admin")
    shown = client.get("/app/staff")
    client.post(
        "/app/staff",
        data={
            "form_token": form_token(shown.text),
            "name": "New Teacher",
            "email": "new@a.example.org",
            "roles": ["staff"],
        },
    )
    listed = client.get("/app/staff").text
    row = listed[listed.index("New Teacher") :]
    assert row.index("invited, not yet joined") < row.index("</tr>")


def test_one_s_own_page_offers_the_name_but_not_one_s_own_roles(client, db, world):
    as_person(client, db, world, "admin")
    mine = client.get(f"/app/staff/{world.ids['admin']}").text
    assert 'name="name"' in mine
    assert 'name="roles"' not in mine
    assert "/active" not in mine


def test_a_school_admin_is_not_offered_changes_to_a_trust_role_s_account(client, db, world):
    as_person(client, db, world, "admin")
    shown = client.get(f"/app/staff/{world.ids['trust_dsl']}")
    assert shown.status_code == 200
    assert "Change the account" not in shown.text
    refused = client.post(
        f"/app/staff/{world.ids['trust_dsl']}/active",
        data={"form_token": form_token(shown.text), "active": "no"},
    )
    assert refused.status_code == 403


def test_a_retired_device_flags_what_is_logged_from_it_afterwards(
    client, db, world, contact, school
):
    from tests.support.builders import log

    before = log(client, world, contact, pupil_ids=[school["older"]])
    as_person(client, db, world, "admin")
    shown = client.get("/app/devices")
    assert "Retire PE-IPAD" in shown.text
    retired = client.post(
        f"/app/devices/{school['device']}/in-use",
        data={"form_token": form_token(shown.text), "in_use": "no"},
        follow_redirects=True,
    )
    assert "<td>retired</td>" in retired.text
    assert "Put back in use PE-IPAD" in retired.text
    after = log(client, world, contact, pupil_ids=[school["older"]])
    assert "unregistered_device" in after["flags"]
    assert "unregistered_device" not in before["flags"]
    # Only an admin keeps the register: a DSL sees it but is offered no button, and is refused.
    as_person(client, db, world, "dsl")
    seen = client.get("/app/devices")
    assert "Put back in use" not in seen.text
    refused = client.post(
        f"/app/devices/{school['device']}/in-use",
        data={"form_token": form_token(seen.text), "in_use": "yes"},
    )
    assert refused.status_code == 403


def test_a_forgotten_password_is_reset_from_the_sign_in_page(
    client, world, db, mail_settings, mail_server
):
    shown = client.get("/sign-in")
    assert 'href="/sign-in/forgotten"' in shown.text
    for email in ("owner@a.example.org", "nobody@a.example.org"):
        form = client.get("/sign-in/forgotten")
        sent = client.post(
            "/sign-in/forgotten", data={"email": email, "form_token": form_token(form.text)}
        )
        # The same words for an address with no account: the page tells nobody who has one.
        assert sent.status_code == 200
        assert "If the address belongs to an account, we have emailed it a link" in sent.text
    run_all(db, mail_settings, clock.now())
    assert mail_server.inbox.to("nobody@a.example.org") == []
    [email] = mail_server.inbox.to("owner@a.example.org")
    token = text(email).split("/account/password/", 1)[1].split()[0]
    chosen = client.post(
        "/account/password", data={"token": token, "password": GOOD, "again": GOOD}
    )
    assert "Your password is set" in chosen.text
    assert 'href="/sign-in"' in chosen.text
    assert sign_in(client, "owner@a.example.org", password=GOOD).status_code == 303


def test_the_forgotten_password_form_refuses_a_form_from_elsewhere(client, world):
    refused = client.post(
        "/sign-in/forgotten", data={"email": "owner@a.example.org", "form_token": "forged"}
    )
    assert refused.status_code == 403


def test_a_new_dsl_on_a_phone_taps_a_link_to_their_app_and_can_keep_their_codes(
    client, db, world, settings
):
    from urllib.parse import unquote

    import pyotp

    # The DSL role needs a second factor; this one has none yet.
    signed = sign_in(client, "dsl@a.example.org")
    assert signed.headers["location"] == "/app/second-factor"
    shown = client.get("/app/second-factor")
    link = re.search(r'href="(otpauth://totp/[^"]+)"', shown.text)
    assert link, "a link a phone opens in its authenticator app"
    secret = re.search(r"secret=([A-Z2-7]+)", html.unescape(link.group(1))).group(1)
    key = re.search(r'<code class="key">([A-Z2-7 ]+)</code>', shown.text).group(1)
    assert key.replace(" ", "") == secret
    assert all(len(g) <= 4 for g in key.split())
    # Until it is set up, the navigation offers nothing it would refuse.
    nav = shown.text[shown.text.index('<nav aria-label="Main">') : shown.text.index("</nav>")]
    assert "/app/second-factor" in nav
    assert "/app/dashboard" not in nav
    assert "/app/contacts" not in nav
    done = client.post(
        "/app/second-factor",
        data={"form_token": form_token(shown.text), "code": pyotp.TOTP(secret).now()},
    )
    codes = re.findall(r"<li><code>([^<]+)</code></li>", done.text)
    assert len(codes) >= 8
    saved = re.search(r'href="(data:text/plain;charset=utf-8,[^"]+)" download="([^"]+)"', done.text)
    assert saved
    assert saved.group(2) == "contactlog-recovery-codes.txt"
    file_text = unquote(html.unescape(saved.group(1)).split(",", 1)[1])
    assert all(code in file_text for code in codes)


def test_the_office_asks_parents_by_email_from_the_pupil_s_page(
    client, db, world, school, mail_settings, mail_server
):
    from tests.support.builders import CLAIRE, guardian_with_email

    guardian_with_email(client, world, school)
    cid = approved_contact(client, world, school)
    as_person(client, db, world, "admin")
    shown = client.get(f"/app/pupils/{school['young']}")
    assert "Consent asked by email" in shown.text
    assert "Not asked yet." in shown.text
    asked = client.post(
        f"/app/contacts/{cid}/consent-requests",
        data={"form_token": form_token(shown.text), "pupil_id": school["young"]},
        follow_redirects=True,
    )
    assert "Emailed: each parent asked has a link" in asked.text
    assert "Claire Lewis: waiting (sent " in asked.text
    # Sending again asks nobody twice.
    again = client.post(
        f"/app/contacts/{cid}/consent-requests",
        data={"form_token": form_token(asked.text), "pupil_id": school["young"]},
        follow_redirects=True,
    )
    assert again.status_code == 422
    assert "Nobody to ask: every pupil on this contact has consent" in again.text
    assert "Claire Lewis: waiting (sent " in again.text  # on the pupil's page
    run_all(db, mail_settings, clock.now())
    assert len([m for m in mail_server.inbox.to(CLAIRE) if "consent" in m["Subject"]]) == 1


def test_a_withdrawal_by_phone_is_recorded_on_the_pupil_s_page_and_ends_their_part(
    client, db, world, school
):
    cid = approved_contact(client, world, school)
    given = consent_given(client, world, school, cid)
    as_person(client, db, world, "admin")
    shown = client.get(f"/app/pupils/{school['young']}")
    assert "given " in shown.text
    assert "by Claire T" in shown.text
    assert "Contact #" not in shown.text
    blank = client.post(
        f"/app/consents/{given}/withdrawal",
        data={"form_token": form_token(shown.text), "pupil_id": school["young"], "reason": ""},
    )
    assert blank.status_code == 422
    assert 'id="reason-problem">fill this in' in blank.text
    done = client.post(
        f"/app/consents/{given}/withdrawal",
        data={
            "form_token": form_token(shown.text),
            "pupil_id": school["young"],
            "withdrawn_on": clock.now().date().isoformat(),
            "reason": "Mother phoned: no longer wants WhatsApp contact",
        },
        follow_redirects=True,
    )
    assert "Withdrawal recorded" in done.text
    assert "Mother phoned: no longer wants WhatsApp contact" in done.text
    part = next(
        p
        for p in client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()["pupils"]
        if p["pupil_id"] == school["young"]
    )
    assert part["state"] == "ended"


def test_the_pupil_s_page_offers_only_what_fits_their_age_and_contacts(client, db, world, school):
    from tests.support.builders import request_body

    refused = client.post(
        "/contacts",
        json=request_body(school, school_account="Refused account"),
        headers=world.auth("owner"),
    ).json()["id"]
    rejected = client.post(
        f"/contacts/{refused}/decision",
        json={"approve": False, "reason": "Not a work purpose"},
        headers=world.auth("manager"),
    )
    assert rejected.status_code == 200, rejected.text
    approved_contact(client, world, school)
    as_person(client, db, world, "admin")
    young = client.get(f"/app/pupils/{school['young']}").text
    # A 14-year-old: consent is asked for, parents are not merely informed.
    assert "Record that parents were informed" not in young
    assert "Record a consent" in young
    assert "Refused account" not in young[young.index("Record a consent") :]
    older = client.get(f"/app/pupils/{school['older']}").text
    assert "Record that parents were informed (16 and over)" in older
    assert "Record a consent" not in older


def test_an_admin_imports_the_mis_pupil_list_and_sees_each_bad_row(client, db, world):
    as_person(client, db, world, "admin")
    listed = client.get("/app/pupils")
    assert 'href="/app/pupils/import"' in listed.text
    shown = client.get("/app/pupils/import")
    bad = "UPN,Legal Forename,Legal Surname,DOB\nA1,Sam,Jones,2012-09-01\nA2,Ria,,31/02/2012\n"
    refused = client.post(
        "/app/pupils/import",
        data={"form_token": form_token(shown.text)},
        files={"pupil_list": ("pupils.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert "no pupils were imported" in refused.text
    assert "<td>3</td><td>date of birth</td>" in refused.text
    assert client.get("/pupils", headers=world.auth("admin")).json()["items"] == []
    good = "UPN,Legal Forename,Legal Surname,DOB\nA1,Sam,Jones,2012-09-01\nA2,Ria,Khan,2011-01-30\n"
    done = client.post(
        "/app/pupils/import",
        data={"form_token": form_token(shown.text)},
        # An older MIS writes Windows-1252.
        files={"pupil_list": ("pupils.csv", good.replace("Khan", "Kh\xe2n").encode("cp1252"))},
    )
    assert done.status_code == 200
    assert "2 rows read: 2 new pupils, 0 updated, 0 unchanged." in done.text
    names = [
        p["family_name"] for p in client.get("/pupils", headers=world.auth("admin")).json()["items"]
    ]
    assert sorted(names) == ["Jones", "Kh\xe2n"]


def test_the_import_asks_for_a_file_and_is_only_an_admin_s(client, db, world):
    as_person(client, db, world, "admin")
    shown = client.get("/app/pupils/import")
    empty = client.post("/app/pupils/import", data={"form_token": form_token(shown.text)})
    assert empty.status_code == 422
    assert "Choose the CSV file your MIS exported." in empty.text
    as_person(client, db, world, "dsl")
    assert 'href="/app/pupils/import"' not in client.get("/app/pupils").text
    refused = client.post(
        "/app/pupils/import",
        data={"form_token": form_token(client.get("/app/pupils").text)},
        files={
            "pupil_list": ("p.csv", b"UPN,Legal Forename,Legal Surname,DOB\nA1,S,J,2012-09-01\n")
        },
    )
    assert refused.status_code == 403


def test_a_dsl_keeps_a_pupil_s_record_with_a_hold_and_the_one_who_placed_it_releases_it(
    client, db, world, school
):
    as_person(client, db, world, "dsl")
    chronology = client.get(f"/app/pupils/{school['young']}/chronology")
    assert "Place a legal hold" in chronology.text
    blank = client.post(
        "/app/legal-holds",
        data={
            "form_token": form_token(chronology.text),
            "subject_type": "pupil",
            "subject_id": school["young"],
            "case_reference": "LADO-2026-14",
        },
    )
    assert blank.status_code == 422
    assert 'id="reason-problem">fill this in' in blank.text
    placed = client.post(
        "/app/legal-holds",
        data={
            "form_token": form_token(chronology.text),
            "subject_type": "pupil",
            "subject_id": school["young"],
            "case_reference": "LADO-2026-14",
            "reason": "Allegation referred to the LADO",
        },
        follow_redirects=True,
    )
    assert "Hold placed" in placed.text
    assert "LADO-2026-14: " in placed.text
    assert f'href="/app/pupils/{school["young"]}/chronology">Ava T</a>' in placed.text
    assert "Placed " in placed.text
    assert "by Dsl: Allegation referred to the LADO" in placed.text
    [hold] = client.get("/legal-holds", headers=world.auth("dsl")).json()["items"]
    assert hold["active"] is True
    released = client.post(
        f"/app/legal-holds/{hold['id']}/release",
        data={"form_token": form_token(placed.text), "reason": "LADO closed the case"},
        follow_redirects=True,
    )
    assert "(released)" in released.text
    assert "LADO closed the case" in released.text


def test_a_subject_access_request_is_recorded_answered_and_its_export_downloaded(
    client, db, world, school
):
    as_person(client, db, world, "dsl")
    chronology = client.get(f"/app/pupils/{school['older']}/chronology")
    today = clock.now().date().isoformat()
    recorded = client.post(
        "/app/subject-access",
        data={
            "form_token": form_token(chronology.text),
            "subject_type": "pupil",
            "subject_id": school["older"],
            "requested_by": "Noah, by email to the office",
            "received_on": today,
        },
        follow_redirects=True,
    )
    assert "Recorded: the month to answer runs" in recorded.text
    assert "Noah F's data, asked for by Noah, by email to the office" in recorded.text
    [request] = client.get("/subject-access-requests", headers=world.auth("dsl")).json()["items"]
    download = re.search(r'href="(/app/subject-access/\d+/export\?[^"]+)"', recorded.text)
    assert download
    got = client.get(html.unescape(download.group(1)))
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    assert got.content[:2] == b"PK"
    done = client.post(
        f"/app/subject-access/{request['id']}/completion",
        data={"form_token": form_token(recorded.text), "completed_on": today},
        follow_redirects=True,
    )
    assert "completed " in done.text
    events = client.get(
        "/audit/events",
        params={"object_type": "subject_access_request"},
        headers=world.auth("trust_dsl"),
    ).json()["items"]
    assert [e["action"] for e in events][-1] == "subject_access.completed"


def test_the_evidence_pack_downloads_from_the_pupil_s_chronology(client, db, world, school):
    as_person(client, db, world, "dsl")
    chronology = client.get(f"/app/pupils/{school['young']}/chronology")
    assert f'href="/app/pupils/{school["young"]}/evidence-pack" download' in chronology.text
    pack = client.get(f"/app/pupils/{school['young']}/evidence-pack")
    assert pack.status_code == 200
    assert pack.content[:2] == b"PK"
    made = client.get(
        "/audit/events",
        params={"action": "access.evidence_pack", "actor_id": world.ids["dsl"]},
        headers=world.auth("trust_dsl"),
    ).json()["items"]
    assert len(made) == 1  # making it is on the record


def test_retention_shows_its_periods_and_what_it_would_do_now(client, db, world):
    as_person(client, db, world, "dsl")
    shown = client.get("/app/retention")
    assert shown.status_code == 200
    assert "If retention ran now" in shown.text
    assert "Retention has not run yet." in shown.text
    as_person(client, db, world, "owner")
    assert client.get("/app/retention").status_code == 403


def test_the_change_record_page_names_who_changed_what_latest_first(
    client, db, world, school, settings
):
    from scheduler.runner import run_job

    run_job("checkpoint", db, settings, clock.now())
    as_person(client, db, world, "dsl")
    shown = client.get("/app/change-record")
    assert shown.status_code == 200
    rows = re.findall(
        r"<tr><td><time[^>]*>[^<]*</time></td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", shown.text
    )
    # The school fixture's last change (its device) comes first; each by its maker's name.
    assert rows[0] == ("Admin", "device: registered")
    assert ("Admin", "pupil: created") in rows
    assert "staff #" not in shown.text
    devices_only = client.get("/app/change-record", params={"what": "device"}).text
    assert "pupil: created" not in devices_only
    assert "device: registered" in devices_only
    assert "Signed " in shown.text
    assert "vouching for the first" in shown.text
    assert f"/log/trust/{world.trust}+" in shown.text  # the verifier key, named by the log


def test_my_contacts_keeps_the_refused_and_closed_on_a_page_of_their_own(client, db, world, school):
    from tests.support.builders import request_body

    refused = client.post(
        "/contacts",
        json=request_body(school, school_account="Refused account"),
        headers=world.auth("owner"),
    ).json()["id"]
    client.post(
        f"/contacts/{refused}/decision",
        json={"approve": False, "reason": "Not a work purpose"},
        headers=world.auth("manager"),
    )
    approved_contact(client, world, school, school_account="Current account")
    as_person(client, db, world, "owner")
    current = client.get("/app/contacts").text
    assert "Current account" in current
    assert "Refused account" not in current
    past = client.get("/app/contacts?past=yes").text
    assert "Refused account" in past
    assert "Current account" not in past


def test_the_confirmer_s_email_names_whose_account_in_its_body_only(client, db, world):
    from sqlalchemy import text as sql

    as_person(client, db, world, "admin")
    owner = world.ids["owner"]
    shown = client.get(f"/app/staff/{owner}")
    client.post(
        f"/app/staff/{owner}",
        data={
            "form_token": form_token(shown.text),
            "name": "Owner",
            "email": "owner@a.example.org",
            "with_roles": "yes",
            "roles": ["staff", "dsl"],
            "line_manager_id": str(world.ids["manager"]),
        },
    )
    with db.engine.connect() as conn:
        emails = conn.execute(
            sql("SELECT subject, body FROM outbox_email WHERE kind = 'pending_change'")
        ).all()
    assert emails
    for subject, body in emails:
        assert "A change to the account of Owner was proposed" in body
        assert "#" not in body.split("proposed")[0]
        assert "Owner" not in subject


def test_an_incident_names_a_pupil_found_by_name_who_is_on_none_of_my_contacts(
    client, db, world, school
):
    as_person(client, db, world, "owner")
    shown = client.get("/app/incidents/new")
    assert 'name="pupil_ids"' not in shown.text  # no contacts yet: nobody listed
    typed = {
        "form_token": form_token(shown.text),
        "kind": "unsolicited_contact",
        "platform": "instagram",
        "occurred_at": "2026-11-30T19:30",
        "what_happened": "A follow request from a pupil; not accepted",
        "pupil_search": "noah",
        "find": "yes",
        "part": "initiated",
    }
    found = client.post("/app/incidents/new", data=typed)
    assert found.status_code == 200
    assert "Noah F (O1)" in found.text
    assert "A follow request from a pupil; not accepted" in found.text  # kept as typed
    sent = client.post(
        "/app/incidents/new",
        data={**typed, "find": "", "pupil_ids": [str(school["older"])]},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    [incident] = client.get("/incidents", headers=world.auth("dsl")).json()["items"]
    assert incident["pupils"] == [{"pupil_id": school["older"], "part": "initiated"}]


def test_an_admin_sees_which_emails_were_delivered_the_latest_first(client, db, world):
    from sqlalchemy import text as sql

    as_person(client, db, world, "admin")
    shown = client.get("/app/staff")
    for name in ("First Invitee", "Second Invitee"):
        client.post(
            "/app/staff",
            data={
                "form_token": form_token(shown.text),
                "name": name,
                "email": f"{name.split()[0].lower()}@a.example.org",
                "roles": ["staff"],
            },
        )
    with db.engine.begin() as conn:
        conn.execute(
            sql(
                "UPDATE outbox_email SET state = 'failed', attempts = 9, last_error = 'refused' "
                "WHERE to_address = 'first@a.example.org'"
            )
        )
    page = client.get("/app/outbox").text
    assert page.index("Second Invitee") < page.index("First Invitee")
    assert "given up</span> after 9 tries: refused" in page
    failed = client.get("/app/outbox", params={"state": "failed"}).text
    assert "First Invitee" in failed
    assert "Second Invitee" not in failed


def test_pages_offer_only_the_links_their_reader_may_open(client, db, world, school):
    """Links once led to "Forbidden": each page offers only what its reader may open."""
    as_person(client, db, world, "admin")
    for path in ("/", f"/app/pupils/{school['young']}", f"/app/staff/{world.ids['owner']}"):
        shown = client.get(path).text
        for href in set(re.findall(r'href="(/app/[^"?#]*)"', shown)):
            assert client.get(href).status_code == 200, (path, href)
    as_person(client, db, world, "dsl")
    for path in ("/", f"/app/pupils/{school['young']}/chronology", "/app/change-record"):
        shown = client.get(path).text
        for href in set(re.findall(r'href="(/app/[^"?#]*)"', shown)):
            if href.endswith("evidence-pack"):
                continue
            assert client.get(href).status_code == 200, (path, href)


def test_everyone_s_home_page_and_navigation_open_without_refusal(client, db, world, school):
    from tests.support.builders import PEOPLE

    for who in PEOPLE:
        as_person(client, db, world, who)
        home = client.get("/")
        assert home.status_code == 200
        assert f"Signed in as {who.replace('_', ' ').title()}" in home.text
        for href in set(re.findall(r'href="(/app/[^"?#]*)"', home.text)):
            assert client.get(href).status_code == 200, (who, href)


def test_each_new_list_is_a_next_page_away(client, db, world, school, monkeypatch):
    """The holds, requests, change record and outbox each page past their first page."""
    from api.web import outbox_pages, protection_pages, record_pages

    for module in (outbox_pages, protection_pages):
        monkeypatch.setattr(module, "PAGE_SIZE", 2)
    monkeypatch.setattr(record_pages, "PAGE_SIZE", 10)  # the record holds dozens of changes
    dsl = world.auth("dsl")
    for n in range(3):
        client.post(
            "/legal-holds",
            json={
                "subject_type": "pupil",
                "subject_id": school["young"],
                "case_reference": f"CASE-{n}",
                "reason": "Kept for a case",
            },
            headers=dsl,
        )
        client.post(
            "/subject-access-requests",
            json={
                "subject_type": "pupil",
                "subject_id": school["older"],
                "requested_by": f"Request {n}",
                "received_on": clock.now().date().isoformat(),
            },
            headers=dsl,
        )
    as_person(client, db, world, "dsl")
    holds = "".join(every_page(client, "/app/legal-holds"))
    assert sorted(re.findall(r"CASE-\d", holds)) == ["CASE-0", "CASE-1", "CASE-2"]
    asked = "".join(every_page(client, "/app/subject-access"))
    assert sorted(re.findall(r"Request \d", asked)) == ["Request 0", "Request 1", "Request 2"]
    changes = every_page(client, "/app/change-record")
    assert len(changes) > 2
    assert "legal hold: placed" in "".join(changes)
    as_person(client, db, world, "admin")
    shown = client.get("/app/staff")
    for n in range(3):
        client.post(
            "/app/staff",
            data={
                "form_token": form_token(shown.text),
                "name": f"Invitee {n}",
                "email": f"invitee{n}@a.example.org",
                "roles": ["staff"],
            },
        )
    sent = "".join(every_page(client, "/app/outbox"))
    assert sorted(re.findall(r"Invitee \d", sent)) == ["Invitee 0", "Invitee 1", "Invitee 2"]


def test_consent_in_hand_is_not_asked_for_again(client, db, world, school):
    cid = approved_contact(client, world, school)
    consent_given(client, world, school, cid)
    as_person(client, db, world, "admin")
    shown = client.get(f"/app/pupils/{school['young']}").text
    assert "Email the parents a link" not in shown
    assert "Record a consent" not in shown


def test_every_other_list_is_a_next_page_away(client, db, world, school, monkeypatch):
    """Staff, devices, incidents, deletions, the review queue, chronologies and my contacts each
    page past their first page, and every row is on one of them."""
    from api.web import directory_pages, oversight_pages, review_pages, staff_pages
    from tests.support.builders import INCIDENT, log

    for module in (directory_pages, oversight_pages, review_pages, staff_pages):
        monkeypatch.setattr(module, "PAGE_SIZE", 2)
    admin, owner = world.auth("admin"), world.auth("owner")
    for n in range(3):
        client.post(
            "/devices", json={"asset_tag": f"TAB-{n}", "description": "A tablet"}, headers=admin
        )
        reported = client.post(
            "/incidents",
            json={**INCIDENT, "what_happened": f"Incident number {n}", "other_person": "A parent"},
            headers=owner,
        )
        assert reported.status_code == 201, reported.text
    contacts = [
        approved_contact(client, world, school, school_account=f"Account {n}") for n in range(3)
    ]
    for n in range(3):  # flagged: the young pupil has no consent yet
        log(client, world, contacts[0], summary=f"Flagged entry {n}")
    for cid in contacts[1:]:
        client.post(f"/contacts/{cid}/end", json={"reason": "Season over"}, headers=owner)

    def rows(path: str, pattern: str) -> list[str]:
        found = re.findall(pattern, "".join(every_page(client, path)))
        assert len(every_page(client, path)) > 1, path  # more than one page
        return sorted(found)

    as_person(client, db, world, "admin")
    assert len(rows("/app/staff", r'<td><a href="/app/staff/\d+">')) == len(
        [p for p in client.get("/staff?limit=200", headers=admin).json()["items"]]
    )
    assert rows("/app/devices", r"<td>(TAB-\d)</td>") == ["TAB-0", "TAB-1", "TAB-2"]
    as_person(client, db, world, "dsl")
    assert rows("/app/incidents", r"Incident number (\d)") == ["0", "1", "2"]
    assert len(rows("/app/deletions", r'<tr><td><a href="/app/contacts/\d+">')) == 4
    assert rows("/app/review", r"Flagged entry (\d)") == ["0", "1", "2"]
    assert len(rows(f"/app/pupils/{school['young']}/chronology", r"<li><time")) > 4
    assert len(rows(f"/app/staff/{world.ids['owner']}/chronology", r"<li><time")) > 4
    as_person(client, db, world, "owner")
    assert rows("/app/contacts", r"Account (\d)</a>") == ["0", "1", "2"]


def test_the_refusals_to_resolve_page_past_its_first_page(client, db, world, school, monkeypatch):
    from sqlalchemy import text as sql

    from api.web import consent_pages
    from tests.support.builders import guardian_with_email

    monkeypatch.setattr(consent_pages, "PAGE_SIZE", 2)
    guardian_with_email(client, world, school)
    for n in range(3):
        cid = approved_contact(client, world, school, school_account=f"Account {n}")
        assert (
            client.post(
                f"/contacts/{cid}/consent-requests", headers=world.auth("admin")
            ).status_code
            == 201
        )
    with db.engine.connect() as conn:
        bodies = (
            conn.execute(sql("SELECT body FROM outbox_email WHERE kind = 'consent_request'"))
            .scalars()
            .all()
        )
    links = [re.search(r"(/consent/[A-Za-z0-9_\-]+)", b).group(1) for b in bodies]  # type: ignore[union-attr]
    assert len(links) == 3
    for link in links:
        assert client.post(link, data={"choice": "decline", "reason": "No"}).status_code == 200
    as_person(client, db, world, "dsl")
    pages = every_page(client, "/app/refusals")
    assert len(pages) == 2
    assert "".join(pages).count("refused consent for Ava T") == 3
