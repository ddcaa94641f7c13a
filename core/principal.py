"""Who a service acts for: a member of staff, the operator at the command line, the scheduler,
or a parent answering through their link."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.roles import TRUST_ROLES, Role


@dataclass(frozen=True)
class Principal:
    """The signed-in member of staff (or the operator at the command line) a service acts for."""

    staff_id: int | None
    school_id: int | None
    trust_id: int | None
    roles: frozenset[Role] = field(default_factory=frozenset)
    is_headteacher: bool = False
    operator: bool = False
    # Who, when no account acts: the change record says so beside each such event, so an
    # investigator can tell a sweep's ending from an operator's.
    kind: Literal["staff", "command line", "scheduler", "parent", "platform"] = "staff"

    @classmethod
    def command_line(cls) -> Principal:
        """The operator running `contactlog` on the server: trust administration, no account."""
        return cls(staff_id=None, school_id=None, trust_id=None, operator=True, kind="command line")

    @classmethod
    def platform(cls, school_id: int, trust_id: int) -> Principal:
        """A platform's own signed delivery (the WhatsApp Business webhook) for one school: no
        account and no role; it can only add what the platform captured."""
        return cls(staff_id=None, school_id=school_id, trust_id=trust_id, kind="platform")

    @classmethod
    def scheduler(cls) -> Principal:
        """The scheduled jobs: the same reach as the operator, named apart in the record."""
        return cls(staff_id=None, school_id=None, trust_id=None, operator=True, kind="scheduler")

    def has(self, role: Role) -> bool:
        return role in self.roles

    def acts_as(self, role: Role, *, school_id: int, trust_id: int) -> bool:
        """Whether this principal holds `role` for the school (trust roles count trust-wide)."""
        if self.operator:
            return role in (Role.admin, Role.dsl, Role.trust_admin, Role.trust_dsl)
        if trust_id != self.trust_id:
            return False
        if role in (Role.admin, Role.trust_admin) and Role.trust_admin in self.roles:
            return True
        if role in (Role.dsl, Role.trust_dsl) and Role.trust_dsl in self.roles:
            return True
        return role in self.roles and school_id == self.school_id and role not in TRUST_ROLES

    def sees_school(self, *, school_id: int, trust_id: int) -> bool:
        """Schools whose directory this principal may look into at all."""
        if self.operator:
            return True
        if trust_id != self.trust_id:
            return False
        return school_id == self.school_id or bool(self.roles & TRUST_ROLES)
