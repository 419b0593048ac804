"""Tables of audit-svc: the hash-chained audit log (审计日志), the head of its chain, the data plane's access records
(one per data call, chained a batch at a time: migration 0003) and the departments' 第三十九条 annual work reports
(migration 0004: the only rows a department writes and may replace), and the 第三十八条 evaluation's configuration
versions, the bureau's 改进意见 and the published results (migration 0005).

`audit_log.record` holds the canonical JSON of each record exactly as it was hashed; the other columns are an
index over it for queries and reports. Rows are only ever inserted: the migration installs triggers that refuse
UPDATE, DELETE and TRUNCATE, and the service's database user holds only INSERT and SELECT (README).
`audit_chain_head` is a single row (id 1) with the last seq and hash; appenders lock it, so even two replicas
append one after the other and the chain cannot fork.
"""

from __future__ import annotations

import sqlalchemy as sa
from govdata_shared.db import UTCDateTime

metadata = sa.MetaData()

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.Text(), nullable=False, unique=True),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("time", UTCDateTime(), nullable=False, comment="event time (UTC)"),
    sa.Column("dept", sa.Text(), nullable=True, comment="department of the event envelope"),
    sa.Column("actor", sa.Text(), nullable=True),
    sa.Column("resource_id", sa.Text(), nullable=True, comment="data.resource_id when the event has one"),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("record", sa.Text(), nullable=False, comment="canonical JSON of the record, as hashed"),
    sa.Column("hash", sa.LargeBinary(), nullable=False, comment="SHA-256(previous hash ‖ record), 32 bytes"),
)

audit_chain_head = sa.Table(
    "audit_chain_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.LargeBinary(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=True),
)
HEAD_ID = 1

access_batch = sa.Table(
    "access_batch",
    metadata,
    sa.Column("batch_id", sa.Text(), primary_key=True),
    sa.Column("gateway", sa.Text(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("first_time", UTCDateTime(), nullable=True),
    sa.Column("last_time", UTCDateTime(), nullable=True),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("pruned_at", UTCDateTime(), nullable=True),
)

access_record = sa.Table(
    "access_record",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("batch_id", sa.Text(), nullable=False),
    sa.Column("time", UTCDateTime(), nullable=False),
    sa.Column("grant_id", sa.Text()),
    sa.Column("client_id", sa.Text()),
    sa.Column("system", sa.Text()),
    sa.Column("holder_dept", sa.Text()),
    sa.Column("provider_dept", sa.Text()),
    sa.Column("resource_id", sa.Text(), nullable=False),
    sa.Column("method", sa.Text(), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.Text(), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Column("bytes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("duration_ms", sa.Float(), nullable=False),
    sa.Column("request_id", sa.Text()),
)

work_report = sa.Table(
    "work_report",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("dept", sa.Text(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("attachment", sa.LargeBinary(), nullable=True),
    sa.Column("attachment_name", sa.Text(), nullable=True),
    sa.Column("attachment_content_type", sa.Text(), nullable=True),
    sa.Column("attachment_size", sa.Integer(), nullable=True),
    sa.Column("attachment_sha256", sa.Text(), nullable=True),
    sa.Column("created_by", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("submitted_by", sa.Text(), nullable=True),
    sa.Column("submitted_at", UTCDateTime(), nullable=True),
    sa.Column("updated_by", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("dept", "year", name="uq_work_report_dept_year"),
)

# 第三十八条 evaluation: configuration versions (never changed once written: a change is a new version), the bureau's
# 改进意见 per year and department, and each year's results as published (第三十七条), frozen.
evaluation_config = sa.Table(
    "evaluation_config",
    metadata,
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("config", sa.Text(), nullable=False, comment="JSON: dimensions, their weights and indicators"),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_by", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

evaluation_opinion = sa.Table(
    "evaluation_opinion",
    metadata,
    sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("dept", sa.Text(), primary_key=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("updated_by", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
)

evaluation_publication = sa.Table(
    "evaluation_publication",
    metadata,
    sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("config_version", sa.Integer(), nullable=False),
    sa.Column("snapshot", sa.Text(), nullable=False, comment="JSON: the evaluation as published"),
    sa.Column("snapshot_sha256", sa.Text(), nullable=False),
    sa.Column("published_by", sa.Text(), nullable=False),
    sa.Column("published_at", UTCDateTime(), nullable=False),
)
