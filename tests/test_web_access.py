"""Least privilege on the pages: for every person and every page that has an API twin, the
page answers as the API does (shown, refused, or not found), so no page reaches further than
the API; and pages that only DSLs or admins use are refused to everyone else."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import pyotp
import pytest

from tests.support.builders import INCIDENT, PEOPLE, enrol, log, message, request_body
from tests.support.mail import DSL, MANAGER, run_all, text
from tests.support.pages import as_person, every_page, form_token, sign_in


@pytest.fixture
def scene(client, world, school):  # type: ignore[no-untyped-def]
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    about_owner = client.post(
        "/concerns",
        json={
            "kind": "allegation",
            "subject_staff_id": world.ids["owner"],
            "happened_at": "2026-01-01T10:00:00Z",
            "what_happened": "Seen messaging a pupil from a personal phone",
        },
        headers=world.auth("other_staff"),
    ).json()["id"]
    [attached] = client.post(
        f"/concerns/{about_owner}/attachments",
        files={"file": ("chat.txt", b"the chat")},
        headers=world.auth("head"),
    ).json()["attachments"]
    about_head = client.post(
        "/concerns",
        json={
            "kind": "low_level",
            "subject_staff_id": world.ids["head"],
            "happened_at": "2026-01-01T10:00:00Z",
            "what_happened": "Friended a parent",
        },
        headers=world.auth("dsl"),
    ).json()["id"]
    return {
        "cid": cid,
        "young": school["young"],
        "owner": world.ids["owner"],
        "head": world.ids["head"],
        "about_owner": about_owner,
        "about_head": about_head,
        "attached": attached["id"],
    }


TWINS = [
    ("/app/contacts/{cid}", "/contacts/{cid}"),
    ("/app/contacts/{cid}/log", "/contacts/{cid}"),
    ("/app/pupils", "/pupils"),
    ("/app/pupils/{young}", "/pupils/{young}"),
    ("/app/pupils/{young}/chronology", "/pupils/{young}/chronology"),
    ("/app/review", "/review-queue"),
    ("/app/dashboard", "/summary"),
    ("/app/log?pupil_id={young}", "/messages?pupil_id={young}"),
    ("/app/incidents", "/incidents"),
    ("/app/deletions", "/deletion-tasks"),
    ("/app/staff/{owner}/chronology", "/staff/{owner}/chronology"),
    ("/app/staff/{owner}", "/staff/{owner}"),
    ("/app/devices", "/devices"),
    ("/app/staff", "/staff"),
    ("/app/pending-changes", "/pending-changes"),
    ("/app/refusals", "/consent-refusals"),
    ("/app/legal-holds", "/legal-holds"),
    ("/app/subject-access", "/subject-access-requests"),
    ("/app/retention", "/retention/plan"),
    ("/app/change-record", "/audit/events"),
    ("/app/contacts/{cid}/captured", "/contacts/{cid}/reconciliation"),
    ("/app/captures", "/captures"),
    ("/app/captures/unplaced", "/captures/unplaced"),
    ("/app/outbox", "/outbox"),
    ("/app/records", "/audit/events"),
    ("/app/pupils/{young}/evidence-pack", "/pupils/{young}/evidence-pack"),
    ("/app/contacts/{cid}/evidence-pack", "/contacts/{cid}/evidence-pack"),
    # Concerns: each person — the subject, the raiser, the case manager, everyone else —
    # meets the page exactly as the API answers them (a 404 for all but the readers).
    ("/app/concerns", "/concerns"),
    ("/app/concerns/review", "/concerns/review"),
    ("/app/concerns/{about_owner}", "/concerns/{about_owner}"),
    ("/app/concerns/{about_head}", "/concerns/{about_head}"),
    (
        "/app/concerns/{about_owner}/attachments/{attached}",
        "/concerns/{about_owner}/attachments/{attached}",
    ),
    ("/app/concerns/{about_owner}/evidence-pack", "/concerns/{about_owner}/evidence-pack"),
    ("/app/staff/{owner}/pattern", "/staff/{owner}/pattern"),
    ("/app/staff/{head}/pattern", "/staff/{head}/pattern"),
]


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_each_page_answers_as_its_api_twin_does(client, db, world, scene, who):
    as_person(client, db, world, who)
    for page_path, api_path in TWINS:
        page = client.get(page_path.format(**scene), follow_redirects=False)
        api = client.get(api_path.format(**scene), headers=world.auth(who))
        assert page.status_code == api.status_code, (who, page_path, api.text)
        # A page, or the file it downloads (an evidence pack) when the API gives that file.
        wanted = (
            "application/zip" if page.status_code == 200 and "pack" in page_path else "text/html"
        )
        if page.status_code == 200 and "/attachments/" in page_path:  # a file, only to save
            assert page.headers["content-disposition"].startswith("attachment;")
            continue
        assert page.headers["content-type"].startswith(wanted)


@pytest.mark.parametrize("path", ["/app/contacts", "/app/approvals", "/app/review", "/"])
def test_without_a_session_every_page_asks_for_sign_in(client, world, path):
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    # ... and, signed in, comes back to it (test_an_emailed_link_signs_in_and_returns).
    wanted = "/sign-in" if path == "/" else "/sign-in?" + urlencode({"next": path})
    assert answer.headers["location"] == wanted


def test_an_approver_sees_the_contacts_of_the_staff_they_manage(client, db, world, scene):
    client.post(
        f"/contacts/{scene['cid']}/decision", json={"approve": True}, headers=world.auth("manager")
    )
    as_person(client, db, world, "manager")
    mine = client.get("/app/approvals").text
    assert "Contacts of the staff you manage" in mine
    assert f"Contact #{scene['cid']}" in mine
    as_person(client, db, world, "other_manager")
    assert f"Contact #{scene['cid']}" not in client.get("/app/approvals").text


def test_a_trust_dsl_searches_one_school_or_all(client, db, world, school, scene):
    client.post(
        f"/contacts/{scene['cid']}/decision", json={"approve": True}, headers=world.auth("manager")
    )
    client.post(
        f"/contacts/{scene['cid']}/messages",
        json=message(summary="Kit list sent"),
        headers=world.auth("owner"),
    )
    as_person(client, db, world, "trust_dsl")
    for school_id, found in ((world.school_a, 1), (world.school_b, 0), ("", 1)):
        shown = client.get(f"/app/log?school_id={school_id}&reviewed=")
        assert shown.status_code == 200
        assert shown.text.count("Kit list sent") == found, school_id


def test_requests_to_decide_never_fall_off_the_page(client, db, world, school, monkeypatch):
    """Requests made after many decided contacts still appear: the longest waiting first, a
    page at a time, and the decided ones newest first (they once shared one list of the school's
    oldest contacts, so once it filled, a new request was never shown)."""
    from api.web import staff_pages

    monkeypatch.setattr(staff_pages, "WAITING_PAGE", 2)
    monkeypatch.setattr(staff_pages, "DECIDED_SHOWN", 2)
    owner, manager = world.auth("owner"), world.auth("manager")

    def ask() -> int:
        made = client.post("/contacts", json=request_body(school), headers=owner)
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    decided = [ask() for _ in range(3)]
    for cid in decided:
        client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=manager)
    waiting = [ask() for _ in range(3)]
    own = client.post("/contacts", json=request_body(school), headers=manager).json()["id"]

    def shown(html: str) -> list[int]:
        return [int(n) for n in re.findall(r"Contact #(\d+):", html)]

    as_person(client, db, world, "manager")
    first = client.get("/app/approvals")
    assert first.status_code == 200
    assert shown(first.text) == [waiting[0], waiting[1], decided[2], decided[1]]
    more = re.search(r'href="(/app/approvals\?cursor=[^"]+)">More requests waiting', first.text)
    assert more is not None
    second = client.get(html.unescape(more.group(1)))
    assert shown(second.text) == [waiting[2], decided[2], decided[1]]
    assert "More requests waiting" not in second.text
    assert own not in shown(first.text) + shown(second.text)  # not theirs to decide


def test_every_pupil_is_a_next_page_away(client, db, world, school, monkeypatch):
    """The pupils page once showed the school's oldest 200 pupils and no more."""
    from api.web import admin_pages

    monkeypatch.setattr(admin_pages, "PAGE_SIZE", 2)
    for n in range(3):
        made = client.post(
            "/pupils",
            json={
                "given_name": f"Pupil{n}",
                "family_name": "Late",
                "date_of_birth": "2012-05-01",
                "school_reference": f"LATE{n}",
            },
            headers=world.auth("admin"),
        )
        assert made.status_code == 201, made.text
    as_person(client, db, world, "admin")
    pages = every_page(client, "/app/pupils")
    assert len(pages) == 3  # 5 pupils, 2 a page
    names = re.findall(r'<a href="/app/pupils/\d+">([^<]+)</a>', "".join(pages))
    assert sorted(names) == ["Ava T", "Noah F", "Pupil0 Late", "Pupil1 Late", "Pupil2 Late"]


def test_the_contact_page_shows_what_was_logged_last_first(client, db, world, contact, monkeypatch):
    """It once showed the first 20 entries ever logged: the 21st, just logged, was not there."""
    from api.web import staff_pages

    monkeypatch.setattr(staff_pages, "PAGE_SIZE", 2)
    for n in range(5):
        log(client, world, contact, summary=f"Entry number {n}")
    as_person(client, db, world, "owner")
    pages = every_page(client, f"/app/contacts/{contact}")
    order = [int(n) for n in re.findall(r"Entry number (\d)", "".join(pages))]
    assert order == [4, 3, 2, 1, 0]


def test_a_search_of_the_log_pages_through_its_own_filter(client, db, world, contact, monkeypatch):
    """The next page keeps the search: the pupil, the platform, the dates."""
    from api.web import review_pages

    monkeypatch.setattr(review_pages, "PAGE_SIZE", 2)
    for n in range(5):
        log(client, world, contact, summary=f"Entry number {n}")
    as_person(client, db, world, "dsl")
    pages = every_page(client, f"/app/log?staff_id={world.ids['owner']}&platform=&reviewed=")
    assert len(pages) == 3
    assert all(f"staff_id={world.ids['owner']}" in p for p in pages[1:])
    order = [int(n) for n in re.findall(r"Entry number (\d)", "".join(pages))]
    assert order == [4, 3, 2, 1, 0]


def test_a_form_shows_each_mistake_beside_its_field_and_changes_nothing(
    client, db, world, contact, school
):
    as_person(client, db, world, "owner")
    shown = client.get(f"/app/contacts/{contact}/log")
    fields = {
        "form_token": form_token(shown.text),
        "direction": "sent",
        "summary": "",
        "verbatim": "See you at 9 <sharp>",
        "occurred_at": "2026-11-30T16:05",
        "device_tag": "PE-IPAD",
        "pupil_ids": [str(school["older"])],
    }
    answer = client.post(f"/app/contacts/{contact}/log", data=fields)
    assert answer.status_code == 422
    beside = re.search(
        r'<p class="problem field-problem" id="summary-problem">([^<]+)</p>', answer.text
    )
    assert beside is not None
    assert beside.group(1) == "fill this in"
    # Just after the box it is about.
    assert (
        answer.text.index('name="summary"') < beside.start() < answer.text.index('name="verbatim"')
    )
    listed = client.get(f"/contacts/{contact}/messages", headers=world.auth("owner")).json()
    assert listed["items"] == []
    fields["occurred_at"] = "half past four"
    fields["summary"] = "Kit list"
    unreadable = client.post(f"/app/contacts/{contact}/log", data=fields)
    assert unreadable.status_code == 422
    assert 'id="occurred_at-problem">give the date and time it happened<' in unreadable.text


def test_on_a_page_of_several_forms_only_the_one_sent_comes_back_filled(
    client, db, world, contact, school
):
    """The pupil's page holds the guardian, parent-notice and consent forms: a mistake in the
    consent form keeps what was typed there, and the others stay as they were."""
    as_person(client, db, world, "admin")
    shown = client.get(f"/app/pupils/{school['young']}")
    answer = client.post(
        f"/app/pupils/{school['young']}/consents",
        data={
            "form_token": form_token(shown.text),
            "contact_id": str(contact),
            "guardian_id": str(school["guardian"]),
            "method": "email",
            "evidence_reference": "",
            "given_on": "2026-11-03",
        },
    )
    assert answer.status_code == 422
    assert answer.text.count('id="evidence_reference-problem"') == 1
    assert 'id="given_on" name="given_on" type="date" required value="2026-11-03"' in answer.text
    # The notice form keeps its own start, not the consent's date.
    assert 'id="n_on" name="informed_on" type="date" required value="2026-11-03"' not in answer.text
    listed = client.get(f"/pupils/{school['young']}/consents", headers=world.auth("admin"))
    assert listed.json() == []


def test_a_form_says_what_is_wrong_in_plain_words(client, db, world, school):
    """It once said "device ids: List should have at least 1 item after validation, not 0"."""
    as_person(client, db, world, "owner")
    shown = client.get("/app/contacts/new")
    answer = client.post(
        "/app/contacts/new",
        data={
            "form_token": form_token(shown.text),
            "platform": "whatsapp",
            "school_account": "x" * 201,
            "purpose": "Year 11 revision group",
            "pupil_references": "Y1",
            "starts_on": "soon",
            "ends_on": "2027-03-01",
        },
    )
    assert answer.status_code == 422
    said = dict(re.findall(r'id="(\w+)-problem">([^<]+)<', answer.text))
    assert said == {
        "school_account": "keep it to 200 characters",
        "device_ids": "choose at least one",
        "starts_on": "give a date",
    }
    assert "should" not in answer.text
    assert ">Year 11 revision group</textarea>" in answer.text


def test_a_teacher_names_pupils_by_name_with_or_without_javascript(client, db, world, school):
    """Asking for contact took admission numbers or UPNs only: names typed gave "4 of the pupils
    named are not pupils of your school", and every field was lost."""
    as_person(client, db, world, "owner")
    shown = client.get("/app/contacts/new").text
    typed = {
        "form_token": form_token(shown),
        "platform": "whatsapp",
        "school_account": "U15 football (school phone)",
        "purpose": "Fixture times",
        "device_ids": [str(school["device"])],
        "starts_on": "2026-12-01",
        "ends_on": "2027-03-01",
    }
    # Without JavaScript: "Find" shows who the name finds, and keeps everything typed.
    found = client.post("/app/contacts/new", data={**typed, "pupil_search": "AVA", "find": "yes"})
    assert found.status_code == 200
    assert f'value="{school["young"]}"> Ava T (Y1)' in found.text
    assert "Noah" not in found.text
    assert ">Fixture times</textarea>" in found.text
    assert client.get("/contacts", headers=world.auth("owner")).json()["items"] == []
    # With it: the type-ahead answers a POST (a name is never in a URL), keeping who is ticked.
    matches = client.post(
        "/app/pupil-matches",
        data={
            "form_token": typed["form_token"],
            "pupil_search": "noah",
            "pupil_ids": [str(school["young"])],
        },
    )
    assert f'value="{school["young"]}" checked> Ava T' in matches.text
    assert f'value="{school["older"]}"> Noah F (O1)' in matches.text
    refused = client.post("/app/pupil-matches", data={"pupil_search": "noah"})
    assert refused.status_code == 403
    asked = client.post(
        "/app/contacts/new",
        data={**typed, "pupil_ids": [str(school["young"]), str(school["older"])]},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    [made] = client.get("/contacts", headers=world.auth("owner")).json()["items"]
    assert sorted(p["pupil_id"] for p in made["pupils"]) == [school["young"], school["older"]]


def test_the_dsl_finds_a_pupils_entries_by_name(client, db, world, school, scene):
    """The DSL's search took "Pupil (number)"; a name gave "give the record's number"."""
    client.post(
        f"/contacts/{scene['cid']}/decision", json={"approve": True}, headers=world.auth("manager")
    )
    log(client, world, scene["cid"], summary="Kit list for Ava", pupil_ids=[school["young"]])
    as_person(client, db, world, "dsl")
    shown = client.get("/app/log").text
    assert f'<option value="{world.ids["owner"]}">Owner</option>' in shown
    found = client.post(
        "/app/log/pupils", data={"form_token": form_token(shown), "pupil_search": "ava t"}
    )
    assert found.status_code == 200
    link = f'href="/app/log?pupil_id={school["young"]}"'
    assert link in found.text
    assert "Ava" not in urlsplit(link).query
    theirs = client.get(f"/app/log?pupil_id={school['young']}").text
    assert f'value="{school["young"]}" checked> Ava T' in theirs
    assert "Kit list for Ava" in theirs


def test_a_name_search_finds_only_the_readers_own_school(client, db, world, school):
    client.post(
        "/pupils",
        json={
            "given_name": "Ava",
            "family_name": "Other",
            "date_of_birth": "2012-05-01",
            "school_reference": "B1",
        },
        headers=world.auth("other_school"),
    )
    as_person(client, db, world, "owner")
    token = form_token(client.get("/app/contacts/new").text)
    for typed in ("ava", "b1", "a"):
        matches = client.post(
            "/app/pupil-matches", data={"form_token": token, "pupil_search": typed}
        ).text
        assert "Other" not in matches
    assert (
        "Ava T"
        not in client.post(
            "/app/pupil-matches", data={"form_token": token, "pupil_search": "a"}
        ).text
    )  # one letter finds nobody: a search is not the school's roll


def test_an_emailed_link_opens_its_record_s_page_signing_in_on_the_way(
    client, world, db, mail_settings, mail_server
):
    """The incident email once linked to the API, which answers a browser with JSON 401."""
    body = {
        **INCIDENT,
        "what_happened": "Pupil appeared in a public group",
        "other_person": "A parent",
    }
    incident = client.post("/incidents", json=body, headers=world.auth("owner")).json()
    run_all(db, mail_settings, datetime.now(UTC))
    [email] = mail_server.inbox.to(MANAGER)
    link = re.search(r"https?://\S+", text(email))
    assert link is not None
    path = urlsplit(link.group(0)).path
    assert path == f"/app/incidents/{incident['id']}"
    client.cookies.clear()
    asked = client.get(path, follow_redirects=False)
    assert asked.status_code == 303
    code = pyotp.TOTP(enrol(db, world.ids["manager"])).now()
    signed_in = sign_in(client, MANAGER, code=code, page=asked.headers["location"])
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == path
    shown = client.get(path)
    assert shown.status_code == 200
    assert f"Incident #{incident['id']}" in shown.text
    assert "public group" in shown.text


@pytest.mark.parametrize(
    "wanted", ["//evil.example/x", "https://evil.example", "/\\evil.example", "/sign-out"]
)
def test_signing_in_never_returns_to_another_site(client, world, wanted):
    signed_in = sign_in(
        client, "owner@a.example.org", page="/sign-in?" + urlencode({"next": wanted})
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"


def test_a_flagged_entry_s_email_opens_it_for_review_and_for_nobody_else(
    client, db, world, contact, mail_settings, mail_server
):
    logged = log(client, world, contact, summary="Sent the kit list")  # flagged: no consent yet
    assert logged["flags"]
    run_all(db, mail_settings, datetime.now(UTC))
    [email] = [m for m in mail_server.inbox.to(DSL) if "Flagged" in m["Subject"]]
    path = urlsplit(re.search(r"https?://\S+", text(email)).group(0)).path  # type: ignore[union-attr]
    assert path == f"/app/review/{logged['id']}"
    as_person(client, db, world, "dsl")
    shown = client.get(path)
    assert shown.status_code == 200
    assert "Sent the kit list" in shown.text
    assert "Mark reviewed" in shown.text
    as_person(client, db, world, "owner")  # their own entry: not theirs to review
    assert client.get(path).status_code == 403


def test_pages_name_people_and_only_the_reader_s_own(client, db, world, school):
    """An incident once read "reported by staff #4 · Pupils: #1"; a headteacher confirmed
    "Change #1 for staff #13, proposed by staff #7"."""
    body = {**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "received"}]}
    incident = client.post("/incidents", json=body, headers=world.auth("owner")).json()
    as_person(client, db, world, "manager")
    shown = client.get(f"/app/incidents/{incident['id']}").text
    owner_name = client.get(f"/staff/{world.ids['owner']}", headers=world.auth("admin")).json()
    assert f">{owner_name['name']}</a>" in shown
    assert ">Ava T</a> (was contacted)" in shown
    assert "staff #" not in shown
    assert f'chronology">#{school["young"]}<' not in shown
    # Names come only from the reader's own schools: another school's people stay unnamed.
    from core.directory.names import pupil_names, staff_names
    from core.principal import Principal
    from core.roles import Role

    reader = Principal(
        staff_id=world.ids["other_school"],
        school_id=world.school_b,
        trust_id=world.trust,
        roles=frozenset({Role.dsl}),
    )
    with db.session() as session:
        assert staff_names(session, reader, [world.ids["owner"]]) == {}
        assert pupil_names(session, reader, [school["young"]]) == {}
        assert staff_names(session, reader, [world.ids["other_school_staff"]]) != {}


def test_the_pages_own_files_are_kept_by_version_and_compressed_and_pages_are_not(
    client, db, world
):
    assert client.get("/favicon.ico").headers["content-type"] == "image/vnd.microsoft.icon"
    as_person(client, db, world, "owner")
    home = client.get("/app/contacts", headers={"Accept-Encoding": "gzip"})
    assert home.status_code == 200
    # A page holds its form token: never compressed (BREACH), never kept.
    assert "content-encoding" not in home.headers
    assert home.headers["cache-control"] == "no-store"
    linked = re.search(r'src="(/app/static/htmx[^"]+\?v=\w+)"', home.text)
    assert linked is not None
    script = client.get(linked.group(1), headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-encoding"] == "gzip"
    assert "htmx" in script.text  # the client undid the compression, as a browser does
    bare = client.get(linked.group(1).split("?")[0])
    assert bare.headers["cache-control"] == "no-cache"
    stale = client.get(linked.group(1).split("?")[0] + "?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"


def test_pages_show_the_school_s_time_and_uk_dates(client, db, world, contact):
    """Lists once showed UTC ("01 Jul 2026 16:05 UTC") while the forms asked for school time."""
    log(client, world, contact, summary="Summer fixture", occurred_at="2026-07-01T16:05:00Z")
    as_person(client, db, world, "owner")
    shown = client.get(f"/app/contacts/{contact}").text
    assert "1 July 2026, 17:05" in shown  # British Summer Time, as the teacher's phone said
    assert "UTC" not in shown


def test_the_dashboard_counts_in_words(client, db, world, contact):
    """It once read "1 active contacts"; its tiles open the lists behind them."""
    as_person(client, db, world, "dsl")
    shown = client.get("/app/dashboard").text
    assert "1</span> active contact<" in shown
    assert "active contacts" not in shown
    assert '<a href="/app/incidents?open_only=true">' in shown


def test_the_teacher_is_warned_before_and_told_after_what_a_log_entry_breaks(
    client, db, world, contact, school
):
    """Logging to a pupil without consent once said "Logged. It is on the record." while it was
    flagged and the DSL alerted, and that pupil was ticked with no warning."""
    as_person(client, db, world, "owner")
    form = client.get(f"/app/contacts/{contact}/log").text
    young = re.search(rf'value="{school["young"]}"[^>]*>[^<]*<span class="flag">\(([^)]+)\)', form)
    assert young is not None
    assert young.group(1) == "no valid parental consent yet: it will be flagged"
    assert f'value="{school["young"]}" checked' not in form  # not ticked for them
    assert f'value="{school["older"]}" checked' in form
    sent = client.post(
        f"/app/contacts/{contact}/log",
        data={
            "form_token": form_token(form),
            "direction": "sent",
            "summary": "Kit list",
            "occurred_at": "2026-11-30T16:05",
            "device_tag": "PE-IPAD",
            "pupil_ids": [str(school["young"])],
        },
        follow_redirects=True,
    )
    assert sent.status_code == 200
    told = re.search(r'<p class="problem" role="status">([^<]+)</p>', sent.text)
    assert told is not None
    assert "flagged" in told.group(1)
    assert "no valid parental consent" in told.group(1)
    assert "designated safeguarding lead has been told" in told.group(1)


def test_advice_is_shown_as_advice_and_a_breach_as_a_breach(client, db, world, school):
    """The entry a 17-year-old's teacher had just been told was "advice only" was listed in the
    red of a breach."""
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    log(client, world, cid, summary="Advised", pupil_ids=[school["older"]])  # parents not told
    log(client, world, cid, summary="Breached", pupil_ids=[school["young"]])  # no consent
    as_person(client, db, world, "owner")
    shown = client.get(f"/app/contacts/{cid}").text
    assert '<span class="advice">advice: parent not informed</span>' in shown
    assert '<span class="flag">no valid consent</span>' in shown
    assert '<span class="flag">parent not informed</span>' not in shown


def test_the_decider_sees_what_the_protocol_asks_them_to_weigh(client, db, world, school):
    """The request page did not say who asked, from which devices, how old the pupils are or
    whether their parents must consent; and after a decision it never said who decided."""
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    as_person(client, db, world, "manager")
    asked = client.get(f"/app/contacts/{cid}").text
    assert re.search(r"<dt>Asked by</dt><dd>Owner, \d+ \w+ \d{4}", asked)
    assert "<dt>School devices</dt><dd>PE-IPAD</dd>" in asked
    assert "Ava T (14 at the start; parental consent needed)" in asked
    assert "Noah F (17 at the start; parents to be informed)" in asked
    waiting = client.get("/app/approvals").text
    assert "Ava T (14 at the start; parental consent needed)" in waiting
    decided = client.post(
        f"/app/contacts/{cid}/decision",
        data={"form_token": form_token(asked), "verdict": "approve"},
        follow_redirects=True,
    )
    assert re.search(r"<dt>Approved by</dt><dd>Manager, \d+ \w+ \d{4}", decided.text)


def test_the_chart_counts_what_the_queue_counts(client, db, world, school):
    """The dashboard's chart counted an entry flagged only for advice, which the review queue
    leaves out (2 on the chart, 1 in the queue)."""
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    log(client, world, cid, summary="Advised", pupil_ids=[school["older"]])  # parents not told
    log(client, world, cid, summary="Breached", pupil_ids=[school["young"]])  # no consent
    as_person(client, db, world, "dsl")
    shown = client.get("/app/dashboard").text
    # (The advised entry may be in the queue as one of the sampled clean entries, not as flagged.)
    queued = re.search(r"awaiting review, (\d+) flagged", shown)
    assert queued is not None
    assert queued.group(1) == "1"
    table = shown.split("<caption>Entries flagged for a concern, per week and school</caption>")[1]
    rows = re.findall(r"<tr><td>[^<]+</td><td>[^<]+</td><td>(\d+)</td></tr>", table)
    assert rows == ["1"]


def test_a_dsl_is_not_offered_the_review_of_their_own_entry(client, db, world, school):
    dsl = world.auth("dsl")
    made = client.post("/contacts", json=request_body(school), headers=dsl).json()
    client.post(
        f"/contacts/{made['id']}/decision", json={"approve": True}, headers=world.auth("head")
    )
    mine = client.post(f"/contacts/{made['id']}/messages", json=message(), headers=dsl).json()
    as_person(client, db, world, "dsl")
    shown = client.get(f"/app/review/{mine['id']}").text
    assert "Your own entry: another DSL reviews it." in shown
    assert "Mark reviewed" not in shown
