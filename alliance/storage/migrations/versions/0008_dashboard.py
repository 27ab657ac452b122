"""dashboard: the dashboard's sign-in tokens and its rollups (issue 14)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:30:00
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: filled in by its issue."""


def downgrade() -> None:
    """Nothing yet: filled in by its issue."""
