"""第十二条: a demand names the department expected to supply it, the bureau reviews it (accept, route to another
department, reject with a reason) and the supplier answers (will provide by a date / cannot, why).
第十三条: the bureau assigns responsibility-list entries (a department, the resource it must provide, the update
cycle).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("demand") as batch:
        batch.add_column(sa.Column("supplier_dept", sa.String(32), index=True))
        batch.add_column(sa.Column("routed_from", sa.String(32)))
        batch.add_column(sa.Column("review_decision", sa.String(16)))
        batch.add_column(sa.Column("review_reason", sa.Text()))
        batch.add_column(sa.Column("reviewed_by", sa.String(100)))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("answer", sa.String(16)))
        batch.add_column(sa.Column("provide_by", sa.Date()))
        batch.add_column(sa.Column("answer_reason", sa.Text()))
        batch.add_column(sa.Column("answered_by", sa.String(100)))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("met_by", sa.String(100)))
        batch.add_column(sa.Column("event_version", sa.Integer(), nullable=False, server_default="0"))
    # demands recorded before the review existed wait for it now
    op.execute("UPDATE demand SET status = 'submitted' WHERE status = 'open'")
    op.execute("UPDATE demand SET event_version = 2 WHERE status = 'met'")
    op.execute("UPDATE demand SET event_version = 1 WHERE status <> 'met'")

    op.create_table(
        "responsibility_entry",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("dept", sa.String(32), nullable=False, index=True),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("update_cycle", sa.String(16), nullable=False),
        sa.Column("assigned_by", sa.String(100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_reason", sa.Text()),
        sa.Column("event_version", sa.Integer(), nullable=False, server_default="0"),
    )
    # one active entry per department and code, even when two of the bureau's staff assign it at once
    op.create_index(
        "ux_responsibility_entry_active",
        "responsibility_entry",
        ["dept", "resource_code"],
        unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
        sqlite_where=sa.text("withdrawn_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_responsibility_entry_active", "responsibility_entry")
    op.drop_table("responsibility_entry")
    op.execute("UPDATE demand SET status = 'open' WHERE status <> 'met'")
    with op.batch_alter_table("demand") as batch:
        for column in [
            "event_version",
            "met_by",
            "answered_at",
            "answered_by",
            "answer_reason",
            "provide_by",
            "answer",
            "reviewed_at",
            "reviewed_by",
            "review_reason",
            "review_decision",
            "routed_from",
            "supplier_dept",
        ]:
            batch.drop_column(column)
