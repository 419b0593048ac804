"""Verification tables: catalog projection, correction requests, evidence files.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "verifiable_resource",
        sa.Column("resource_id", sa.String(40), primary_key=True),
        sa.Column("provider_dept", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "correction_request",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("resource_id", sa.String(40), nullable=False, index=True),
        sa.Column("provider_dept", sa.String(32), nullable=False, index=True),
        sa.Column("subject_type", sa.String(8), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("subject_id_check_failed", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("claimed_values", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("applicant_kind", sa.String(16), nullable=False),
        sa.Column("applicant_sub", sa.String(100), nullable=False),
        sa.Column("applicant_dept", sa.String(32), index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False, index=True),
        sa.Column("deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("original_deadline", sa.Date(), nullable=False),
        sa.Column("extension_days", sa.Integer()),
        sa.Column("extension_reason", sa.Text()),
        sa.Column("extended_by", sa.String(100)),
        sa.Column("extended_at", TS),
        sa.Column("outcome", sa.String(16)),
        sa.Column("resolution_note", sa.Text()),
        sa.Column("corrected_values", sa.JSON()),
        sa.Column("resolved_by", sa.String(100)),
        sa.Column("resolved_at", TS),
        sa.Column("resolved_on", sa.Date()),
        sa.Column("on_time", sa.Boolean()),
        sa.Column("working_days_taken", sa.Integer()),
        sa.Column("overdue_emitted", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_correction_request_subject_resource", "correction_request", ["subject_id", "resource_id"])
    op.create_table(
        "correction_evidence",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("correction_request.id"), nullable=False, index=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_correction_request_subject_resource", table_name="correction_request")
    for table in ("correction_evidence", "correction_request", "verifiable_resource"):
        op.drop_table(table)
