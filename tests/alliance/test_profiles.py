"""Group profiles through real booking and storage, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select

from alliance.insights_report import profile_json, profile_table
from alliance.orders import OrderLine, OrderStatus
from alliance.products import Product, StockStatus
from alliance.profiles import basket_categories, categories_text, region_label, value_band
from alliance.services.booking import book_orders
from alliance.services.catalog import upsert_products
from alliance.services.insights import member_profile, window
from alliance.storage.schema import order_profiles
from alliance.suppression import Withheld
from tests.alliance.insights_support import DEC, NOV, email, key, sale
from tests.factories import make_order, utc


def li_customers(engine, agreement):
    """Li: 30 customers in November (15 in Shanghai, 12 in Beijing, 3 in Guangzhou); 12 of
    them come back in December, with 11 new ones."""
    orders = []
    for c in range(30):
        state = "CN31" if c < 15 else ("CN11" if c < 27 else "CN20")
        orders.append(sale("li", 1000 + c, c, NOV, state=state))
    for c in range(12):
        orders.append(sale("li", 2000 + c, c, DEC, items="350.00"))
    for c in range(100, 111):
        orders.append(sale("li", 3000 + c, c, DEC, items="350.00"))
    book_orders(engine, agreement, orders)


def test_value_bands_regions_and_baskets_are_coarse():
    bands = [value_band(Decimal(v)) for v in ("99.99", "100", "299.99", "999.99", "1000")]
    assert bands == ["under-100", "100-299", "100-299", "300-999", "1000+"]
    assert region_label("CN", "CN31") == "CN-CN31" and region_label("", "") == "unknown"
    order = make_order("li", "1")
    order = replace(order, lines=(OrderLine("9", 1, Decimal(1), Decimal(1)),))
    assert basket_categories(order, {"9": ("toys", "baby")}, ("x",)) == ("baby", "toys")
    assert basket_categories(order, {}, ("baby-clothing",)) == ("baby-clothing",)
    assert basket_categories(order, {}, ()) == ("uncategorised",)
    assert categories_text(["a b", "c" * 600]) == "ab"


def test_booking_stores_the_profile_facts_beside_the_order(engine, agreement):
    with engine.begin() as conn:
        upsert_products(
            conn,
            [
                Product(
                    member="zhang",
                    product_id="301",
                    name="Shape sorter",
                    permalink="https://zhang.example/p/301",
                    price=Decimal("139.00"),
                    regular_price=Decimal("139.00"),
                    on_sale=False,
                    image_url="",
                    image_alt="",
                    stock_status=StockStatus.IN_STOCK,
                    categories=("wooden-toys",),
                    category_names=("Wooden toys",),
                    status="publish",
                    modified_at=utc(2026, 11, 1),
                )
            ],
        )
    book_orders(
        engine, agreement, [sale("zhang", 1, 1, NOV, items="1200.00"), sale("li", 2, 1, NOV)]
    )
    with engine.connect() as conn:
        rows = {tuple(r[:2]): tuple(r[2:]) for r in conn.execute(select(order_profiles))}
    assert rows == {
        ("zhang", "1"): ("wooden-toys", "1000+"),  # from the synced catalog
        ("li", "2"): ("baby-clothing", "100-299"),  # the member's declared category
    }


def test_a_profile_counts_distinct_customers_month_by_month_and_suppresses_small_groups(
    engine, agreement
):
    li_customers(engine, agreement)
    profile = member_profile(engine, agreement, "li", window("2026-12", 2, "Asia/Shanghai"))
    region = profile.tables["region"]
    nov, dec = region["2026-11"], region["2026-12"]
    assert nov.cells["CN-CN31"] == 15
    assert nov.cells["CN-CN20"] is Withheld.UNDER_K  # 3 customers: "< 10"
    # a lone small cell: total minus the rest would tell it, so Beijing's 12 fold in with it
    assert nov.cells["CN-CN11"] is Withheld.FOLDED
    assert (nov.other, nov.total) == (15, 30)
    assert dec.cells == {"CN-CN31": 23} and dec.total == 23
    returning = profile.tables["new_or_returning"]
    assert returning["2026-11"].cells == {"new": 30}
    assert returning["2026-12"].cells == {"new": 11, "returning": 12}
    assert profile.tables["value_band"]["2026-12"].cells == {"300-999": 23}
    assert profile.tables["category"]["2026-11"].cells == {"baby-clothing": 30}
    text = profile_table(profile)
    assert "< 10" in text and "no age bands" in text


def test_a_customer_counts_once_however_many_orders_they_place(engine, agreement):
    orders = [sale("wang", 100 + n, n % 10, NOV) for n in range(40)]  # 10 people, 4 orders each
    book_orders(engine, agreement, orders)
    profile = member_profile(engine, agreement, "wang", window("2026-11", 1, "Asia/Shanghai"))
    assert profile.tables["region"]["2026-11"].total == 10


def test_unpaid_cancelled_and_anonymous_orders_are_not_customers(engine, agreement):
    orders = [sale("wang", n, n, NOV) for n in range(10)]
    orders += [sale("wang", 100 + n, 50 + n, NOV, status=OrderStatus.CANCELLED) for n in range(5)]
    orders += [replace(sale("wang", 200 + n, 0, NOV), customer_key="") for n in range(5)]
    book_orders(engine, agreement, orders)
    profile = member_profile(engine, agreement, "wang", window("2026-11", 1, "Asia/Shanghai"))
    assert profile.tables["region"]["2026-11"].total == 10


def test_the_profile_never_carries_a_customer_key_or_email(engine, agreement):
    li_customers(engine, agreement)
    profile = member_profile(engine, agreement, "li", window("2026-12", 2, "Asia/Shanghai"))
    for text in (profile_table(profile), profile_json(profile), repr(profile)):
        for n in (0, 14, 29, 100):
            assert key(n) not in text and email(n) not in text
