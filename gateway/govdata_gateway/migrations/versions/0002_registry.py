"""The identity registry: departments, application systems (应用系统), machine clients and people.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from govdata_shared.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _common() -> list[sa.Column]:
    """What every registry entry has: disabled flag, aggregate version, seed digest, timestamps."""
    return [
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seed_digest", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "registry_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "department",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        *_common(),
    )
    op.create_table(
        "app_system",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dept", sa.String(32), sa.ForeignKey("department.code"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        *_common(),
    )
    op.create_table(
        "client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("dept", sa.String(32), sa.ForeignKey("department.code"), nullable=True, index=True),
        sa.Column("system", sa.String(64), sa.ForeignKey("app_system.id"), nullable=True, index=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("subject_id", sa.String(40), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=True),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("previous_secret_hash", sa.String(200), nullable=True),
        sa.Column("previous_secret_until", UTCDateTime(), nullable=True),
        *_common(),
    )
    op.create_table(
        "person",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("dept", sa.String(32), sa.ForeignKey("department.code"), nullable=True, index=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("subject_id", sa.String(40), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("password_changed_at", UTCDateTime(), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        *_common(),
    )


def downgrade() -> None:
    for table in ("person", "client", "app_system", "department", "registry_meta"):
        op.drop_table(table)
