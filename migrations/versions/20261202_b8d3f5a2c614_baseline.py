"""contactlog's schema, whole: every table, index and constraint, the change record's first head
row, and on PostgreSQL the functions that link a transaction's events into the chain as it
commits.

Revision ID: b8d3f5a2c614
Revises:
Create Date: 2026-12-02

One baseline, made before the first deployment from the 21 migrations that built the schema
while contactlog was written (their history is in git). It keeps the last of their revision ids,
so a database those migrations built is already at this revision and `contactlog migrate` leaves
it as it is. Every migration from here on revises this one.

The change record's head row starts the chain: appending events updates it under a row lock.
On PostgreSQL a transaction's events wait in `audit_pending`, and a deferred constraint trigger
links them as the transaction commits (`contactlog_chain_append`: the link is the same as
`core.record.audit.link_hash_of`, sha256 over "seq:prev_hash:content_hash", hex), so the head is
locked only for the server's own part of the commit. On SQLite that table stays empty: its single
writer links under the write lock it already holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import core.db  # noqa: F401


revision: str = "b8d3f5a2c614"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND = """
CREATE OR REPLACE FUNCTION contactlog_chain_append(events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    event jsonb;
    next_seq integer;
    prev text;
    link text;
BEGIN
    UPDATE audit_head SET seq = seq + jsonb_array_length(events) WHERE id = 1
        RETURNING seq - jsonb_array_length(events), link_hash INTO next_seq, prev;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'The change record has no head row; run contactlog migrate.';
    END IF;
    FOR event IN
        SELECT e.value FROM jsonb_array_elements(events) WITH ORDINALITY AS e(value, n) ORDER BY e.n
    LOOP
        next_seq := next_seq + 1;
        link := encode(
            sha256(convert_to(next_seq::text || ':' || prev || ':' || (event->>'content_hash'), 'UTF8')),
            'hex'
        );
        INSERT INTO audit_event (
            seq, at, actor_id, school_id, action, object_type, object_id, reason, details,
            content_hash, prev_hash, link_hash
        ) VALUES (
            next_seq, (event->>'at')::timestamptz, (event->>'actor_id')::integer,
            (event->>'school_id')::integer, event->>'action', event->>'object_type',
            (event->>'object_id')::integer, event->>'reason', event->>'details',
            event->>'content_hash', prev, link
        );
        prev := link;
    END LOOP;
    UPDATE audit_head SET link_hash = prev WHERE id = 1;
END
$$;
"""

LINK_AT_COMMIT = """
CREATE OR REPLACE FUNCTION contactlog_chain_link_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM contactlog_chain_append(NEW.events::jsonb);
    DELETE FROM audit_pending WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER audit_pending_links_at_commit
    AFTER INSERT ON audit_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION contactlog_chain_link_pending();
"""


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('object_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('link_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_event'))
    )
    op.create_index(op.f('ix_audit_event_action'), 'audit_event', ['action'], unique=False)
    op.create_index(op.f('ix_audit_event_actor_id'), 'audit_event', ['actor_id'], unique=False)
    op.create_index(op.f('ix_audit_event_school_id'), 'audit_event', ['school_id'], unique=False)
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('link_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("link_hash")),
        [{"id": 1, "seq": 0, "link_hash": "0" * 64}],
    )
    op.create_table('audit_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('events', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending'))
    )
    op.create_table('chain_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checked_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('events_checked', sa.Integer(), nullable=False),
    sa.Column('first_bad', sa.Integer(), nullable=True),
    sa.Column('records_checked', sa.Integer(), nullable=False),
    sa.Column('altered', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_check'))
    )
    op.create_index(op.f('ix_chain_check_checked_at'), 'chain_check', ['checked_at'], unique=False)
    op.create_table('chain_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('link_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('signed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_checkpoint')),
    sa.UniqueConstraint('seq', name=op.f('uq_chain_checkpoint_seq'))
    )
    op.create_table('idempotency_key',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('endpoint', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('staff_id', 'key', name=op.f('pk_idempotency_key'))
    )
    op.create_index(op.f('ix_idempotency_key_expires_at'), 'idempotency_key', ['expires_at'], unique=False)
    op.create_table('job_run',
    sa.Column('job', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_started_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_ok_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_count', sa.Integer(), nullable=False),
    sa.Column('last_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_run'))
    )
    op.create_table('signin_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_signin_throttle'))
    )
    op.create_table('trust',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ending_notice_days', sa.Integer(), nullable=True),
    sa.Column('reminder_every_days', sa.Integer(), nullable=True),
    sa.Column('escalate_after_days', sa.Integer(), nullable=True),
    sa.Column('approval_wait_hours', sa.Integer(), nullable=True),
    sa.Column('consent_age', sa.Integer(), nullable=True),
    sa.Column('review_sample_rate', sa.Float(), nullable=True),
    sa.Column('extra_lexicon', sa.Text(), nullable=True),
    sa.Column('retention_safeguarding_years', sa.Integer(), nullable=True),
    sa.Column('retention_allegation_years', sa.Integer(), nullable=True),
    sa.Column('retention_closed_contact_years', sa.Integer(), nullable=True),
    sa.Column('dpo_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('consent_requests_automatic', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trust'))
    )
    op.create_table('school',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trust_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trust_id'], ['trust.id'], name=op.f('fk_school_trust_id_trust')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school'))
    )
    op.create_index(op.f('ix_school_trust_id'), 'school', ['trust_id'], unique=False)
    op.create_table('device',
    sa.Column('asset_tag', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_device_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    sa.UniqueConstraint('school_id', 'asset_tag', name='uq_device_asset_tag')
    )
    op.create_index(op.f('ix_device_school_id'), 'device', ['school_id'], unique=False)
    op.create_table('pupil',
    sa.Column('given_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('family_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('school_reference', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_pupil_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pupil')),
    sa.UniqueConstraint('school_id', 'school_reference', name='uq_pupil_school_reference')
    )
    op.create_index(op.f('ix_pupil_school_id'), 'pupil', ['school_id'], unique=False)
    op.create_table('staff',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('line_manager_id', sa.Integer(), nullable=True),
    sa.Column('is_headteacher', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('token_generation', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_manager_id'], ['staff.id'], name=op.f('fk_staff_line_manager_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_staff_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('email', name='uq_staff_email')
    )
    op.create_index(op.f('ix_staff_line_manager_id'), 'staff', ['line_manager_id'], unique=False)
    op.create_index(op.f('ix_staff_school_id'), 'staff', ['school_id'], unique=False)
    op.create_table('account_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_account_link_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_link_token_hash'))
    )
    op.create_index(op.f('ix_account_link_staff_id'), 'account_link', ['staff_id'], unique=False)
    op.create_table('browser_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('form_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('enrol_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_browser_session_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_browser_session_token_hash'))
    )
    op.create_index(op.f('ix_browser_session_staff_id'), 'browser_session', ['staff_id'], unique=False)
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('platform_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('school_account', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verdict', sa.String(length=10), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('ended_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ending_notice_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approval_chased_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], name=op.f('fk_contact_decided_by_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_contact_school_id_school')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_contact_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact'))
    )
    op.create_index(op.f('ix_contact_ends_on'), 'contact', ['ends_on'], unique=False)
    op.create_index(op.f('ix_contact_school_id'), 'contact', ['school_id'], unique=False)
    op.create_index(op.f('ix_contact_staff_id'), 'contact', ['staff_id'], unique=False)
    op.create_index('ix_contact_state_ends_on', 'contact', ['state', 'ends_on'], unique=False)
    op.create_table('guardian',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('relationship', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('has_parental_responsibility', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_guardian_pupil_id_pupil'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian'))
    )
    op.create_index(op.f('ix_guardian_pupil_id'), 'guardian', ['pupil_id'], unique=False)
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('platform_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('occurred_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reported_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('personal_information_shared', sa.Boolean(), nullable=False),
    sa.Column('other_person', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('discussed_with_id', sa.Integer(), nullable=True),
    sa.Column('discussed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('parent_involved', sa.Boolean(), nullable=True),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['discussed_with_id'], ['staff.id'], name=op.f('fk_incident_discussed_with_id_staff')),
    sa.ForeignKeyConstraint(['reporter_id'], ['staff.id'], name=op.f('fk_incident_reporter_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_incident_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    op.create_index(op.f('ix_incident_reporter_id'), 'incident', ['reporter_id'], unique=False)
    op.create_index(op.f('ix_incident_school_id'), 'incident', ['school_id'], unique=False)
    op.create_table('legal_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('case_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('placed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['placed_by_id'], ['staff.id'], name=op.f('fk_legal_hold_placed_by_id_staff')),
    sa.ForeignKeyConstraint(['released_by_id'], ['staff.id'], name=op.f('fk_legal_hold_released_by_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_legal_hold_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold'))
    )
    op.create_index(op.f('ix_legal_hold_school_id'), 'legal_hold', ['school_id'], unique=False)
    op.create_index('ix_legal_hold_subject', 'legal_hold', ['subject_type', 'subject_id'], unique=False)
    op.create_table('outbox_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('to_staff_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_outbox_email_school_id_school')),
    sa.ForeignKeyConstraint(['to_staff_id'], ['staff.id'], name=op.f('fk_outbox_email_to_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_email')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_email_dedupe_key'))
    )
    op.create_index(op.f('ix_outbox_email_contact_id'), 'outbox_email', ['contact_id'], unique=False)
    op.create_index(op.f('ix_outbox_email_kind'), 'outbox_email', ['kind'], unique=False)
    op.create_index(op.f('ix_outbox_email_school_id'), 'outbox_email', ['school_id'], unique=False)
    op.create_index(op.f('ix_outbox_email_to_staff_id'), 'outbox_email', ['to_staff_id'], unique=False)
    op.create_table('pending_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('pupil_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('grant_roles', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('make_headteacher', sa.Boolean(), nullable=False),
    sa.Column('new_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('new_date_of_birth', sa.Date(), nullable=True),
    sa.Column('old_date_of_birth', sa.Date(), nullable=True),
    sa.Column('new_left_on', sa.Date(), nullable=True),
    sa.Column('old_left_on', sa.Date(), nullable=True),
    sa.Column('changes_left_on', sa.Boolean(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], name=op.f('fk_pending_change_decided_by_id_staff')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['staff.id'], name=op.f('fk_pending_change_proposed_by_id_staff')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_pending_change_pupil_id_pupil')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_pending_change_school_id_school')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_pending_change_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_change'))
    )
    op.create_index(op.f('ix_pending_change_school_id'), 'pending_change', ['school_id'], unique=False)
    op.create_index(op.f('ix_pending_change_state'), 'pending_change', ['state'], unique=False)
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_recovery_code_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    op.create_index(op.f('ix_recovery_code_staff_id'), 'recovery_code', ['staff_id'], unique=False)
    op.create_table('retention_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trust_id', sa.Integer(), nullable=False),
    sa.Column('ran_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_by_id', sa.Integer(), nullable=True),
    sa.Column('report', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_by_id'], ['staff.id'], name=op.f('fk_retention_run_run_by_id_staff')),
    sa.ForeignKeyConstraint(['trust_id'], ['trust.id'], name=op.f('fk_retention_run_trust_id_trust')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run'))
    )
    op.create_index(op.f('ix_retention_run_trust_id'), 'retention_run', ['trust_id'], unique=False)
    op.create_table('second_factor',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_second_factor_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_second_factor'))
    )
    op.create_table('staff_role',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_role_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', 'role', name=op.f('pk_staff_role'))
    )
    op.create_table('subject_access_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('extra_months', sa.Integer(), nullable=False),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_subject_access_request_recorded_by_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_subject_access_request_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_access_request'))
    )
    op.create_index(op.f('ix_subject_access_request_school_id'), 'subject_access_request', ['school_id'], unique=False)
    op.create_table('trusted_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_trusted_device_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_device')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_trusted_device_token_hash'))
    )
    op.create_index(op.f('ix_trusted_device_staff_id'), 'trusted_device', ['staff_id'], unique=False)
    op.create_table('consent',
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('evidence_reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('withdrawal_recorded_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_consent_contact_id_contact')),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardian.id'], name=op.f('fk_consent_guardian_id_guardian')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_consent_pupil_id_pupil')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_consent_recorded_by_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_consent_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    op.create_index(op.f('ix_consent_contact_id'), 'consent', ['contact_id'], unique=False)
    op.create_index(op.f('ix_consent_pupil_id'), 'consent', ['pupil_id'], unique=False)
    op.create_index(op.f('ix_consent_school_id'), 'consent', ['school_id'], unique=False)
    op.create_table('contact_device',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_device_contact_id_contact')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_contact_device_device_id_device')),
    sa.PrimaryKeyConstraint('contact_id', 'device_id', name=op.f('pk_contact_device'))
    )
    op.create_table('contact_pupil',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('ended_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('born_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_pupil_contact_id_contact')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['staff.id'], name=op.f('fk_contact_pupil_ended_by_id_staff')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_contact_pupil_pupil_id_pupil')),
    sa.PrimaryKeyConstraint('contact_id', 'pupil_id', name=op.f('pk_contact_pupil'))
    )
    op.create_index(op.f('ix_contact_pupil_pupil_id'), 'contact_pupil', ['pupil_id'], unique=False)
    op.create_table('deletion_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('how', sa.Text(), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('next_reminder_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_deletion_task_contact_id_contact')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_deletion_task_pupil_id_pupil')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_deletion_task_school_id_school')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_deletion_task_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_task'))
    )
    op.create_index(op.f('ix_deletion_task_confirmed_at'), 'deletion_task', ['confirmed_at'], unique=False)
    op.create_index(op.f('ix_deletion_task_contact_id'), 'deletion_task', ['contact_id'], unique=False)
    op.create_index(op.f('ix_deletion_task_next_reminder_at'), 'deletion_task', ['next_reminder_at'], unique=False)
    op.create_index(op.f('ix_deletion_task_school_id'), 'deletion_task', ['school_id'], unique=False)
    op.create_index(op.f('ix_deletion_task_staff_id'), 'deletion_task', ['staff_id'], unique=False)
    op.create_table('incident_pupil',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=20), nullable=False),
    sa.Column('born_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_pupil_incident_id_incident')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_incident_pupil_pupil_id_pupil')),
    sa.PrimaryKeyConstraint('incident_id', 'pupil_id', name=op.f('pk_incident_pupil'))
    )
    op.create_index(op.f('ix_incident_pupil_pupil_id'), 'incident_pupil', ['pupil_id'], unique=False)
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('occurred_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('logged_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('device_tag', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('verbatim', sa.Text(), nullable=True),
    sa.Column('flags', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('sampled', sa.Boolean(), nullable=False),
    sa.Column('reviewed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['message.id'], name=op.f('fk_message_amends_id_message')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_message_contact_id_contact')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_message_device_id_device')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_message_school_id_school')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_message_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    op.create_index('ix_message_contact_id_id', 'message', ['contact_id', 'id'], unique=False)
    op.create_index('ix_message_flagged_school_id_occurred_at', 'message', ['school_id', 'occurred_at'], unique=False, sqlite_where=sa.text("flags != ''"), postgresql_where=sa.text("flags != ''"))
    op.create_index('ix_message_review_queue', 'message', ['school_id', 'needs_review', 'reviewed_at', 'id'], unique=False)
    op.create_index(op.f('ix_message_school_id'), 'message', ['school_id'], unique=False)
    op.create_index('ix_message_school_id_id', 'message', ['school_id', 'id'], unique=False)
    op.create_index('ix_message_staff_id_id', 'message', ['staff_id', 'id'], unique=False)
    op.create_table('parent_notice',
    sa.Column('informed_on', sa.Date(), nullable=False),
    sa.Column('informed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('reason_explained', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_parent_notice_contact_id_contact')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_parent_notice_pupil_id_pupil')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_parent_notice_recorded_by_id_staff')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_parent_notice_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parent_notice'))
    )
    op.create_index(op.f('ix_parent_notice_contact_id'), 'parent_notice', ['contact_id'], unique=False)
    op.create_index(op.f('ix_parent_notice_pupil_id'), 'parent_notice', ['pupil_id'], unique=False)
    op.create_index(op.f('ix_parent_notice_school_id'), 'parent_notice', ['school_id'], unique=False)
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_alert_contact_id_contact')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_alert_incident_id_incident')),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_alert_message_id_message')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_alert_school_id_school')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_alert_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    op.create_index(op.f('ix_alert_emailed_at'), 'alert', ['emailed_at'], unique=False)
    op.create_index(op.f('ix_alert_school_id'), 'alert', ['school_id'], unique=False)
    op.create_table('consent_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=10), nullable=True),
    sa.Column('answered_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('shown_text_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_request_consent_id_consent')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_consent_request_contact_id_contact')),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardian.id'], name=op.f('fk_consent_request_guardian_id_guardian')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_consent_request_pupil_id_pupil')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_consent_request_school_id_school')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['staff.id'], name=op.f('fk_consent_request_sent_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_request')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_consent_request_token_hash'))
    )
    op.create_index(op.f('ix_consent_request_contact_id'), 'consent_request', ['contact_id'], unique=False)
    op.create_index(op.f('ix_consent_request_school_id'), 'consent_request', ['school_id'], unique=False)
    op.create_table('message_flag',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('flag', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_flag_message_id_message')),
    sa.PrimaryKeyConstraint('message_id', 'flag', name=op.f('pk_message_flag'))
    )
    op.create_index('ix_message_flag_flag_message_id', 'message_flag', ['flag', 'message_id'], unique=False)
    op.create_table('message_pupil',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_pupil_message_id_message')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], name=op.f('fk_message_pupil_pupil_id_pupil')),
    sa.PrimaryKeyConstraint('message_id', 'pupil_id', name=op.f('pk_message_pupil'))
    )
    op.create_index('ix_message_pupil_pupil_id_message_id', 'message_pupil', ['pupil_id', 'message_id'], unique=False)
    op.create_index('ix_message_pupil_pupil_id_occurred_at', 'message_pupil', ['pupil_id', 'occurred_at', 'message_id'], unique=False)
    op.create_table('message_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('redacted_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_review_message_id_message')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['staff.id'], name=op.f('fk_message_review_reviewer_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_review'))
    )
    op.create_index(op.f('ix_message_review_message_id'), 'message_review', ['message_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND)
        op.execute(LINK_AT_COMMIT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_pending_links_at_commit ON audit_pending")
        op.execute("DROP FUNCTION IF EXISTS contactlog_chain_link_pending()")
        op.execute("DROP FUNCTION IF EXISTS contactlog_chain_append(jsonb)")
    op.drop_index(op.f('ix_message_review_message_id'), table_name='message_review')
    op.drop_table('message_review')
    op.drop_index('ix_message_pupil_pupil_id_occurred_at', table_name='message_pupil')
    op.drop_index('ix_message_pupil_pupil_id_message_id', table_name='message_pupil')
    op.drop_table('message_pupil')
    op.drop_index('ix_message_flag_flag_message_id', table_name='message_flag')
    op.drop_table('message_flag')
    op.drop_index(op.f('ix_consent_request_school_id'), table_name='consent_request')
    op.drop_index(op.f('ix_consent_request_contact_id'), table_name='consent_request')
    op.drop_table('consent_request')
    op.drop_index(op.f('ix_alert_school_id'), table_name='alert')
    op.drop_index(op.f('ix_alert_emailed_at'), table_name='alert')
    op.drop_table('alert')
    op.drop_index(op.f('ix_parent_notice_school_id'), table_name='parent_notice')
    op.drop_index(op.f('ix_parent_notice_pupil_id'), table_name='parent_notice')
    op.drop_index(op.f('ix_parent_notice_contact_id'), table_name='parent_notice')
    op.drop_table('parent_notice')
    op.drop_index('ix_message_staff_id_id', table_name='message')
    op.drop_index('ix_message_school_id_id', table_name='message')
    op.drop_index(op.f('ix_message_school_id'), table_name='message')
    op.drop_index('ix_message_review_queue', table_name='message')
    op.drop_index('ix_message_flagged_school_id_occurred_at', table_name='message', sqlite_where=sa.text("flags != ''"), postgresql_where=sa.text("flags != ''"))
    op.drop_index('ix_message_contact_id_id', table_name='message')
    op.drop_table('message')
    op.drop_index(op.f('ix_incident_pupil_pupil_id'), table_name='incident_pupil')
    op.drop_table('incident_pupil')
    op.drop_index(op.f('ix_deletion_task_staff_id'), table_name='deletion_task')
    op.drop_index(op.f('ix_deletion_task_school_id'), table_name='deletion_task')
    op.drop_index(op.f('ix_deletion_task_next_reminder_at'), table_name='deletion_task')
    op.drop_index(op.f('ix_deletion_task_contact_id'), table_name='deletion_task')
    op.drop_index(op.f('ix_deletion_task_confirmed_at'), table_name='deletion_task')
    op.drop_table('deletion_task')
    op.drop_index(op.f('ix_contact_pupil_pupil_id'), table_name='contact_pupil')
    op.drop_table('contact_pupil')
    op.drop_table('contact_device')
    op.drop_index(op.f('ix_consent_school_id'), table_name='consent')
    op.drop_index(op.f('ix_consent_pupil_id'), table_name='consent')
    op.drop_index(op.f('ix_consent_contact_id'), table_name='consent')
    op.drop_table('consent')
    op.drop_index(op.f('ix_trusted_device_staff_id'), table_name='trusted_device')
    op.drop_table('trusted_device')
    op.drop_index(op.f('ix_subject_access_request_school_id'), table_name='subject_access_request')
    op.drop_table('subject_access_request')
    op.drop_table('staff_role')
    op.drop_table('second_factor')
    op.drop_index(op.f('ix_retention_run_trust_id'), table_name='retention_run')
    op.drop_table('retention_run')
    op.drop_index(op.f('ix_recovery_code_staff_id'), table_name='recovery_code')
    op.drop_table('recovery_code')
    op.drop_index(op.f('ix_pending_change_state'), table_name='pending_change')
    op.drop_index(op.f('ix_pending_change_school_id'), table_name='pending_change')
    op.drop_table('pending_change')
    op.drop_index(op.f('ix_outbox_email_to_staff_id'), table_name='outbox_email')
    op.drop_index(op.f('ix_outbox_email_school_id'), table_name='outbox_email')
    op.drop_index(op.f('ix_outbox_email_kind'), table_name='outbox_email')
    op.drop_index(op.f('ix_outbox_email_contact_id'), table_name='outbox_email')
    op.drop_table('outbox_email')
    op.drop_index('ix_legal_hold_subject', table_name='legal_hold')
    op.drop_index(op.f('ix_legal_hold_school_id'), table_name='legal_hold')
    op.drop_table('legal_hold')
    op.drop_index(op.f('ix_incident_school_id'), table_name='incident')
    op.drop_index(op.f('ix_incident_reporter_id'), table_name='incident')
    op.drop_table('incident')
    op.drop_index(op.f('ix_guardian_pupil_id'), table_name='guardian')
    op.drop_table('guardian')
    op.drop_index('ix_contact_state_ends_on', table_name='contact')
    op.drop_index(op.f('ix_contact_staff_id'), table_name='contact')
    op.drop_index(op.f('ix_contact_school_id'), table_name='contact')
    op.drop_index(op.f('ix_contact_ends_on'), table_name='contact')
    op.drop_table('contact')
    op.drop_index(op.f('ix_browser_session_staff_id'), table_name='browser_session')
    op.drop_table('browser_session')
    op.drop_index(op.f('ix_account_link_staff_id'), table_name='account_link')
    op.drop_table('account_link')
    op.drop_index(op.f('ix_staff_school_id'), table_name='staff')
    op.drop_index(op.f('ix_staff_line_manager_id'), table_name='staff')
    op.drop_table('staff')
    op.drop_index(op.f('ix_pupil_school_id'), table_name='pupil')
    op.drop_table('pupil')
    op.drop_index(op.f('ix_device_school_id'), table_name='device')
    op.drop_table('device')
    op.drop_index(op.f('ix_school_trust_id'), table_name='school')
    op.drop_table('school')
    op.drop_table('trust')
    op.drop_table('signin_throttle')
    op.drop_table('job_run')
    op.drop_index(op.f('ix_idempotency_key_expires_at'), table_name='idempotency_key')
    op.drop_table('idempotency_key')
    op.drop_table('chain_checkpoint')
    op.drop_index(op.f('ix_chain_check_checked_at'), table_name='chain_check')
    op.drop_table('chain_check')
    op.drop_table('audit_pending')
    op.drop_table('audit_head')
    op.drop_index(op.f('ix_audit_event_school_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_actor_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_action'), table_name='audit_event')
    op.drop_table('audit_event')
