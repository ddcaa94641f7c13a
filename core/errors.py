"""Errors the domain raises; the HTTP edge turns each into one RFC 9457 problem response."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can be told about. `detail` must carry no personal data."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Not signed in"
    slug = "unauthorized"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class RuleBroken(DomainError):
    """The request is well formed but a rule of the protocol or the directory forbids it."""

    status = 422
    title = "Rule broken"
    slug = "rule-broken"


class InvalidInput(DomainError):
    """Input that parsed but failed validation, with one entry per problem in `errors`."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class TooLarge(DomainError):
    """A file larger than the record takes (the body itself is limited before it is read)."""

    status = 413
    title = "Too large"
    slug = "too-large"


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many attempts"
    slug = "too-many-attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(DomainError):
    """The database could not be reached or failed: say so, and when to try again."""

    status = 503
    title = "Service unavailable"
    slug = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


OUTCOME_UNKNOWN = (
    "The database failed while saving this request, so whether it was saved is not known. "
    "Send it again with the same Idempotency-Key: it is then saved once, or its first answer "
    "is returned."
)
NOT_REACHED = "The database could not be reached; nothing was changed. Try again shortly."
