"""The items a request is approved for: the provider may agree to fewer than were requested, and the grant carries
only those (第二十九条(二)). Requests approved before agreed to every requested item.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("share_request", sa.Column("approved_items", sa.JSON()))
    op.execute(
        "UPDATE share_request SET approved_items = items"
        " WHERE status IN ('delivery', 'granted') OR (status = 'rejected' AND rejected_stage = 'delivery')"
    )


def downgrade() -> None:
    with op.batch_alter_table("share_request") as batch:
        batch.drop_column("approved_items")
