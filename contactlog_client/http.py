"""HTTP to the contactlog server: retries with back-off, and plain one-line errors."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class ClientError(Exception):
    """Something to tell the user in one line, with the exit code scripts can rely on."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(ClientError):
    """The server answered and said no (4xx): retrying the same request will not help. `error`
    is the OAuth error it named, if any (RFC 8628's `authorization_pending`, say)."""

    exit_code = 1

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


class SecondFactorRequired(Refused):
    """The password was right; the account signs in with a code from an authenticator app."""


class NotSignedIn(ClientError):
    exit_code = 4


class Unreachable(ClientError):
    """The server could not be reached, or kept failing (5xx): the request may be retried later."""

    exit_code = 3


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and "detail" in body:
        detail = str(body["detail"])
        errors = body.get("errors") or []
        fields = ", ".join(
            f"{e.get('field', e.get('row', '?'))}: {e.get('message', '')}" for e in errors[:5]
        )
        return f"{detail} ({fields})" if fields and fields not in detail else detail
    return f"HTTP {response.status_code}"


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body["error"]) if isinstance(body, dict) and "error" in body else None


def _problem_type(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""


class Api:
    def __init__(self, server: str, token: str | None = None, *, attempts: int | None = None):
        self.server = server.rstrip("/")
        self.token = token
        self.attempts = attempts or int(os.environ.get("CONTACTLOG_CLIENT_ATTEMPTS", "4"))
        self.base_delay = float(os.environ.get("CONTACTLOG_CLIENT_RETRY_SECONDS", "0.5"))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Any:
        """The decoded JSON answer. Network errors and 5xx are retried with back-off; only a
        request with an Idempotency-Key (or one that changes nothing) is ever sent twice."""
        import httpx  # here, not at start-up: commands that make no request never load it

        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        retryable = method == "GET" or key is not None
        last = "no answer"
        for attempt in range(self.attempts if retryable else 1):
            if attempt:
                time.sleep(self.base_delay * 2 ** (attempt - 1))
            try:
                response = httpx.request(
                    method,
                    self.server + path,
                    json=json,
                    data=data,
                    params=params,
                    headers=headers,
                    timeout=15,
                )
            except httpx.TransportError as exc:
                last = f"cannot reach {self.server} ({type(exc).__name__})"
                continue
            if response.status_code >= 500 or (response.status_code == 409 and key):
                # 409 with a key: the first try is still being processed; it will be replayed.
                last = f"the server answered {response.status_code}: {_detail(response)}"
                continue
            if response.status_code == 401 and path == "/auth/token":
                if _problem_type(response).endswith(":second-factor-required"):
                    raise SecondFactorRequired(_detail(response))
                raise Refused(_detail(response))  # a wrong password, not a lapsed sign-in
            if response.status_code == 401:
                raise NotSignedIn(f"{_detail(response)} Run `contactlog login`.")
            if response.status_code >= 400:
                raise Refused(_detail(response), _oauth_error(response))
            return response.json() if response.content else None
        raise Unreachable(last)
