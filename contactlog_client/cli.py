"""`contactlog` for staff: sign in, see my contacts, log a message in one line, confirm deletion."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from contactlog_client import (
    approvals,  # noqa: F401  (registers incident, pending, decide)
    captured,  # noqa: F401  (registers missing, log-captured)
)
from contactlog_client.common import JsonOption, app, emit, err, fail, out, run, signed_in
from contactlog_client.http import (
    Api,
    ClientError,
    NotSignedIn,
    Refused,
    SecondFactorRequired,
    Unreachable,
)
from contactlog_client.store import (
    Credentials,
    Queue,
    QueuedEntry,
    device_token,
    keep_device_token,
)

__all__ = ["app"]  # the staff commands, which the `contactlog` entry point hands over to


@app.command()
def login(
    email: Annotated[
        str | None,
        typer.Option(help="Your school email; asked for if left out", show_default=False),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Leave it out to be asked (typed unseen); when standard input is piped, "
            "its first line is read instead",
            show_default=False,
        ),
    ] = None,
    server: Annotated[str, typer.Option(help="The contactlog server")] = "http://127.0.0.1:8000",
    device: Annotated[str | None, typer.Option(help="Your school device's asset tag")] = None,
    otp: Annotated[
        str | None,
        typer.Option(
            help="The code from your authenticator app (or a recovery code); asked for when "
            "your account needs one",
            show_default=False,
        ),
    ] = None,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser",
            help="Sign in through the web pages instead: you are shown a code to type there, "
            "and no password is typed here",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sign in; the token is kept in your config folder, readable by you only."""
    if browser:
        _login_in_browser(server, device, as_json)
        return
    if email is None:
        email = str(typer.prompt("Email"))
    if password is None:
        password = _ask_password()
    api = Api(server)
    form = {"username": email, "password": password, **({"otp": otp} if otp else {})}
    if known := device_token(server, email):
        form["device_token"] = known
    try:
        answer = api.request("POST", "/auth/token", data=form)
    except SecondFactorRequired:
        if otp:
            raise fail(Refused("The email, password or code is incorrect.")) from None
        form["otp"] = str(typer.prompt("Code from your authenticator app"))
        answer = run(lambda: api.request("POST", "/auth/token", data=form))
    except ClientError as exc:
        raise fail(exc) from None
    if answer.get("enrol_only"):
        err.print(
            "Your account must use a second factor before anything else: set it up with "
            "`contactlog mfa`, then sign in again."
        )
    if answer.get("device_token"):
        keep_device_token(server, email, answer["device_token"])
    previous = Credentials.load()
    kept_device = device or (previous.device if previous and previous.email == email else None)
    Credentials(server=server, email=email, token=answer["access_token"], device=kept_device).save()
    me = run(lambda: Api(server, answer["access_token"]).request("GET", "/me"))
    emit(me, as_json, lambda: out.print(f"Signed in as {me['name']} ({me['school_name']})."))


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _login_in_browser(server: str, device: str | None, as_json: bool) -> None:
    """OAuth 2.0 device authorization grant (RFC 8628): a code to type in the browser, where
    the person signs in as their account does; then this client's token, polled for."""
    import platform
    import time

    api = Api(server)
    asked = run(
        lambda: api.request(
            "POST",
            "/auth/device",
            data={"client_id": "contactlog-cli", "client_name": f"contactlog on {platform.node()}"},
        )
    )
    err.print(
        f"Open {asked['verification_uri']} and type the code [bold]{asked['user_code']}[/bold]"
        f"\n(or open {asked['verification_uri_complete']}). Waiting for you to approve it…"
    )
    interval = int(asked["interval"])
    deadline = time.monotonic() + int(asked["expires_in"])
    form = {"grant_type": DEVICE_GRANT, "device_code": asked["device_code"]}
    while True:
        time.sleep(interval)
        try:
            answer = api.request(
                "POST", "/auth/device/token", data={**form, "client_id": "contactlog-cli"}
            )
            break
        except Refused as refused:
            if refused.error == "authorization_pending" and time.monotonic() < deadline:
                continue
            if refused.error == "slow_down":
                interval += 5
                continue
            raise fail(refused) from None
        except ClientError as exc:
            raise fail(exc) from None
    token = answer["access_token"]
    me = run(lambda: Api(server, token).request("GET", "/me"))
    if answer.get("device_token"):
        keep_device_token(server, me["email"], answer["device_token"])
    previous = Credentials.load()
    kept = device or (previous.device if previous and previous.email == me["email"] else None)
    Credentials(server=server, email=me["email"], token=token, device=kept).save()
    emit(me, as_json, lambda: out.print(f"Signed in as {me['name']} ({me['school_name']})."))


def _ask_password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True))
    # Piped (a password manager, a script): the first line as it is, never stripped.
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


@app.command()
def mfa(
    code: Annotated[
        str | None, typer.Option(help="A first code from the app; asked for if left out")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Set up your second factor: add the secret to an authenticator app, confirm a code, and
    keep the recovery codes somewhere safe."""
    api, _ = run(signed_in)
    enrolment = run(lambda: api.request("POST", "/me/mfa"))
    if not as_json:
        out.print("Add this account to your authenticator app (scan the link, or type the key):")
        out.print(f"  {enrolment['otpauth_uri']}")
        out.print(f"  key: {enrolment['secret']}")
    first = code or str(typer.prompt("The code the app shows now"))
    done = run(lambda: api.request("POST", "/me/mfa/confirm", json={"code": first}))
    emit(
        {**done, "secret": enrolment["secret"]},
        as_json,
        lambda: out.print(
            "Second factor on. Recovery codes (each works once; keep them safe):\n  "
            + "\n  ".join(done["recovery_codes"])
            + "\nNow sign in again: contactlog login"
        ),
    )


@app.command()
def logout(as_json: JsonOption = False) -> None:
    """Sign out everywhere: every token you hold stops working."""
    creds = Credentials.load()
    if creds is not None:
        try:
            Api(creds.server, creds.token).request("POST", "/auth/revoke")
        except NotSignedIn:
            pass  # already expired or revoked: nothing left to revoke
        except ClientError as exc:
            raise fail(exc) from None
    Credentials.forget()
    emit({"signed_out": True}, as_json, lambda: out.print("Signed out."))


@app.command()
def whoami(as_json: JsonOption = False) -> None:
    """Who am I signed in as."""
    api, _ = run(signed_in)
    me = run(lambda: api.request("GET", "/me"))
    emit(
        me,
        as_json,
        lambda: out.print(
            f"{me['name']} <{me['email']}>, {me['school_name']}; roles: {', '.join(me['roles'])}"
        ),
    )


@app.command()
def contacts(as_json: JsonOption = False) -> None:
    """My contacts: state, end date, each pupil's consent state, open deletion tasks."""
    api, _ = run(signed_in)
    me = run(lambda: api.request("GET", "/me"))
    mine = run(lambda: api.request("GET", "/contacts", params={"staff_id": me["id"], "limit": 200}))
    tasks = run(lambda: api.request("GET", "/deletion-tasks", params={"limit": 200}))
    open_tasks: dict[int, int] = {}
    for task in tasks["items"]:
        if task["staff_id"] == me["id"]:
            open_tasks[task["contact_id"]] = open_tasks.get(task["contact_id"], 0) + 1
    data = [{**c, "open_deletion_tasks": open_tasks.get(c["id"], 0)} for c in mine["items"]]

    def table() -> None:
        grid = Table("id", "platform", "account", "state", "ends", "pupils", "to delete")
        for c in data:
            pupils = ", ".join(
                f"{p.get('name') or 'a pupil'} ({p['state'].replace('_', ' ')})"
                for p in c["pupils"]
            )
            grid.add_row(
                str(c["id"]),
                c["platform"],
                c["school_account"],
                "active" if c.get("active") else c["state"],
                c["ends_on"],
                pupils,
                str(c["open_deletion_tasks"] or ""),
            )
        out.print(grid if data else "You have no contacts.")

    emit(data, as_json, table)


@app.command()
def request(
    pupil: Annotated[list[str], typer.Option(help="Pupil's school reference (repeat)")],
    platform: Annotated[str, typer.Option(help="facebook, instagram, whatsapp, x, ...")],
    account: Annotated[str, typer.Option(help="The school account you will use")],
    purpose: Annotated[str, typer.Option(help="The work purpose")],
    device: Annotated[list[int], typer.Option(help="Registered device id (repeat)")],
    starts: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day")],
    ends: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day")],
    platform_name: Annotated[str | None, typer.Option(help="Name, when platform is other")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ask your line manager, in advance, for contact with pupils."""
    api, _ = run(signed_in)
    body = {
        "pupil_references": pupil,
        "platform": platform,
        "platform_name": platform_name,
        "school_account": account,
        "purpose": purpose,
        "device_ids": device,
        "starts_on": starts.date().isoformat(),
        "ends_on": ends.date().isoformat(),
    }
    key = QueuedEntry(contact_id=0, body=body).key
    created = run(lambda: api.request("POST", "/contacts", json=body, key=key))
    emit(
        created,
        as_json,
        lambda: out.print(
            f"Requested contact #{created['id']}; it waits for your line manager's decision."
        ),
    )


def _send_entry(api: Api, entry: QueuedEntry) -> dict[str, Any]:
    result: dict[str, Any] = api.request(
        "POST", f"/contacts/{entry.contact_id}/messages", json=entry.body, key=entry.key
    )
    return result


@app.command()
def log(
    contact: Annotated[int, typer.Argument(help="Contact number")],
    summary: Annotated[str, typer.Option(help="What was said, in a line")],
    sent: Annotated[bool, typer.Option("--sent", help="You sent it")] = False,
    received: Annotated[bool, typer.Option("--received", help="You received it")] = False,
    at: Annotated[datetime | None, typer.Option(help="When (default: now)")] = None,
    device: Annotated[str | None, typer.Option(help="Device asset tag (remembered)")] = None,
    text: Annotated[Path | None, typer.Option(help="File with the verbatim text")] = None,
    pupil: Annotated[list[int] | None, typer.Option(help="Only these pupils (ids)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Log a communication. If the server cannot be reached it is queued; `sync` sends it."""
    if sent == received:
        err.print("[red]error:[/red] say --sent or --received")
        raise typer.Exit(2)
    api, creds = run(signed_in)
    tag = device or creds.device
    if not tag:
        err.print(
            "[red]error:[/red] say which school device: --device ASSET-TAG (it is remembered)"
        )
        raise typer.Exit(2)
    if device and device != creds.device:
        creds.device = device
        creds.save()
    when = at if at is not None else datetime.now(UTC)
    body: dict[str, Any] = {
        "direction": "sent" if sent else "received",
        "occurred_at": (when if when.tzinfo else when.astimezone()).isoformat(),
        "summary": summary,
        "device_tag": tag,
    }
    if text is not None:
        body["verbatim"] = text.read_text()
    if pupil:
        body["pupil_ids"] = pupil
    entry = QueuedEntry(contact_id=contact, body=body)
    try:
        logged = _send_entry(api, entry)
    except Unreachable as exc:
        Queue().add(entry)
        err.print(f"[yellow]queued:[/yellow] {exc.message}. Run `contactlog sync` later.")
        raise typer.Exit(Unreachable.exit_code) from None
    except ClientError as exc:
        raise fail(exc) from None
    flags = logged["flags"]
    emit(
        logged,
        as_json,
        lambda: out.print(
            f"Logged entry #{logged['id']} on contact #{contact}"
            + (f" [yellow](flagged: {', '.join(flags)})[/yellow]" if flags else ".")
        ),
    )


@app.command()
def sync(as_json: JsonOption = False) -> None:
    """Send queued entries, each with its original key: nothing is lost or doubled."""
    api, _ = run(signed_in)
    queue = Queue()
    remaining, sent, refused = [], [], []
    for entry in queue.entries():
        try:
            sent.append(_send_entry(api, entry)["id"])
        except Unreachable:
            remaining.append(entry)
        except Refused as exc:
            refused.append({"contact_id": entry.contact_id, "error": exc.message})
        except ClientError as exc:
            queue.replace(remaining + [e for e in queue.entries() if e not in remaining])
            raise fail(exc) from None
    queue.replace(remaining)
    result = {"sent": sent, "refused": refused, "still_queued": len(remaining)}
    emit(
        result,
        as_json,
        lambda: out.print(
            f"Sent {len(sent)}; refused {len(refused)}; still queued {len(remaining)}."
        ),
    )
    for problem in refused:
        err.print(f"[red]refused[/red] (contact #{problem['contact_id']}): {problem['error']}")
    if remaining:
        raise typer.Exit(Unreachable.exit_code)
    if refused:
        raise typer.Exit(Refused.exit_code)


@app.command("confirm-deletion")
def confirm_deletion(
    contact: Annotated[int, typer.Argument(help="Contact number")],
    how: Annotated[str, typer.Option(help="What you removed, e.g. 'left and deleted the group'")],
    pupil: Annotated[int | None, typer.Option(help="Only this pupil's task")] = None,
    as_json: JsonOption = False,
) -> None:
    """Confirm the contact method was deleted (§5.6)."""
    api, _ = run(signed_in)
    body: dict[str, Any] = {"how": how, **({"pupil_id": pupil} if pupil else {})}
    key = QueuedEntry(contact_id=contact, body=body).key
    done = run(lambda: api.request("POST", f"/contacts/{contact}/deletion", json=body, key=key))
    emit(
        done,
        as_json,
        lambda: out.print(
            f"Confirmed: the contact method is deleted; contact #{contact} is now {done['state']}."
        ),
    )


@app.command()
def end(
    contact: Annotated[int, typer.Argument(help="Contact number")],
    reason: Annotated[str, typer.Option(help="Why it ends now")],
    pupil: Annotated[int | None, typer.Option(help="Only for this pupil")] = None,
    as_json: JsonOption = False,
) -> None:
    """End a contact now, for everyone or one pupil; then delete the method and confirm it."""
    api, _ = run(signed_in)
    body: dict[str, Any] = {"reason": reason, **({"pupil_id": pupil} if pupil else {})}
    key = QueuedEntry(contact_id=contact, body=body).key
    ended = run(lambda: api.request("POST", f"/contacts/{contact}/end", json=body, key=key))
    emit(ended, as_json, lambda: out.print(f"Contact #{contact} is now {ended['state']}."))


if __name__ == "__main__":
    sys.exit(app())
