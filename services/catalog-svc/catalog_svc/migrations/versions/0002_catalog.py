"""Catalog tables: resources, revisions, item authority, update triggers, demands, refresh reports.

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
        "resource",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("provider_dept", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("published_version", sa.Integer()),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False, index=True),
        sa.Column("published_at", TS),
        sa.Column("retired_at", TS),
    )
    op.create_table(
        "resource_revision",
        sa.Column("resource_id", sa.String(40), sa.ForeignKey("resource.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("sharing_type", sa.String(16), nullable=False),
        sa.Column("sharing_conditions", sa.Text()),
        sa.Column("legal_basis", sa.Text()),
        sa.Column("sharing_method", sa.String(16), nullable=False),
        sa.Column("open_type", sa.String(20), nullable=False),
        sa.Column("open_conditions", sa.Text()),
        sa.Column("security_level", sa.String(1), nullable=False),
        sa.Column("update_cycle", sa.String(16), nullable=False),
        sa.Column("usage_requirements", sa.Text()),
        sa.Column("related_codes", sa.JSON(), nullable=False),
        sa.Column("interface", sa.JSON()),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("submitted_at", TS),
        sa.Column("review_deadline", sa.Date()),
        sa.Column("review_deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("review_overdue_emitted", sa.Boolean(), nullable=False),
        sa.Column("reviewed_at", TS),
        sa.Column("reviewed_by", sa.String(100)),
        sa.Column("review_reason", sa.Text()),
        sa.Column("published_at", TS),
        sa.Column("superseded_at", TS),
    )
    op.create_table(
        "item_authority",
        sa.Column("item_code", sa.String(64), primary_key=True),
        sa.Column("dept", sa.String(32), primary_key=True),
        sa.Column("resource_id", sa.String(40), primary_key=True),
        sa.Column("allowed_overlap", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "authority_overlap",
        sa.Column("item_code", sa.String(64), primary_key=True),
        sa.Column("dept", sa.String(32), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("allowed_by", sa.String(100), nullable=False),
        sa.Column("allowed_at", TS, nullable=False),
    )
    op.create_table(
        "update_trigger",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("dept", sa.String(32), nullable=False, index=True),
        sa.Column("resource_id", sa.String(40), index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("submit_deadline", sa.Date(), nullable=False),
        sa.Column("submit_deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", TS),
        sa.Column("submitted_version", sa.Integer()),
        sa.Column("review_deadline", sa.Date()),
        sa.Column("review_deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("reviewed_at", TS),
        sa.Column("submit_overdue_emitted", sa.Boolean(), nullable=False),
        sa.Column("review_overdue_emitted", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "demand",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("dept", sa.String(32), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.String(40)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("met_at", TS),
    )
    op.create_table(
        "refresh_report",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("resource_id", sa.String(40), nullable=False, index=True),
        sa.Column("dept", sa.String(32), nullable=False),
        sa.Column("refreshed_at", TS, nullable=False),
        sa.Column("record_count", sa.Integer()),
        sa.Column("note", sa.Text()),
        sa.Column("reported_by", sa.String(100), nullable=False),
        sa.Column("reported_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "refresh_report",
        "demand",
        "update_trigger",
        "authority_overlap",
        "item_authority",
        "resource_revision",
        "resource",
    ):
        op.drop_table(table)
