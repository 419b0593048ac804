"""第三十八条 evaluation (考核评价): the configuration of indicators and weights, one row per version (a change is a new
version, never an update), the bureau's 改进意见 per year and department, and each year's published results
(第三十七条), frozen as published.

Version 1 is the defaults of `audit_svc.scoring.DEFAULT_CONFIG` as this migration finds them: from then on it is
stored, so a later change of the defaults in code never changes what version 1 meant.

Revision ID: 0005
Revises: 0004
"""

from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    from audit_svc.scoring import DEFAULT_CONFIG

    config = op.create_table(
        "evaluation_config",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("config", sa.Text(), nullable=False, comment="JSON: dimensions, their weights and indicators"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "evaluation_opinion",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("dept", sa.Text(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "evaluation_publication",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False, comment="JSON: the evaluation as published"),
        sa.Column("snapshot_sha256", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Text(), nullable=False),
        sa.Column("published_at", TS, nullable=False),
    )
    op.bulk_insert(
        config,
        [
            {
                "version": 1,
                "config": orjson.dumps(DEFAULT_CONFIG).decode(),
                "note": "默认配置（第三十八条评价办法的初始指标和权重）",
                "created_by": "system",
                "created_at": datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("evaluation_publication")
    op.drop_table("evaluation_opinion")
    op.drop_table("evaluation_config")
