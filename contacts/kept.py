"""contacts/'s records under the chain (core.seals): contacts with their pupils and devices,
deletion tasks, messages with their pupils and flags, reviews, incidents with their pupils."""

from contacts.incidents.models import Incident, IncidentPupil
from contacts.legal_holds.models import LegalHold
from contacts.models import (
    Contact,
    ContactDevice,
    ContactPupil,
    DeletionTask,
    Message,
    MessagePupil,
)
from contacts.retention.models import RetentionRun
from contacts.review.models import MessageFlag, MessageReview
from contacts.subject_access.models import SubjectAccessRequest
from core.seals import Child, Kept, keep

# Stamps the scheduler keeps are not content: it sets them without an event of their own.
keep(
    Kept(
        "contact",
        Contact,
        leave_out=frozenset({"ending_notice_at", "approval_chased_at"}),
        children=(
            Child(
                "pupils",
                ContactPupil,
                "contact_id",
                ("pupil_id", "ended_at", "ended_by_id", "end_reason"),
            ),
            Child("devices", ContactDevice, "contact_id", ("device_id",)),
        ),
    )
)
keep(
    Kept(
        "deletion_task",
        DeletionTask,
        leave_out=frozenset({"reminders_sent", "next_reminder_at", "escalated_at"}),
    )
)
keep(
    Kept(
        "message",
        Message,
        children=(
            Child("pupils", MessagePupil, "message_id", ("pupil_id",)),
            Child("flag_rows", MessageFlag, "message_id", ("flag",)),
        ),
    )
)
keep(Kept("message_review", MessageReview))
keep(
    Kept(
        "incident",
        Incident,
        children=(Child("pupils", IncidentPupil, "incident_id", ("pupil_id", "part")),),
    )
)
keep(Kept("legal_hold", LegalHold))
keep(Kept("subject_access_request", SubjectAccessRequest))
keep(Kept("retention_run", RetentionRun))
