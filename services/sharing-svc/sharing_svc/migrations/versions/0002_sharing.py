"""Sharing tables: catalog projection, requests, attachments, decisions, grants, grant changes, disputes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from govdata_shared.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_resource",
        sa.Column("resource_id", sa.String(40), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider_dept", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sharing_type", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "share_request",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("requester_dept", sa.String(32), nullable=False, index=True),
        sa.Column("requester_system", sa.String(200), nullable=False),
        sa.Column("provider_dept", sa.String(32), nullable=False, index=True),
        sa.Column("resource_id", sa.String(40), nullable=False, index=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("duty_basis", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("seasonal", sa.Boolean(), nullable=False),
        sa.Column("path", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("stage_started_on", sa.Date(), nullable=False),
        sa.Column("stage_deadline", sa.Date()),
        sa.Column("stage_deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("stage_overdue_emitted", sa.Boolean(), nullable=False),
        sa.Column("grant_id", sa.String(40)),
        sa.Column("reject_reason", sa.Text()),
        sa.Column("rejected_stage", sa.String(20)),
        sa.Column("attachment_name", sa.String(200)),
        sa.Column("attachment_size", sa.Integer()),
        sa.Column("attachment_sha256", sa.String(64)),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "request_attachment",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "request_decision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), nullable=False, index=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("decided_dept", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("deadline", sa.Date()),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "interface_grant",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("holder_dept", sa.String(32), nullable=False, index=True),
        sa.Column("holder_system", sa.String(200), nullable=False),
        sa.Column("provider_dept", sa.String(32), nullable=False, index=True),
        sa.Column("resource_id", sa.String(40), nullable=False, index=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("seasonal", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("status_reason", sa.Text()),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "grant_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("grant_id", sa.String(40), nullable=False, index=True),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "dispute",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("requester_dept", sa.String(32), nullable=False, index=True),
        sa.Column("resource_id", sa.String(40), nullable=False),
        sa.Column("provider_dept", sa.String(32)),
        sa.Column("request_id", sa.String(40)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("resolution", sa.Text()),
        sa.Column("resolved_by", sa.String(100)),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "dispute",
        "grant_change",
        "interface_grant",
        "request_decision",
        "request_attachment",
        "share_request",
        "catalog_resource",
    ):
        op.drop_table(table)
