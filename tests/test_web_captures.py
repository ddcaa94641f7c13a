"""A teacher checks her log against the school phone, in Chromium: she uploads the phone's
WhatsApp export, is told what is missing, finds it on My contacts and logs it in one tap. Each
page passes axe and is saved as a screenshot."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from core import clock
from tests.support.browser import checked, sign_in
from tests.support.builders import approved_contact
from tests.support.exports import Said, iphone_chat, iphone_zip


def test_a_teacher_uploads_the_phones_export_and_logs_what_she_had_not(
    client, world, school, browse, tmp_path
):
    cid = approved_contact(client, world, school)
    later = (clock.now() + timedelta(hours=3)).replace(microsecond=0)
    clock.set_clock(lambda: later)
    wall = (later - timedelta(hours=1)).astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None)
    chat = iphone_chat(
        [
            Said("Ava T", wall, "Is the minibus leaving at 8?"),
            Said("Riverside U15 (School)", wall + timedelta(minutes=2), "Yes, 8 sharp"),
        ],
        chat="Ava T",
        notice_at=wall - timedelta(days=20),
    )
    export = tmp_path / "WhatsApp Chat - Ava T.zip"
    export.write_bytes(iphone_zip(chat))

    page = browse()
    sign_in(page, "owner@a.example.org")
    page.get_by_role("link", name="Check against the platform").click()
    page.wait_for_url("**/app/captures")
    checked(page)
    page.get_by_label("The file, as the platform made it").set_input_files(str(export))
    page.get_by_label("The name the school account's own messages appear under").fill(
        "Riverside U15 (School)"
    )
    page.locator("#name_0").fill("Ava T")
    page.locator("#pupil_0").select_option(label="Ava T")
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state()
    checked(page)
    assert page.get_by_text("2 not in the log").count() == 1

    page.get_by_role("link", name="My contacts").click()
    checked(page)
    page.get_by_role("link", name="2 messages the platform captured are not in your log").click()
    page.wait_for_url(f"**/app/contacts/{cid}/captured")
    checked(page)
    assert page.get_by_text("Is the minibus leaving at 8?").count() == 1
    page.get_by_label("What it was about").first.fill("Ava asked when the minibus leaves")
    page.get_by_role("button", name="Log it").first.click()
    page.wait_for_url(f"**/app/contacts/{cid}/captured?done=logged")
    checked(page)
    assert page.get_by_text("Logged. It is on the record.").count() == 1
    assert page.get_by_text("Is the minibus leaving at 8?").count() == 0
    assert page.get_by_text("Yes, 8 sharp").count() == 1
