"""The `contactlog` command: serve, migrate, seed the demo, create users, import pupils.

Each command imports what it uses when it runs, not before: the staff client's commands and
`--help` must not wait for the server, its database layer, the scheduler and the migrations to
load (seconds), only for the command line itself.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from api.sso_cli import sso_app
from contactlog_client.cli import app as staff_client
from core.roles import Role

if TYPE_CHECKING:
    from core.db import Database
    from core.errors import DomainError
    from core.settings import Settings

app = typer.Typer(help="contactlog: staff-pupil online contact, approved, consented and logged.")
users_app = typer.Typer(help="Staff accounts.")
jobs_app = typer.Typer(help="Scheduled jobs, run now.")
app.add_typer(jobs_app, name="jobs")
import_app = typer.Typer(help="Imports from the school's MIS.")
app.add_typer(users_app, name="users")
# The staff client's commands (login, log, sync, ...) live in their own package, which imports
# nothing from the server; on a server they share the one `contactlog` command.
app.registered_commands.extend(staff_client.registered_commands)
app.add_typer(import_app, name="import")
audit_app = typer.Typer(help="The change record's signed checkpoints.")
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="The key held outside the database (CONTACTLOG_SECRET_KEY).")
app.add_typer(keys_app, name="keys")
witness_app = typer.Typer(help="This deployment as a witness for other trusts' logs.")
app.add_typer(witness_app, name="witness")
capture_app = typer.Typer(help="What the platforms capture on school-owned accounts.")
app.add_typer(capture_app, name="capture")
retention_app = typer.Typer(help="The retention schedule: what is due, and applying it.")
app.add_typer(retention_app, name="retention")
app.add_typer(sso_app, name="sso")

console = Console()
errors = Console(stderr=True)


# `--at`: run as of another instant (a job, retention); UTC unless an offset is given.
AsOf = Annotated[
    datetime | None,
    typer.Option(
        help="As of this instant (ISO 8601; UTC unless an offset is given; default now)",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"],
    ),
]


def _instant(at: datetime | None) -> datetime:
    from core.clock import now

    if at is None:
        return now()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _settings() -> Settings:
    from core.settings import Settings

    try:
        return Settings()
    except ValueError as exc:
        errors.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _database(settings: Settings) -> Database:
    from core.db import Database

    return Database(settings.resolved_database_url)


def _fail(exc: DomainError) -> typer.Exit:
    errors.print(f"[red]{exc.title}:[/red] {exc.detail}")
    for item in exc.extra.get("errors", [])[:50]:
        where = f"row {item['row']}, " if "row" in item else ""
        errors.print(f"  {where}{item.get('field', '')}: {item.get('message', '')}")
    return typer.Exit(1)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest migration."""
    from api.schema import upgrade

    settings = _settings()
    db = _database(settings)
    upgrade(db.engine)
    db.dispose()
    console.print("Database schema is up to date.")


@app.command("demo")
def demo_command() -> None:
    """Seed the demo trust on an empty database, and print the demo sign-ins."""
    from api import demo
    from core.clock import now
    from core.identity.security import Passwords

    settings = _settings()
    if settings.environment == "production":
        errors.print("[red]The demo data is not for production.[/red]")
        raise typer.Exit(2)
    db = _database(settings)
    with db.transaction() as session:
        if demo.is_seeded(session):
            console.print("The database already has data; the demo was not added again.")
        else:
            demo.seed(session=session, settings=settings, passwords=Passwords(settings), at=now())
            console.print("Demo trust created.")
    db.dispose()
    console.print(f"\nDemo sign-ins (password for every one: {demo.DEMO_PASSWORD})")
    for person in demo.sign_ins(settings):
        # Plain lines, so the emails are never cut however narrow the terminal.
        code = "  + code" if person.second_factor else ""
        print(f"  {person.email:<38} {person.name:<14} {person.school:<18} {person.roles}{code}")
    key = demo.DEMO_TOTP_SECRET
    print(
        "\nAccounts marked '+ code' sign in with a second factor. Add this key to an "
        f"authenticator app:\n  {key}\nor print the current code with:\n"
        f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{key}').now())\""
    )
    print(
        f"\nSign in to the web pages at {settings.public_url}/ (the API's documents are at "
        f"{settings.public_url}/docs)."
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    from api import logs

    settings = _settings()
    logs.configure(settings)
    docs = f" (API docs: http://{host}:{port}/docs)" if settings.docs_served else ""
    console.print(f"contactlog on http://{host}:{port}{docs}")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        access_log=True,
        log_config=None,  # the format set above (plain or JSON lines), not uvicorn's own
        # Nothing tells a visitor which server software answers.
        server_header=False,
        # The h11 parser's own cap on a request's head; the app caps headers on every parser.
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )


@app.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler as its own process (the API then runs with it off)."""
    from api import logs
    from scheduler.runner import standalone

    settings = _settings()
    logs.configure(settings)
    db = _database(settings)
    console.print("contactlog scheduler running; Ctrl-C stops it.")
    try:
        standalone(db, settings).start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        db.dispose()


@jobs_app.command("run")
def jobs_run(
    job: Annotated[
        str | None, typer.Argument(help="One job; all of them in order if left out")
    ] = None,
    at: AsOf = None,
) -> None:
    """Run jobs now: end sweep, ending-soon, deletion reminders, alerts, approvals, outbox."""
    from scheduler.jobs import JOBS
    from scheduler.runner import run_job

    if job is not None and job not in JOBS:
        errors.print(f"[red]No job {job!r}.[/red] Jobs: {', '.join(JOBS)}")
        raise typer.Exit(2)
    settings = _settings()
    db = _database(settings)
    instant = None if at is None else _instant(at)
    try:
        for name in [job] if job else list(JOBS):
            count = run_job(name, db, settings, instant)
            console.print(f"{name}: {count}")
    finally:
        db.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # The line as typed: a password is never stripped.
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    name: Annotated[str, typer.Option(help="Full name")],
    school: Annotated[str, typer.Option(help="School name; created if the trust has none such")],
    role: Annotated[list[Role], typer.Option(help="Role (repeat for several)")] = [  # noqa: B006
        Role.admin
    ],
    trust: Annotated[str, typer.Option(help="Trust name, when creating the first school")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
) -> None:
    """Create a staff account, e.g. the first admin of a new deployment."""
    from sqlmodel import select

    from core.clock import now
    from core.directory.models import School, SchoolCreate, StaffCreate, Trust
    from core.directory.schools import create_school, create_trust
    from core.directory.staff import create_staff
    from core.errors import DomainError
    from core.identity import accounts
    from core.identity.security import Passwords
    from core.principal import Principal

    settings = _settings()
    password = _read_password(password_stdin)
    problems = accounts.password_problems(password, name=name, email=email)
    if problems:
        errors.print(f"[red]The password is not accepted:[/red] it {problems[0]}")
        raise typer.Exit(1)
    operator = Principal.command_line()
    at = now()
    db = _database(settings)
    try:
        with db.transaction() as session:
            found = session.exec(select(School).where(School.name == school)).first()
            if found is None:
                trust_row = session.exec(select(Trust)).first()
                if trust_row is None:
                    trust_row = create_trust(
                        session=session, actor=operator, at=at, name=trust or f"{school} trust"
                    )
                found = create_school(
                    session=session,
                    actor=operator,
                    at=at,
                    school_in=SchoolCreate(name=school),
                    trust_id=trust_row.id,
                )
            created = create_staff(
                session=session,
                actor=operator,
                at=at,
                staff_in=StaffCreate(name=name, email=email, school_id=found.id, roles=role),
                passwords=Passwords(settings),
                settings=settings,
                password=password,
            )
    except DomainError as exc:
        raise _fail(exc) from None
    except ValueError as exc:
        errors.print(f"[red]Invalid input:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    console.print(
        f"Created the account of {created.name} <{created.email}> "
        f"({', '.join(created.roles)}) at {school}."
    )


@import_app.command("pupils")
def import_pupils_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV from the MIS")],
    school_id: Annotated[int, typer.Option("--school", help="School id")],
) -> None:
    """Import or update pupils from a CSV: every row or none."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from core.clock import now
    from core.directory.models import School
    from core.directory.pupil_import import decode, import_pupils
    from core.errors import DomainError
    from core.policy import policy_for
    from core.principal import Principal

    settings = _settings()
    db = _database(settings)
    try:
        text = decode(file.read_bytes())
        with (
            Progress(
                TextColumn("Checking rows"), BarColumn(), MofNCompleteColumn(), console=console
            ) as progress,
            db.transaction() as session,
        ):
            task = progress.add_task("rows", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            found = session.get(School, school_id)
            report = import_pupils(
                session=session,
                actor=Principal.command_line(),
                policy=policy_for(session, found.trust_id if found else None, settings),
                settings=settings,
                at=now(),
                csv_text=text,
                school_id=school_id,
                progress=advance,
            )
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(
        f"{report.rows} rows: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged."
    )


# ---------------------------------------------------------------- the key outside the database


@keys_app.command("rotate")
def rotate_keys_command() -> None:
    """Encrypt every second-factor secret under the current SECRET_KEY (the old key still in
    OLD_SECRET_KEYS); afterwards the old key may be removed."""
    from core.identity import mfa

    settings = _settings()
    db = _database(settings)
    try:
        with db.transaction() as session:
            changed = mfa.rotate(session, settings=settings)
    finally:
        db.dispose()
    console.print(f"{changed} second-factor secret(s) now under the current key.")


# ---------------------------------------------------------------- signed checkpoints


@audit_app.command("vkey")
def vkey_command() -> None:
    """Print each log's verifier key (C2SP vkey), a line each: publish it, keep it elsewhere."""
    from sqlmodel import col, select

    from core.record import checkpoints, signer
    from core.record.models import Log

    settings = _settings()
    key = checkpoints.load_key(settings.checkpoint_key_path)
    db = _database(settings)
    try:
        with db.session(for_reading=True) as session:
            for log in session.exec(select(Log).order_by(col(Log.id))).all():
                print(signer.vkey(log, key))
    finally:
        db.dispose()


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Bring every log up to date and sign each that has grown, now."""
    from core.clock import now
    from scheduler.checkpointing import sign_now

    settings = _settings()
    db = _database(settings)
    try:
        made = sign_now(db, settings, now())
    finally:
        db.dispose()
    console.print(f"{made} checkpoint(s) signed." if made else "Nothing new to sign.")


@audit_app.command("verify")
def verify_command(
    against: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="A checkpoint kept (checkpoint.txt)")
    ],
    vkey: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The trust's verifier key, kept elsewhere"),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="For a checkpoint.json of the old hash chain"
        ),
    ] = None,
) -> None:
    """Check the record against a checkpoint kept outside contactlog: exit 0 if the log still
    holds, unchanged, the events it signed, 1 if not. A checkpoint.json of the hash chain the
    log replaced is checked against the chain, with its PEM public key."""
    text = against.read_text()
    settings = _settings()
    db = _database(settings)
    try:
        with db.session(for_reading=True) as session:
            if text.lstrip().startswith("{"):
                verdict = _chain_verdict(session, text, public_key)
            else:
                verdict = _log_verdict(session, settings, text, vkey)
    finally:
        db.dispose()
    print(verdict.model_dump_json())
    raise typer.Exit(0 if verdict.ok else 1)


def _chain_verdict(session: Any, text: str, public_key: Path | None) -> Any:
    from core.record import checkpoints

    try:
        checkpoint = checkpoints.CheckpointIn.model_validate(json.loads(text))
    except ValueError as exc:
        errors.print(f"[red]Not a checkpoint:[/red] {str(exc).splitlines()[0]}")
        raise typer.Exit(2) from None
    trusted = public_key.read_text() if public_key else None
    return checkpoints.verify_against(session, checkpoint=checkpoint, trusted_key=trusted)


def _log_verdict(session: Any, settings: Any, text: str, vkey: Path | None) -> Any:
    from sqlmodel import select

    from core.record import checkpoints, notes, proofs
    from core.record.models import Log

    note = proofs.as_kept(text)
    origin = note.split("\n", 1)[0]
    log = session.exec(select(Log).where(Log.origin == origin)).first()
    if log is None:
        errors.print(f"[red]No log here is named[/red] {origin!r}.")
        raise typer.Exit(2)
    key = checkpoints.load_key(settings.checkpoint_key_path)
    try:
        verifier = proofs.verifier_for(log, vkey.read_text() if vkey else None, key)
    except notes.NoteInvalid as exc:
        errors.print(f"[red]Not a verifier key:[/red] {exc}")
        raise typer.Exit(2) from None
    return proofs.check_kept(session, log, note, verifier)


@audit_app.command("add-witness")
def add_witness_command(
    trust: Annotated[int, typer.Option(help="The trust whose log it witnesses")],
    url: Annotated[str, typer.Option(help="The witness's submission prefix")],
    vkey: Annotated[str, typer.Option(help="The witness's verifier key (name+id+key)")],
) -> None:
    """Send the trust's log's checkpoints to a witness (another trust's contactlog, the local
    authority's, the DPO's): it cosigns each that extends the last it saw."""
    from sqlalchemy.exc import IntegrityError

    from core.record import logs, notes, witness
    from core.record.models import LogWitness

    try:
        cosigner = witness.read_cosigner(vkey)
    except notes.NoteInvalid as exc:
        errors.print(f"[red]Not a witness's verifier key:[/red] {exc}")
        raise typer.Exit(2) from None
    if not url.startswith(("https://", "http://")):
        errors.print("[red]The witness's address is an http(s) URL.[/red]")
        raise typer.Exit(2)
    settings = _settings()
    db = _database(settings)
    try:
        with db.transaction() as session:
            log = logs.log_of(session, trust)
            if log is None or log.id is None:
                errors.print(
                    f"[red]Trust {trust} has no log yet[/red] (it is made with its first event)."
                )
                raise typer.Exit(2)
            try:
                with session.begin_nested():
                    witnessing = LogWitness(
                        log_id=log.id, name=cosigner.name, vkey=vkey.strip(), url=url
                    )
                    session.add(witnessing)
            except IntegrityError:
                errors.print(f"[red]{cosigner.name} already witnesses[/red] {log.origin}.")
                raise typer.Exit(2) from None
    finally:
        db.dispose()
    console.print(
        f"{cosigner.name} now witnesses {log.origin}; the witness job sends it each checkpoint."
    )


@capture_app.command("add-number")
def add_number_command(
    school: Annotated[int, typer.Option(help="The school whose number it is")],
    phone_number_id: Annotated[str, typer.Option(help="Its phone number ID in Meta's app")],
    account: Annotated[str, typer.Option(help="The school account, as its contacts name it")],
) -> None:
    """Take WhatsApp Business webhook deliveries for a school-owned number (set the webhook up in
    Meta's app with POST /capture/whatsapp, WHATSAPP_APP_SECRET_FILE and
    WHATSAPP_VERIFY_TOKEN_FILE)."""
    from contacts.capture.models import WhatsAppNumber
    from core import clock
    from core.directory.models import School

    settings = _settings()
    db = _database(settings)
    try:
        with db.transaction() as session:
            if session.get(School, school) is None:
                errors.print(f"[red]No school {school}.[/red]")
                raise typer.Exit(2)
            if session.get(WhatsAppNumber, phone_number_id) is not None:
                errors.print(f"[red]{phone_number_id} is already set up.[/red]")
                raise typer.Exit(2)
            session.add(
                WhatsAppNumber(
                    phone_number_id=phone_number_id.strip(),
                    school_id=school,
                    school_account=account.strip(),
                    added_at=clock.now(),
                )
            )
    finally:
        db.dispose()
    console.print(f"Deliveries for {phone_number_id} are kept as {account!r}'s messages.")


@witness_app.command("vkey")
def witness_vkey_command() -> None:
    """Print this witness's verifier key, for the logs it witnesses and their readers."""
    from core.record import checkpoints, witness

    settings = _settings()
    key = checkpoints.load_key(settings.witness_key_path)
    print(witness.cosigner_vkey(settings.witness_cosigner_name, key.public_key()))


@witness_app.command("serve")
def witness_serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Serve as a witness (POST /witness/add-checkpoint) for the logs whose verifier keys are
    in CONTACTLOG_WITNESS_LOGS_FILE, beside the rest of contactlog."""
    from core.record import witness

    settings = _settings()
    witnessed = witness.witnessed_logs(settings.witness_logs_file)
    if not witnessed:
        errors.print(
            "[red]No logs to witness:[/red] set CONTACTLOG_WITNESS_LOGS_FILE to a file of "
            "their verifier keys."
        )
        raise typer.Exit(2)
    console.print(f"Witnessing {len(witnessed)} log(s) at http://{host}:{port}/witness")
    serve(host=host, port=port, workers=1)


@audit_app.command("verify-pack")
def verify_pack_command(
    pack: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The evidence pack")],
    vkey: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The trust's verifier key, kept elsewhere"),
    ] = None,
    witness: Annotated[
        list[str] | None, typer.Option(help="A witness's verifier key whose cosignature it needs")
    ] = None,
) -> None:
    """Check an evidence pack offline, as its own verify.py does: the signed manifest, every
    event's proof against the trust's signed log, every record against its proven seal. Exit 0
    if nothing was altered, added or removed, 1 if something was (each named)."""
    from contacts.oversight.pack_check import verify_pack

    if vkey is None:
        errors.print(
            "No --vkey given: checked with the key in the pack, which shows it is whole, not who "
            "made it. Compare vkey.txt with the key your trust published."
        )
    with pack.open("rb") as data:
        problems = verify_pack(data, vkey.read_text().splitlines() if vkey else None, witness)
    for problem in problems:
        print(problem)
    print("The pack is as it was made." if not problems else f"{len(problems)} problem(s).")
    raise typer.Exit(1 if problems else 0)


@retention_app.command("plan")
def retention_plan_command(
    at: AsOf = None,
) -> None:
    """A dry run: print, per trust, exactly what a run would redact and what holds keep (JSON)."""
    from sqlmodel import col, select

    from contacts.data_protection.retention.service import dry_run
    from core.directory.models import Trust
    from core.policy import policy_for

    settings = _settings()
    db = _database(settings)
    try:
        with db.session(for_reading=True) as session:
            for trust_id in session.exec(select(Trust.id).order_by(col(Trust.id))).all():
                policy = policy_for(session, trust_id, settings)
                print(dry_run(session=session, policy=policy, at=_instant(at)).model_dump_json())
    finally:
        db.dispose()


@retention_app.command("run")
def retention_run_command(
    at: AsOf = None,
) -> None:
    """Apply the schedule now; each trust's report is filed and emailed (JSON printed)."""
    from scheduler.retention import run_all as run_retention

    settings = _settings()
    db = _database(settings)
    try:
        reports = run_retention(db, settings, _instant(at))
    finally:
        db.dispose()
    for report in reports:
        print(report.model_dump_json())
    if not reports:
        console.print("Nothing was due.")


if __name__ == "__main__":  # below every command, so that `python -m api.cli` has them all
    app()
