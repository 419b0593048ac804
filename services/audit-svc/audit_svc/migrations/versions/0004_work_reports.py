"""The departments' annual work reports (第三十九条: 上一年度政务数据管理情况, due by the end of January): one per
department and year, its text and its attachment (PDF/JPEG/PNG) with name, type, size and SHA-256.

A department may replace the text or the attachment; `submitted_at`, the first moment the report held both, stays
as it was, so a report replaced after the deadline is still on time if it was first complete before it. What was
submitted each time is in the hash chain (`audit.work_report.*` records carry the SHA-256 of text and attachment).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "work_report",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("dept", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False, comment="the year reported on"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, comment="draft until the attachment is there, then submitted"),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("attachment_name", sa.Text(), nullable=True),
        sa.Column("attachment_content_type", sa.Text(), nullable=True),
        sa.Column("attachment_size", sa.Integer(), nullable=True),
        sa.Column("attachment_sha256", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=True),
        sa.Column("submitted_at", TS, nullable=True, comment="first complete (text and attachment); never moves"),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("dept", "year", name="uq_work_report_dept_year"),
    )
    op.create_index("ix_work_report_year", "work_report", ["year"])


def downgrade() -> None:
    op.drop_table("work_report")
