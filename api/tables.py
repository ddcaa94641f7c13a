"""Every table of contactlog, imported in one place so migrations and tests see the whole schema:
each package keeps its tables in its `models.py`."""

from consent import models as _consent  # noqa: F401
from contacts import models as _contacts  # noqa: F401
from contacts.concerns import models as _concerns  # noqa: F401
from contacts.data_protection.legal_holds import models as _holds  # noqa: F401
from contacts.data_protection.retention import models as _retention  # noqa: F401
from contacts.data_protection.subject_access import models as _subject_access  # noqa: F401
from contacts.incidents import models as _incidents  # noqa: F401
from contacts.oversight.review import models as _review  # noqa: F401
from core import models as _kernel  # noqa: F401
from core.directory import models as _directory  # noqa: F401
from core.identity import models as _identity  # noqa: F401
from core.record import models as _record  # noqa: F401
