"""Search index of the catalog (catalog_svc/search.py): one row per resource with its facets, plus tokens.

Postgres: the row table and a GIN index on `catalog_search_tsvector(<normalised fields>)` — the character
unigrams and bigrams of each CJK run and each ASCII word, computed in the database so that the tokens live in
the index only and the table stays narrow (fits in memory; a keyword query visits fewer pages). Btree indexes
serve the default listing (status, newest first), the per-department listing and filtered counts.
SQLite: the same row table keyed by an integer `rid`, and an FTS5 table whose rowid is that `rid`.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Must produce exactly catalog_svc.search.search_tokens() of the runs: the fields hold runs separated by
# spaces, each all ASCII [0-9a-z] (kept whole) or all CJK (its unigrams and bigrams). COST: about 0.4 ms a
# row, so the planner must prefer the GIN index to computing it row by row, even on a small catalog.
TOKENS_FUNCTION = """
CREATE FUNCTION catalog_search_tsvector(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 10000 AS $$
SELECT coalesce(array_to_tsvector(array_agg(DISTINCT t)), ''::tsvector) FROM (
    SELECT w AS t FROM unnest(string_to_array(body, ' ')) AS w WHERE ascii(w) BETWEEN 1 AND 127
    UNION ALL
    SELECT substr(w, i, n) FROM unnest(string_to_array(body, ' ')) AS w
        CROSS JOIN LATERAL generate_series(1, length(w)) AS i CROSS JOIN (VALUES (1), (2)) AS k(n)
    WHERE ascii(w) > 127 AND i + n <= length(w) + 1
) AS tokens
$$
"""
TOKENS_EXPRESSION = "catalog_search_tsvector(name_norm || items_norm || summary_norm || codes_norm)"


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
        op.create_table("resource_search", sa.Column("resource_id", sa.String(40), primary_key=True), *_columns())
        op.execute(TOKENS_FUNCTION)
        op.execute(f"CREATE INDEX ix_resource_search_tokens ON resource_search USING gin ({TOKENS_EXPRESSION})")
        # Name tokens alone: the first pages of a common word are its name matches (search._name_matches_page).
        op.execute(
            "CREATE INDEX ix_resource_search_name_tokens ON resource_search"
            " USING gin (catalog_search_tsvector(name_norm))"
        )
    else:
        op.create_table(
            "resource_search",
            sa.Column("rid", sa.Integer(), primary_key=True),
            sa.Column("resource_id", sa.String(40), nullable=False, unique=True),
            *_columns(),
        )
        # Unigrams and bigrams as space-separated tokens (search.search_tokens); no bm25, so no column sizes.
        op.execute(
            "CREATE VIRTUAL TABLE resource_search_fts USING fts5(tokens, tokenize = 'unicode61', columnsize = 0)"
        )
    op.create_index("ix_resource_search_code", "resource_search", ["code"])
    op.create_index(
        "ix_resource_search_status_updated",
        "resource_search",
        ["status", sa.text("updated_at DESC"), "resource_id"],
    )
    # Counts of a filtered listing read this index alone (index-only scan), not the rows.
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
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("resource_search")
        op.execute("DROP FUNCTION catalog_search_tsvector(text)")
    else:
        op.execute("DROP TABLE IF EXISTS resource_search_fts")
        op.drop_table("resource_search")
