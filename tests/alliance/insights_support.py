"""Orders with known customers, regions and baskets, for the insight tests (issue 16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from alliance.orders import Order, OrderLine, OrderStatus
from alliance.privacy import customer_key
from tests.conftest import SECRET
from tests.factories import make_order, utc

PRODUCT_OF = {"li": "101", "wang": "201", "zhang": "301", "zhao": "401"}
"""Each member's product id: unknown to the (unsynced) catalog, so the member's declared
categories in examples/alliance.toml name it (baby-clothing, baby-toiletries, ...)."""


def email(n: int) -> str:
    return f"customer{n}@example.com"


def key(n: int) -> str:
    return customer_key(SECRET.encode(), email(n))


def sale(
    member: str,
    order_id: int,
    customer: int,
    when: datetime,
    *,
    items: str = "100.00",
    state: str = "CN31",
    status: OrderStatus = OrderStatus.COMPLETED,
    coupons: tuple[str, ...] = (),
) -> Order:
    """A completed sale of one product of ``member`` to customer number ``customer``."""
    order = make_order(
        member, str(order_id), items=items, created=when, status=status, coupons=coupons
    )
    line = OrderLine(PRODUCT_OF[member], 1, Decimal(items), Decimal(items), name="Thing")
    return replace(order, customer_key=key(customer), country="CN", state=state, lines=(line,))


NOV, DEC = utc(2026, 11, 10, 4, 0), utc(2026, 12, 10, 4, 0)
