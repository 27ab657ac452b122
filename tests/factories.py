"""Builders for domain values used across the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alliance.orders import AttributionFields, Order, OrderLine, OrderStatus


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_order(
    member: str = "wang",
    external_id: str = "1001",
    *,
    status: OrderStatus | str = OrderStatus.PROCESSING,
    items: str = "100.00",
    items_before: str | None = None,
    shipping: str = "10.00",
    tax: str = "13.00",
    refunded: str = "0",
    coupons: tuple[str, ...] = (),
    utm: dict[str, str] | None = None,
    created: datetime | None = None,
    modified: datetime | None = None,
    paid: datetime | str | None = "created",
    currency: str = "CNY",
    number: str | None = None,
) -> Order:
    """A domain order with consistent money (total = items + shipping + tax)."""
    created = created or utc(2026, 12, 5, 2, 0)
    items_d = Decimal(items)
    total = items_d + Decimal(shipping) + Decimal(tax)
    before = Decimal(items_before) if items_before is not None else items_d
    return Order(
        member=member,
        external_id=external_id,
        number=number or external_id,
        status=OrderStatus(status),
        currency=currency,
        created_at=created,
        modified_at=modified or created,
        paid_at=created if paid == "created" else paid,  # type: ignore[arg-type]
        items_subtotal=before,
        items_total=items_d,
        discount_total=before - items_d,
        shipping_total=Decimal(shipping),
        tax_total=Decimal(tax),
        total=total,
        refunded_total=Decimal(refunded),
        lines=(OrderLine("501", 1, before, items_d, name="Organic baby wash"),),
        coupon_codes=tuple(c.lower() for c in coupons),
        attribution=AttributionFields(**(utm or {})),
        customer_key="k" * 64,
        country="CN",
        state="SH",
    )


def shop_orders(start: int, count: int, coupon: str, base: datetime) -> list[dict]:
    """``count`` completed WooCommerce orders a minute apart from ``base``; every other one
    carries the referral ``coupon``."""
    from connector.fixtures.orders import woo_order

    result = []
    for n in range(count):
        moment = base + timedelta(minutes=n)
        coupons = [(coupon, Decimal("5.00"))] if n % 2 == 0 else []
        order = woo_order(start + n, status="completed", created=moment, modified=moment,
                          coupons=coupons)  # fmt: skip
        result.append(order)
    return result
