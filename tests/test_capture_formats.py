"""The platforms' export formats, on files made to their documented layouts: WhatsApp's iPhone
zip and Android text in several locales (day or month first, 12- or 24-hour clock, dots or
slashes), its notices not counted, messages over several lines, attachments, deletions and
edits; Meta's download with its mojibake repaired; and every way an upload is refused (the file
and line named), zip bombs included, before anything is unpacked."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contacts.capture import exports, meta, whatsapp
from contacts.capture.exports import ExportRefused
from contacts.capture.whatsapp import DateOrder
from tests.support.exports import (
    Said,
    android_chat,
    iphone_chat,
    iphone_zip,
    meta_download,
    meta_thread,
    stamp_ms,
)

LONDON = ZoneInfo("Europe/London")
WINTER = datetime(2026, 11, 25, 16, 5, 12)
SCHOOL, PUPIL = "Mr Okafor (School)", "Ellie B"


def _chat() -> list[Said]:
    return [
        Said(SCHOOL, WINTER, "Revision is at 4 in room 12."),
        Said(PUPIL, WINTER + timedelta(minutes=1), "Thanks sir\nsee you there"),
        Said(
            PUPIL,
            WINTER + timedelta(minutes=2),
            "<attached: 00000012-PHOTO-2026-11-25-16-07-12.jpg>",
        ),
        Said(PUPIL, WINTER + timedelta(minutes=3), "This message was deleted."),
        Said(SCHOOL, WINTER + timedelta(minutes=4), "Room changed to 14 <This message was edited>"),
    ]


@pytest.mark.parametrize(
    ("order", "twelve", "digits"),
    [("dmy", False, 4), ("mdy", True, 2), ("dmy", True, 4), ("ymd", False, 4)],
    ids=["uk", "us", "uk-12-hour", "year-first"],
)
def test_an_iphone_export_in_each_locale(order, twelve, digits):
    text = iphone_chat(
        _chat(),
        chat=PUPIL,
        order=order,
        twelve=twelve,
        year_digits=digits,
        notice_at=WINTER - timedelta(minutes=10),
    )
    data = iphone_zip(text, attachments=["00000012-PHOTO-2026-11-25-16-07-12.jpg"])
    found = whatsapp.parse_upload(
        data, name="WhatsApp Chat - Ellie B.zip", zone=LONDON, order=DateOrder(order)
    )
    assert [m.sender for m in found] == [SCHOOL, PUPIL, PUPIL, PUPIL, SCHOOL]  # no notice
    assert {m.conversation for m in found} == {PUPIL}
    assert found[0].sent_at == datetime(2026, 11, 25, 16, 5, 12, tzinfo=UTC)  # GMT in November
    assert found[1].text == "Thanks sir\nsee you there"
    assert found[2].attachment == "00000012-PHOTO-2026-11-25-16-07-12.jpg"
    assert found[2].text == ""
    assert found[3].deleted
    assert (found[4].text, found[4].edited) == ("Room changed to 14", True)
    assert found[0].file == "WhatsApp Chat - Ellie B.zip/_chat.txt"
    assert [m.line for m in found] == [2, 3, 5, 6, 7]


@pytest.mark.parametrize(
    ("order", "twelve", "digits", "separator"),
    [("dmy", False, 4, "/"), ("mdy", True, 2, "/"), ("dmy", False, 2, ".")],
    ids=["uk", "us", "german-dots"],
)
def test_an_android_export_in_each_locale(order, twelve, digits, separator):
    lines = [
        Said(SCHOOL, WINTER, "Kit on Friday"),
        Said(PUPIL, WINTER + timedelta(minutes=1), "<Media omitted>"),
        Said(PUPIL, WINTER + timedelta(minutes=2), "ok: see you"),
    ]
    text = android_chat(
        lines,
        order=order,
        twelve=twelve,
        year_digits=digits,
        separator=separator,
        notice_at=WINTER - timedelta(hours=1),
    )
    text += (
        f'{text.splitlines()[1].split(" - ")[0]} - {SCHOOL} changed the subject to "Kit: Friday"\n'
    )
    found = whatsapp.parse_upload(
        text.encode(), name="WhatsApp Chat with Ellie B.txt", zone=LONDON, order=DateOrder(order)
    )
    assert [(m.sender, m.text, m.attachment) for m in found] == [
        (SCHOOL, "Kit on Friday", None),
        (PUPIL, "", "media"),
        (PUPIL, "ok: see you", None),
    ]
    assert found[0].sent_at == datetime(2026, 11, 25, 16, 5, tzinfo=UTC)  # Android: no seconds
    assert found[0].conversation == PUPIL


def test_the_phones_zone_is_the_uploaders_to_say():
    summer = datetime(2026, 6, 10, 9, 30)
    text = android_chat([Said(SCHOOL, summer, "Trip forms due")])
    [in_london] = whatsapp.parse_chat(
        text, file="f.txt", conversation="c", zone=LONDON, order=DateOrder.dmy
    )
    [in_new_york] = whatsapp.parse_chat(
        text, file="f.txt", conversation="c", zone=ZoneInfo("America/New_York"), order=DateOrder.dmy
    )
    assert in_london.sent_at == datetime(2026, 6, 10, 8, 30, tzinfo=UTC)  # BST
    assert in_new_york.sent_at == datetime(2026, 6, 10, 13, 30, tzinfo=UTC)


def test_a_date_read_in_the_wrong_order_is_refused_naming_the_line():
    text = android_chat(
        [
            Said(SCHOOL, datetime(2026, 11, 2, 9, 0), "a"),
            Said(SCHOOL, datetime(2026, 11, 25, 9, 0), "b"),
        ],
        order="dmy",
    )
    with pytest.raises(ExportRefused) as refused:
        whatsapp.parse_chat(
            text, file="chat.txt", conversation="c", zone=LONDON, order=DateOrder.mdy
        )
    assert (refused.value.file, refused.value.line) == ("chat.txt", 2)
    assert "date order" in str(refused.value)


def test_a_line_that_starts_like_a_message_but_cannot_be_read_is_refused():
    text = android_chat([Said(SCHOOL, WINTER, "a")]) + "25/11/2026, 99:99 - Ellie B: b\n"
    with pytest.raises(ExportRefused) as refused:
        whatsapp.parse_chat(
            text, file="chat.txt", conversation="c", zone=LONDON, order=DateOrder.dmy
        )
    assert refused.value.line == 2


def test_a_file_that_is_not_a_chat_is_refused_at_its_first_line():
    with pytest.raises(ExportRefused) as refused:
        whatsapp.parse_upload(
            b"Dear parents,\nthe trip", name="letter.txt", zone=LONDON, order=DateOrder.dmy
        )
    assert (refused.value.file, refused.value.line) == ("letter.txt", 1)
    with pytest.raises(ExportRefused, match="not UTF-8"):
        whatsapp.parse_upload(b"\xff\xfe\x00bad", name="x.txt", zone=LONDON, order=DateOrder.dmy)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch):
    monkeypatch.setattr(exports, "MAX_UNZIPPED_BYTES", 1_000_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_chat.txt", iphone_chat(_chat(), chat=PUPIL))
        archive.writestr("00000001-VIDEO.mp4", b"\0" * 2_000_000)  # a few kilobytes zipped
    assert len(buffer.getvalue()) < 50_000
    with pytest.raises(ExportRefused, match="unpack to more"):
        whatsapp.parse_upload(buffer.getvalue(), name="bomb.zip", zone=LONDON, order=DateOrder.dmy)


def test_a_zip_of_too_many_entries_or_that_lies_about_its_sizes_is_refused(monkeypatch):
    monkeypatch.setattr(exports, "MAX_ZIP_ENTRIES", 3)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(4):
            archive.writestr(f"{n}.jpg", b"x")
    with pytest.raises(ExportRefused, match="more than 3 files"):
        whatsapp.parse_upload(many.getvalue(), name="many.zip", zone=LONDON, order=DateOrder.dmy)


def test_no_path_in_a_zip_is_ever_written(tmp_path, monkeypatch):
    """A member named to climb out of any folder is read into memory as the chat, or ignored:
    nothing is written anywhere."""
    monkeypatch.chdir(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../../tmp/evil/_chat.txt", iphone_chat(_chat(), chat=PUPIL))
        archive.writestr("/etc/cron.d/evil", b"* * * * * root true")
    found = whatsapp.parse_upload(buffer.getvalue(), name="x.zip", zone=LONDON, order=DateOrder.dmy)
    assert len(found) == 5
    assert list(tmp_path.iterdir()) == []


def test_a_zip_with_no_chat_or_two_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"x")
    with pytest.raises(ExportRefused, match="holds 0"):
        whatsapp.parse_upload(buffer.getvalue(), name="x.zip", zone=LONDON, order=DateOrder.dmy)


# ---------------------------------------------------------------- Meta


def _thread() -> str:
    base = datetime(2026, 11, 25, 16, 0)
    return meta_thread(
        [
            {
                "sender_name": "Riverside Café Club",
                "timestamp_ms": stamp_ms(base),
                "content": "Café club is on — bring £2 ☕",
                "type": "Generic",
            },
            {
                "sender_name": "Zoë Ångström",
                "timestamp_ms": stamp_ms(base + timedelta(minutes=1)),
                "content": "Merci ! 👍",
                "type": "Generic",
            },
            {
                "sender_name": "Zoë Ångström",
                "timestamp_ms": stamp_ms(base + timedelta(minutes=2)),
                "photos": [
                    {
                        "uri": "your_instagram_activity/messages/inbox/zoe_1/photos/123.jpg",
                        "creation_timestamp": 1,
                    }
                ],
                "type": "Generic",
            },
            {
                "sender_name": "Riverside Café Club",
                "timestamp_ms": stamp_ms(base + timedelta(minutes=3)),
                "type": "Call",
                "call_duration": 65,
            },
            {
                "sender_name": "Zoë Ångström",
                "timestamp_ms": stamp_ms(base + timedelta(minutes=4)),
                "content": "Zoë Ångström left the group.",
                "type": "Unsubscribe",
            },
            {
                "sender_name": "Zoë Ångström",
                "timestamp_ms": stamp_ms(base + timedelta(minutes=5)),
                "content": "",
                "is_unsent": True,
                "type": "Generic",
            },
        ],
        title="Zoë Ångström",
        participants=["Zoë Ångström", "Riverside Café Club"],
    )


def test_meta_mojibake_is_repaired_and_the_order_is_oldest_first():
    raw = _thread()
    assert "\\u00c3\\u00a9" in raw  # é as Meta writes it
    found = meta.parse_upload(raw.encode(), name="message_1.json")
    assert [m.sender for m in found] == [
        "Riverside Café Club",
        "Zoë Ångström",
        "Zoë Ångström",
        "Riverside Café Club",
        "Zoë Ångström",
    ]
    assert found[0].text == "Café club is on — bring £2 ☕"
    assert found[1].text == "Merci ! 👍"
    assert found[0].conversation == "Zoë Ångström"
    assert found[2].attachment == "photo: 123.jpg"
    assert found[3].attachment == "call (65 s)"
    assert found[4].deleted  # unsent: it was sent, and is gone
    assert found[0].sent_at == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def test_a_meta_download_zip_holds_every_conversation():
    data = meta_download(
        {
            "zoe_1": _thread(),
            "sam_2": meta_thread(
                [
                    {
                        "sender_name": "Sam",
                        "timestamp_ms": stamp_ms(datetime(2026, 11, 20, 9, 0)),
                        "content": "hi",
                    }
                ],
                title="Sam",
                participants=["Sam"],
            ),
        }
    )
    found = meta.parse_upload(data, name="instagram-riverside-2026-11-30.zip")
    assert len(found) == 6
    assert {m.conversation for m in found} == {"Zoë Ångström", "Sam"}


def test_text_meta_did_not_mangle_is_left_as_it_is():
    assert meta.repaired("Zoë") == "Zoë"  # not all bytes: already right
    assert meta.repaired("\u00e9t\u00e9") == "\u00e9t\u00e9"  # bytes, but not UTF-8


def test_meta_files_that_are_not_conversations_are_refused_naming_the_place():
    with pytest.raises(ExportRefused, match="not JSON"):
        meta.parse_upload(b'{"messages": [', name="message_1.json")
    with pytest.raises(ExportRefused, match="no list of messages"):
        meta.parse_upload(b'{"participants": []}', name="message_1.json")
    bad = b'{"messages": [{"sender_name": "A", "timestamp_ms": "yesterday", "content": "x"}]}'
    with pytest.raises(ExportRefused) as refused:
        meta.parse_upload(bad, name="message_1.json")
    assert refused.value.line == 1
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("your_instagram_activity/likes/liked_posts.json", "{}")
    with pytest.raises(ExportRefused, match="no conversations"):
        meta.parse_upload(empty.getvalue(), name="download.zip")


# ---------------------------------------------------------------- any time, any locale

# Wall-clock times a phone can show: every minute of a few years, in any zone people use,
# leaving out the hour a spring-forward skips (no phone shows it).
zones = st.sampled_from(
    ["Europe/London", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
)


@given(
    at=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 31)),
    zone=zones,
    order=st.sampled_from(["dmy", "mdy", "ymd"]),
    twelve=st.booleans(),
    iphone=st.booleans(),
)
def test_any_time_in_any_locale_reads_back_as_the_instant_it_was(at, zone, order, twelve, iphone):
    at = at.replace(microsecond=0) if iphone else at.replace(second=0, microsecond=0)
    place = ZoneInfo(zone)
    local = at.replace(tzinfo=place)
    if local.astimezone(UTC).astimezone(place).replace(tzinfo=None) != at:
        return  # a time the clocks skip
    said = [Said(SCHOOL, at, "hello")]
    text = (
        iphone_chat(said, chat="c", order=order, twelve=twelve)
        if iphone
        else android_chat(said, order=order, twelve=twelve)
    )
    [found] = whatsapp.parse_chat(
        text, file="f", conversation="c", zone=place, order=DateOrder(order)
    )
    assert found.sent_at == local.astimezone(UTC)


# ---------------------------------------------------------------- the school's own tenant


def test_a_google_chat_takeout_holds_each_conversation_with_its_creators_address():
    import json

    from contacts.capture import workspace

    messages = {
        "messages": [
            {
                "creator": {
                    "name": "Sam Okafor",
                    "email": "s.okafor@riverside.sch.uk",
                    "user_type": "Human",
                },
                "created_date": "Tuesday, November 25, 2026 at 4:05:12 PM UTC",
                "text": "Coursework is due Friday",
                "topic_id": "abc",
                "message_id": "dm/xyz/abc",
            },
            {
                "creator": {
                    "name": "Ellie B",
                    "email": "e.b@pupils.riverside.sch.uk",
                    "user_type": "Human",
                },
                "created_date": "Tuesday, 25 November 2026 at 16:09:00 UTC",
                "text": "",
                "attached_files": [
                    {"original_name": "essay.docx", "export_name": "File-essay.docx"}
                ],
                "message_id": "dm/xyz/def",
            },
        ]
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Takeout/Google Chat/Groups/DM abc123/group_info.json", "{}")
        archive.writestr("Takeout/Google Chat/Groups/DM abc123/messages.json", json.dumps(messages))
    found = workspace.parse_takeout(buffer.getvalue(), name="takeout-20261130.zip")
    assert [(m.sender, m.text, m.attachment) for m in found] == [
        ("s.okafor@riverside.sch.uk", "Coursework is due Friday", None),
        ("e.b@pupils.riverside.sch.uk", "", "essay.docx"),
    ]
    assert found[0].sent_at == datetime(2026, 11, 25, 16, 5, 12, tzinfo=UTC)
    assert found[0].conversation == "DM abc123"
    assert found[0].platform_id == "dm/xyz/abc"
    bad = json.dumps({"messages": [{"creator": {"email": "a@b"}, "created_date": "soon"}]})
    with pytest.raises(ExportRefused) as refused:
        workspace.parse_takeout(bad.encode(), name="messages.json")
    assert refused.value.line == 1


def test_teams_messages_from_graph_keep_words_not_markup_and_leave_out_system_events():
    import json

    from contacts.capture import workspace

    graph = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#chats('19%3A...')/messages",
        "value": [
            {
                "id": "1764086952035",
                "messageType": "message",
                "createdDateTime": "2026-11-25T16:09:12.035Z",
                "lastEditedDateTime": "2026-11-25T16:10:00Z",
                "deletedDateTime": None,
                "chatId": "19:abc@unq.gbl.spaces",
                "from": {
                    "user": {
                        "id": "8ea0e38b-efb3",
                        "displayName": "Ellie B",
                        "userIdentityType": "aadUser",
                    }
                },
                "body": {
                    "contentType": "html",
                    "content": "<p>Is it <b>Friday</b>?</p><p>Thanks &amp; bye</p>"
                    "<script>x()</script>",
                },
                "attachments": [],
            },
            {
                "id": "1764086900000",
                "messageType": "systemEventMessage",
                "createdDateTime": "2026-11-25T16:00:00Z",
                "from": None,
                "body": {"contentType": "html", "content": "<systemEventMessage/>"},
            },
            {
                "id": "1764086930000",
                "messageType": "message",
                "createdDateTime": "2026-11-25T16:05:00Z",
                "deletedDateTime": "2026-11-25T16:06:00Z",
                "chatId": "19:abc@unq.gbl.spaces",
                "from": {"user": {"id": "1b2c-teacher", "displayName": "Mr Okafor"}},
                "body": {"contentType": "text", "content": ""},
            },
        ],
    }
    found = workspace.parse_graph(json.dumps(graph).encode(), name="chat-messages.json")
    assert [m.sender for m in found] == ["1b2c-teacher", "8ea0e38b-efb3"]  # oldest first
    assert found[0].deleted
    assert found[1].text == "Is it Friday?\nThanks & bye"
    assert found[1].edited
    assert found[1].sent_at == datetime(2026, 11, 25, 16, 9, 12, 35000, tzinfo=UTC)
    assert found[1].platform_id == "1764086952035"
