"""The data version its listings keep their pages by (govdata_shared.pages): advanced by a trigger on every
table in the transaction that changes it.

Revision ID: 0003
Revises: 0002
"""

from govdata_shared.pages import create_data_version, drop_data_version

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = [
    "correction_request",
    "correction_evidence",
    "verifiable_resource",
]


def upgrade() -> None:
    create_data_version(TABLES)


def downgrade() -> None:
    drop_data_version(TABLES)
