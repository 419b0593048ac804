"""Federated sign-in through one external OpenID provider: the requests sent on to it, awaiting their callback.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from govdata_shared.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_federated",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("pending_id", sa.String(64), nullable=False),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("signin_federated")
