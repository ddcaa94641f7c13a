"""Every table of contactlog, imported in one place so migrations and tests see the whole schema."""

from consent import models as _consent  # noqa: F401
from contacts import models as _contacts  # noqa: F401
from contacts.data_protection.legal_holds import models as _holds  # noqa: F401
from contacts.data_protection.retention import models as _retention  # noqa: F401
from contacts.data_protection.subject_access import models as _subject_access  # noqa: F401
from contacts.incidents import models as _incidents  # noqa: F401
from contacts.oversight.review import models as _review  # noqa: F401
from core import idempotency as _idempotency  # noqa: F401
from core import jobruns as _jobruns  # noqa: F401
from core import outbox as _outbox  # noqa: F401
from core.directory import models as _directory  # noqa: F401
from core.directory import privileged as _privileged  # noqa: F401
from core.identity import accounts as _accounts  # noqa: F401
from core.identity import auth as _auth  # noqa: F401
from core.identity import browser_sessions as _browser_sessions  # noqa: F401
from core.identity import devices as _devices  # noqa: F401
from core.identity import mfa as _mfa  # noqa: F401
from core.identity import throttle as _throttle  # noqa: F401
from core.record import audit as _audit  # noqa: F401
from core.record import checkpoints as _checkpoints  # noqa: F401
from core.record import verification as _verification  # noqa: F401
