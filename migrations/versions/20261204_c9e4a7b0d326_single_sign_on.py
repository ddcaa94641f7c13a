"""Single sign-on: each trust's connections to its Microsoft or Google tenant, the links of
providers' accounts to contactlog accounts (subjects keyed), and the sign-ins under way.

Revision ID: c9e4a7b0d326
Revises: b8d3f6a9c215
Create Date: 2026-12-04 19:43:10.813388
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.db

revision: str = "c9e4a7b0d326"
down_revision: str | None = "b8d3f6a9c215"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Integer(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("secret_file", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("domains", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("passwords_off", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_sso_connection_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_connection")),
        sa.UniqueConstraint("trust_id", "provider", name=op.f("uq_sso_connection_trust_id")),
    )
    op.create_table(
        "sso_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("browser_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("subject_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("next", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["sso_connection.id"],
            name=op.f("fk_sso_attempt_connection_id_sso_connection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_sso_attempt_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_attempt")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sso_attempt_state_hash")),
    )
    with op.batch_alter_table("sso_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sso_attempt_address_hash"), ["address_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sso_attempt_browser_hash"), ["browser_hash"], unique=False
        )

    op.create_table(
        "sso_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("subject_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("linked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["sso_connection.id"],
            name=op.f("fk_sso_link_connection_id_sso_connection"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_sso_link_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_link")),
        sa.UniqueConstraint("connection_id", "staff_id", name=op.f("uq_sso_link_connection_id")),
        sa.UniqueConstraint("subject_hash", name=op.f("uq_sso_link_subject_hash")),
    )
    with op.batch_alter_table("sso_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sso_link_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sso_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_link_staff_id"))

    op.drop_table("sso_link")
    with op.batch_alter_table("sso_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_attempt_browser_hash"))
        batch_op.drop_index(batch_op.f("ix_sso_attempt_address_hash"))

    op.drop_table("sso_attempt")
    op.drop_table("sso_connection")
