"""When an order may use a coupon, and what the coupon takes off: WooCommerce's ``WC_Discounts``.

An order created through ``POST /orders`` with ``coupon_lines`` and a shopper's checkout
(``SandboxState.checkout``) both check each code before using it, in WooCommerce's order, and
the first rule that fails gives the message:

1. the coupon exists (a *published* coupon with that code, in any case);
2. its ``usage_limit`` is not reached (``usage_count >= usage_limit``);
3. a logged-in customer's ``usage_limit_per_user`` (``used_by`` entries with their user id);
4. it has not expired: ``now > date_expires`` refuses it, so the expiry second itself still
   counts, as PHP's ``time() > $expires`` does;
5. ``minimum_amount`` / ``maximum_amount`` against the order's subtotal (before discounts);
6. ``product_ids``: at least one line must be one of them;
7. a percent or fixed-product coupon must apply to at least one line; a cart coupon refuses
   excluded products.

Then an order made through the API checks a guest's ``usage_limit_per_user`` by billing email
(``WC_Abstract_Order::apply_coupon``), and a checkout checks ``email_restrictions`` (with ``*``
wildcards) and the same per-email limit (``WC_Cart::check_customer_coupons``). Pure functions
over plain documents: the store holds the lock and does the counting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.fixtures.orders import money

PRODUCT_COUPON_TYPES = ("percent", "fixed_product")
"""``wc_get_product_coupon_types()``: coupons that discount matching lines, not the cart."""

_SYMBOLS = {"CNY": "&yen;", "JPY": "&yen;", "USD": "&#36;", "EUR": "&euro;", "GBP": "&pound;"}


@dataclass(frozen=True)
class Line:
    """One product line of the order a coupon is checked against."""

    product_id: int
    quantity: int
    unit: Decimal
    name: str = ""
    on_sale: bool = False

    @property
    def subtotal(self) -> Decimal:
        return self.unit * self.quantity


@dataclass(frozen=True)
class Basket:
    """What a coupon is checked against: the lines, who is buying, in which currency."""

    lines: tuple[Line, ...]
    email: str = ""
    customer_id: int = 0
    currency: str = "CNY"

    @property
    def subtotal(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal(0))


def used_by_key(customer_id: int, email: str) -> str:
    """What ``used_by`` records for an order: the user id, or a guest's billing email."""
    return str(customer_id) if customer_id else email.strip().lower()


def _price(amount: Decimal, currency: str) -> str:
    """``wc_price()``: the HTML WooCommerce puts in its spend-limit messages."""
    symbol = _SYMBOLS.get(currency, currency)
    return (
        '<span class="woocommerce-Price-amount amount"><bdi>'
        f'<span class="woocommerce-Price-currencySymbol">{symbol}</span>{money(amount)}'
        "</bdi></span>"
    )


def _expires(coupon: Mapping[str, Any]) -> datetime | None:
    text = coupon.get("date_expires_gmt")
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _applies_to(coupon: Mapping[str, Any], line: Line) -> bool:
    """``WC_Coupon::is_valid_for_product``, without categories (sandbox products have none)."""
    only = coupon.get("product_ids") or []
    excluded = coupon.get("excluded_product_ids") or []
    if only and line.product_id not in only:
        return False
    if excluded and line.product_id in excluded:
        return False
    return not (coupon.get("exclude_sale_items") and line.on_sale)


def _uses(coupon: Mapping[str, Any], who: str) -> int:
    return sum(1 for entry in coupon.get("used_by") or [] if str(entry).lower() == who)


def refusal(
    coupon: Mapping[str, Any] | None,
    code: str,
    basket: Basket,
    now: datetime,
    *,
    checkout: bool = False,
) -> str | None:
    """Why this order may not use the coupon (WooCommerce's message), or None if it may.

    ``coupon`` is the store's document for ``code`` (None when there is none); ``checkout``
    adds the checks a shopper's checkout makes and a REST-created order does not.
    """
    if coupon is None:
        return f"Coupon &quot;{code}&quot; does not exist!"
    name = str(coupon["code"])
    limit_reached = f"Usage limit for coupon &quot;{name}&quot; has been reached."
    limit = int(coupon.get("usage_limit") or 0)
    if limit and int(coupon.get("usage_count") or 0) >= limit:
        return limit_reached
    per_user = int(coupon.get("usage_limit_per_user") or 0)
    if per_user and basket.customer_id and _uses(coupon, str(basket.customer_id)) >= per_user:
        return limit_reached
    expires = _expires(coupon)
    if expires is not None and now > expires:
        return "This coupon has expired."
    subtotal = basket.subtotal
    minimum = Decimal(str(coupon.get("minimum_amount") or 0))
    if minimum > 0 and minimum > subtotal:
        return f"The minimum spend for this coupon is {_price(minimum, basket.currency)}."
    maximum = Decimal(str(coupon.get("maximum_amount") or 0))
    if maximum > 0 and maximum < subtotal:
        return f"The maximum spend for this coupon is {_price(maximum, basket.currency)}."
    only = coupon.get("product_ids") or []
    if only and not any(line.product_id in only for line in basket.lines):
        return "Sorry, this coupon is not applicable to selected products."
    if coupon.get("discount_type") in PRODUCT_COUPON_TYPES:
        if basket.lines and not any(_applies_to(coupon, line) for line in basket.lines):
            return "Sorry, this coupon is not applicable to selected products."
    else:
        if coupon.get("exclude_sale_items") and any(line.on_sale for line in basket.lines):
            return "Sorry, this coupon is not valid for sale items."
        excluded = coupon.get("excluded_product_ids") or []
        names = [line.name for line in basket.lines if line.product_id in excluded]
        if names:
            return f"Sorry, this coupon is not applicable to the products: {', '.join(names)}."
    email = basket.email.strip().lower()
    if checkout:
        allowed = [str(e) for e in coupon.get("email_restrictions") or []]
        if allowed and not email_allowed(email, allowed):
            return f"Please enter a valid email to use coupon code &quot;{name}&quot;."
    if per_user and not basket.customer_id and _uses(coupon, email) >= per_user:
        return limit_reached
    return None


def email_allowed(email: str, restrictions: Sequence[str]) -> bool:
    """``WC_Discounts::is_coupon_emails_allowed``: exact, or ``*`` matching any text."""
    for restriction in restrictions:
        pattern = "^" + re.escape(restriction.lower()).replace(r"\*", "(.+)?") + "$"
        if re.match(pattern, email.lower()):
            return True
    return False


def discount(coupon: Mapping[str, Any], basket: Basket) -> Decimal:
    """What the coupon takes off: a cart coupon its amount, a percent coupon that share of the
    lines it applies to, a fixed-product coupon its amount per unit of those lines; never more
    than what those lines cost."""
    amount = Decimal(str(coupon.get("amount") or 0))
    kind = coupon.get("discount_type")
    if kind not in PRODUCT_COUPON_TYPES:
        return min(amount, basket.subtotal)
    lines = [line for line in basket.lines if _applies_to(coupon, line)]
    if kind == "percent":
        return sum((line.subtotal for line in lines), Decimal(0)) * amount / 100
    return sum((min(amount, line.unit) * line.quantity for line in lines), Decimal(0))
