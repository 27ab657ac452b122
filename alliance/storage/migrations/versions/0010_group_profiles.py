"""group profiles: de-identified group profiles of orders, for partner fit (issue 16)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:30:00
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: filled in by its issue."""


def downgrade() -> None:
    """Nothing yet: filled in by its issue."""
