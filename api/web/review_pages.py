"""Pages for the DSL: the dashboard (the summary's figures and flagged entries per week and
school, drawn on the server), the review queue marked through in place, the log searched with
every filter and exported as CSV, a pupil's chronology as a timeline. Reading any of it is on
the record, as it is through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import get_database
from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.chart import weekly_bars
from api.web.forms import PageForm, Problems, submit
from api.web.render import PAGE_SIZE, all_of, page, page_for, paged
from contacts.models import Flag, Platform
from contacts.oversight import chronology
from contacts.oversight.review import service as review
from contacts.oversight.review.export import export_csv
from contacts.oversight.review.models import ReviewCreate
from contacts.oversight.summary import flagged_per_week, summary
from core.directory.models import Role, School
from core.directory.names import find_pupils, pupil_names, school_names
from core.directory.staff import list_staff
from core.errors import Conflict, Forbidden, RuleBroken, TooManyAttempts
from core.inputs import RecordId
from core.record import change_record

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
WEEKS = 12


@router.get("/app/dashboard")
def dashboard(acting: PageDep, checking: str | None = None) -> Response:
    figures = summary(
        session=acting.session, actor=acting.actor, policy=acting.policy, at=acting.at
    )
    dsl = acting.actor.has(Role.dsl) or acting.actor.has(Role.trust_dsl)
    weekly = (
        flagged_per_week(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            weeks=WEEKS,
        )
        if dsl
        else []
    )
    names = school_names(acting.session, acting.actor)
    # The latest full check on file (hourly, or when a DSL asks): a check reads the whole log,
    # far too much to make on every visit to the dashboard.
    check = change_record.verify(session=acting.session, actor=acting.actor) if dsl else None
    return page_for(
        acting,
        "dashboard.html",
        dsl=dsl,
        may_decide=acting.actor.has(Role.approver) or acting.actor.is_headteacher,
        check=check,
        title="Dashboard",
        notice=CHECKING.get(checking or ""),
        figures=figures,
        chart=weekly_bars(weekly, names),
        weekly=weekly,
        names=names,
    )


CHECKING = {
    "asked": "A check of the whole record is on its way: its outcome shows below within a few "
    "minutes (reload the page).",
    "wait": "A check of the record was asked for moments ago or is running now: its outcome "
    "shows below. Check again in a minute.",
}


@router.post("/app/dashboard/check")
def check_change_record(acting: PageDep, form: Annotated[PageForm, Form()]) -> Response:
    """A DSL checks the change record now rather than wait for the hourly check."""

    def act(_: None) -> str:
        try:
            change_record.check_now(session=acting.session, actor=acting.actor, at=acting.at)
        except (Conflict, TooManyAttempts):
            return "/app/dashboard?checking=wait"
        return "/app/dashboard?checking=asked"

    return submit(acting, form, lambda: None, act)


@router.get("/app/review")
def review_queue(acting: PageDep, done: str | None = None, cursor: str | None = None) -> Response:
    queue = review.review_queue(
        session=acting.session, actor=acting.actor, at=acting.at, cursor=cursor, limit=PAGE_SIZE
    )
    return page_for(
        acting,
        "review.html",
        title="Review queue",
        notice="Marked reviewed." if done == "reviewed" else None,
        entries=queue.items,
        pager=paged(acting, queue),
        pupils=_pupils_of(acting, queue.items),
    )


@router.get("/app/review/{message_id:int}")
def review_entry(message_id: RecordId, acting: PageDep) -> Response:
    """One entry, as the flagged-message email links to it, with its review form."""
    entry = review.review_entry(
        session=acting.session, actor=acting.actor, at=acting.at, message_id=message_id
    )
    return page_for(
        acting,
        "review.html",
        title=f"Entry #{message_id}",
        entries=[entry],
        pupils=_pupils_of(acting, [entry]),
    )


def _pupils_of(acting: PageActing, entries: list[review.QueueEntry]) -> dict[int, str]:
    return pupil_names(
        acting.session, acting.actor, (p for e in entries for p in e.message.pupil_ids)
    )


class ReviewForm(PageForm):
    note: str = ""


@router.post("/app/review/{message_id:int}")
def mark_reviewed(
    message_id: RecordId, request: Request, acting: PageDep, form: Annotated[ReviewForm, Form()]
) -> Response:
    """Mark one entry reviewed, with a note; in place (htmx), or back to the queue."""
    in_place = bool(request.headers.get("HX-Request"))

    def read() -> ReviewCreate:
        return ReviewCreate.model_validate(form.values())

    def act(review_in: ReviewCreate) -> str:
        review.review_message(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            message_id=message_id,
            review_in=review_in,
        )
        return "/app/review?done=reviewed"

    def again(problems: Problems) -> Response:
        said = "Add a note saying what you found before marking it reviewed."
        if in_place:
            return page("_review_problem.html", message_id=message_id, problem=said, status=200)
        return page_for(acting, "error.html", title="Add a note", detail=said, status=422)

    done = submit(acting, form, read, act, again)
    if in_place and done.status_code == 303:
        return page("_reviewed.html", message_id=message_id)
    return done


@dataclass
class SearchForm:
    """The search form's fields, as sent: an empty one means any."""

    school_id: str = ""
    staff_id: str = ""
    pupil_id: str = ""
    platform: str = ""
    flag: str = ""
    reviewed: str = ""
    on_or_after: str = ""
    before: str = ""
    text: str = ""


SearchDep = Annotated[SearchForm, Depends()]


def _filter(acting: PageActing, form: SearchForm) -> review.LogFilter:
    """The search form's fields (an empty one means any), as the API's filter; a value that
    is not one is refused by name, as the API refuses it."""
    school = acting.session.get(School, acting.actor.school_id or 0)
    zone = acting.policy.zone(school) if school else acting.policy.zone_of(None)

    def number(name: str, value: str) -> int | None:
        if not value.strip():
            return None
        if not value.strip().isdigit() or not 0 < int(value) < 2**31:
            raise RuleBroken(f"{name}: give the record's number.")
        return int(value)

    def day(name: str, value: str) -> datetime | None:
        if not value:
            return None
        try:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone)
        except ValueError:
            raise RuleBroken(f"{name}: give a date.") from None

    if form.platform and form.platform not in {p.value for p in Platform}:
        raise RuleBroken("platform: choose one from the list.")
    if form.flag and form.flag not in {f.value for f in Flag}:
        raise RuleBroken("flag: choose one from the list.")
    return review.LogFilter(
        school_id=number("school", form.school_id),
        staff_id=number("member of staff", form.staff_id),
        pupil_id=number("pupil", form.pupil_id),
        platform=form.platform or None,
        flag=form.flag or None,
        reviewed={"yes": True, "no": False}.get(form.reviewed),
        occurred_from=day("on or after", form.on_or_after),
        occurred_to=day("before", form.before),
        text=form.text.strip() or None,
    )


@router.get("/app/log")
def search_log(
    request: Request,
    acting: PageDep,
    form: SearchDep,
    cursor: str | None = None,
) -> Response:
    """Every filter of GET /messages; the search is recorded, as the API's is."""
    return _search_page(acting, form, request, cursor=cursor)


def _search_page(
    acting: PageActing,
    form: SearchForm,
    request: Request,
    *,
    cursor: str | None = None,
    searched: str | None = None,
) -> Response:
    where = _filter(acting, form)
    asked = request.method == "GET" and request.url.query != ""
    found = (
        review.search(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            where=where,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        if asked
        else None
    )
    return page_for(
        acting,
        "search.html",
        title="Search the log",
        found=found.items if found else None,
        pager=paged(acting, found) if found else None,
        query=request.url.query,
        chosen=request.query_params,
        platforms=list(Platform),
        flags=list(Flag),
        # A trust DSL searches every school of the trust, or one of them.
        schools=school_names(acting.session, acting.actor)
        if acting.actor.has(Role.trust_dsl)
        else {},
        staff=_staff_to_choose(acting),
        pupil_name=pupil_names(acting.session, acting.actor, [where.pupil_id or 0]).get(
            where.pupil_id or 0
        ),
        searched=searched,
        found_pupils=find_pupils(
            session=acting.session,
            actor=acting.actor,
            text=searched or "",
            at=_today(acting),
        ),
    )


def _today(acting: PageActing) -> date:
    """The reader's school's day: a pupil who has left by it is not found."""
    school = acting.session.get(School, acting.actor.school_id or 0)
    return acting.policy.today(school, acting.at) if school else acting.at.date()


def _staff_to_choose(acting: PageActing) -> list[tuple[int, str]]:
    """The staff a reader may search the entries of, by name (none to choose: only their own)."""
    try:
        listed = all_of(list_staff, session=acting.session, actor=acting.actor, at=acting.at)
    except Forbidden:
        return []
    return sorted(((s.id, s.name) for s in listed), key=lambda s: s[1])


class PupilSearchForm(PageForm):
    pupil_search: str = ""


@router.post("/app/log/pupils")
def find_pupil_to_search(
    request: Request, acting: PageDep, form: Annotated[PupilSearchForm, Form()]
) -> Response:
    """The pupils a name finds, each a link to their entries: a POST, so that the name typed
    is never in a URL; the link carries the pupil's number only."""
    acting.check_form(form.form_token)
    return _search_page(acting, SearchForm(), request, searched=form.pupil_search.strip())


@router.get("/app/log.csv")
def export_log(
    request: Request,
    acting: PageDep,
    form: SearchDep,
) -> Response:
    """The whole selection as CSV, as `GET /messages` with `Accept: text/csv` exports it."""
    where = _filter(acting, form)
    review.start_export(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        where=where,
        max_rows=acting.settings.max_export_rows,
    )
    return StreamingResponse(
        export_csv(get_database(request), acting.actor, where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contactlog-messages.csv"'},
    )


@router.get("/app/pupils/{pupil_id:int}/chronology")
def pupil_chronology(pupil_id: RecordId, acting: PageDep, cursor: str | None = None) -> Response:
    entries = chronology.pupil_chronology(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        pupil_id=pupil_id,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    named = pupil_names(acting.session, acting.actor, [pupil_id])
    return page_for(
        acting,
        "chronology.html",
        title=f"Chronology of {named.get(pupil_id, 'a pupil')}",
        pager=paged(acting, entries),
        subject_type="pupil",
        subject_id=pupil_id,
        subject_page=f"/app/pupils/{pupil_id}",
        subject_link="Their page: guardians and consents",
        may_keep=True,  # the chronology is a DSL's, and so are holds, requests and packs
        pack_href=f"/app/pupils/{pupil_id}/evidence-pack",
    )
