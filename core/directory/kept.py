"""The directory's records under the chain (core.seals): staff (with their roles), pupils,
guardians, devices. Secrets and session counters are not content."""

from core.directory.models import Device, Guardian, Pupil, Staff, StaffRole
from core.seals import Child, Kept, keep

keep(
    Kept(
        "staff",
        Staff,
        leave_out=frozenset({"password_hash", "token_generation"}),
        children=(Child("roles", StaffRole, "staff_id", ("role",)),),
    )
)
keep(Kept("pupil", Pupil))
keep(Kept("guardian", Guardian))
keep(Kept("device", Device))
