"""The hash-chained audit log, its chain head, and the triggers that keep the log append-only.

Triggers refuse UPDATE and DELETE of log rows (and TRUNCATE on Postgres) for every database user, the owner
included; the head row may move forward but never be deleted. On Postgres only a superuser or the table owner
can disable them (ALTER TABLE … DISABLE TRIGGER), which is why the service runs as a user that owns nothing and
holds INSERT and SELECT only (README "Append-only in production").

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

POSTGRES_TRIGGERS = [
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_chain_head_keep BEFORE DELETE ON audit_chain_head
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER audit_chain_head_keep BEFORE DELETE ON audit_chain_head
    BEGIN SELECT RAISE(ABORT, 'audit chain head cannot be deleted'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", ID, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Text(), nullable=False, unique=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("time", TS, nullable=False),
        sa.Column("dept", sa.Text()),
        sa.Column("actor", sa.Text()),
        sa.Column("resource_id", sa.Text()),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
    )
    # Filters of GET /events and the per-year scans of the reports (type + time range).
    op.create_index("ix_audit_log_type_time", "audit_log", ["type", "time"])
    op.create_index("ix_audit_log_dept_time", "audit_log", ["dept", "time"])
    op.create_index("ix_audit_log_resource_id", "audit_log", ["resource_id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", TS),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": bytes(32), "updated_at": None}])
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_chain_head")
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION audit_log_refuse_change()")
    else:
        op.drop_table("audit_chain_head")
        op.drop_table("audit_log")
