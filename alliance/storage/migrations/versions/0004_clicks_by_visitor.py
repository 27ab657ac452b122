"""index clicks by visitor and time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:40:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_clicks_visitor_key_clicked_at"), "clicks", ["visitor_key", "clicked_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_clicks_visitor_key_clicked_at"), table_name="clicks")
