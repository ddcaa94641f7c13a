"""The school's directory for its administrators: staff (invited by email to choose their own
password; privileged roles wait for a second person), guardians and parent notices of a pupil,
and the register of school-owned devices. Each form is the API's create, through its service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.deps import PasswordsDep
from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.admin_pages import pupil_page_again
from api.web.forms import PageForm, submit
from api.web.render import PAGE_SIZE, all_of, page_for, paged
from consent import service as consent
from consent.models import ParentNoticeCreate
from contacts.consenting import CONTACTS
from core.directory import pupils, staff
from core.directory.models import DeviceCreate, DeviceUpdate, GuardianCreate, Role, StaffCreate
from core.directory.schools import list_devices, register_device, update_device
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


class GuardianForm(PageForm):
    name: str = ""
    relationship: str = ""
    email: str = ""
    has_parental_responsibility: str = ""


@router.post("/app/pupils/{pupil_id:int}/guardians")
def add_guardian(
    pupil_id: RecordId, acting: PageDep, form: Annotated[GuardianForm, Form()]
) -> Response:
    def read() -> GuardianCreate:
        yes = form.has_parental_responsibility == "yes"
        values = form.values(but=("has_parental_responsibility",))
        return GuardianCreate.model_validate({**values, "has_parental_responsibility": yes})

    def act(guardian_in: GuardianCreate) -> str:
        pupils.add_guardian(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            pupil_id=pupil_id,
            guardian_in=guardian_in,
        )
        return f"/app/pupils/{pupil_id}?done=guardian"

    return submit(acting, form, read, act, again=pupil_page_again(acting, pupil_id))


class ParentNoticeForm(PageForm):
    contact_id: str = ""
    informed_on: str = ""
    informed_by: str = ""
    method: str = ""
    reason_explained: str = ""


@router.post("/app/pupils/{pupil_id:int}/parent-notices")
def record_parent_notice(
    pupil_id: RecordId, acting: PageDep, form: Annotated[ParentNoticeForm, Form()]
) -> Response:
    """16 and over: the parents were informed, and how (§5.5)."""

    def act(notice_in: ParentNoticeCreate) -> str:
        consent.record_parent_notice(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contacts=CONTACTS,
            pupil_id=pupil_id,
            notice_in=notice_in,
        )
        return f"/app/pupils/{pupil_id}?done=notice"

    def read() -> ParentNoticeCreate:
        return ParentNoticeCreate.model_validate(form.values())

    return submit(acting, form, read, act, again=pupil_page_again(acting, pupil_id))


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


class DeviceForm(PageForm):
    asset_tag: str = ""
    description: str = ""


@router.post("/app/devices")
def register(acting: PageDep, form: Annotated[DeviceForm, Form()]) -> Response:
    def read() -> DeviceCreate:
        return DeviceCreate.model_validate(form.values())

    def act(device_in: DeviceCreate) -> str:
        register_device(
            session=acting.session, actor=acting.actor, at=acting.at, device_in=device_in
        )
        return "/app/devices"

    return submit(acting, form, read, act, again=lambda p: _devices(acting, p, status=422))


class InUseForm(PageForm):
    in_use: str = ""


@router.post("/app/devices/{device_id:int}/in-use")
def retire_or_restore(
    device_id: RecordId, acting: PageDep, form: Annotated[InUseForm, Form()]
) -> Response:
    """A device lost, replaced or handed back is retired: a message logged from it from then
    on is flagged, as one from an unregistered device is; its past entries stay as they were."""

    def read() -> DeviceUpdate:
        return DeviceUpdate(is_active=form.in_use == "yes")

    def act(changes: DeviceUpdate) -> str:
        update_device(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            device_id=device_id,
            changes=changes,
        )
        return "/app/devices"

    return submit(acting, form, read, act)


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


class InvitationForm(PageForm):
    name: str = ""
    email: str = ""
    roles: list[str] = []
    line_manager_id: str = ""


@router.post("/app/staff")
def invite(
    acting: PageDep, passwords: PasswordsDep, form: Annotated[InvitationForm, Form()]
) -> Response:
    """A new colleague is emailed an invitation; a privileged role waits for a second person."""

    def read() -> StaffCreate:
        return StaffCreate.model_validate({**form.values(), "roles": form.roles or ["staff"]})

    def act(staff_in: StaffCreate) -> str:
        staff.create_staff(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            staff_in=staff_in,
            passwords=passwords,
            settings=acting.settings,
        )
        return "/app/staff"

    return submit(acting, form, read, act, again=lambda p: _staff(acting, p, status=422))
