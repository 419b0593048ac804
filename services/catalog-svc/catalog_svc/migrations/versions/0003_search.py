"""Search index of the catalog (catalog_svc/search.py): one row per resource with its facets, plus tokens.

Postgres: a `tsvector` column with a GIN index, btree indexes for the default listing (status, newest first)
and the per-department listing. SQLite: the same row table keyed by an integer `rid`, and an FTS5 table whose
rowid is that `rid`.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column]:
    return [
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name_len", sa.Integer(), nullable=False),
        sa.Column("name_norm", sa.Text(), nullable=False),
        sa.Column("items_norm", sa.Text(), nullable=False),
        sa.Column("summary_norm", sa.Text(), nullable=False),
        sa.Column("codes_norm", sa.Text(), nullable=False),
        sa.Column("provider_dept", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("sharing_type", sa.String(16), nullable=False),
        sa.Column("security_level", sa.String(1), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import TSVECTOR

        op.create_table(
            "resource_search",
            sa.Column("resource_id", sa.String(40), primary_key=True),
            *_columns(),
            sa.Column("tsv", TSVECTOR(), nullable=False),
        )
        op.create_index("ix_resource_search_tsv", "resource_search", ["tsv"], postgresql_using="gin")
    else:
        op.create_table(
            "resource_search",
            sa.Column("rid", sa.Integer(), primary_key=True),
            sa.Column("resource_id", sa.String(40), nullable=False, unique=True),
            *_columns(),
        )
        # Bigrams and unigrams as space-separated tokens (search.search_tokens); no bm25, so no column sizes.
        op.execute(
            "CREATE VIRTUAL TABLE resource_search_fts USING fts5(tokens, tokenize = 'unicode61', columnsize = 0)"
        )
    op.create_index("ix_resource_search_code", "resource_search", ["code"])
    op.create_index(
        "ix_resource_search_status_updated",
        "resource_search",
        ["status", sa.text("updated_at DESC"), "resource_id"],
    )
    # Counts of a filtered listing read this index alone (index-only scan), not the wide rows.
    op.create_index(
        "ix_resource_search_facets",
        "resource_search",
        ["status", "provider_dept", "category", "sharing_type", "security_level", "format"],
    )
    op.create_index(
        "ix_resource_search_dept_status_updated",
        "resource_search",
        ["provider_dept", "status", sa.text("updated_at DESC")],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS resource_search_fts")
    op.drop_table("resource_search")
