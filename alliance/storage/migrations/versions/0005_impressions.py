"""impressions: product cards shown, per day, page, placement and partner

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "impressions",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("source_member", sa.String(length=64), nullable=False),
        sa.Column("placement", sa.String(length=32), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("cards", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "source_member", "placement", "partner", name=op.f("pk_impressions")
        ),
    )


def downgrade() -> None:
    op.drop_table("impressions")
