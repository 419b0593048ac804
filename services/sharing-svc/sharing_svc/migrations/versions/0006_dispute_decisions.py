"""Disputes (第二十七条) get the bureau's deadline (ten working days), the provider's answer, and what the decision
orders: the refused request granted, or a changed sharing type.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = (
    ("deadline", sa.Date()),
    ("deadline_estimated", sa.Boolean()),
    ("provider_answer", sa.Text()),
    ("answered_by", sa.String(100)),
    ("answered_at", sa.DateTime(timezone=True)),
    ("outcome", sa.String(32)),
    ("grant_id", sa.String(40)),
    ("ordered_sharing_type", sa.String(16)),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        if name == "deadline_estimated":
            op.add_column("dispute", sa.Column(name, type_, nullable=False, server_default=sa.false()))
        else:
            op.add_column("dispute", sa.Column(name, type_))


def downgrade() -> None:
    with op.batch_alter_table("dispute") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
