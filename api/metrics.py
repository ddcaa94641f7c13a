"""`GET /metrics` in Prometheus format: requests by route, the outbox's backlog, each job's runs.

Routes are named by their template (`/contacts/{contact_id}`), never by the path a client sent,
so no id or other personal data reaches the metrics. Figures held in the database (the backlog,
job runs) are read when Prometheus scrapes, so every replica reports the same truth.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import jobruns
from core.db import Database
from core.models import OutboxEmail, OutboxState


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "contactlog_http_requests",
            "Requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "contactlog_http_request_seconds",
            "Time to answer, by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(_FromDatabase(db))

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _FromDatabase(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Any]:
        now = datetime.now(UTC)
        backlog = GaugeMetricFamily(
            "contactlog_outbox_backlog", "Emails waiting to be sent, by state", labels=["state"]
        )
        oldest = GaugeMetricFamily(
            "contactlog_outbox_oldest_pending_seconds", "Age of the oldest email not yet sent"
        )
        runs = CounterMetricFamily("contactlog_job_runs", "Runs of each job", labels=["job"])
        failures = CounterMetricFamily(
            "contactlog_job_failures", "Failed runs of each job", labels=["job"]
        )
        last_ok = GaugeMetricFamily(
            "contactlog_job_last_success_timestamp_seconds",
            "When each job last ran to the end (the scheduler's heartbeat)",
            labels=["job"],
        )
        with self.db.session(for_reading=True) as session:
            waiting = col(OutboxEmail.state).in_([OutboxState.pending, OutboxState.sending])
            for state, count in session.exec(
                select(OutboxEmail.state, func.count()).where(waiting).group_by(OutboxEmail.state)
            ):
                backlog.add_metric([state], count)
            first = session.exec(select(func.min(OutboxEmail.created_at)).where(waiting)).one()
            oldest.add_metric([], (now - first).total_seconds() if first else 0.0)
            for run in jobruns.all_runs(session):
                runs.add_metric([run.job], run.runs)
                failures.add_metric([run.job], run.failures)
                if run.last_ok_at is not None:
                    last_ok.add_metric([run.job], run.last_ok_at.timestamp())
        yield from (backlog, oldest, runs, failures, last_ok)


class MeasureRequests:
    """Counts and times every request under its route's template."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(
                time.perf_counter() - began
            )
