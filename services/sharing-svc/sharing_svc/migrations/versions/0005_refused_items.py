"""A decision keeps the requested items the provider did not agree to (第二十九条(二): a refusal states its reasons;
the decision's `reason` says why those items were refused).

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
    op.add_column("request_decision", sa.Column("refused_items", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("request_decision") as batch:
        batch.drop_column("refused_items")
