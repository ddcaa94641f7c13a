"""Links of school accounts (Microsoft, Google) to contactlog accounts: one's own, and, for an
admin, those of the school's staff; listed and removed."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ActingDep
from api.routing import UnitOfWorkRoute
from core.identity import sso_links
from core.identity.sso_links import SsoLinkPublic
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, tags=["auth"])


@router.get("/me/sso-links", response_model=list[SsoLinkPublic])
def mine(acting: ActingDep) -> object:
    return sso_links.list_mine(session=acting.session, actor=acting.actor)


@router.delete("/me/sso-links/{link_id:int}", status_code=204)
def remove_mine(link_id: RecordId, acting: ActingDep) -> Response:
    """Unlink one of your school accounts; on the record. Linking again needs your sign-in."""
    sso_links.remove_mine(session=acting.session, actor=acting.actor, link_id=link_id, at=acting.at)
    return Response(status_code=204)


@router.get("/staff/{staff_id:int}/sso-links", response_model=list[SsoLinkPublic])
def of_staff(staff_id: RecordId, acting: ActingDep) -> object:
    """An admin of the school (a trust role's account: a trust admin) sees its links."""
    return sso_links.list_for_staff(session=acting.session, actor=acting.actor, staff_id=staff_id)


@router.delete("/staff/{staff_id:int}/sso-links/{link_id:int}", status_code=204)
def remove_for_staff(staff_id: RecordId, link_id: RecordId, acting: ActingDep) -> Response:
    """An admin removes a link made to the wrong account, or of someone who left; on the
    record. It gives no one access: a new link still needs the person's own sign-in."""
    sso_links.remove_for_staff(
        session=acting.session,
        actor=acting.actor,
        staff_id=staff_id,
        link_id=link_id,
        at=acting.at,
    )
    return Response(status_code=204)
