"""Open steps, messages and read state, and the name projections.

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
        "open_step",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("aggregate_type", sa.String(16), nullable=False),
        sa.Column("aggregate_id", sa.String(80), nullable=False),
        sa.Column("resource_id", sa.String(40), index=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("party_dept", sa.String(32)),
        sa.Column("dept", sa.String(32), nullable=False, index=True),
        sa.Column("roles", sa.String(100), nullable=False),
        sa.Column("deadline", sa.Date(), index=True),
        sa.Column("deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("article", sa.String(16), nullable=False),
        sa.Column("link", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON()),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("closed_at", TS, index=True),
        sa.Column("reminded_at", TS),
        sa.Column("overdue_notified_at", TS),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_open_step_aggregate", "open_step", ["aggregate_type", "aggregate_id"])
    op.create_table(
        "step_aggregate",
        sa.Column("aggregate_type", sa.String(16), primary_key=True),
        sa.Column("aggregate_id", sa.String(80), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "notify_message",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step_id", sa.String(120), nullable=False, index=True),
        sa.Column("step_kind", sa.String(32), nullable=False),
        sa.Column("dept", sa.String(32), nullable=False, index=True),
        sa.Column("copied_to", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("article", sa.String(16), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("link", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False, index=True),
    )
    op.create_table(
        "notify_message_read",
        sa.Column("message_id", sa.String(40), sa.ForeignKey("notify_message.id"), primary_key=True),
        sa.Column("reader", sa.String(100), primary_key=True),
        sa.Column("read_at", TS, nullable=False),
    )
    op.create_table(
        "known_resource",
        sa.Column("resource_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider_dept", sa.String(32), nullable=False),
        sa.Column("submitted_at", TS),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "known_department",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_open_step_aggregate", table_name="open_step")
    for table in (
        "known_department",
        "known_resource",
        "notify_message_read",
        "notify_message",
        "step_aggregate",
        "open_step",
    ):
        op.drop_table(table)
