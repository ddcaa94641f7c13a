"""The school's directory for its administrators: staff (invited by email to choose their own
password; privileged roles wait for a second person), guardians and parent notices of a pupil,
and the register of school-owned devices. Each form is the API's create, through its service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import PasswordsDep
from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.admin_pages import pupil_page_with
from api.web.render import PAGE_SIZE, all_of, page_for, paged, problems_of, see_other
from consent import service as consent
from consent.models import ParentNoticeCreate
from contacts.consenting import CONTACTS
from core.directory import pupils, staff
from core.directory.models import DeviceCreate, GuardianCreate, Role, StaffCreate
from core.directory.schools import list_devices, register_device
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _blank_is_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if v != "" else None) for k, v in fields.items()}


@router.post("/app/pupils/{pupil_id:int}/guardians")
def add_guardian(
    pupil_id: RecordId,
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=210)] = "",
    relationship: Annotated[str, Form(max_length=60)] = "",
    email: Annotated[str, Form(max_length=260)] = "",
    has_parental_responsibility: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    acting.check_form(form_token)
    try:
        guardian_in = GuardianCreate.model_validate(
            {
                "name": name,
                "relationship": relationship,
                "email": email or None,
                "has_parental_responsibility": has_parental_responsibility == "yes",
            }
        )
    except ValidationError as exc:
        return pupil_page_with(acting, pupil_id, problems=problems_of(exc), status=422)
    pupils.add_guardian(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        pupil_id=pupil_id,
        guardian_in=guardian_in,
    )
    return see_other(f"/app/pupils/{pupil_id}?done=guardian")


@router.post("/app/pupils/{pupil_id:int}/parent-notices")
def record_parent_notice(
    pupil_id: RecordId,
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    contact_id: Annotated[str, Form(max_length=20)] = "",
    informed_on: Annotated[str, Form(max_length=20)] = "",
    informed_by: Annotated[str, Form(max_length=210)] = "",
    method: Annotated[str, Form(max_length=20)] = "",
    reason_explained: Annotated[str, Form(max_length=2100)] = "",
) -> Response:
    """16 and over: the parents were informed, and how (§5.5)."""
    acting.check_form(form_token)
    try:
        notice_in = ParentNoticeCreate.model_validate(
            _blank_is_none(
                {
                    "contact_id": contact_id,
                    "informed_on": informed_on,
                    "informed_by": informed_by,
                    "method": method,
                    "reason_explained": reason_explained,
                }
            )
        )
    except ValidationError as exc:
        return pupil_page_with(acting, pupil_id, problems=problems_of(exc), status=422)
    consent.record_parent_notice(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contacts=CONTACTS,
        pupil_id=pupil_id,
        notice_in=notice_in,
    )
    return see_other(f"/app/pupils/{pupil_id}?done=notice")


def _devices(
    acting: PageActing,
    problems: list[str] | None = None,
    status: int = 200,
    cursor: str | None = None,
) -> Response:
    found = list_devices(session=acting.session, actor=acting.actor, cursor=cursor, limit=PAGE_SIZE)
    return page_for(
        acting,
        "devices.html",
        title="School-owned devices",
        pager=paged(acting, found),
        problems=problems or [],
        status=status,
        may_register=acting.actor.has(Role.admin) or acting.actor.has(Role.trust_admin),
    )


@router.get("/app/devices")
def device_register(acting: PageDep, cursor: str | None = None) -> Response:
    return _devices(acting, cursor=cursor)


@router.post("/app/devices")
def register(
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    asset_tag: Annotated[str, Form(max_length=60)] = "",
    description: Annotated[str, Form(max_length=210)] = "",
) -> Response:
    acting.check_form(form_token)
    try:
        device_in = DeviceCreate(asset_tag=asset_tag, description=description)
    except ValidationError as exc:
        return _devices(acting, problems_of(exc), status=422)
    register_device(session=acting.session, actor=acting.actor, at=acting.at, device_in=device_in)
    return see_other("/app/devices")


def _staff(
    acting: PageActing,
    problems: list[str] | None = None,
    status: int = 200,
    cursor: str | None = None,
) -> Response:
    found = staff.list_staff(
        session=acting.session, actor=acting.actor, at=acting.at, cursor=cursor, limit=PAGE_SIZE
    )
    return page_for(
        acting,
        "staff.html",
        title="Staff",
        pager=paged(acting, found),
        # A line manager is chosen from every active colleague, not only this page's.
        colleagues=all_of(
            staff.list_staff, session=acting.session, actor=acting.actor, at=acting.at, active=True
        ),
        roles=[r for r in Role if r.value in ("staff", "approver", "dsl", "admin")],
        problems=problems or [],
        status=status,
    )


@router.get("/app/staff")
def staff_list(acting: PageDep, cursor: str | None = None) -> Response:
    return _staff(acting, cursor=cursor)


@router.post("/app/staff")
def invite(
    acting: PageDep,
    passwords: PasswordsDep,
    form_token: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=210)] = "",
    email: Annotated[str, Form(max_length=260)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    line_manager_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A new colleague is emailed an invitation; a privileged role waits for a second person."""
    acting.check_form(form_token)
    try:
        staff_in = StaffCreate.model_validate(
            {
                "name": name,
                "email": email,
                "roles": roles or ["staff"],
                "line_manager_id": line_manager_id or None,
            }
        )
    except ValidationError as exc:
        return _staff(acting, problems_of(exc), status=422)
    staff.create_staff(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_in=staff_in,
        passwords=passwords,
        settings=acting.settings,
    )
    return see_other("/app/staff")
