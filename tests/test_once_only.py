"""Once-only changes under real concurrency: two people deciding, withdrawing, ending, confirming,
reviewing or recording a discussion at the same moment — exactly one succeeds, every other one is
told 409, and the change record holds one event."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from consent.requests import digest
from tests.support.builders import guardian_with_email, message, request_body, today
from tests.support.servers import Server

TRIALS = 6


@pytest.fixture
def server(app, database_url, tmp_path):  # app: every table emptied first
    running = Server(database_url, str(tmp_path / "server"))
    running.env["CONTACTLOG_JWT_SECRET"] = app.state.settings.jwt_secret  # accept world's tokens
    running.start()
    yield running
    running.stop()


@dataclass
class Attempt:
    who: str | None
    path: str
    body: dict[str, object]
    # A page's form (a parent answering through their link), not the API's JSON.
    form: bool = False


def at_once(server: Server, world, attempts: list[Attempt]) -> list[int]:  # type: ignore[no-untyped-def]
    """Send every attempt at the same instant, each from its own connection; their statuses."""
    clients = [
        httpx.Client(base_url=server.url, headers=world.auth(a.who), timeout=30) for a in attempts
    ]
    for c in clients:  # open each connection first, so the barrier releases requests, not dials
        c.get("/healthz")
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = [0] * len(attempts)

    def go(i: int) -> None:
        barrier.wait()
        a = attempts[i]
        sent = (
            clients[i].post(a.path, data=a.body) if a.form else clients[i].post(a.path, json=a.body)
        )
        statuses[i] = sent.status_code

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    return statuses


def events(db, action: str, object_id: int) -> int:  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM audit_event WHERE action = :a AND object_id = :o"),
                {"a": action, "o": object_id},
            ).scalar_one()
        )


def exactly_one(statuses: list[int], success: int) -> None:
    assert sorted(statuses) == sorted([success] + [409] * (len(statuses) - 1)), statuses


def trials(make: Callable[[], None]) -> None:
    for _ in range(TRIALS):
        make()


def _approved(client, world, school) -> int:  # type: ignore[no-untyped-def]
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()
    client.post(
        f"/contacts/{cid['id']}/decision", json={"approve": True}, headers=world.auth("manager")
    )
    return int(cid["id"])


def test_two_approvers_deciding_at_once(server, client, world, school, db):
    def one() -> None:
        cid = client.post(
            "/contacts", json=request_body(school), headers=world.auth("owner")
        ).json()["id"]
        statuses = at_once(
            server,
            world,
            [
                Attempt(
                    "manager", f"/contacts/{cid}/decision", {"approve": True, "conditions": "C"}
                ),
                Attempt("head", f"/contacts/{cid}/decision", {"approve": False, "reason": "R"}),
            ],
        )
        exactly_one(statuses, 200)
        assert events(db, "contact.approved", cid) + events(db, "contact.rejected", cid) == 1
        shown = client.get(f"/contacts/{cid}", headers=world.auth("dsl")).json()
        # The row holds one person's decision whole: never one's conditions with another's reason.
        if shown["verdict"] == "approved":
            assert shown["decided_by_id"] == world.ids["manager"]
            assert (shown["conditions"], shown["rejection_reason"]) == ("C", None)
        else:
            assert shown["decided_by_id"] == world.ids["head"]
            assert (shown["conditions"], shown["rejection_reason"]) == (None, "R")

    trials(one)


def test_two_people_ending_a_contact_at_once(server, client, world, school, db):
    def one() -> None:
        cid = _approved(client, world, school)
        statuses = at_once(
            server,
            world,
            [
                Attempt("owner", f"/contacts/{cid}/end", {"reason": "Season over"}),
                Attempt("dsl", f"/contacts/{cid}/end", {"reason": "Concern raised"}),
                Attempt("manager", f"/contacts/{cid}/end", {"reason": "Team disbanded"}),
            ],
        )
        exactly_one(statuses, 200)
        assert events(db, "contact.ended", cid) == 1
        with db.engine.connect() as conn:
            tasks = conn.execute(
                text("SELECT count(*) FROM deletion_task WHERE contact_id = :c"), {"c": cid}
            ).scalar_one()
        assert tasks == 2  # one per pupil, not one per caller

    trials(one)


def test_two_withdrawals_of_one_consent_at_once(server, client, world, school, db):
    def one() -> None:
        cid = _approved(client, world, school)
        consent = client.post(
            f"/pupils/{school['young']}/consents",
            json={
                "contact_id": cid,
                "guardian_id": school["guardian"],
                "method": "email",
                "evidence_reference": "mail",
                "given_on": today().isoformat(),
            },
            headers=world.auth("admin"),
        ).json()["id"]
        statuses = at_once(
            server,
            world,
            [
                Attempt("admin", f"/consents/{consent}/withdrawal", {"reason": "Parent asked"}),
                Attempt("dsl", f"/consents/{consent}/withdrawal", {"reason": "Parent phoned"}),
            ],
        )
        exactly_one(statuses, 200)
        assert events(db, "consent.withdrawn", consent) == 1
        assert events(db, "contact.ended", cid) == 1

    trials(one)


def test_two_deletion_confirmations_at_once(server, client, world, school, db):
    def one() -> None:
        cid = _approved(client, world, school)
        client.post(f"/contacts/{cid}/end", json={"reason": "Over"}, headers=world.auth("owner"))
        statuses = at_once(
            server,
            world,
            [
                Attempt("owner", f"/contacts/{cid}/deletion", {"how": "Left the group"}),
                Attempt("owner", f"/contacts/{cid}/deletion", {"how": "Deleted the group"}),
            ],
        )
        exactly_one(statuses, 200)
        assert events(db, "deletion.confirmed", cid) == 1
        with db.engine.connect() as conn:
            hows = conn.execute(
                text("SELECT DISTINCT how FROM deletion_task WHERE contact_id = :c"), {"c": cid}
            ).all()
        assert len(hows) == 1

    trials(one)


def test_two_reviews_of_one_entry_at_once(server, client, world, school, db):
    cid = _approved(client, world, school)

    def one() -> None:
        flagged = client.post(
            f"/contacts/{cid}/messages",
            json=message(device_tag="MY-OWN-PHONE"),
            headers=world.auth("owner"),
        ).json()["id"]
        statuses = at_once(
            server,
            world,
            [
                Attempt("dsl", f"/messages/{flagged}/reviews", {"note": "Spoke to them."}),
                Attempt("trust_dsl", f"/messages/{flagged}/reviews", {"note": "Seen."}),
            ],
        )
        exactly_one(statuses, 201)
        assert events(db, "message.reviewed", flagged) == 1
        with db.engine.connect() as conn:
            reviews = conn.execute(
                text("SELECT count(*) FROM message_review WHERE message_id = :m"), {"m": flagged}
            ).scalar_one()
        assert reviews == 1

    trials(one)


def test_two_discussions_of_one_incident_at_once(server, client, world, school, db):
    def one() -> None:
        incident = client.post(
            "/incidents",
            json={
                "kind": "chance_contact",
                "platform": "facebook",
                "occurred_at": "2026-01-01T10:00:00Z",
                "what_happened": "Seen in a public group",
                "personal_information_shared": False,
                "pupils": [{"pupil_id": school["young"], "part": "initiated"}],
            },
            headers=world.auth("owner"),
        ).json()["id"]
        discussion = {
            "discussed_at": datetime.now(UTC).isoformat(),
            "outcome": "Advised.",
            "parent_involved": False,
        }
        statuses = at_once(
            server,
            world,
            [
                Attempt("manager", f"/incidents/{incident}/discussion", discussion),
                Attempt("head", f"/incidents/{incident}/discussion", discussion),
            ],
        )
        exactly_one(statuses, 200)
        assert events(db, "incident.discussed", incident) == 1

    trials(one)


def test_two_people_asking_parents_for_consent_at_once(server, client, world, school, db):
    guardian_with_email(client, world, school)

    def one() -> None:
        cid = _approved(client, world, school)
        statuses = at_once(
            server,
            world,
            [
                Attempt("admin", f"/contacts/{cid}/consent-requests", {}),
                Attempt("dsl", f"/contacts/{cid}/consent-requests", {}),
            ],
        )
        assert sorted(statuses) == [201, 422], statuses  # the second finds her already asked
        with db.engine.connect() as conn:
            sent = conn.execute(
                text("SELECT count(*) FROM consent_request WHERE contact_id = :c"), {"c": cid}
            ).scalar_one()
        assert sent == 1

    trials(one)


def test_a_parent_answering_twice_at_once(server, client, world, school, db):
    guardian_with_email(client, world, school)

    def one() -> None:
        cid = _approved(client, world, school)
        client.post(f"/contacts/{cid}/consent-requests", headers=world.auth("admin"))
        # The link as the parent's email holds it: set a known one, as only its hash is kept.
        token = f"known-link-{cid}"
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE consent_request SET token_hash = :h WHERE contact_id = :c"),
                {"h": digest(token), "c": cid},
            )
        statuses = at_once(
            server,
            world,
            [
                Attempt(None, f"/consent/{token}", {"choice": "give"}, form=True),
                Attempt(None, f"/consent/{token}", {"choice": "decline"}, form=True),
            ],
        )
        exactly_one(statuses, 200)
        with db.engine.connect() as conn:
            consents = conn.execute(
                text("SELECT count(*) FROM consent WHERE contact_id = :c"), {"c": cid}
            ).scalar_one()
            answered = conn.execute(
                text("SELECT answer FROM consent_request WHERE contact_id = :c"), {"c": cid}
            ).scalar_one()
        assert consents == (1 if answered == "given" else 0)

    trials(one)


def test_two_admins_resetting_one_second_factor_at_once(server, client, world, school, db):
    """Yesterday both were filed: confirmed one after the other, the second removed the factor
    its owner had enrolled again in between."""
    targets = iter(["manager", "other_manager", "owner", "other_staff", "dsl", "head"])

    def one() -> None:
        target = world.ids[next(targets)]
        statuses = at_once(
            server,
            world,
            [
                Attempt("admin", f"/staff/{target}/mfa-reset", {}),
                Attempt("trust_admin", f"/staff/{target}/mfa-reset", {}),
            ],
        )
        assert sorted(statuses) == [202, 409], statuses
        with db.engine.connect() as conn:
            waiting = conn.execute(
                text("SELECT count(*) FROM pending_change WHERE staff_id = :s"), {"s": target}
            ).scalar_one()
        assert waiting == 1

    trials(one)


def test_two_case_managers_closing_a_concern_at_once(server, client, world, db):
    """The headteacher and the DSL close the same case in the same instant: one outcome is
    recorded, the other is told the case is closed."""

    def one() -> None:
        cid = client.post(
            "/concerns",
            json={
                "kind": "low_level",
                "subject_staff_id": world.ids["owner"],
                "happened_at": "2026-01-01T10:00:00Z",
                "what_happened": "Followed a pupil from a personal account",
            },
            headers=world.auth("other_staff"),
        ).json()["id"]
        day = today().isoformat()
        statuses = at_once(
            server,
            world,
            [
                Attempt(
                    "head",
                    f"/concerns/{cid}/outcome",
                    {"outcome": "addressed", "outcome_on": day, "reason": "Advice given"},
                ),
                Attempt(
                    "dsl",
                    f"/concerns/{cid}/outcome",
                    {"outcome": "no_further_action", "outcome_on": day, "reason": "Nothing"},
                ),
            ],
        )
        exactly_one(statuses, 200)
        assert events(db, "concern.closed", cid) == 1

    trials(one)
