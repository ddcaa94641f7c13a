"""Idempotency-Key on create requests: a retry after a lost response never makes a duplicate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import Acting, SessionDep
from core import idempotency


class Idempotent:
    """Idempotency-Key around one create: a retry is answered with the first response.

    The route asks `replay(acting, body)` first (a stored answer, or None to go ahead), does the
    work, and returns `answer(view, status)`, which keeps the response in the same transaction
    as the record; the request's one commit keeps both or neither.
    """

    def __init__(self, request: Request, session: Session, key: str | None):
        self.endpoint = f"{request.method} {request.url.path}"
        self.session = session
        self.key = idempotency.check_key(key) if key is not None else None
        self._begun: tuple[int, str, datetime] | None = None

    def replay(self, acting: Acting, body: BaseModel | None = None) -> JSONResponse | None:
        actor = acting.actor
        if self.key is None or actor.staff_id is None:
            return None
        request_hash = idempotency.fingerprint(
            self.endpoint, body.model_dump(mode="json") if body is not None else None
        )
        stored = idempotency.begin(
            self.session,
            staff_id=actor.staff_id,
            key=self.key,
            endpoint=self.endpoint,
            request_hash=request_hash,
            at=acting.at,
        )
        if stored is not None:
            return JSONResponse(
                stored.body,
                status_code=stored.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        self._begun = (actor.staff_id, request_hash, acting.at)
        return None

    def answer(self, view: BaseModel, *, status_code: int = 201) -> JSONResponse:
        payload = view.model_dump(mode="json")
        if self._begun is not None and self.key is not None:
            staff_id, request_hash, at = self._begun
            idempotency.finish(
                self.session,
                staff_id=staff_id,
                key=self.key,
                endpoint=self.endpoint,
                request_hash=request_hash,
                status_code=status_code,
                body=payload,
                at=at,
            )
        return JSONResponse(payload, status_code=status_code)


async def idempotent(
    request: Request,
    session: SessionDep,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Any unique string per record; a retry with the same key and body "
            "returns the first response instead of creating again.",
        ),
    ] = None,
) -> Idempotent:
    return Idempotent(request, session, key)


IdempotentDep = Annotated[Idempotent, Depends(idempotent)]
