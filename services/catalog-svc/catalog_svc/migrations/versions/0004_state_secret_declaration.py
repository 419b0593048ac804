"""The provider's declaration that a resource holds no state secret (不涉及国家秘密, 第二条), kept per revision; a
revision is submitted for review only with it. Revisions written before carry none (false): what is published
stays published, and its next revision is declared before it is submitted.

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
    op.add_column(
        "resource_revision",
        sa.Column("no_state_secrets", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("resource_revision") as batch:
        batch.drop_column("no_state_secrets")
