"""The roles an account may hold (SPEC §1), apart from everything else: the command line names
them in its options without loading the database layer."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    staff = "staff"
    approver = "approver"
    dsl = "dsl"
    admin = "admin"
    trust_dsl = "trust_dsl"
    trust_admin = "trust_admin"
    # The chair of governors, or the trust's named person: receives concerns and allegations
    # about the headteacher (KCSIE Part 4), which the headteacher can never be the one to handle.
    case_manager = "case_manager"


TRUST_ROLES = frozenset({Role.trust_dsl, Role.trust_admin})
