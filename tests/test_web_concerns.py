"""A concern about an adult through the pages, in Chromium: a teacher raises an allegation from
a phone and is told only that it was received; the headteacher opens the emailed case file,
refers it to the LADO, records a decision, attaches a screenshot and closes it with the
outcome; the member of staff it is about finds nothing of it anywhere."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp

from core import clock
from tests.support.browser import checked, sign_in
from tests.support.builders import enrol
from tests.support.ground import PASSWORD
from tests.support.mail import run_all, text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def test_a_concern_from_a_teacher_s_phone_to_its_outcome(  # type: ignore[no-untyped-def]
    client, world, db, mail_settings, mail_server, browse, tmp_path
):
    # A teacher, on a phone between lessons.
    phone = browse(phone=True)
    sign_in(phone, "other_staff@a.example.org")
    phone.get_by_role("link", name="Raise a concern about an adult").click()
    checked(phone)
    phone.get_by_label("An allegation").check()
    phone.get_by_label("The member of staff").select_option(label="Owner")
    phone.get_by_label("Whose concern is it?").select_option(label="A pupil told me")
    phone.get_by_label("The name of whoever told you").fill("Ava T")
    phone.get_by_label("Where online").select_option(label="Instagram")
    phone.get_by_label("What happened").fill(
        "Ava says Owner messaged her from a personal Instagram account at 11pm."
    )
    phone.get_by_role("button", name="Send it").click()
    phone.wait_for_url("**/app/concerns/received")
    checked(phone)
    assert phone.get_by_text("Received. Thank you for raising it.").count() == 1
    # Nothing more: not the file, not who handles it.
    assert "Concerns about adults" not in phone.content()

    # The headteacher, from the emailed link.
    run_all(db, mail_settings, clock.now())
    [told] = [m for m in mail_server.inbox.to("head@a.example.org") if "concern" in m["Subject"]]
    assert "Owner" not in text(told)
    assert "Ava" not in text(told)
    path = urlsplit(re.search(r"https?://\S+", text(told)).group(0)).path  # type: ignore[union-attr]
    head = browse()
    head.goto(path)
    head.get_by_label("Email address").fill("head@a.example.org")
    head.get_by_label("Password").fill(PASSWORD)
    secret = enrol(db, world.ids["head"])
    head.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    head.get_by_role("button", name="Sign in").click()
    head.wait_for_url(f"**{path}")
    checked(head)
    assert head.get_by_text("Ava says Owner messaged her").count() == 1
    assert head.get_by_text("Refer to the LADO by").count() == 1

    head.get_by_text("Record a referral").click()
    head.get_by_label("The officer").fill("J. Smith")
    head.get_by_label("Their reference").fill("LADO/2026/41")
    head.get_by_label("Their advice").fill("Investigate internally.")
    head.get_by_role("button", name="Record the referral").click()
    head.wait_for_url(f"**{path}#referrals")
    assert head.get_by_text("Referred to the LADO.").count() == 1

    head.get_by_label("A decision (including a decision not to refer)").check()
    head.get_by_label("What", exact=True).fill("Not to refer to the police.")
    head.get_by_label("Why (a decision needs its reason)").fill("The LADO advised no threshold.")
    head.get_by_role("button", name="Add it").click()
    head.wait_for_url(f"**{path}#notes")
    assert head.get_by_text("Not to refer to the police.").count() == 1

    shot = tmp_path / "instagram-dm.png"
    shot.write_bytes(PNG)
    head.get_by_label("A screenshot, letter or exported chat").set_input_files(str(shot))
    head.get_by_label("What it is").fill("The DM Ava showed me")
    head.get_by_role("button", name="Attach it").click()
    head.wait_for_url(f"**{path}#attachments")
    with head.expect_download() as download:
        head.get_by_role("link", name="instagram-dm.png").click()
    saved = tmp_path / "saved.png"
    download.value.save_as(saved)
    assert saved.read_bytes() == PNG

    head.get_by_label("Outcome", exact=True).select_option("unfounded")
    head.get_by_label("Why", exact=True).fill("No evidence the account was his.")
    head.get_by_role("button", name="Close the case").click()
    head.wait_for_url(f"**{path}")
    checked(head)
    assert head.get_by_text("Closed").count() >= 1

    head.get_by_role("link", name="Owner").first.click()
    head.wait_for_url("**/pattern")
    checked(head)
    assert head.get_by_text("An allegation raised (closed: unfounded).").count() == 1

    # The member of staff it is about: no link, no page, no email.
    owner = browse()
    sign_in(owner, "owner@a.example.org")
    assert "Concerns about adults" not in owner.content()
    owner.goto(path)
    assert owner.get_by_text("No such concern.").count() == 1
    assert not [m for m in mail_server.inbox.to("owner@a.example.org") if "concern" in m["Subject"]]
