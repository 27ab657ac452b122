"""dashboard: the dashboard's sign-in tokens and its rollups (issue 14)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:30:00

Sign-in tokens (stored as their SHA-256 only), the rollups the dashboard reads instead of the
ledger, their watermarks, and the indexes the rollups' refresh needs: clicks by
``(target_member, clicked_at)`` (noted missing in issue 5), orders and ledger entries by when
they were booked, orders by member and sale date and by member and customer.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_clicks_target_member_clicked_at", "clicks", ["target_member", "clicked_at"]),
    ("ix_orders_booked_at", "orders", ["booked_at"]),
    ("ix_orders_member_sale_at", "orders", ["member", "sale_at"]),
    ("ix_orders_member_customer_key", "orders", ["member", "customer_key"]),
    ("ix_ledger_entries_booked_at", "ledger_entries", ["booked_at"]),
)


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "dashboard_tokens",
        _text("digest", 64),
        _text("role", 8),
        _text("member", 64),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_dashboard_tokens")),
    )
    op.create_index(op.f("ix_dashboard_tokens_member"), "dashboard_tokens", ["member"])
    op.create_table(
        "dashboard_watermarks",
        _text("source", 16),
        sa.Column("mark", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_dashboard_watermarks")),
    )
    op.create_table(
        "dashboard_customers",
        _text("member", 64),
        _text("customer_key", 64),
        sa.Column("first_sale_at", sa.DateTime(), nullable=False),
        _text("first_referrer", 64, nullable=True),
        sa.PrimaryKeyConstraint("member", "customer_key", name=op.f("pk_dashboard_customers")),
    )
    op.create_table(
        "dashboard_pair_days",
        _text("day", 10),
        _text("source_member", 64),
        _text("target_member", 64),
        _text("measure", 16),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "source_member", "target_member", "measure", name=op.f("pk_dashboard_pair_days")
        ),
    )
    op.create_index(
        op.f("ix_dashboard_pair_days_target_member_day"),
        "dashboard_pair_days",
        ["target_member", "day"],
    )
    op.create_index(
        op.f("ix_dashboard_pair_days_source_member_day"),
        "dashboard_pair_days",
        ["source_member", "day"],
    )
    op.create_table(
        "dashboard_member_months",
        _text("member", 64),
        _text("period", 7),
        _text("measure", 24),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "member", "period", "measure", name=op.f("pk_dashboard_member_months")
        ),
    )
    op.create_index(
        op.f("ix_dashboard_member_months_period"), "dashboard_member_months", ["period"]
    )
    for name, table, columns in _INDEXES:
        op.create_index(op.f(name), table, columns)


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(op.f(name), table_name=table)
    op.drop_index(op.f("ix_dashboard_member_months_period"), table_name="dashboard_member_months")
    op.drop_index(
        op.f("ix_dashboard_pair_days_source_member_day"), table_name="dashboard_pair_days"
    )
    op.drop_index(
        op.f("ix_dashboard_pair_days_target_member_day"), table_name="dashboard_pair_days"
    )
    op.drop_index(op.f("ix_dashboard_tokens_member"), table_name="dashboard_tokens")
    for table in (
        "dashboard_member_months", "dashboard_pair_days", "dashboard_customers",
        "dashboard_watermarks", "dashboard_tokens",
    ):  # fmt: skip
        op.drop_table(table)
