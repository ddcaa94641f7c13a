"""Nothing personal where it does not belong (§7): a day of the protocol, with its mistakes and
refusals, leaves no pupil's name, guardian's address or message text in the server's logs or in
any error body."""

from __future__ import annotations

import logging

from core import clock
from scheduler.runner import run_job
from tests.support.builders import dob, message, request_body, today

PUPIL = ("Zephyrine", "Quillfeather")
GUARDIAN_EMAIL = "zq.parent@example.net"
TEXT = "Zephyrine, your kit is at the lodge"
SECRETS = (*PUPIL, GUARDIAN_EMAIL, TEXT, "lodge")


def test_a_day_of_the_protocol_leaves_no_personal_data_in_logs_or_errors(
    client, world, school, db, mail_settings, caplog
):
    caplog.set_level(logging.DEBUG)
    admin, owner, manager, dsl = (world.auth(w) for w in ("admin", "owner", "manager", "dsl"))
    errors: list[str] = []

    def call(method: str, url: str, headers: dict[str, str], json: object = None):  # type: ignore[no-untyped-def]
        response = client.request(method, url, headers=headers, json=json)
        if response.status_code >= 400:
            errors.append(response.text)
        return response

    pupil = call(
        "POST",
        "/pupils",
        admin,
        {
            "given_name": PUPIL[0],
            "family_name": PUPIL[1],
            "date_of_birth": dob(13),
            "school_reference": "ZQ1",
        },
    ).json()
    call(
        "POST",
        f"/pupils/{pupil['id']}/guardians",
        admin,
        {
            "name": "Mrs Quillfeather",
            "relationship": "mother",
            "email": GUARDIAN_EMAIL,
            "has_parental_responsibility": True,
        },
    )
    # Mistakes that carry the same personal data
    call(
        "POST",
        "/pupils",
        admin,
        {
            "given_name": PUPIL[0],
            "family_name": PUPIL[1] * 50,
            "date_of_birth": dob(13),
            "school_reference": "ZQ2",
        },
    )
    call(
        "POST",
        "/pupils",
        admin,
        {
            "given_name": PUPIL[0],
            "family_name": PUPIL[1],
            "date_of_birth": "13 years ago",
            "school_reference": "ZQ3",
        },
    )
    call(
        "POST",
        "/pupils",
        admin,
        {
            "given_name": PUPIL[0],
            "family_name": PUPIL[1],
            "date_of_birth": dob(13),
            "school_reference": "ZQ1",
        },
    )
    call(
        "POST",
        "/pupils",
        owner,
        {
            "given_name": PUPIL[0],
            "family_name": PUPIL[1],
            "date_of_birth": dob(13),
            "school_reference": "ZQ4",
        },
    )

    body = request_body(school, pupil_ids=[pupil["id"]])
    cid = call("POST", "/contacts", owner, body).json()["id"]
    call("POST", f"/contacts/{cid}/decision", manager, {"approve": True})
    call("POST", f"/contacts/{cid}/messages", owner, message(summary=TEXT, verbatim=TEXT))
    call("POST", f"/contacts/{cid}/messages", owner, message(summary=TEXT, device_tag="MY-PHONE"))
    call("POST", f"/contacts/{cid}/messages", owner, message(summary=TEXT, occurred_at="tomorrow"))
    call("POST", f"/contacts/{cid}/messages", dsl, message(summary=TEXT))
    call(
        "POST",
        "/incidents",
        owner,
        {
            "kind": "chance_contact",
            "platform": "instagram",
            "occurred_at": clock.now().isoformat(),
            "what_happened": TEXT,
            "personal_information_shared": False,
            "other_person": GUARDIAN_EMAIL,
        },
    )
    call("POST", "/auth/password-reset", {}, {"email": GUARDIAN_EMAIL})
    call("POST", "/auth/token", {}, None)
    client.post("/auth/token", data={"username": GUARDIAN_EMAIL, "password": TEXT})
    call("GET", "/messages?staff_id=999999", dsl)
    call("GET", f"/pupils/{pupil['id']}/chronology", dsl)
    call("POST", f"/contacts/{cid}/end", owner, {"reason": TEXT})
    for name in ("end_sweep", "deletion_reminders", "alerts", "outbox"):
        run_job(name, db, mail_settings, clock.now())
    assert today()  # the day ran

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert logged, "the day was logged"
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} appears in the logs"
        for error in errors:
            assert secret not in error, f"{secret!r} appears in an error body: {error}"
    assert len(errors) >= 6  # the mistakes above were refused, and were looked at
