"""Evidence packs for an investigation: one contact's or one pupil's whole record as a ZIP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import RecordedRead
from api.routing import UnitOfWorkRoute
from contacts.oversight import evidence
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, tags=["review"])
ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "The evidence pack"}
}


def streamed(pack: IO[bytes], name: str) -> StreamingResponse:
    def chunks() -> Iterator[bytes]:
        with pack:
            while chunk := pack.read(64 * 1024):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/contacts/{contact_id:int}/evidence-pack", response_class=StreamingResponse, responses=ZIP
)
def contact_pack(contact_id: RecordId, acting: RecordedRead) -> StreamingResponse:
    """Everything about one contact, with its events, the latest signed checkpoint and a
    SHA-256 manifest; making it is on the record."""
    scope = evidence.contact_scope(
        session=acting.session, actor=acting.actor, at=acting.at, contact_id=contact_id
    )
    pack = evidence.build(acting.session, scope, made=acting.at, settings=acting.settings)
    return streamed(pack, f"contactlog-contact-{contact_id}.zip")


@router.get("/pupils/{pupil_id:int}/evidence-pack", response_class=StreamingResponse, responses=ZIP)
def pupil_pack(pupil_id: RecordId, acting: RecordedRead) -> StreamingResponse:
    """Everything about one pupil: contacts, messages, consents, notices, incidents, events;
    making it is on the record."""
    scope = evidence.pupil_scope(
        session=acting.session, actor=acting.actor, at=acting.at, pupil_id=pupil_id
    )
    pack = evidence.build(acting.session, scope, made=acting.at, settings=acting.settings)
    return streamed(pack, f"contactlog-pupil-{pupil_id}.zip")
