"""The staff client against a real server on a real port: a staff day, outages, lost answers."""

from __future__ import annotations

import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pyotp
import pytest
from typer.testing import CliRunner

from contactlog_client.cli import app as client_cli
from tests.support.builders import enrol, today
from tests.support.ground import PASSWORD, count_rows
from tests.support.servers import Server

runner = CliRunner()


@pytest.fixture
def client_dir(tmp_path, monkeypatch):
    folder = tmp_path / "client-config"
    monkeypatch.setenv("CONTACTLOG_CLIENT_DIR", str(folder))
    monkeypatch.setenv("CONTACTLOG_CLIENT_RETRY_SECONDS", "0.01")
    return folder


def cli(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(client_cli, list(args), input=input)


def sign_in(server: Server, who: str) -> None:
    result = cli(
        "login", "--server", server.url, "--email", f"{who}@a.example.org", "--password", PASSWORD
    )
    assert result.exit_code == 0, result.output


def test_a_staff_members_day(server, client_dir, world, school, db):
    sign_in(server, "owner")
    assert stat.S_IMODE((client_dir / "credentials.json").stat().st_mode) == 0o600
    assert "Owner" in cli("whoami").output

    requested = cli(
        "request",
        "--pupil",
        "Y1",
        "--pupil",
        "O1",
        "--platform",
        "whatsapp",
        "--account",
        "U15 team (school phone)",
        "--purpose",
        "Fixtures",
        "--device",
        str(school["device"]),
        "--starts",
        today().isoformat(),
        "--ends",
        today().replace(year=today().year + 1).isoformat(),
        "--json",
    )
    assert requested.exit_code == 0, requested.output
    contact = json.loads(requested.output)["id"]

    secret = enrol(db, world.ids["manager"])  # an approver signs in with a second factor
    code = pyotp.TOTP(secret).now()
    manager = cli(
        "login",
        "--server",
        server.url,
        "--email",
        "manager@a.example.org",
        "--password",
        PASSWORD,
        input=code + "\n",
    )  # the line manager, on their own computer: asked for the code from their app
    assert manager.exit_code == 0, manager.output
    waiting = json.loads(cli("pending", "--json").output)
    assert [c["id"] for c in waiting] == [contact]
    shown = cli("pending").output  # people by name, not number
    assert "Owner" in shown
    assert "Ava T" in shown
    assert "#" not in shown
    decided = cli("decide", str(contact), "--approve", "--conditions", "Group only")
    assert decided.exit_code == 0
    assert "approved" in decided.output

    sign_in(server, "owner")
    logged = cli(
        "log",
        str(contact),
        "--sent",
        "--summary",
        "Reminded the team of Saturday's kick-off time",
        "--device",
        "PE-IPAD",
    )
    assert logged.exit_code == 0, logged.output
    assert "Logged entry" in logged.output
    again = cli(
        "log", str(contact), "--received", "--summary", "Thanks!", "--json"
    )  # device remembered
    assert json.loads(again.output)["device_tag"] == "PE-IPAD"
    assert "Ava" in cli("contacts").output  # by name (the table wraps at the terminal's width)
    mine = json.loads(cli("contacts", "--json").output)
    assert mine[0]["id"] == contact
    assert mine[0]["state"] == "approved"
    assert mine[0]["active"]

    assert cli("end", str(contact), "--reason", "Season over").exit_code == 0
    listed = json.loads(cli("contacts", "--json").output)
    assert listed[0]["open_deletion_tasks"] == 2
    confirmed = cli("confirm-deletion", str(contact), "--how", "Left and deleted the group")
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(cli("contacts", "--json").output)[0]["state"] == "closed"
    assert count_rows(db, "message") == 2

    assert cli("logout").exit_code == 0
    assert cli("whoami").exit_code == 4


def test_errors_are_one_line_with_reliable_exit_codes(server, client_dir, world, school):
    assert cli("whoami").exit_code == 4  # not signed in
    bad = cli(
        "login", "--server", server.url, "--email", "owner@a.example.org", "--password", "nope"
    )
    assert bad.exit_code == 1
    assert "incorrect" in bad.output
    assert "Traceback" not in bad.output
    sign_in(server, "owner")
    missing = cli("log", "999999", "--sent", "--summary", "x", "--device", "PE-IPAD")
    assert missing.exit_code == 1
    assert "No such contact" in missing.output
    assert cli("log", "1", "--summary", "x").exit_code == 2  # neither --sent nor --received
    refused = cli("log", "1", "--sent", "--summary", "", "--device", "PE-IPAD")
    assert refused.exit_code == 1
    assert "summary" in refused.output


def test_a_server_stopped_mid_log_queues_the_entry_and_sync_sends_it_once(
    server, client_dir, world, school, db
):
    sign_in(server, "owner")
    requested = cli(
        "request",
        "--pupil",
        "O1",
        "--platform",
        "x",
        "--account",
        "@school",
        "--purpose",
        "p",
        "--device",
        str(school["device"]),
        "--starts",
        today().isoformat(),
        "--ends",
        today().isoformat(),
        "--json",
    )
    contact = json.loads(requested.output)["id"]
    server.stop()
    queued = cli(
        "log", str(contact), "--sent", "--summary", "Sent during the outage", "--device", "PE-IPAD"
    )
    assert queued.exit_code == 3
    assert "queued" in queued.output
    assert count_rows(db, "message") == 0
    still_down = cli("sync")
    assert still_down.exit_code == 3
    server.start()
    synced = cli("sync", "--json")
    assert synced.exit_code == 0, synced.output
    assert len(json.loads(synced.output)["sent"]) == 1
    assert json.loads(cli("sync", "--json").output)["sent"] == []
    assert count_rows(db, "message") == 1


class LosesFirstAnswer(BaseHTTPRequestHandler):
    """A proxy that passes the first message to the server but tells the client 500, as a
    dropped Wi-Fi connection would lose the answer; later requests pass through untouched."""

    upstream = ""
    lost = 0

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
        }
        answer = httpx.request(
            self.command, self.upstream + self.path, content=body, headers=headers
        )
        if self.command == "POST" and "/messages" in self.path and LosesFirstAnswer.lost == 0:
            LosesFirstAnswer.lost += 1
            self.send_response(500)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(answer.status_code)
        for name in ("content-type",):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward

    def log_message(self, *args: object) -> None:
        pass


def test_a_lost_answer_is_retried_with_the_same_key_and_logged_once(
    server, client_dir, world, school, db
):
    sign_in(server, "owner")
    requested = cli(
        "request",
        "--pupil",
        "O1",
        "--platform",
        "x",
        "--account",
        "@school",
        "--purpose",
        "p",
        "--device",
        str(school["device"]),
        "--starts",
        today().isoformat(),
        "--ends",
        today().isoformat(),
        "--json",
    )
    contact = json.loads(requested.output)["id"]
    LosesFirstAnswer.upstream, LosesFirstAnswer.lost = server.url, 0
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), LosesFirstAnswer)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        credentials = json.loads((client_dir / "credentials.json").read_text())
        credentials["server"] = f"http://127.0.0.1:{proxy.server_address[1]}"
        (client_dir / "credentials.json").write_text(json.dumps(credentials))
        logged = cli("log", str(contact), "--sent", "--summary", "Once only", "--device", "PE-IPAD")
        assert logged.exit_code == 0, logged.output
    finally:
        proxy.shutdown()
    assert LosesFirstAnswer.lost == 1
    assert count_rows(db, "message") == 1


def test_login_asks_for_the_password_or_reads_it_from_a_pipe(server, client_dir, world):
    helped = cli("login", "--help")
    assert "--password" in helped.output
    assert "required" not in helped.output.lower()
    piped = cli(
        "login", "--server", server.url, "--email", "owner@a.example.org", input=PASSWORD + "\n"
    )
    assert piped.exit_code == 0, piped.output
    assert "Warning" not in piped.output
    assert cli("whoami").exit_code == 0


def test_a_teacher_sees_what_the_platform_captured_and_logs_it_from_the_terminal(
    server, client_dir, client, world, school, db
):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from core import clock
    from tests.support.builders import approved_contact

    # Made in-process: the server shares the test's database.
    cid = approved_contact(client, world, school)
    # A message captured on the school phone, not logged (sent before the approval, too).
    when = (clock.now() - timedelta(minutes=5)).astimezone(ZoneInfo("Europe/London"))
    chat = f"{when:%d/%m/%Y, %H:%M} - Ava T: Is the bus at 8?\n".encode()
    made = client.post(
        "/captures",
        headers=world.auth("owner"),
        data={
            "platform": "whatsapp",
            "school_account": "Riverside U15 football (school phone)",
            "source": "whatsapp_export",
            "school_name": "School",
            "names": json.dumps({"Ava T": school["young"]}),
        },
        files={"file": ("WhatsApp Chat with Ava T.txt", chat)},
    )
    assert made.status_code == 201, made.text
    sign_in(server, "owner")
    listed = cli("missing", "--json")
    assert listed.exit_code == 0, listed.output
    [gap] = json.loads(listed.output)
    assert (gap["contact_id"], gap["content"]) == (cid, "Is the bus at 8?")
    assert f"{gap['id']} " in cli("missing").output  # a row of the table (it wraps the words)
    logged = cli(
        "log-captured",
        str(gap["id"]),
        "--summary",
        "Ava asked about the bus",
        "--device",
        "PE-IPAD",
    )
    assert logged.exit_code == 0, logged.output
    assert "Logged entry" in logged.output
    assert json.loads(cli("missing", "--json").output) == []
    assert "Nothing captured is missing" in cli("missing").output
