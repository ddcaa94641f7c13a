"""Client commands beyond the daily log: incidents, and approvers' requests and decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from contactlog_client.common import JsonOption, app, emit, err, out, run, signed_in
from contactlog_client.store import QueuedEntry


@app.command()
def incident(
    kind: Annotated[
        str, typer.Option(help="unsolicited_contact, chance_contact, harassment_or_abuse or other")
    ],
    platform: Annotated[str, typer.Option(help="Where it happened")],
    what: Annotated[str, typer.Option(help="What happened")],
    at: Annotated[datetime | None, typer.Option(help="When (default: now)")] = None,
    pupil: Annotated[
        list[str] | None, typer.Option(help="PUPIL_ID:PART, e.g. 12:initiated")
    ] = None,
    other_person: Annotated[str | None, typer.Option(help="Someone other than a pupil")] = None,
    shared: Annotated[bool, typer.Option(help="Personal information was shared")] = False,
    as_json: JsonOption = False,
) -> None:
    """Record unsolicited or chance contact, or abuse received (§5.2, §4.2)."""
    api, _ = run(signed_in)
    pupils = []
    for item in pupil or []:
        pupil_id, _, part = item.partition(":")
        if not pupil_id.isdigit():
            err.print(f"[red]error:[/red] --pupil takes PUPIL_ID:PART, not {item!r}")
            raise typer.Exit(2)
        pupils.append({"pupil_id": int(pupil_id), "part": part or "other"})
    when = at if at is not None else datetime.now(UTC)
    body = {
        "kind": kind,
        "platform": platform,
        "what_happened": what,
        "occurred_at": (when if when.tzinfo else when.astimezone()).isoformat(),
        "pupils": pupils,
        "other_person": other_person,
        "personal_information_shared": shared,
    }
    key = QueuedEntry(contact_id=0, body=body).key
    made = run(lambda: api.request("POST", "/incidents", json=body, key=key))
    emit(
        made,
        as_json,
        lambda: out.print(
            f"Recorded incident #{made['id']}; your line manager and the DSL have been told."
        ),
    )


@app.command()
def pending(as_json: JsonOption = False) -> None:
    """Approvers: requests waiting for your decision."""
    api, _ = run(signed_in)
    me = run(lambda: api.request("GET", "/me"))
    waiting = run(
        lambda: api.request("GET", "/contacts", params={"state": "requested", "limit": 200})
    )
    data = [c for c in waiting["items"] if c["staff_id"] != me["id"]]

    def table() -> None:
        grid = Table("id", "staff", "pupils", "platform", "account", "from", "to", "purpose")
        for c in data:
            grid.add_row(
                str(c["id"]),
                c.get("staff_name") or "a colleague",
                ", ".join(p.get("name") or "a pupil" for p in c["pupils"]),
                c["platform"],
                c["school_account"],
                c["starts_on"],
                c["ends_on"],
                c["purpose"],
            )
        out.print(grid if data else "Nothing is waiting for you.")

    emit(data, as_json, table)


@app.command()
def decide(
    contact: Annotated[int, typer.Argument(help="Contact number")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Approve or reject")],
    conditions: Annotated[str | None, typer.Option(help="Conditions of an approval")] = None,
    note: Annotated[str | None, typer.Option(help="A note with an approval")] = None,
    reason: Annotated[str | None, typer.Option(help="Reason for a rejection")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approvers: decide a request in writing."""
    api, _ = run(signed_in)
    body: dict[str, Any] = {"approve": approve}
    if conditions:
        body["conditions"] = conditions
    if note:
        body["note"] = note
    if reason:
        body["reason"] = reason
    key = QueuedEntry(contact_id=contact, body=body).key
    decided = run(lambda: api.request("POST", f"/contacts/{contact}/decision", json=body, key=key))
    verdict = "approved" if approve else "rejected"
    emit(
        decided,
        as_json,
        lambda: out.print(
            f"Contact #{contact} {verdict} in writing; it is now {decided['state']}."
        ),
    )
