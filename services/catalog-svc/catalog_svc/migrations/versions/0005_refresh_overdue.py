"""A resource remembers the data-refresh due date it was announced late for (catalog.refresh.overdue, 第十三条), so
each missed due date is announced once.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resource", sa.Column("refresh_overdue_due", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("resource") as batch:
        batch.drop_column("refresh_overdue_due")
