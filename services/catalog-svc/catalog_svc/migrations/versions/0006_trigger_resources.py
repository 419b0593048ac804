"""An update trigger may name several resources of its department (第十四条); it is answered once each of them is
submitted, and the ones submitted so far are kept.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("update_trigger", sa.Column("resource_ids", sa.JSON()))
    op.add_column("update_trigger", sa.Column("answered_ids", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("update_trigger") as batch:
        batch.drop_column("answered_ids")
        batch.drop_column("resource_ids")
