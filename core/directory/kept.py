"""The directory's records under the chain (core.record.seals): trusts (with their policy) and
schools, staff (with their roles), pupils, guardians, devices. Which columns are content (not the
secrets and session counters) is declared with each table (core/columns.py)."""

from core.directory.models import (
    Device,
    Guardian,
    PendingChange,
    Pupil,
    School,
    Staff,
    StaffRole,
    Trust,
)
from core.record.seals import Child, Kept, keep

keep(Kept("staff", Staff, children=(Child("roles", StaffRole, "staff_id"),)))
# A trust's row holds its policy (consent age, sampling, retention): an edit made in the
# database is named by verification like any other.
keep(Kept("trust", Trust))
keep(Kept("school", School))
keep(Kept("pupil", Pupil))
keep(Kept("guardian", Guardian))
keep(
    Kept(
        "device",
        Device,
        named=lambda device: {"asset_tag": device.asset_tag, "is_active": device.is_active},
    )
)
# Proposals and their decisions are kept records: a pupil's old date of birth lives here, and
# nobody may rewrite who proposed or confirmed a grant.
keep(Kept("pending_change", PendingChange))
