"""Access records of the data plane: one row per data call, and one row per batch the gateway sent.

Each batch is also one record of the hash chain carrying the digest of its access records, so a deleted or
altered access record shows at GET /verify. Records are never updated (a trigger refuses it); they are deleted
only whole batches at a time, once older than the retention period (GOVDATA_ACCESS_RETENTION_DAYS).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

POSTGRES_TRIGGERS = [
    """
    CREATE TRIGGER access_record_no_update BEFORE UPDATE ON access_record
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER access_record_no_truncate BEFORE TRUNCATE ON access_record
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
]
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER access_record_no_update BEFORE UPDATE ON access_record
    BEGIN SELECT RAISE(ABORT, 'access records are append-only: UPDATE refused'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "access_batch",
        sa.Column("batch_id", sa.Text(), primary_key=True, comment="the access.records event id"),
        sa.Column("gateway", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, comment="records new in this batch"),
        sa.Column("first_time", TS, nullable=True),
        sa.Column("last_time", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("pruned_at", TS, nullable=True, comment="when its records were deleted after retention"),
    )
    op.create_index("ix_access_batch_last_time", "access_batch", ["last_time"])
    op.create_table(
        "access_record",
        sa.Column("id", sa.Text(), primary_key=True, comment="the gateway's id of the call"),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("time", TS, nullable=False),
        sa.Column("grant_id", sa.Text()),
        sa.Column("client_id", sa.Text()),
        sa.Column("system", sa.Text()),
        sa.Column("holder_dept", sa.Text()),
        sa.Column("provider_dept", sa.Text()),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False, comment="with the query; identifiers masked"),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("request_id", sa.Text()),
    )
    # GET /access filters (each with a time range) and the batch digests of /verify.
    op.create_index("ix_access_record_time", "access_record", ["time"])
    op.create_index("ix_access_record_grant_time", "access_record", ["grant_id", "time"])
    op.create_index("ix_access_record_client_time", "access_record", ["client_id", "time"])
    op.create_index("ix_access_record_resource_time", "access_record", ["resource_id", "time"])
    op.create_index("ix_access_record_holder_time", "access_record", ["holder_dept", "time"])
    op.create_index("ix_access_record_provider_time", "access_record", ["provider_dept", "time"])
    op.create_index("ix_access_record_batch", "access_record", ["batch_id"])
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("access_record")
    op.drop_table("access_batch")
