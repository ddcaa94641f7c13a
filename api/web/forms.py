"""Page forms: each form is a Pydantic model of its fields as a browser sends them (text; an empty
field is absent), read with FastAPI's `Form()` model support, and `submit` does what every form
does: check the form token, turn the fields into the domain's input schema (whose rules, lengths
and lines, are the only ones), show the page again with each problem beside its field, or act and
redirect."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError

from api.web.acting import PageActing
from api.web.render import see_other

T = TypeVar("T")

# No field of any form may be longer than this (the longest, a message's verbatim text, is
# 20 000 characters): a bound on what a request may make the server hold. Each field's own
# limit is its schema's, and is reported beside it.
LONGEST_FIELD = 25_000


class PageForm(BaseModel):
    """A page's form as sent. `values()` gives its fields for the domain's schema."""

    model_config = ConfigDict(extra="ignore", str_max_length=LONGEST_FIELD)
    form_token: str = ""

    def values(self, *, but: tuple[str, ...] = ()) -> dict[str, Any]:
        """The fields as typed, an empty one as absent (None), without the form token and the
        fields named in `but` (which the handler turns into the schema's terms itself)."""
        typed = self.model_dump(exclude={"form_token", *but})
        return {k: (None if v == "" else v) for k, v in typed.items()}


class Problems(list[str]):
    """A form's mistakes in plain words: as a list, for the summary at the top of the page, and
    `by_field`, to show each beside its field (the words never echo what was typed). `typed` is
    what the form held, so the page shown again keeps it (`_forms.html`: `kept`, `picked`)."""

    def __init__(self, found: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(f"{where.replace('_', ' ')}: {message}" for where, message in found)
        self.typed: dict[str, Any] = {}
        # Which form it was, where a page has several (its class's name: "EndForm").
        self.form = ""
        self.by_field: dict[str, str] = {}
        for where, message in found:
            self.by_field.setdefault(where, message)

    @classmethod
    def of(cls, exc: ValidationError) -> Problems:
        found = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "the form"
            found.append((where, _in_plain_words(error)))
        return cls(found)


def _in_plain_words(error: Any) -> str:
    """What a person reads beside a field, not what the validator says ("List should have at
    least 1 item after validation, not 0")."""
    kind, limits = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing" or ("input" in error and error["input"] is None):
        return "fill this in"  # an empty field is sent as absent
    if kind == "string_too_short":
        return "fill this in"
    if kind == "too_short":
        return "choose at least one"
    if kind == "string_too_long":
        return f"keep it to {limits.get('max_length')} characters"
    if kind == "too_long":
        return f"choose at most {limits.get('max_length')}"
    if kind in ("int_parsing", "int_type"):
        return "give a number"
    if kind == "greater_than_equal":
        return f"give a number of at least {limits.get('ge')}"
    if kind == "less_than_equal":
        return f"give a number of at most {limits.get('le')}"
    if kind.startswith("date_"):
        return "give a date"
    if kind.startswith("datetime") or kind == "timezone_aware":
        return "give the date and time"
    if kind == "enum" or kind == "literal_error":
        return "choose one from the list"
    if kind == "value_error" and "email" in str(error.get("msg", "")).lower():
        return "give an email address, like name@school.org"
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


class Unreadable(ValueError):
    """A field the form could not read (a date and time that is not one), by its name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def local_time(field: str, typed: str | None, zone: ZoneInfo) -> datetime | None:
    """A date and time as a phone's picker writes it, in the school's own time zone unless it
    says otherwise; None when left empty."""
    if not typed:
        return None
    try:
        when = datetime.fromisoformat(typed)
    except ValueError:
        raise Unreadable(field, "give the date and time it happened") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def kept_as_typed(form: PageForm) -> Problems:
    """No problems, but what the form held: for a form shown again as it was typed (a search
    within it, say), not because anything was wrong."""
    problems = Problems()
    problems.typed = form.model_dump(exclude={"form_token"})
    problems.form = type(form).__name__
    return problems


def submit(
    acting: PageActing,
    form: PageForm,
    read: Callable[[], T],
    act: Callable[[T], str],
    again: Callable[[Problems], Response] | None = None,
) -> Response:
    """Every form's path: its token checked, its fields `read` into the domain's input, and then
    either the page `again` with the problems (422, nothing changed) or `act` done and the
    browser sent where it says (303)."""
    acting.check_form(form.form_token)
    try:
        given = read()
    except (ValidationError, Unreadable) as exc:
        if again is None:  # a form with nothing to get wrong (a confirmation's two buttons)
            raise
        problems = (
            Problems([(exc.field, exc.message)])
            if isinstance(exc, Unreadable)
            else Problems.of(exc)
        )
        problems.typed = form.model_dump(exclude={"form_token"})
        problems.form = type(form).__name__
        return again(problems)
    return see_other(act(given))
