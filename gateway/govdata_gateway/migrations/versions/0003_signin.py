"""People's sign-in (authorization code + PKCE, rotating refresh tokens) and the throttling of failed
authentications, shared by every gateway replica.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from govdata_shared.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failure",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "signin_pending",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("totp_enrolment_secret", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    )
    op.create_table(
        "signin_code",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("session_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "signin_session",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
    )
    op.create_table(
        "signin_refresh_token",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(36),
            sa.ForeignKey("signin_session.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "signin_totp_use",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "signin_totp_use",
        "signin_refresh_token",
        "signin_session",
        "signin_code",
        "signin_pending",
        "auth_failure",
    ):
        op.drop_table(table)
