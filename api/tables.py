"""Every table of contactlog, imported in one place so migrations and tests see the whole schema."""

from core import auth as _auth  # noqa: F401
from core.directory import models as _directory  # noqa: F401
