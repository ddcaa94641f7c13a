"""The directory's records under the chain (core.record.seals): trusts (with their policy) and
schools, staff (with their roles), pupils, guardians, devices. Secrets and session counters are not
content."""

from core.directory.models import Device, Guardian, Pupil, School, Staff, StaffRole, Trust
from core.record.seals import Child, Kept, keep

keep(
    Kept(
        "staff",
        Staff,
        leave_out=frozenset({"password_hash", "token_generation"}),
        children=(Child("roles", StaffRole, "staff_id", ("role",)),),
    )
)
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
