"""Where a person opens each record: the page every email links to (never an API address, which
answers a browser with JSON). A page asked for without a session signs in and comes back."""

from __future__ import annotations

PAGES = {
    "contact": "/app/contacts/{id}",
    "incident": "/app/incidents/{id}",
    "message": "/app/review/{id}",
    "pending_changes": "/app/pending-changes",
    "dashboard": "/app/dashboard",
    "change_record": "/app/change-record",
    "retention": "/app/retention",
    "subject_access": "/app/subject-access",
    "outbox": "/app/outbox",
    "concern": "/app/concerns/{id}",
    "concern_review": "/app/concerns/review",
}


def page_of(base_url: str, what: str, record_id: int | None = None) -> str:
    """The address of the page of `what` (one of PAGES), for an email."""
    return base_url.rstrip("/") + PAGES[what].format(id=record_id)
