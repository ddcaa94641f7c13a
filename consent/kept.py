"""consent/'s records under the chain (core.record.seals): consents, parent notices and the requests
sent to parents. Which of their columns are content is declared with each table (core/columns)."""

from sqlmodel import col

from consent.models import Consent, ConsentRequest, ParentNotice
from core.directory.pupils import records_name
from core.record.seals import Kept, keep

keep(Kept("consent", Consent))
keep(Kept("parent_notice", ParentNotice))
keep(Kept("consent_request", ConsentRequest))

# A pupil named in any of these has records: their dates wait for a second person to change.
for _column in (Consent.pupil_id, ParentNotice.pupil_id, ConsentRequest.pupil_id):
    records_name(col(_column))
