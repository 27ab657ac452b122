"""The rollups count what the ledger, the orders and the clicks say, incrementally, on
SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from alliance.dashboard_figures import Measure, PairMeasure
from alliance.orders import AttributionFields, OrderStatus
from alliance.services.booking import book_orders
from alliance.services.dashboard import exchange, overview, refresh_rollups
from alliance.storage import dashboard_queries as queries
from alliance.storage.schema import dashboard_member_months, dashboard_pair_days
from tests.dashboard.support import NOW, order, seed_story


def rollup_rows(engine):
    with engine.connect() as conn:
        months = sorted(map(tuple, conn.execute(select(dashboard_member_months))))
        days = sorted(map(tuple, conn.execute(select(dashboard_pair_days))))
    return months, days


def test_a_member_month_counts_orders_partners_customers_clicks_and_commission(engine, agreement):
    seed_story(engine, agreement)
    refresh_rollups(engine, agreement, now=NOW)
    with engine.connect() as conn:
        december = queries.member_months(conn, "wang", "2026-12")["2026-12"]
        november = queries.member_months(conn, "wang", "2026-11")["2026-11"]
    assert november == {
        "orders": 2, "revenue": 20000, "partner_orders": 1, "partner_revenue": 10000,
        "customers": 2, "new_customers": 2, "new_via_partners": 1, "owed": 1000,
    }  # fmt: skip
    assert december == {
        "orders": 2, "revenue": 40000, "partner_orders": 1, "partner_revenue": 30000,
        "customers": 2, "repeat_customers": 1, "new_customers": 1, "new_via_partners": 1,
        "partner_clicks": 10, "clicks_sent": 2, "owed": 3000, "earned": 800,
    }  # fmt: skip


def test_refreshing_again_changes_nothing_and_a_full_recount_agrees(engine, agreement):
    seed_story(engine, agreement)
    refresh_rollups(engine, agreement, now=NOW)
    first = rollup_rows(engine)
    refresh_rollups(engine, agreement, now=NOW + timedelta(minutes=1))
    assert rollup_rows(engine) == first
    refresh_rollups(engine, agreement, now=NOW + timedelta(minutes=2), full=True)
    assert rollup_rows(engine) == first


def test_a_later_booking_is_counted_incrementally_exactly_as_a_full_recount(engine, agreement):
    seed_story(engine, agreement)
    refresh_rollups(engine, agreement, now=NOW)
    later = NOW + timedelta(hours=1)
    cancelled_first = order(
        "wang", 1, NOW - timedelta(days=30), customer="a", coupon="LI-FRIENDS",
        status=OrderStatus.REFUNDED,
    )  # fmt: skip
    book_orders(engine, agreement, [cancelled_first], now=later)
    refresh_rollups(engine, agreement, now=later + timedelta(minutes=1))
    incremental = rollup_rows(engine)
    refresh_rollups(engine, agreement, now=later + timedelta(minutes=2), full=True)
    assert rollup_rows(engine) == incremental
    with engine.connect() as conn:
        months = queries.member_months(conn, "wang", "2026-11")
    assert months["2026-11"]["orders"] == 1
    assert months["2026-12"]["new_customers"] == 2  # a's first sale is now in December
    assert months["2026-12"].get("repeat_customers", 0) == 0


def test_the_overview_and_exchange_read_figures_from_the_rollups(engine, agreement):
    seed_story(engine, agreement)
    refresh_rollups(engine, agreement, now=NOW)
    view = overview(engine, agreement, "wang", now=NOW)
    month = view.current
    assert [m.period for m in view.months][-2:] == ["2026-11", "2026-12"]
    assert month.partner_share_of_new_customers == Decimal(1)
    assert month.conversion == Decimal(0)  # li's coupon brought the order, not a click
    assert month.partner_order_value == Decimal("300.00")
    assert month.other_order_value == Decimal("100.00")
    assert month.repeat_rate == Decimal("0.5")
    assert view.alliance["repeat_rate"].suppressed  # 3 customers < min_group_size 10
    flows = exchange(engine, agreement, "li", now=NOW)
    wang = next(f for f in flows.partners if f.partner == "wang")
    assert (wang.clicks_sent, wang.clicks_received) == (10, 2)
    assert (wang.orders_sent, wang.orders_received) == (2, 1)
    assert wang.earned == Decimal("40.00")
    assert wang.free_rider  # wang gets 10 clicks from li and gives 2: more than 3 times
    assert flows.free_rider is False
    assert exchange(engine, agreement, "wang", now=NOW).free_rider  # gets 10, gives 2 (> 3x)


def test_rows_for_a_pair_are_keyed_by_the_alliance_local_day(engine, agreement):
    seed_story(engine, agreement)
    refresh_rollups(engine, agreement, now=NOW)
    with engine.connect() as conn:
        days = conn.execute(
            select(dashboard_pair_days.c.day, func.sum(dashboard_pair_days.c.value))
            .where(dashboard_pair_days.c.measure == PairMeasure.CLICKS.value)
            .group_by(dashboard_pair_days.c.day)
            .order_by(dashboard_pair_days.c.day)
        ).all()
    assert [tuple(d) for d in days] == [("2026-12-18", 2), ("2026-12-19", 10)]
    assert Measure.PARTNER_CLICKS.value == "partner_clicks"


def test_conversion_counts_only_orders_a_partners_click_brought(engine, agreement):
    seed_story(engine, agreement)
    clicked = order("wang", 7, NOW - timedelta(hours=20), customer="f")
    clicked = dataclasses.replace(
        clicked,
        attribution=AttributionFields(
            utm_source="alliance", utm_campaign="li-wang", utm_content="clk-0"
        ),
    )
    book_orders(engine, agreement, [clicked], now=NOW - timedelta(minutes=1))
    refresh_rollups(engine, agreement, now=NOW)
    with engine.connect() as conn:
        december = queries.member_months(conn, "wang", "2026-12")["2026-12"]
    assert (december["partner_orders"], december["partner_click_orders"]) == (2, 1)
    assert overview(engine, agreement, "wang", now=NOW).current.conversion == Decimal("0.1")
