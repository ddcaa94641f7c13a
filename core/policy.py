"""A trust's policy: the numbers the rules use, the deployment's defaults with the trust's own
choices over them, resolved once at the edge and passed to every rule."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import EmailStr, Field, field_validator
from sqlalchemy import event as sa_event
from sqlmodel import Session, SQLModel

from core.clock import school_date
from core.directory.models import Role, School, Trust
from core.errors import Forbidden, InvalidInput, NotFound
from core.inputs import Forbid
from core.principal import Principal
from core.record import audit, seals
from core.settings import Settings
from core.text import one_line

# What a trust may set, and within what bounds. A trust may be stricter than the deployment,
# never looser: consent is never asked for less than the deployment's age, clean messages are
# sampled at least as often, reminders and escalations come no later, records are kept no
# shorter, and its own words only add to the deployment's lexicon.
MOST_EXTRA_WORDS = 200


@dataclass(frozen=True)
class Stricter:
    """One number a trust may choose: which way is more oversight, and the outer limit."""

    setting: str  # the deployment's setting it is bounded by
    more_is_stricter: bool
    limit: float  # the furthest a trust may go in the stricter direction


# Trust column → how it is bounded. The one place that says which way each number may move.
STRICTER: dict[str, Stricter] = {
    "consent_age": Stricter("consent_age", True, 25),
    "ending_notice_days": Stricter("ending_notice_days", True, 60),
    "reminder_every_days": Stricter("reminder_every_days", False, 1),
    "escalate_after_days": Stricter("escalate_after_days", False, 1),
    "approval_wait_hours": Stricter("approval_wait_hours", False, 1),
    "review_sample_rate": Stricter("review_sample_rate", True, 1),
    "retention_safeguarding_years": Stricter("retention_safeguarding_years", True, 100),
    "retention_allegation_years": Stricter("retention_allegation_years", True, 50),
    "retention_closed_contact_years": Stricter("retention_closed_contact_years", True, 25),
    "retention_low_level_years": Stricter("retention_low_level_years", True, 50),
    "concern_review_weeks": Stricter("concern_review_weeks", False, 1),
}


def bounds(settings: Settings) -> dict[str, tuple[float, float]]:
    """(lowest, highest) each trust column may hold under this deployment's settings."""
    found = {}
    for column, rule in STRICTER.items():
        deployment = float(getattr(settings, rule.setting))
        if rule.more_is_stricter:
            found[column] = (deployment, max(deployment, rule.limit))
        else:
            found[column] = (min(deployment, rule.limit), deployment)
    return found


def _within(settings: Settings, column: str, value: Any) -> Any:
    """A stored value brought back inside the bounds: a row edited in the database (or a
    deployment made stricter since) never loosens what the rules apply."""
    low, high = bounds(settings)[column]
    kept = min(max(value, low), high)
    return type(value)(kept) if isinstance(value, int) and not isinstance(value, bool) else kept


@dataclass(frozen=True)
class Policy:
    """What the rules of one trust are; every rule takes it as an argument."""

    trust_id: int | None
    consent_age: int
    default_zone: str
    ending_notice_days: int
    reminder_every_days: int
    escalate_after_days: int
    approval_wait_hours: int
    lexicon: tuple[str, ...]
    sample_rate: float
    # Retention (SPEC §7): years before records' personal content is redacted, by kind.
    safeguarding_years: int
    allegation_years: int
    closed_contact_years: int
    # Low-level concerns about a member of staff: years kept after they leave.
    low_level_years: int
    sign_in_days: int
    outbox_days: int
    # Consent asked of parents online: the link's days, the reminders, sent by itself or not.
    consent_link_days: int = 14
    consent_reminder_days: tuple[int, ...] = (3, 7)
    consent_requests_automatic: bool = False
    # The trust's data protection officer, told of each retention run and subject access deadline.
    dpo_email: str | None = None
    # Nothing younger than this is ever redacted, whatever the dates say (a deployment setting).
    retention_floor_years: int = 5
    # Captured messages (contacts/capture): a logged entry covers those of its direction within
    # this many minutes (staff log between lessons, from memory); one still unlogged this many
    # school days after it was uploaded becomes a flagged entry, and the DSL is told.
    capture_window_minutes: int = 30
    capture_log_school_days: int = 2
    # Concerns about adults: the case managers' review of staff with more than one low-level
    # concern comes round this often (termly, as KCSIE suggests).
    concern_review_weeks: int = 13

    def zone(self, school: School) -> ZoneInfo:
        """The school's own time zone, or the deployment's."""
        return self.zone_of(school.timezone)

    def zone_of(self, name: str | None) -> ZoneInfo:
        return ZoneInfo(name or self.default_zone)

    def today(self, school: School, at: datetime) -> date:
        """The school's calendar date at the instant `at`."""
        return school_date(at, self.zone(school))


# The trust's own settings: column name on the trust → policy field.
OWN = {
    "consent_age": "consent_age",
    "ending_notice_days": "ending_notice_days",
    "reminder_every_days": "reminder_every_days",
    "escalate_after_days": "escalate_after_days",
    "approval_wait_hours": "approval_wait_hours",
    "review_sample_rate": "sample_rate",
    "retention_safeguarding_years": "safeguarding_years",
    "retention_allegation_years": "allegation_years",
    "retention_closed_contact_years": "closed_contact_years",
    "retention_low_level_years": "low_level_years",
    "concern_review_weeks": "concern_review_weeks",
    "dpo_email": "dpo_email",
    "consent_requests_automatic": "consent_requests_automatic",
}


def deployment_policy(settings: Settings, trust_id: int | None = None) -> Policy:
    """The deployment's defaults: the policy of a trust that has chosen nothing."""
    return Policy(
        trust_id=trust_id,
        consent_age=settings.consent_age,
        default_zone=settings.school_timezone,
        ending_notice_days=settings.ending_notice_days,
        reminder_every_days=settings.reminder_every_days,
        escalate_after_days=settings.escalate_after_days,
        approval_wait_hours=settings.approval_wait_hours,
        lexicon=tuple(settings.review_lexicon),
        sample_rate=settings.review_sample_rate,
        safeguarding_years=settings.retention_safeguarding_years,
        allegation_years=settings.retention_allegation_years,
        closed_contact_years=settings.retention_closed_contact_years,
        low_level_years=settings.retention_low_level_years,
        concern_review_weeks=settings.concern_review_weeks,
        sign_in_days=settings.retention_sign_in_days,
        outbox_days=settings.retention_outbox_days,
        consent_link_days=settings.consent_link_days,
        consent_reminder_days=tuple(sorted(settings.consent_reminder_days)),
        consent_requests_automatic=settings.consent_requests_automatic,
        retention_floor_years=settings.retention_floor_years,
    )


def extra_words(trust: Trust) -> list[str]:
    return list(json.loads(trust.extra_lexicon)) if trust.extra_lexicon else []


def policy_of(trust: Trust | None, settings: Settings) -> Policy:
    """The policy of this trust: the deployment's defaults, with the trust's choices over them."""
    base = deployment_policy(settings, trust.id if trust else None)
    if trust is None:
        return base
    chosen: dict[str, Any] = {
        field: _within(settings, column, getattr(trust, column))
        if column in STRICTER
        else getattr(trust, column)
        for column, field in OWN.items()
        if getattr(trust, column) is not None
    }
    words = extra_words(trust)
    if words:
        chosen["lexicon"] = base.lexicon + tuple(w for w in words if w not in base.lexicon)
    return Policy(**{**base.__dict__, **chosen})


def policy_for(session: Session, trust_id: int | None, settings: Settings) -> Policy:
    """The policy of the trust with this id (the deployment's for the command line's None):
    the one way any code reads a trust's or a school's (`school.trust_id`) policy. The API's
    hot paths go through `PolicyBook`, which keeps what this returns for a few seconds."""
    return policy_of(session.get(Trust, trust_id) if trust_id is not None else None, settings)


class PolicyBook:
    """Policies recently read, per trust, for the hot paths of one process (every logged
    message needs its trust's policy). A change made through this process is seen at once; one
    made through another process within `keep_seconds`."""

    def __init__(self, settings: Settings, *, keep_seconds: float) -> None:
        self._settings = settings
        self._keep = keep_seconds
        self._lock = threading.Lock()
        self._known: dict[int | None, tuple[float, Policy]] = {}

    def policy(self, session: Session, trust_id: int | None) -> Policy:
        now = time.monotonic()
        with self._lock:
            known = self._known.get(trust_id)
        if known is not None and now - known[0] < self._keep:
            return known[1]
        found = policy_for(session, trust_id, self._settings)
        with self._lock:
            self._known[trust_id] = (now, found)
        return found

    def forget(self, trust_id: int | None) -> None:
        with self._lock:
            self._known.pop(trust_id, None)

    def forget_once_committed(self, session: Session, trust_id: int | None) -> None:
        """Read the trust's policy afresh once this change commits (not before, or a request
        in between could keep the old one)."""
        sa_event.listen(session, "after_commit", lambda _: self.forget(trust_id), once=True)


# ---------------------------------------------------------------- reading and changing it


class PolicyChange(Forbid, SQLModel):
    """A trust's own choices; null goes back to the deployment's default. The limits here are
    the widest any deployment allows; `change_policy` holds each to this deployment's own
    settings, in the direction of more oversight (`STRICTER`)."""

    consent_age: int | None = Field(default=None, ge=1, le=25)
    ending_notice_days: int | None = Field(default=None, ge=0, le=60)
    reminder_every_days: int | None = Field(default=None, ge=1, le=365)
    escalate_after_days: int | None = Field(default=None, ge=1, le=365)
    approval_wait_hours: int | None = Field(default=None, ge=1, le=24 * 365)
    # Never none at all, whatever the deployment: a log must not look clean by being unread.
    review_sample_rate: float | None = Field(default=None, ge=0.01, le=1)
    # Records may be kept longer than the sources below say, never for less.
    retention_safeguarding_years: int | None = Field(default=None, ge=1, le=100)
    retention_allegation_years: int | None = Field(default=None, ge=1, le=50)
    retention_closed_contact_years: int | None = Field(default=None, ge=1, le=25)
    retention_low_level_years: int | None = Field(default=None, ge=1, le=50)
    # Reviewed at least this often (weeks), never less often than the deployment says.
    concern_review_weeks: int | None = Field(default=None, ge=1, le=52)
    dpo_email: EmailStr | None = Field(default=None, max_length=254)
    # Ask the guardians of under-age pupils online as soon as a contact is approved.
    consent_requests_automatic: bool | None = None
    extra_lexicon: list[str] | None = Field(default=None, max_length=MOST_EXTRA_WORDS)

    @field_validator("extra_lexicon")
    @classmethod
    def _words(cls, words: list[str] | None) -> list[str] | None:
        if words is None:
            return None
        cleaned = []
        for word in words:
            word = one_line(word).strip().lower()
            if not 2 <= len(word) <= 100:
                raise ValueError("each word or phrase must be 2 to 100 characters")
            if word not in cleaned:
                cleaned.append(word)
        return cleaned


class RetentionPeriod(SQLModel):
    """How long one kind of record is kept, from when, and on whose authority."""

    records: str
    kept_for: str
    source: str


def retention_periods(policy: Policy) -> list[RetentionPeriod]:
    """The schedule the retention job applies (contacts/data_protection/retention), in words,
    with sources."""
    return [
        RetentionPeriod(
            records="incidents; contacts that were flagged, with all their records",
            kept_for=f"until the youngest pupil involved is {policy.safeguarding_years}",
            source="IRMS Information Management Toolkit for Schools (child-protection records)",
        ),
        RetentionPeriod(
            records="records covered by a legal hold on a member of staff (an allegation)",
            kept_for=f"{policy.allegation_years} years from the hold, or longer by the above",
            source="KCSIE, allegations against staff (contactlog holds no staff date of birth: "
            "the retirement-age arm is applied by keeping the hold active)",
        ),
        RetentionPeriod(
            records="concerns about adults: allegations about a member of staff",
            kept_for=f"{policy.allegation_years} years from the allegation (its legal hold "
            "keeps everything about them until a trust DSL releases it)",
            source="KCSIE Part 4 (allegations: until normal retirement age or 10 years, "
            "whichever is longer)",
        ),
        RetentionPeriod(
            records="concerns about adults: low-level concerns about a member of staff",
            kept_for=f"until they leave, then {policy.low_level_years} years",
            source="KCSIE Part 4 (low-level concerns: at least until the individual leaves "
            "their employment); the period after, the trust's policy",
        ),
        RetentionPeriod(
            records="other contacts, messages, consents, parent notices, decisions, "
            "deletion tasks, reviews; a pupil's name once they have left",
            kept_for=f"{policy.closed_contact_years} years after the contact closes "
            "(the pupil leaves)",
            source="Limitation Act 1980 (six-year period); trust to confirm",
        ),
        RetentionPeriod(
            records="invitation and reset links, retry replies, sign-in throttles",
            kept_for=f"{policy.sign_in_days} days",
            source="minimisation (deployment setting)",
        ),
        RetentionPeriod(
            records="outbox email bodies",
            kept_for=f"{policy.outbox_days} days after sending",
            source="minimisation (deployment setting)",
        ),
    ]


class PolicyPublic(SQLModel):
    trust_id: int
    consent_age: int
    time_zone: str
    ending_notice_days: int
    reminder_every_days: int
    escalate_after_days: int
    approval_wait_hours: int
    review_sample_rate: float
    review_lexicon: list[str]
    retention: list[RetentionPeriod]
    dpo_email: str | None
    consent_requests_automatic: bool
    # What the trust chose itself; every other value is the deployment's default.
    trust_own: dict[str, Any]


def _trust(session: Session, actor: Principal, trust_id: int) -> Trust:
    trust = session.get(Trust, trust_id)
    if trust is None or not (actor.operator or actor.trust_id == trust_id):
        raise NotFound("No such trust.")
    return trust


def _public(trust: Trust, policy: Policy) -> PolicyPublic:
    assert trust.id is not None
    own: dict[str, Any] = {c: getattr(trust, c) for c in OWN if getattr(trust, c) is not None}
    if trust.extra_lexicon:
        own["extra_lexicon"] = extra_words(trust)
    return PolicyPublic(
        trust_id=trust.id,
        consent_age=policy.consent_age,
        time_zone=policy.default_zone,
        ending_notice_days=policy.ending_notice_days,
        reminder_every_days=policy.reminder_every_days,
        escalate_after_days=policy.escalate_after_days,
        approval_wait_hours=policy.approval_wait_hours,
        review_sample_rate=policy.sample_rate,
        review_lexicon=list(policy.lexicon),
        retention=retention_periods(policy),
        dpo_email=policy.dpo_email,
        consent_requests_automatic=policy.consent_requests_automatic,
        trust_own=own,
    )


def get_policy(
    *, session: Session, actor: Principal, settings: Settings, trust_id: int
) -> PolicyPublic:
    """Anyone in the trust may read the rules they work under."""
    trust = _trust(session, actor, trust_id)
    return _public(trust, policy_of(trust, settings))


def change_policy(
    *,
    session: Session,
    actor: Principal,
    settings: Settings,
    at: datetime,
    trust_id: int,
    change: PolicyChange,
) -> PolicyPublic:
    """A trust administrator sets the trust's own choices; each change is in the record."""
    trust = _trust(session, actor, trust_id)
    if not (actor.operator or actor.has(Role.trust_admin)):
        raise Forbidden("Only trust_admin may change the trust's policy.")
    _refuse_looser(change, settings)
    changed: dict[str, list[Any]] = {}
    for name, value in change.model_dump(exclude_unset=True).items():
        stored = json.dumps(value) if name == "extra_lexicon" and value else value
        if name == "extra_lexicon" and value == []:
            stored = None
        before = getattr(trust, name)
        if before != stored:
            changed[name] = [
                extra_words(trust) if name == "extra_lexicon" else before,
                value,
            ]
            setattr(trust, name, stored)
    if changed:
        session.add(trust)
        session.flush()
        audit.record(
            session,
            actor=actor,
            at=at,
            action="policy.changed",
            object_type="trust",
            object_id=trust.id,
            # Filed at the trust admin's own school, where its DSL and the trust's DSLs read it.
            school_id=actor.school_id,
            details={"changed": changed},
            sealed=seals.seal(session, ("trust", trust.id)),
        )
    return _public(trust, policy_of(trust, settings))


def _refuse_looser(change: PolicyChange, settings: Settings) -> None:
    """Every number named must be at least as strict as the deployment's own setting."""
    errors = []
    limits = bounds(settings)
    for column, value in change.model_dump(exclude_unset=True).items():
        if column not in limits or value is None:
            continue
        low, high = limits[column]
        if not low <= value <= high:
            way = "at least" if STRICTER[column].more_is_stricter else "at most"
            own = low if STRICTER[column].more_is_stricter else high
            errors.append(
                {
                    "field": column,
                    "message": f"must be {way} the deployment's {_plain_number(own)} "
                    f"(and within {_plain_number(low)}–{_plain_number(high)}): a trust may be "
                    "stricter, never looser",
                }
            )
    if errors:
        first = errors[0]
        raise InvalidInput(f"{first['field']} {first['message']}.", extra={"errors": errors})


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
