"""Retention: what each run redacted and what holds kept, and what a run now would do."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep
from api.routing import UnitOfWorkRoute
from contacts.data_protection.retention import service as retention
from contacts.data_protection.retention.models import RetentionReport
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["retention"])


@router.get("/retention/reports", response_model=Page[RetentionReport])
def list_reports(acting: ActingDep, paging: PagingDep) -> object:
    """Each run of the trust's schedule, newest first: the records redacted by school and type,
    those past their period that a legal hold kept (by case), and what minimisation removed.
    A school's DSL sees their school's lines; trust administrators and trust DSLs all of them."""
    return retention.list_reports(
        session=acting.session, actor=acting.actor, cursor=paging.cursor, limit=paging.limit
    )


@router.get("/retention/plan", response_model=RetentionReport)
def plan(acting: ActingDep) -> object:
    """A dry run: exactly what a run now would redact and what holds would keep; nothing
    changes. The periods it applies, with their sources: GET /trusts/{id}/policy."""
    return retention.plan_for_reader(
        session=acting.session, actor=acting.actor, policy=acting.policy, at=acting.at
    )
