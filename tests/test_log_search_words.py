"""A DSL searches the log by the words of its summaries (issue: pages a school runs on, item 2):
the same answers on SQLite's FTS5 and PostgreSQL's full-text search, English stemming on both,
what is typed never read as the engines' syntax, redacted words found no more, and the words
searched for kept out of the change record and the access log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text as sql

from tests.support.builders import log
from tests.support.ground import assert_problem
from tests.support.pages import as_person, form_token


@pytest.fixture
def entries(client, world, contact):  # type: ignore[no-untyped-def]
    return {
        "kickoff": log(client, world, contact, summary="Reminded the team of Saturday's kick-off")[
            "id"
        ],
        "kit": log(client, world, contact, summary="Kit list for the away match at Riverside")[
            "id"
        ],
        "lift": log(client, world, contact, summary="Asked whether a lift home was possible")["id"],
    }


def found(client, world, words: str, who: str = "dsl") -> list[int]:  # type: ignore[no-untyped-def]
    answer = client.get("/messages", params={"text": words}, headers=world.auth(who))
    assert answer.status_code == 200, answer.text
    return [m["id"] for m in answer.json()["items"]]


def test_every_word_must_be_there_and_stems_match(client, world, entries):
    assert found(client, world, "kick-off") == [entries["kickoff"]]
    assert found(client, world, "reminders") == [entries["kickoff"]]  # reminded, stemmed
    assert found(client, world, "LIFT home") == [entries["lift"]]
    assert found(client, world, "lift kit") == []  # both words, in no one summary
    assert found(client, world, "away matches") == [entries["kit"]]


@pytest.mark.parametrize(
    "typed",
    ['"', "kit OR lift", "kit*", "NEAR(kit lift)", "summary:kit", "kit AND NOT lift", "'; --"],
)
def test_what_is_typed_is_only_ever_words(client, world, entries, typed):
    # Never an engine's syntax: "kit OR lift" asks for all three words, and finds none.
    answer = client.get("/messages", params={"text": typed}, headers=world.auth("dsl"))
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert_problem(answer, 422, detail_contains="word")
    else:
        assert set(m["id"] for m in answer.json()["items"]) <= {entries["kit"]}


def test_a_search_without_a_word_is_refused_clearly(client, world, entries):
    assert_problem(
        client.get("/messages", params={"text": "!!! ..."}, headers=world.auth("dsl")),
        422,
        detail_contains="at least one word",
    )


def test_words_search_within_the_reader_s_scope_only(client, world, entries):
    assert found(client, world, "kit", who="other_staff") == []
    assert found(client, world, "kit", who="other_school") == []
    assert found(client, world, "kit", who="owner") == [entries["kit"]]


def test_redacted_words_are_found_no_more(client, world, entries, db):
    # As retention's redaction does: the summary replaced in place.
    with db.engine.begin() as conn:
        conn.execute(
            sql("UPDATE message SET summary = '[redacted]' WHERE id = :id"),
            {"id": entries["lift"]},
        )
    assert found(client, world, "lift") == []
    assert found(client, world, "redacted") == [entries["lift"]]


def test_the_change_record_says_words_were_searched_never_which(client, world, entries):
    found(client, world, "lift home")
    events = client.get(
        "/audit/events", params={"action": "access.search"}, headers=world.auth("trust_dsl")
    ).json()["items"]
    assert events, "the search is on the record"
    assert events[-1]["details"].get("text_words") == 2
    assert "lift" not in str(events[-1]["details"])


def test_the_dsl_searches_by_words_on_the_page(client, db, world, entries):
    as_person(client, db, world, "dsl")
    page = client.get("/app/log", params={"text": "kick-off"})
    assert page.status_code == 200
    assert "Reminded the team of Saturday" in page.text
    assert "Asked whether a lift" not in page.text
    assert 'value="kick-off"' in page.text  # kept in the box
    form_token(page.text)


def test_the_access_log_never_shows_what_was_searched_for(app):
    access = logging.getLogger("uvicorn.access")
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", "/app/log?text=Ava+Thompson&pupil_id=3", "1.1", 200),
        None,
    )
    for keep in access.filters:
        keep.filter(record)  # type: ignore[union-attr]
    line = record.getMessage()
    assert "Ava" not in line
    assert "/app/log?…" in line
