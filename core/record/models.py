"""The change record's tables: its events (the hash chain), the chain's head, events waiting to join
it at commit, the checks made of it; the verifiable log over the events (a log per trust, its
tiles of hashes, which event is which leaf) and the checkpoints signed of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.columns import not_a_record
from core.db import UTCDateTime

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, index=True)
    school_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: int | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # The content is hashed apart from the chain, so erasing personal content under the
    # retention schedule leaves every link checkable.
    content_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    link_hash: str = Field(max_length=64)


not_a_record(
    AuditEvent,
    "the change record itself, hashed into the chain",
)


class AuditHead(SQLModel, table=True):
    """The chain's newest link; appending locks this one row, so writers can never fork."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    link_hash: str = Field(default=GENESIS, max_length=64)


not_a_record(AuditHead, "the chain's head, a lock and a pointer")


class AuditPending(SQLModel, table=True):
    """PostgreSQL: one transaction's events, linked into the chain as that transaction commits.

    A deferred trigger does the linking inside COMMIT (migration `f41c8b7d2e95`), so the head
    is never locked while the application is still on its way to committing.
    """

    __tablename__ = "audit_pending"

    id: int | None = Field(default=None, primary_key=True)
    events: str = Field(sa_column=Column(Text, nullable=False))


not_a_record(AuditPending, "events waiting to join the chain at commit")


class ChainCheck(SQLModel, table=True):
    """A full check of the change record, kept: asked for (by a DSL, or because the last is
    `chain_check_hours` old), made by the scheduler a step at a time with where it has got to
    written down (a restart resumes it, never begins again), and filed with what it found.
    Pages and `GET /audit/verify` show the latest filed without making one: a check reads every
    event and record, minutes on a large trust's log."""

    __tablename__ = "chain_check"

    id: int | None = Field(default=None, primary_key=True)
    # When it was asked for (or began, for one the schedule started), and by which DSL.
    checked_at: datetime = Field(sa_type=UTCDateTime, index=True)
    asked_by: int | None = None
    # asked, running, done; while not done, `pending` is 1: at most one check is ever under way
    # (two asking at once: one is asked, the other told so).
    state: str = Field(default="done", max_length=10)
    pending: int | None = Field(default=None, unique=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Until when its runner holds it: a runner that died lets another take it up after this.
    held_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Where it has got to (core/record/scan.Place): a log and its next leaf, then a kind of
    # record and the last of its ids compared.
    phase: str = Field(default="events", max_length=10)
    at_log: int = 0
    at_leaf: int = 0
    at_kind: str = Field(default="", max_length=60)
    at_record: int = 0
    ok: bool = True  # nothing found wrong so far
    events_checked: int = 0
    first_bad: int | None = None
    records_checked: int = 0
    altered: int = 0


not_a_record(ChainCheck, "the outcome of a check of the record, which names what it found")


class ChainCheckFinding(SQLModel, table=True):
    """One thing a full check found wrong: a log's events (`problem`, and the first event found
    wrong), or a record not as its latest seal (`record_type`, `record_id`, `change`). Whose it
    is (the trust, the school) decides who is told and shown it."""

    __tablename__ = "chain_check_finding"

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(foreign_key="chain_check.id", index=True)
    trust_id: int | None = None
    school_id: int | None = None
    first_bad: int | None = None
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    record_type: str | None = Field(default=None, max_length=60)
    record_id: int | None = None
    change: str | None = Field(default=None, max_length=12)


not_a_record(ChainCheckFinding, "what a check of the record found wrong")


class ChainCheckpoint(SQLModel, table=True):
    __tablename__ = "chain_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    # One checkpoint per head: two schedulers signing at once make one.
    seq: int = Field(unique=True)
    link_hash: str = Field(max_length=64)
    signed_at: datetime = Field(sa_type=UTCDateTime)
    key_id: str = Field(max_length=16)
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    # The exact signed text (canonical JSON) and its signature, base64.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    signature: str = Field(max_length=100)


not_a_record(ChainCheckpoint, "a signed statement of the chain's head: it vouches for the record")


# ---------------------------------------------------------------- the verifiable log


class Log(SQLModel, table=True):
    """One transparency log (RFC 9162 tree): a trust's events, or the deployment's own (those of
    no one trust). Its row is locked while leaves join it, so two integrators never race."""

    __tablename__ = "log"

    id: int | None = Field(default=None, primary_key=True)
    # None: the log of the deployment's own events (a trust created, say).
    trust_id: int | None = Field(default=None, foreign_key="trust.id", index=True)
    # The log's name in its checkpoints (C2SP origin), fixed when it is made.
    origin: str = Field(max_length=200, unique=True)
    size: int = 0
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The server's own check of the log: how far it has checked, when, and what it found
    # (None: nothing wrong), so an alert goes out once for each distinct finding.
    checked_size: int = 0
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


not_a_record(Log, "a log of the change record's hashes, checked against its checkpoints")


class LogTile(SQLModel, table=True):
    """A tile of the tree (C2SP tlog-tiles): up to 256 consecutive hashes at level `level` * 8;
    level 0 holds the leaves' hashes. The rightmost tile of each level grows as leaves join."""

    __tablename__ = "log_tile"

    log_id: int = Field(primary_key=True, foreign_key="log.id")
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


not_a_record(LogTile, "hashes of the change record, checked against its checkpoints")


class LogLeaf(SQLModel, table=True):
    """Which leaf of which log an event is."""

    __tablename__ = "log_leaf"
    __table_args__ = (UniqueConstraint("log_id", "leaf_index"),)

    seq: int = Field(
        primary_key=True, foreign_key="audit_event.seq", sa_column_kwargs={"autoincrement": False}
    )
    log_id: int = Field(foreign_key="log.id")
    leaf_index: int


not_a_record(LogLeaf, "where an event of the change record sits in its log")


class LogCursor(SQLModel, table=True):
    """The last event that joined a log: events join in the order of their numbers, no gaps."""

    __tablename__ = "log_cursor"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0


not_a_record(LogCursor, "a pointer into the change record")


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint of one log (C2SP tlog-checkpoint, a signed note), as it was issued,
    cosignatures added as witnesses give them."""

    __tablename__ = "log_checkpoint"
    __table_args__ = (UniqueConstraint("log_id", "size"),)

    id: int | None = Field(default=None, primary_key=True)
    log_id: int = Field(foreign_key="log.id", index=True)
    size: int
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signed_at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(sa_column=Column(Text, nullable=False))


not_a_record(LogCheckpoint, "a signed statement of a log's tree: it vouches for the record")


class LogWitness(SQLModel, table=True):
    """A witness a trust's log submits its checkpoints to (C2SP tlog-witness): another trust's
    contactlog, the local authority's, the DPO's own; what it last cosigned, what went wrong."""

    __tablename__ = "log_witness"
    __table_args__ = (UniqueConstraint("log_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    log_id: int = Field(foreign_key="log.id", index=True)
    # The witness's cosigner name and verifier key (type 0x04), and its submission prefix.
    name: str = Field(max_length=200)
    vkey: str = Field(max_length=500)
    url: str = Field(max_length=500)
    # The size of the latest checkpoint it cosigned for this log (0: none yet).
    size: int = 0
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why it last refused or could not be reached (None: it cosigned).
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


not_a_record(LogWitness, "where a log's checkpoints are sent to be cosigned")


class WitnessedLog(SQLModel, table=True):
    """As a witness for others: the latest checkpoint cosigned for each log, by origin. It is
    only ever replaced by one consistent with it, in the same transaction as the check."""

    __tablename__ = "witnessed_log"

    origin: str = Field(primary_key=True, max_length=200)
    size: int
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The checkpoint as cosigned: the log's signature and this witness's cosignature.
    note: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(WitnessedLog, "what this deployment, as a witness, last cosigned for a log")


class SealIndex(SQLModel, table=True):
    """Which event last sealed each record, as the log took the events in: so an evidence pack
    finds the events that vouch for its records (a migration's reseal among them) without
    reading the whole record. Only an index: the pack's verifier checks each event's proof, and
    an index pointing at an older event shows as a record not as its seal says."""

    __tablename__ = "seal_index"

    record_type: str = Field(primary_key=True, max_length=60)
    record_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(index=True)


not_a_record(SealIndex, "an index of the change record's seals")
