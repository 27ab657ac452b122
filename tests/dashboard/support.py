"""Data for the dashboard's tests: orders, clicks and entries booked the real way."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.clicks import Click
from alliance.orders import OrderStatus
from alliance.services.booking import book_clicks, book_orders
from tests.factories import make_order, utc

NOW = utc(2026, 12, 20, 4, 0)  # 12:00 in Shanghai, December 2026


def order(
    member: str,
    number: int,
    at: datetime,
    *,
    customer: str,
    coupon: str | None = None,
    items: str = "100.00",
    status: OrderStatus = OrderStatus.PROCESSING,
):
    base = make_order(
        member,
        str(number),
        items=items,
        shipping="0",
        tax="0",
        coupons=(coupon,) if coupon else (),
        created=at,
        status=status,
    )
    return dataclasses.replace(base, customer_key=customer.ljust(64, "0"))


def click(n: int, source: str, target: str, at: datetime, valid: bool = True) -> Click:
    return Click(
        id=f"clk-{n}",
        source_member=source,
        target_member=target,
        deal_id=f"{source}-{target}",
        clicked_at=at,
        placement="article",
        visitor_key=f"v{n}",
        valid=valid,
        invalid_reason="" if valid else "bot",
    )


def seed_story(engine: Engine, agreement: Agreement, now: datetime = NOW) -> None:
    """Two months at Wang's: li's coupon brings new customers, some come back; clicks both
    ways between li and wang (li sends five times what it gets)."""
    november = now - timedelta(days=30)
    orders = [
        order("wang", 1, november, customer="a", coupon="LI-FRIENDS"),  # new, via li
        order("wang", 2, november + timedelta(hours=1), customer="b"),  # new, own
        order("wang", 3, now - timedelta(days=2), customer="a"),  # a returns, own
        order(
            "wang", 4, now - timedelta(days=1), customer="c", coupon="LI-FRIENDS", items="300.00"
        ),
        order("wang", 5, now - timedelta(hours=5), customer="d", status=OrderStatus.CANCELLED),
        order("li", 6, now - timedelta(days=3), customer="e", coupon="WANG-LOVES-LI"),
    ]
    book_orders(engine, agreement, orders, now=now - timedelta(minutes=1))
    clicks = [click(n, "li", "wang", now - timedelta(days=1, minutes=n)) for n in range(10)]
    clicks += [click(100 + n, "wang", "li", now - timedelta(days=2, minutes=n)) for n in range(2)]
    clicks.append(click(200, "li", "wang", now - timedelta(days=1), valid=False))
    book_clicks(engine, agreement, clicks, now=now - timedelta(minutes=1))


COUPONS = {"wang": "LI-FRIENDS", "li": "WANG-LOVES-LI", "zhang": "WANG-TOYS"}
"""A referral coupon in each store that has one (the example agreement's)."""


def seed_history(engine: Engine, agreement: Agreement, now: datetime = NOW, months: int = 6):
    """Six months of trade that grows, so the trends show: every store sells each month,
    partners bring more each month, some customers come back, and clicks flow both ways."""
    import random

    rng = random.Random(14)
    orders, clicks = [], []
    number = 1000
    for back in range(months - 1, -1, -1):
        month_start = now - timedelta(days=30 * back + 25)
        growth = months - back
        for member in ("li", "wang", "zhang", "zhao"):
            for n in range(8 + 3 * growth):
                number += 1
                coupon = COUPONS.get(member) if n < 2 + 2 * growth else None
                customer = f"{member}-{rng.randrange(40 + 10 * growth)}"
                at = month_start + timedelta(hours=rng.randrange(24 * 24))
                items = f"{rng.randrange(80, 400)}.00"
                orders.append(order(member, number, at, customer=customer, coupon=coupon,
                                    items=items))  # fmt: skip
        for _ in range(20 * growth):
            number += 1
            source, target = rng.choice([("li", "wang"), ("wang", "li"), ("li", "zhao"),
                                         ("wang", "zhang"), ("zhang", "zhao")])  # fmt: skip
            at = month_start + timedelta(hours=rng.randrange(24 * 24))
            clicks.append(click(number, source, target, at))
    book_orders(engine, agreement, orders, now=now - timedelta(minutes=1))
    book_clicks(engine, agreement, clicks, now=now - timedelta(minutes=1))
