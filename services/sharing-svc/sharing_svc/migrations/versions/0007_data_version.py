"""The data version its listings keep their pages by (govdata_shared.pages): advanced by a trigger on every
table in the transaction that changes it.

Revision ID: 0007
Revises: 0006
"""

from govdata_shared.pages import create_data_version, drop_data_version

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = [
    "share_request",
    "request_decision",
    "request_attachment",
    "interface_grant",
    "grant_change",
    "dispute",
    "application_system",
    "catalog_resource",
]


def upgrade() -> None:
    create_data_version(TABLES)


def downgrade() -> None:
    drop_data_version(TABLES)
