"""The data version its listings keep their pages by (govdata_shared.pages): advanced by a trigger on every
table in the transaction that changes it.

Revision ID: 0008
Revises: 0007
"""

from govdata_shared.pages import create_data_version, drop_data_version

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = [
    "resource",
    "resource_revision",
    "resource_search",
    "item_authority",
    "authority_overlap",
    "update_trigger",
    "demand",
    "responsibility_entry",
    "refresh_report",
]


def upgrade() -> None:
    create_data_version(TABLES)


def downgrade() -> None:
    drop_data_version(TABLES)
