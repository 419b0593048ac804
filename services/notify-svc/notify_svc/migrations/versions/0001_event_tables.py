"""Outbox and consumer bookkeeping of notify-svc.

Revision ID: 0001
Revises:
"""

from alembic import op
from govdata_shared.migrations import create_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables()


def downgrade() -> None:
    for table in ("failed_event", "processed_event", "outbox"):
        op.drop_table(table)
