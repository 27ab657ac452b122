"""Realistic WooCommerce REST v3 order JSON, for tests, the sandbox store and benchmarks.

``woo_order`` returns a plain JSON-ready dict (only str, int, float, bool, None, list, dict)
with every field ``GET /wp-json/wc/v3/orders`` returns (reference/woocommerce.md sections 2, 3
and 9), money that adds up the way WooCommerce adds it, and a fake but complete customer, so
the data firewall is tested against everything a real store sends. Output depends only on the
arguments: variety comes from a ``random.Random`` seeded with the order id unless ``rng`` is given.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from connector.woocommerce.fake_people import PERSONAL_STRINGS as PERSONAL_STRINGS
from connector.woocommerce.fake_people import distinctive_customer as distinctive_customer
from connector.woocommerce.fake_people import fake_customer

CENT = Decimal("0.01")
SITE = "https://shop.example"
WC_VERSION = "10.0.2"
DEFAULT_CREATED = datetime(2026, 11, 25, 5, 45, 32, tzinfo=UTC)
DEFAULT_LINES: tuple[tuple[int, str, int, Decimal], ...] = (
    (101, "Organic cotton bodysuit, 3-pack", 2, Decimal("59.00")),
    (205, "Bamboo muslin swaddle", 1, Decimal("89.90")),
)
PAID_STATUSES = frozenset({"processing", "completed", "refunded"})
"""Statuses whose orders were paid online (unless cash on delivery): ``date_paid`` is set."""

ATTRIBUTION_FIELDS = (
    "source_type", "referrer", "utm_campaign", "utm_source", "utm_medium", "utm_content",
    "utm_id", "utm_term", "utm_source_platform", "utm_creative_format", "utm_marketing_tactic",
    "session_entry", "session_start_time", "session_pages", "session_count", "user_agent",
    "device_type",
)  # fmt: skip
"""The 17 ``_wc_order_attribution_*`` meta keys of a shopper checkout (WC 8.5+)."""

_KEY_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_ADDRESS_FIELDS = (
    "first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
    "country",
)  # fmt: skip


def money(amount: Decimal) -> str:
    """WooCommerce money string: half-up to cents, always two decimals (``"12.50"``)."""
    return format(amount.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def trimmed(amount: Decimal) -> str:
    """WooCommerce's trimmed decimal (``coupon_lines[].discount``): ``"5"``, ``"12.5"``."""
    text = money(amount)
    return text.rstrip("0").rstrip(".") if "." in text else text


def woo_date(moment: datetime | None, offset: timedelta = timedelta(0)) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS`` with no offset; ``offset`` turns UTC into site-local time."""
    if moment is None:
        return None
    return (moment.astimezone(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%S")


def _allocate(amount_cents: int, weights: Sequence[int]) -> list[int]:
    """Split cents over weights by largest remainder: shares sum exactly, none over its weight."""
    whole = sum(weights)
    if not whole or not amount_cents:
        return [0] * len(weights)
    exact = [Decimal(amount_cents * w) / whole for w in weights]
    shares = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - exact[i], i))
    for i in by_remainder[: amount_cents - sum(shares)]:
        shares[i] += 1
    return shares


def _cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100)


def _tax(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _attribution_meta(
    values: Mapping[str, str], customer: Mapping[str, Any], created: datetime, offset: timedelta
) -> dict[str, str]:
    """All 17 attribution values of a shopper checkout; unset UTM fields are ``""``."""
    utm = {k: v for k, v in values.items() if k.startswith("utm_")}
    query = "&".join(f"{k}={v}" for k, v in utm.items() if v)
    agent = str(customer.get("user_agent", ""))
    meta = dict.fromkeys(ATTRIBUTION_FIELDS, "")
    meta.update(
        source_type="utm" if utm.get("utm_source") else "typein",
        referrer="https://partner.example/" if utm.get("utm_source") else "",
        session_entry=f"{SITE}/product/bodysuit/" + (f"?{query}" if query else ""),
        session_start_time=(created + offset - timedelta(minutes=7)).strftime("%Y-%m-%d %H:%M:%S"),
        session_pages="4",
        session_count="1",
        user_agent=agent,
        device_type="Mobile" if "Mobile" in agent else "Desktop",
    )
    meta.update(values)
    return meta


@dataclass(frozen=True)
class _Sums:
    """An order's money, computed the way WooCommerce computes it (tax per line, half-up)."""

    subtotals: list[Decimal]
    totals: list[Decimal]
    subtotal_taxes: list[Decimal]
    total_taxes: list[Decimal]
    coupon_amounts: list[Decimal]
    shipping_tax: Decimal
    rate: Decimal

    @property
    def cart_tax(self) -> Decimal:
        return sum(self.total_taxes, Decimal(0))

    @property
    def total_tax(self) -> Decimal:
        return self.cart_tax + self.shipping_tax


def _sums(
    items: Sequence[tuple[int, str, int, Decimal]],
    coupons: Sequence[tuple[str, Decimal]],
    shipping: Decimal,
    rate: Decimal,
) -> _Sums:
    """Coupons are clamped to what is left to discount, then spread over lines by subtotal."""
    subtotals = [(unit * qty).quantize(CENT, rounding=ROUND_HALF_UP) for _, _, qty, unit in items]
    remaining = sum(subtotals, Decimal(0))
    coupon_amounts = []
    for _code, amount in coupons:
        used = min(amount.quantize(CENT, rounding=ROUND_HALF_UP), remaining)
        coupon_amounts.append(used)
        remaining -= used
    shares = _allocate(_cents(sum(coupon_amounts, Decimal(0))), [_cents(s) for s in subtotals])
    totals = [s - Decimal(c) / 100 for s, c in zip(subtotals, shares, strict=True)]
    return _Sums(
        subtotals=subtotals,
        totals=totals,
        subtotal_taxes=[_tax(s, rate) for s in subtotals],
        total_taxes=[_tax(t, rate) for t in totals],
        coupon_amounts=coupon_amounts,
        shipping_tax=_tax(shipping, rate),
        rate=rate,
    )


def _line_items(
    order_id: int, items: Sequence[tuple[int, str, int, Decimal]], sums: _Sums
) -> list[dict[str, Any]]:
    result = []
    for n, (product_id, name, qty, _unit) in enumerate(items):
        tax = {
            "id": 1,
            "total": money(sums.total_taxes[n]),
            "subtotal": money(sums.subtotal_taxes[n]),
        }
        result.append(
            {
                "id": order_id * 100 + n + 1,
                "name": name,
                "product_id": product_id,
                "variation_id": 0,
                "quantity": qty,
                "tax_class": "",
                "subtotal": money(sums.subtotals[n]),
                "subtotal_tax": money(sums.subtotal_taxes[n]),
                "total": money(sums.totals[n]),
                "total_tax": money(sums.total_taxes[n]),
                "taxes": [tax] if sums.rate else [],
                "meta_data": [],
                "sku": f"SKU-{product_id}",
                "price": float(sums.totals[n] / max(qty, 1)),  # a JSON number, total / quantity
                "image": {
                    "id": product_id + 9000,
                    "src": f"{SITE}/wp-content/uploads/{product_id}.jpg",
                },
                "parent_name": None,
            }
        )
    return result


def _coupon_lines(
    order_id: int, coupons: Sequence[tuple[str, Decimal]], sums: _Sums
) -> list[dict[str, Any]]:
    result = []
    for n, (code, amount) in enumerate(coupons):
        used, code = sums.coupon_amounts[n], code.lower()
        nominal = int(amount) if amount == amount.to_integral_value() else float(amount)
        info = f'[{order_id * 7 + n},"{code}","fixed_cart",{trimmed(amount)}]'
        result.append(
            {
                "id": order_id * 100 + 50 + n,
                "code": code,
                "discount": trimmed(used),
                "discount_tax": money(_tax(used, sums.rate)),
                "discount_type": "fixed_cart",
                "nominal_amount": nominal,
                "free_shipping": False,
                "meta_data": [
                    {
                        "id": order_id * 1000 + 500 + n,
                        "key": "coupon_info",
                        "value": info,
                        "display_key": "coupon_info",
                        "display_value": info,
                    }
                ],
            }
        )
    return result


def _tax_and_shipping_lines(
    order_id: int, shipping: Decimal, sums: _Sums
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shipping_tax = money(sums.shipping_tax)
    tax_lines = [
        {
            "id": order_id * 100 + 95,
            "rate_code": "CN-VAT-1",
            "rate_id": 1,
            "label": "VAT",
            "compound": False,
            "tax_total": money(sums.cart_tax),
            "shipping_tax_total": shipping_tax,
            "rate_percent": float(sums.rate * 100),
            "meta_data": [],
        }
    ]
    shipping_line = {
        "id": order_id * 100 + 90,
        "method_title": "Flat rate" if shipping else "Free shipping",
        "method_id": "flat_rate" if shipping else "free_shipping",
        "instance_id": "1",
        "total": money(shipping),
        "total_tax": shipping_tax,
        "taxes": [{"id": 1, "total": shipping_tax, "subtotal": ""}] if sums.rate else [],
        "meta_data": [],
    }
    return (tax_lines if sums.rate else []), [shipping_line]


def woo_order(
    id: int = 1001,
    *,
    status: str = "processing",
    currency: str = "CNY",
    created: datetime | None = None,
    modified: datetime | None = None,
    paid: datetime | str | None = "auto",
    lines: Sequence[tuple[int, str, int, Decimal]] | None = None,
    coupons: Sequence[tuple[str, Decimal]] = (),
    refunds: Sequence[Decimal] | None = None,
    shipping: Decimal = Decimal("10.00"),
    tax_rate: Decimal = Decimal("0"),
    attribution: Mapping[str, str] | None = None,
    customer: Mapping[str, Any] | None = None,
    cod: bool = False,
    rng: random.Random | None = None,
    number: str | None = None,
    created_via: str | None = None,
    utc_offset: timedelta = timedelta(hours=8),
) -> dict[str, Any]:
    """One order exactly as ``GET /wp-json/wc/v3/orders`` returns it.

    ``lines`` are ``(product_id, name, quantity, unit_price)``; ``coupons`` ``(code, discount)``
    (codes come out lowercased, discounts spread over the lines); ``refunds`` are positive
    amounts, listed as negative strings. ``paid="auto"`` sets ``date_paid`` one minute after
    creation for paid statuses, and leaves it null for unpaid statuses and ``cod=True``.
    ``status="refunded"`` without ``refunds`` gets one refund of the whole total.
    """
    rng = rng or random.Random(id)
    person = dict(customer) if customer is not None else fake_customer(rng)
    created = created or DEFAULT_CREATED + timedelta(minutes=id % 10_000)
    if paid == "auto":
        paid = created + timedelta(minutes=1) if status in PAID_STATUSES and not cod else None
    paid_at = paid if isinstance(paid, datetime) else None
    completed = (paid_at or created) + timedelta(days=2) if status == "completed" else None
    modified = modified or max(d for d in (created, paid_at, completed) if d is not None)

    items = list(DEFAULT_LINES if lines is None else lines)
    sums = _sums(items, coupons, shipping, tax_rate)
    discount = sum(sums.coupon_amounts, Decimal(0))
    grand_total = sum(sums.totals, Decimal(0)) + shipping + sums.total_tax
    if refunds is None:
        refunds = [grand_total] if status == "refunded" else []
    tax_lines, shipping_lines = _tax_and_shipping_lines(id, shipping, sums)

    if cod:
        method = ("cod", "Cash on delivery")
    elif status == "on-hold":
        method = ("bacs", "Direct bank transfer")
    else:
        method = ("stripe", "Credit / Debit Card")
    order_key = "wc_order_" + "".join(rng.choices(_KEY_ALPHABET, k=13))
    address = {k: person.get(k, "") for k in _ADDRESS_FIELDS}
    meta = [{"id": id * 1000 + 1, "key": "is_vat_exempt", "value": "no"}]
    if person.get("phone"):  # plugins keep personal data in meta too: the firewall must drop it
        meta.append({"id": id * 1000 + 2, "key": "_shipping_phone", "value": person["phone"]})
    if attribution is not None:
        values = _attribution_meta(attribution, person, created, utc_offset)
        meta += [
            {"id": id * 1000 + 10 + n, "key": f"_wc_order_attribution_{k}", "value": values[k]}
            for n, k in enumerate(ATTRIBUTION_FIELDS)
        ]
    return {
        "id": id,
        "parent_id": 0,
        "status": status,
        "currency": currency,
        "version": WC_VERSION,
        "prices_include_tax": False,
        "date_created": woo_date(created, utc_offset),
        "date_modified": woo_date(modified, utc_offset),
        "discount_total": money(discount),
        "discount_tax": money(sum(sums.subtotal_taxes, Decimal(0)) - sums.cart_tax),
        "shipping_total": money(shipping),
        "shipping_tax": money(sums.shipping_tax),
        "cart_tax": money(sums.cart_tax),
        "total": money(grand_total),
        "total_tax": money(sums.total_tax),
        "customer_id": int(person.get("customer_id", 0)),
        "order_key": order_key,
        "billing": {**address, "email": person.get("email", ""), "phone": person.get("phone", "")},
        "shipping": {**address, "phone": person.get("phone", "")},
        "payment_method": method[0],
        "payment_method_title": method[1],
        "transaction_id": f"ch_{rng.getrandbits(96):024x}" if paid_at else "",
        "customer_ip_address": person.get("ip_address", ""),
        "customer_user_agent": person.get("user_agent", ""),
        "created_via": created_via or ("store-api" if attribution is not None else "checkout"),
        "customer_note": person.get("note", ""),
        "date_completed": woo_date(completed, utc_offset),
        "date_paid": woo_date(paid_at, utc_offset),
        "cart_hash": f"{rng.getrandbits(128):032x}",
        "number": number if number is not None else str(id),
        "meta_data": meta,
        "line_items": _line_items(id, items, sums),
        "tax_lines": tax_lines,
        "shipping_lines": shipping_lines,
        "fee_lines": [],
        "coupon_lines": _coupon_lines(id, coupons, sums),
        "refunds": [
            {"id": id * 100 + 80 + n, "reason": "", "total": money(-amount)}
            for n, amount in reversed(list(enumerate(refunds)))  # newest first, as WooCommerce
        ],
        "payment_url": f"{SITE}/checkout/order-pay/{id}/?pay_for_order=true&key={order_key}",
        "is_editable": status in ("pending", "on-hold", "auto-draft", "checkout-draft"),
        "needs_payment": status in ("pending", "failed") and grand_total > 0,
        "needs_processing": True,
        "date_created_gmt": woo_date(created),
        "date_modified_gmt": woo_date(modified),
        "date_completed_gmt": woo_date(completed),
        "date_paid_gmt": woo_date(paid_at),
        "_links": {
            "self": [{"href": f"{SITE}/wp-json/wc/v3/orders/{id}"}],
            "collection": [{"href": f"{SITE}/wp-json/wc/v3/orders"}],
        },
    }
