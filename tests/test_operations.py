"""What an operator sees: Prometheus metrics without personal data, readiness that notices a
stopped scheduler, and one log line per job run from the standalone scheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from core import clock
from scheduler.runner import run_job
from tests.support.builders import request_body


def test_metrics_name_routes_not_paths_and_read_the_backlog(client, world, school, db, settings):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.get(f"/contacts/{cid}", headers=world.auth("owner"))
    run_job("approvals", db, settings, clock.now() + timedelta(days=2))  # queues an email
    scrape = {"Authorization": f"Bearer {settings.scrape_credential}"}
    text = client.get("/metrics", headers=scrape).text
    assert (
        'contactlog_http_requests_total{method="GET",route="/contacts/{contact_id}",status="200"}'
        in text
    )
    assert f'/contacts/{cid}"' not in text  # no ids, so no personal data either
    assert 'contactlog_outbox_backlog{state="pending"} 1.0' in text
    assert 'contactlog_job_runs_total{job="approvals"} 1.0' in text
    assert "contactlog_outbox_oldest_pending_seconds" in text


def test_metrics_answer_only_the_scrape_credential(client, world, settings):
    """A teacher under investigation must not watch /legal-holds/{id}/release appear."""
    for headers in (
        {},
        world.auth("dsl"),  # a person's token is not the scrape credential
        {"Authorization": "Bearer not-the-credential"},
        {"Authorization": f"Basic {settings.scrape_credential}"},
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert "contactlog_http_requests" not in refused.text
    scrape = {"Authorization": f"Bearer {settings.scrape_credential}"}
    assert "contactlog_http_requests" in client.get("/metrics", headers=scrape).text


def test_readiness_fails_when_the_scheduler_has_stopped(db, settings, app):
    watching = settings.model_copy(update={"scheduler_stale_seconds": 60})
    with TestClient(create_app(watching, db), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 200  # just started: grace
        client.app.state.started_at = datetime.now(UTC) - timedelta(minutes=5)
        stopped = client.get("/readyz")
        assert stopped.status_code == 503
        assert "scheduler" in stopped.json()["detail"]
        run_job("alerts", db, settings)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["scheduler_ran_at"]


def test_the_standalone_scheduler_logs_a_json_line_per_job_run(database_url, tmp_path, app):
    env = {
        **os.environ,
        "CONTACTLOG_DATABASE_URL": database_url,
        "CONTACTLOG_DATA_DIR": str(tmp_path),
        "CONTACTLOG_LOG_FORMAT": "json",
    }
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(4)
    scheduler.terminate()
    _, err = scheduler.communicate(timeout=20)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    runs = {line["job"]: line for line in lines if "job" in line}
    assert {"end_sweep", "alerts", "outbox"} <= set(runs), err.decode()[-2000:]
    assert all(isinstance(r["seconds"], float) and r["ok"] is True for r in runs.values())
    assert all(r["level"] == "INFO" and r["time"] for r in runs.values())
