"""The emails contactlog sends: plain, short, saying what to do, how to confirm, and by when.

Subjects come from fixed wording (ids, dates, platforms by their proper names); anything stored
that a person typed reaches an email only through `core.text.one_line`, so no stored text can
break a header or silence an alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from contacts.data_protection.retention.models import RetentionReport
from contacts.incidents.models import Incident
from contacts.models import PLATFORM_NAMES, Contact, platform_name
from core.links import page_of
from core.text import one_line

SIGNATURE = "\n-- \ncontactlog, for your school's social-networking protocol\n"


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def _platform(contact: Contact) -> str:
    """For subjects: the platform's proper name only, never text someone typed."""
    return PLATFORM_NAMES.get(contact.platform, "another platform")


def _which(contact: Contact) -> str:
    named = one_line(platform_name(contact.platform, contact.platform_name))
    return f"contact #{contact.id} on {named} ({one_line(contact.school_account)})"


def _how_to_confirm(contact: Contact, base_url: str) -> str:
    return (
        "When it is done, confirm it on the contact's page:\n"
        f"  {page_of(base_url, 'contact', contact.id)}\n"
        f'  or: contactlog confirm-deletion {contact.id} --how "what you removed"\n'
    )


def ending_soon(contact: Contact, *, base_url: str) -> Email:
    return Email(
        subject=f"Your approved {_platform(contact)} contact ends on {contact.ends_on:%d %B %Y}",
        body=(
            f"Your approved {_which(contact)} ends on {contact.ends_on:%A %d %B %Y}.\n\n"
            "From then the protocol (§5.6) needs the online relationship to stop and the contact\n"
            "method to be deleted. If the work purpose continues, ask your line manager for a\n"
            "new approval before that date.\n"
            f"\nDetails: {page_of(base_url, 'contact', contact.id)}\n{SIGNATURE}"
        ),
    )


def delete_contact_method(
    contact: Contact,
    *,
    pupils: list[str] | None,
    reminder: int,
    escalate_on: date,
    base_url: str,
) -> Email:
    """`pupils` names those to remove when only part of a contact ended; None for all of it."""
    what = (
        "Remove these pupils from the group, friend list or contacts you used: "
        + ", ".join(one_line(p) for p in pupils)
        + "."
        if pupils
        else "Delete the contact method: leave or close the group, remove the friend or\n"
        "follower connections, and delete the contacts you held for it."
    )
    again = f" (reminder {reminder - 1})" if reminder > 1 else ""
    return Email(
        subject=f"Action needed: delete the {_platform(contact)} contact method{again}",
        body=(
            f"Your {_which(contact)} has ended, so under the protocol (§5.6) the online\n"
            "relationship must stop now.\n\n"
            f"{what}\n\n"
            f"{_how_to_confirm(contact, base_url)}\n"
            f"If it is not confirmed by {escalate_on:%A %d %B %Y}, your line manager and the\n"
            "designated safeguarding lead will be told. The contact's record is kept either way.\n"
            f"{SIGNATURE}"
        ),
    )


def deletion_overdue(contact: Contact, *, staff_name: str, days: int, base_url: str) -> Email:
    return Email(
        subject=f"Overdue: deleting a {_platform(contact)} contact has not been confirmed",
        body=(
            f"{one_line(staff_name)}'s {_which(contact)} ended {days} days or more ago,\n"
            "and the deletion of the contact method has not been confirmed.\n\n"
            "Please follow this up with them. The contact's record, its messages and the\n"
            f"deletion tasks are at {page_of(base_url, 'contact', contact.id)}\n{SIGNATURE}"
        ),
    )


def flagged_message(contact: Contact, *, message_id: int, flags: list[str], base_url: str) -> Email:
    return Email(
        subject=f"Flagged communication logged on {_platform(contact)} contact #{contact.id}",
        body=(
            f"A communication was logged on {_which(contact)} with these flags:\n"
            + "".join(f"  - {f.replace('_', ' ')}\n" for f in flags)
            + f"\nReview it: {page_of(base_url, 'message', message_id)}\n{SIGNATURE}"
        ),
    )


def consent_withdrawn(contact: Contact, *, base_url: str) -> Email:
    return Email(
        subject=f"Consent withdrawn: stop contact for a pupil on {_platform(contact)}",
        body=(
            f"A parent or carer has withdrawn consent for a pupil on your {_which(contact)}.\n"
            "The contact has ended for that pupil: send them nothing more.\n\n"
            "A separate email asks you to remove them; details:\n"
            f"  {page_of(base_url, 'contact', contact.id)}\n"
            f"{SIGNATURE}"
        ),
    )


def incident_reported(incident: Incident, *, reporter: str, zone: ZoneInfo, base_url: str) -> Email:
    """When it happened as the school's clock showed it (the form asked in school time)."""
    kind = incident.kind.replace("_", " ")
    then = incident.occurred_at.astimezone(zone)
    where = one_line(platform_name(incident.platform, incident.platform_name))
    platform = PLATFORM_NAMES.get(incident.platform, "another platform")
    return Email(
        subject=f"Incident reported: {kind} on {platform}",
        body=(
            f"{one_line(reporter)} has recorded an incident ({kind}) on {where}, which happened\n"
            f"on {then.day} {then:%B %Y at %H:%M} (school time).\n\n"
            "The protocol (§5.2) asks the headteacher or line manager to discuss it with them and\n"
            "record the outcome, including whether a parent should be involved:\n"
            f"  {page_of(base_url, 'incident', incident.id)}\n{SIGNATURE}"
        ),
    )


def approval_requested(contact: Contact, *, requester: str, base_url: str) -> Email:
    return Email(
        subject=f"A {_platform(contact)} contact request needs your decision",
        body=(
            f"{one_line(requester)} asks your written permission for {_which(contact)} from "
            f"{contact.starts_on:%d %B} to {contact.ends_on:%d %B %Y}.\n\n"
            "Staff may not make this contact until you approve it. Its purpose, pupils and\n"
            "devices are on its page, where you decide it:\n"
            f"  {page_of(base_url, 'contact', contact.id)}\n"
            f"{SIGNATURE}"
        ),
    )


def approval_waiting(contact: Contact, *, requester: str, base_url: str) -> Email:
    return Email(
        subject=f"A {_platform(contact)} contact request is waiting for your decision",
        body=(
            f"{one_line(requester)} asked for approval of {_which(contact)} from "
            f"{contact.starts_on:%d %B} to {contact.ends_on:%d %B %Y}.\n\n"
            "Staff may not make this contact until you approve it in writing. Decide it on its\n"
            f"page: {page_of(base_url, 'contact', contact.id)}\n"
            f'  or: contactlog decide {contact.id} --approve   (or --reject --reason "...")\n'
            f"{SIGNATURE}"
        ),
    )


def delivery_failed(*, email_id: int, kind: str, hours: int, base_url: str) -> Email:
    return Email(
        subject="contactlog could not deliver an email",
        body=(
            f"Email #{email_id} ({kind.replace('_', ' ')}) was not delivered in {hours} hours\n"
            "and has been given up. Check the mail server settings, and the outbox:\n"
            f"  {page_of(base_url, 'outbox')}\n"
            f"{SIGNATURE}"
        ),
    )


def chain_altered(*, problem: str | None, altered: int, base_url: str) -> Email:
    """Counts and places only: what was altered is for the DSL to read in contactlog."""
    link = problem or ""
    records = f"{altered} record(s) differ from what the change record sealed" if altered else ""
    found = "\n".join(f"  - {line}" for line in (link, records) if line)
    return Email(
        subject="The change record does NOT verify",
        body=(
            "contactlog's hourly check of its change record failed: something in the database\n"
            "was changed, deleted or added other than through contactlog.\n\n"
            f"{found}\n\n"
            "Which records, and the change record itself (signed in as a DSL):\n"
            f"  {page_of(base_url, 'change_record')}\n"
            "Compare with the checkpoints you kept (contactlog audit verify --against ...), and\n"
            "treat this as a possible attempt to alter evidence.\n"
            f"{SIGNATURE}"
        ),
    )


def checkpoint_refused(*, why: str, base_url: str) -> Email:
    """Why no checkpoint was signed today; nothing from the records themselves."""
    return Email(
        subject="No checkpoint signed: the change record does NOT verify",
        body=(
            "contactlog refused to sign a checkpoint of its change record, because\n"
            f"{why}.\n\n"
            "Which records, and the change record itself (signed in as a DSL):\n"
            f"  {page_of(base_url, 'change_record')}\n"
            "Signing now would vouch for a record that is not the one signed before. Compare\n"
            "the checkpoints you kept (contactlog audit verify --against ...), and treat this\n"
            "as a possible attempt to alter evidence.\n"
            f"{SIGNATURE}"
        ),
    )


def witness_refused(*, why: str, base_url: str) -> Email:
    """A witness would not cosign the log's checkpoint; nothing from the records themselves."""
    return Email(
        subject="A witness REFUSED the change record's checkpoint",
        body=(
            "A witness outside contactlog would not cosign the newest checkpoint of your trust's\n"
            f"change record: the {why}.\n\n"
            "A witness refuses a checkpoint that does not extend the last one it saw: the log\n"
            "was cut or rewritten since, and signed again, perhaps by someone holding both the\n"
            "database and the signing key. The record itself (signed in as a DSL):\n"
            f"  {page_of(base_url, 'change_record')}\n"
            "Compare the checkpoints you kept, ask the witness for the checkpoint it holds, and\n"
            "treat this as a possible attempt to alter evidence.\n"
            f"{SIGNATURE}"
        ),
    )


def checkpoint_signed(*, owner: str, size: int, note: str, vkey: str) -> Email:
    """A log's signed checkpoint (hashes and a signature only), for the DSL to keep."""
    owner = one_line(owner)  # the trust's name, as its admin typed it: in the subject too
    return Email(
        subject=f"Signed checkpoint of {owner}'s change record ({size} events)",
        body=(
            f"contactlog has signed a checkpoint of {owner}'s change record: its first {size}\n"
            "events. Keep this email outside contactlog. With it you (or an investigator, or the\n"
            "LADO) can show later that those events are still the ones signed today, even if\n"
            "someone with access to the database, or to the server, tried to change them.\n\n"
            "To check, save the text between the lines as checkpoint.txt and the trust's\n"
            "verifier key as vkey.txt, then run\n"
            "  contactlog audit verify --against checkpoint.txt --vkey vkey.txt\n"
            "The verifier key that signed it (compare it with the one your trust published):\n"
            f"  {vkey}\n\n"
            "----\n"
            f"{note}"
            "----\n"
            f"{SIGNATURE}"
        ),
    )


def retention_refused(report: RetentionReport, base_url: str, schools: Mapping[int, str]) -> Email:
    """Counts only: what would have been redacted though younger than the floor."""
    lines = [
        f"  {schools.get(r.school_id, 'a school')}: {r.count} "
        f"{r.record_type.replace('_', ' ')} record(s)"
        for r in report.refused_too_young
    ]
    return Email(
        subject=f"Retention run #{report.id} REFUSED: records younger than the floor were due",
        body=(
            "contactlog refused to apply your trust's retention schedule today, and redacted\n"
            "nothing: the schedule called these records due although they were made more\n"
            "recently than the deployment's floor allows any period to be:\n"
            + "\n".join(lines)
            + "\n\nA date of birth or leaving date may have been changed to shorten a period, or\n"
            "a value edited outside contactlog. Check the change record:\n"
            f"  {page_of(base_url, 'change_record')}\n"
            "and each run's report:\n"
            f"  {page_of(base_url, 'retention')}\n"
            f"{SIGNATURE}"
        ),
    )


def retention_report(report: RetentionReport, base_url: str, schools: Mapping[int, str]) -> Email:
    """Counts only: which records, by school and type, and which holds kept what (by case)."""
    if report.refused_too_young:
        return retention_refused(report, base_url, schools)
    lines = [
        f"  {schools.get(r.school_id, 'a school')}: {r.count} "
        f"{r.record_type.replace('_', ' ')} record(s)"
        for r in report.redacted
    ] or ["  nothing was due"]
    kept = [
        f"  the hold for {one_line(k.case_reference)}: {k.count} "
        f"{k.record_type.replace('_', ' ')} record(s)"
        for k in report.kept
    ] or ["  none"]
    gone = report.forgotten
    return Email(
        subject=f"Retention run #{report.id}: what was redacted and what holds kept",
        body=(
            "contactlog has applied your trust's retention schedule. Personal content (names,\n"
            "free text, verbatim messages, contact details) was removed from these records;\n"
            "their skeleton stays for statistics and the change record:\n"
            + "\n".join(lines)
            + "\n\nPast their period, but kept whole by a legal hold:\n"
            + "\n".join(kept)
            + "\n\nRemoved as no longer needed: "
            f"{gone.account_links} password link(s), {gone.retry_replies} stored "
            f"replies, {gone.outbox_bodies} email bodies.\n\n"
            f"Each run's report: {page_of(base_url, 'retention')}\n"
            f"{SIGNATURE}"
        ),
    )


def subject_access_due(
    *, request_id: int, received_on: date, due_on: date, today: date, base_url: str
) -> Email:
    """Dates and ids only: whose data it is stays in contactlog."""
    if today > due_on:
        subject = f"Overdue: subject access request #{request_id} was due on {due_on:%d %B %Y}"
        when = f"was due on {due_on:%d %B %Y} and has not been answered"
    else:
        subject = f"Subject access request #{request_id} is due on {due_on:%d %B %Y}"
        when = f"is due on {due_on:%d %B %Y} ({(due_on - today).days} day(s) from today)"
    return Email(
        subject=subject,
        body=(
            f"Subject access request #{request_id}, received on {received_on:%d %B %Y}, {when}.\n"
            "The law allows one calendar month from receipt; an extension of up to two more\n"
            "months must be made, with its reason, before the first month ends.\n\n"
            "Download its export, extend it or record its answer on the page of requests:\n"
            f"  {page_of(base_url, 'subject_access')}\n"
            f"{SIGNATURE}"
        ),
    )


# Concerns about adults: an email may sit in a mailbox or the outbox others can read, so it
# says only that a case needs its reader, and links to it (never who, what or by whom).
def concern_raised(*, concern_id: int, allegation: bool, due: str | None, base_url: str) -> Email:
    first = (
        "An allegation has been recorded for you to handle as its case manager or DSL.\n"
        f"KCSIE asks that the LADO is told within one working day: by {due} (school time).\n"
        if allegation
        else "A low-level concern has been recorded for you to handle.\n"
    )
    return Email(
        subject="A concern about an adult needs you",
        body=f"{first}\nOpen the case file:\n  {page_of(base_url, 'concern', concern_id)}\n"
        f"{SIGNATURE}",
    )


def lado_overdue(*, concern_id: int, due: str, base_url: str) -> Email:
    return Email(
        subject="Overdue: an allegation not yet referred to the LADO",
        body=(
            f"An allegation you handle was due with the LADO by {due} (school time), and no\n"
            "referral is recorded. Record it, or the decision and its reason, on the case file:\n"
            f"  {page_of(base_url, 'concern', concern_id)}\n{SIGNATURE}"
        ),
    )


def concern_action_due(*, concern_id: int, due_on: date, base_url: str) -> Email:
    return Email(
        subject=f"An action on a case you handle was due on {due_on.day} {due_on:%B %Y}",
        body=(
            f"An action you own on a case file was due on {due_on.day} {due_on:%B %Y} and is not\n"
            "marked done. See it, and mark it done when it is:\n"
            f"  {page_of(base_url, 'concern', concern_id)}\n{SIGNATURE}"
        ),
    )


def concern_review(*, staff_count: int, base_url: str) -> Email:
    who = "member of staff has" if staff_count == 1 else "members of staff have"
    return Email(
        subject="The periodic review of low-level concerns",
        body=(
            f"{staff_count} {who} more than one low-level concern on record among those you\n"
            "handle. KCSIE asks that these are reviewed for a pattern; each person's concerns,\n"
            "flagged entries and incidents are brought together here:\n"
            f"  {page_of(base_url, 'concern_review')}\n{SIGNATURE}"
        ),
    )
