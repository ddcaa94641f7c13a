"""Client commands for what the platform captured: the messages missing from my log, and logging
one of them (its time, direction, pupils and words come from the capture; I say what about)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import typer
from rich.table import Table

from contactlog_client.common import JsonOption, app, emit, out, run, signed_in


@app.command()
def missing(as_json: JsonOption = False) -> None:
    """The messages the platform captured on my contacts that are not in my log yet."""
    api, _ = run(signed_in)
    me = run(lambda: api.request("GET", "/me"))
    mine = run(lambda: api.request("GET", "/contacts", params={"staff_id": me["id"], "limit": 200}))
    found: list[dict[str, Any]] = []
    for contact in mine["items"]:
        seen = run(partial(api.request, "GET", f"/contacts/{contact['id']}/reconciliation"))
        for m in seen["not_logged"] + seen["breaches"] + seen["unknown_participants"]:
            if m["matched_message_id"] is None and m["flagged_message_id"] is None:
                found.append({**m, "school_account": contact["school_account"]})
    found.sort(key=lambda m: m["sent_at"])

    def table() -> None:
        grid = Table("id", "contact", "when", "way", "words", "log by")
        for m in found:
            words = m["content"] or f"[{m['attachment'] or 'deleted'}]"
            grid.add_row(
                str(m["id"]),
                f"#{m['contact_id']} {m['school_account']}",
                m["sent_at"][:16].replace("T", " "),
                m["direction"],
                words if len(words) <= 60 else words[:57] + "...",
                (m["log_by"] or "")[:10],
            )
        out.print(grid if found else "Nothing captured is missing from your log.")

    emit(found, as_json, table)


@app.command("log-captured")
def log_captured(
    captured: Annotated[
        int, typer.Argument(help="The captured message's number (missing lists it)")
    ],
    summary: Annotated[str, typer.Option(help="What it was about, in a sentence")],
    device: Annotated[str, typer.Option(help="The school device's tag, e.g. PE-IPAD")],
    as_json: JsonOption = False,
) -> None:
    """Log a captured message missing from my log."""
    api, _ = run(signed_in)
    body = {"summary": summary, "device_tag": device}
    entry = run(lambda: api.request("POST", f"/captures/messages/{captured}/log", json=body))
    emit(entry, as_json, lambda: out.print(f"Logged entry #{entry['id']} from the capture."))
