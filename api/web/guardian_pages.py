"""The page a parent reaches from a consent request's email: no account, phone-first, plain
English. It shows what the school asks, and two buttons; later, the same link withdraws.
The link is the only key (a secret in the path, so no other site can post to it); links
that are not valid are counted per address and, past a few, that address must wait."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from api.deps import WRITING_READS, SessionDep
from api.routing import UnitOfWorkRoute
from api.web.forms import LONGEST_FIELD, Problems
from api.web.render import page
from consent import answers, requests
from consent.models import AnswerCreate, RequestState
from contacts.consenting import CONTACTS
from core import clock
from core.directory.models import School
from core.errors import DomainError, NotFound, TooManyAttempts
from core.identity import throttle
from core.policy import Policy, PolicyBook
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
# Links that are not valid, per address, before it must wait (the sign-in throttle's counts).
FREE_BAD_LINKS = 10
TITLE = "Online contact with your child"


class Visit:
    """A parent's visit: the unit of work (it may write: an answer, a bad link's count)."""

    def __init__(self, request: Request, session: Session) -> None:
        self.session = session
        self.at = clock.now()
        self.client = request.client.host if request.client else "unknown"
        self.settings: Settings = request.app.state.settings
        self.policies: PolicyBook = request.app.state.policies

    @property
    def key(self) -> str:
        return f"consent-link:{self.client}"

    def policy_of(self, school_id: int) -> Policy:
        school = self.session.get(School, school_id)
        assert school is not None
        return self.policies.policy(self.session, school.trust_id)

    def opened(self, token: str) -> answers.Opened:
        """The request behind the link; a link that is not one is counted against the address."""
        wait = throttle.wait_seconds(self.session, self.key, self.at)
        if wait:
            raise TooManyAttempts(
                "Too many links that did not work from here; wait.", retry_after=wait
            )
        try:
            return answers.open_link(
                session=self.session, contacts=CONTACTS, token=token, at=self.at
            )
        except NotFound:
            throttle.record_failure(
                self.session, self.key, free=FREE_BAD_LINKS, settings=self.settings, at=self.at
            )
            raise


async def visit(request: Request, session: SessionDep) -> Visit:
    return Visit(request, session)


WRITING_READS.add(visit)
VisitDep = Annotated[Visit, Depends(visit)]


def _shown(opened: answers.Opened, *, said: str | None = None, status: int = 200) -> Response:
    return page(
        "guardian.html",
        title=TITLE,
        facts=opened.facts,
        text=opened.facts.text().split("\n"),
        # Waiting, but the contact (or the child's part) is over: no buttons, only the news.
        state="over"
        if opened.state == RequestState.waiting and opened.over
        else opened.state.value,
        said=said,
        status=status,
    )


def _plain(detail: str, status: int) -> Response:
    return page("error.html", title=TITLE, detail=detail, status=status)


@router.get(requests.LINK_PATH + "{token}")
def consent_page(token: str, visit: VisitDep) -> Response:
    try:
        opened = visit.opened(token)
    except NotFound as exc:
        return _plain(exc.detail, 404)
    return _shown(opened)


class AnswerForm(BaseModel):
    """The parent's page: a button (its `choice`) and an optional reason. The link's token, in
    the page's address, is what stops another site from answering for them."""

    choice: str = Field(default="", max_length=20)
    reason: str = Field(default="", max_length=LONGEST_FIELD)


@router.post(requests.LINK_PATH + "{token}")
def consent_answer(token: str, visit: VisitDep, form: Annotated[AnswerForm, Form()]) -> Response:
    """Give, decline (with an optional reason) or, later, withdraw."""
    try:
        opened = visit.opened(token)
    except NotFound as exc:
        return _plain(exc.detail, 404)
    policy = visit.policy_of(opened.request.school_id)
    choice = form.choice
    try:
        said = AnswerCreate(reason=form.reason.strip() or None).reason
    except ValidationError as exc:
        return _shown(opened, said=" ".join(Problems.of(exc)), status=422)
    try:
        if choice == "withdraw":
            answers.withdraw_by_link(
                session=visit.session,
                contacts=CONTACTS,
                policy=policy,
                token=token,
                at=visit.at,
                reason=said,
            )
        elif choice in ("give", "decline"):
            answers.answer(
                session=visit.session,
                contacts=CONTACTS,
                policy=policy,
                token=token,
                at=visit.at,
                give=choice == "give",
                reason=said,
                base_url=visit.settings.public_url,
            )
        else:
            return _shown(opened, said="Choose one of the buttons.", status=422)
    except DomainError as exc:
        visit.session.rollback()
        return _plain(exc.detail, exc.status)
    done = answers.open_link(session=visit.session, contacts=CONTACTS, token=token, at=visit.at)
    thanks = {
        RequestState.given: "Thank you: your consent is recorded.",
        RequestState.declined: (
            "Thank you: your answer is recorded. The school will not contact your child this "
            "way: it stops now, even if another parent or carer agreed, until the school has "
            "talked it through with you."
        ),
        RequestState.withdrawn: "Your consent is withdrawn: the contact with your child has ended.",
    }
    return _shown(done, said=thanks.get(done.state))
