"""store connections: stores connected the WooCommerce way, keys encrypted at rest (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:30:00
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: filled in by its issue."""


def downgrade() -> None:
    """Nothing yet: filled in by its issue."""
