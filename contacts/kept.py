"""contacts/'s records under the chain (core.record.seals): contacts with their pupils and devices,
deletion tasks, messages with their pupils and flags, reviews, incidents with their pupils, and
what the platforms captured (uploads, captured messages with their pupils, names in exports)."""

from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col, select

from contacts.capture.models import CapturedMessage, CapturedPupil, CaptureName, CaptureUpload
from contacts.concerns import readers as concern_readers
from contacts.concerns.models import (
    Concern,
    ConcernAction,
    ConcernAttachment,
    ConcernNote,
    ConcernRecord,
    ConcernReferral,
)
from contacts.data_protection.legal_holds.models import LegalHold
from contacts.data_protection.retention.models import RetentionRun
from contacts.data_protection.subject_access.models import SubjectAccessRequest
from contacts.incidents.models import Incident, IncidentPupil
from contacts.models import (
    Contact,
    ContactDevice,
    ContactPupil,
    DeletionTask,
    Message,
    MessageFlag,
    MessagePupil,
)
from contacts.oversight.review.models import MessageReview
from core import about
from core.directory.pupils import records_name
from core.record.seals import Child, Kept, keep

keep(
    Kept(
        "contact",
        Contact,
        children=(
            Child("pupils", ContactPupil, "contact_id"),
            Child("devices", ContactDevice, "contact_id"),
        ),
    )
)
keep(Kept("deletion_task", DeletionTask))
keep(
    Kept(
        "message",
        Message,
        children=(
            Child("pupils", MessagePupil, "message_id"),
            Child("flag_rows", MessageFlag, "message_id"),
        ),
    )
)
keep(Kept("message_review", MessageReview))
keep(
    Kept(
        "incident",
        Incident,
        children=(Child("pupils", IncidentPupil, "incident_id"),),
    )
)
keep(
    Kept(
        "legal_hold",
        LegalHold,
        named=lambda hold: {"subject": f"{hold.subject_type}:{hold.subject_id}"},
    )
)
keep(
    Kept(
        "subject_access_request",
        SubjectAccessRequest,
        named=lambda request: {"due_on": request.due_on},
    )
)
keep(Kept("retention_run", RetentionRun))
keep(Kept("capture_upload", CaptureUpload))
keep(
    Kept(
        "captured_message",
        CapturedMessage,
        children=(Child("pupils", CapturedPupil, "captured_id"),),
    )
)
keep(Kept("capture_name", CaptureName))
# A concern with its whole case file: a note, a referral, an action or an attachment added (or
# taken away in the database) changes the concern's sealed content.
keep(
    Kept(
        "concern",
        Concern,
        children=(
            Child("records", ConcernRecord, "concern_id"),
            Child("notes", ConcernNote, "concern_id"),
            Child("referrals", ConcernReferral, "concern_id"),
            Child("actions", ConcernAction, "concern_id"),
            Child("attachments", ConcernAttachment, "concern_id"),
        ),
        named=lambda concern: {"kind": concern.kind},
    )
)


def _holds_about(staff_id: int) -> Any:
    """Holds on the member of staff, or on a contact they hold or an incident they reported;
    and holds an allegation placed that they do not handle."""
    return select(col(LegalHold.id)).where(
        or_(
            and_(col(LegalHold.subject_type) == "staff", col(LegalHold.subject_id) == staff_id),
            and_(
                col(LegalHold.subject_type) == "contact",
                col(LegalHold.subject_id).in_(
                    select(col(Contact.id)).where(col(Contact.staff_id) == staff_id)
                ),
            ),
            and_(
                col(LegalHold.subject_type) == "incident",
                col(LegalHold.subject_id).in_(
                    select(col(Incident.id)).where(col(Incident.reporter_id) == staff_id)
                ),
            ),
            # The hold an allegation placed is as hidden as the allegation itself: from its
            # subject, and from anyone who does not handle it.
            col(LegalHold.id).in_(
                select(col(Concern.hold_id)).where(
                    col(Concern.hold_id).is_not(None),
                    col(Concern.id).in_(concern_readers.hidden_from(staff_id)),
                )
            ),
        )
    )


# Nobody sees, releases or is told of a hold about themselves (core/about.py).
about.register("legal_hold", _holds_about)
# Nor of a concern about them; and a concern is read by its few readers only, so its events
# are left out of everyone else's change record too (contacts/concerns/readers.py).
about.register("concern", concern_readers.hidden_from)
about.register("staff_pattern", concern_readers.patterns_hidden_from)


# A pupil named in any of these has records: their dates wait for a second person to change.
for _column in (
    ContactPupil.pupil_id,
    MessagePupil.pupil_id,
    IncidentPupil.pupil_id,
    CapturedPupil.pupil_id,
):
    records_name(col(_column))
