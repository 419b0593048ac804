"""Application systems (应用系统) of the departments, kept from the gateway's identity.system.* events: a request
names one of its department's systems, and the grant is that system's (第二十九条).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application_system",
        sa.Column("system_id", sa.String(64), primary_key=True),
        sa.Column("dept", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("application_system")
