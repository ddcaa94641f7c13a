"""consent/'s records under the chain (core.seals): consents and parent notices."""

from consent.models import Consent, ParentNotice
from core.seals import Kept, keep

keep(Kept("consent", Consent))
keep(Kept("parent_notice", ParentNotice))
