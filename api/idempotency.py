"""Idempotency-Key on create requests: a retry after a lost response never makes a duplicate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import Caller, CallerDep, SessionDep, commit_or_say_unknown
from core import idempotency
from core.principal import Principal


class Idempotent:
    """Runs one create; with a key, stores its response in the same transaction as the record.

    `make` is given the principal asking; `view` turns what was created into its public schema,
    so nothing else can leak. The whole create (who is asking, the stored response, the work,
    the commit) runs in the endpoint's one worker-thread call.
    """

    def __init__(self, request: Request, session: Session, who: Caller, key: str | None):
        self.endpoint = f"{request.method} {request.url.path}"
        self.session = session
        self.who = who
        self.key = idempotency.check_key(key) if key is not None else None

    def create(
        self,
        body: BaseModel | None,
        make: Callable[[Principal], Any],
        view: Callable[[Any], BaseModel],
        *,
        status_code: int = 201,
    ) -> JSONResponse:
        response = self._create(self.who.principal(), body, make, view, status_code)
        # The create commits here, in the thread that did the work, rather than in another
        # thread hand-over when the request's session closes; a failed commit is still an
        # error response, since nothing has been sent yet.
        commit_or_say_unknown(self.session)
        return response

    def _create(
        self,
        actor: Principal,
        body: BaseModel | None,
        make: Callable[[Principal], Any],
        view: Callable[[Any], BaseModel],
        status_code: int,
    ) -> JSONResponse:
        if self.key is None or actor.staff_id is None:
            return JSONResponse(view(make(actor)).model_dump(mode="json"), status_code=status_code)
        request_hash = idempotency.fingerprint(
            self.endpoint, body.model_dump(mode="json") if body is not None else None
        )
        stored = idempotency.begin(
            self.session,
            staff_id=actor.staff_id,
            key=self.key,
            endpoint=self.endpoint,
            request_hash=request_hash,
        )
        if stored is not None:
            return JSONResponse(
                stored.body,
                status_code=stored.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        payload = view(make(actor)).model_dump(mode="json")
        idempotency.finish(
            self.session,
            staff_id=actor.staff_id,
            key=self.key,
            endpoint=self.endpoint,
            request_hash=request_hash,
            status_code=status_code,
            body=payload,
        )
        return JSONResponse(payload, status_code=status_code)


async def idempotent(
    request: Request,
    session: SessionDep,
    who: CallerDep,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Any unique string per record; a retry with the same key and body "
            "returns the first response instead of creating again.",
        ),
    ] = None,
) -> Idempotent:
    return Idempotent(request, session, who, key)


IdempotentDep = Annotated[Idempotent, Depends(idempotent)]
