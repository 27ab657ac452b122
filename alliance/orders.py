"""The storefront-agnostic order: the facts the alliance needs, and nothing personal.

A connector maps its storefront's JSON to :class:`Order` (see
``connector.woocommerce.mapping``); the domain never sees names, emails, phones, addresses,
IP addresses, user agents or customer notes. ``customer_key`` is an HMAC of the normalised
email (see :mod:`alliance.privacy`), so repeat customers can be counted without knowing them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum


class OrderStatus(str, Enum):
    """WooCommerce order statuses as the REST API returns them (without ``wc-``)."""

    PENDING = "pending"
    ON_HOLD = "on-hold"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    FAILED = "failed"
    CHECKOUT_DRAFT = "checkout-draft"
    TRASH = "trash"


SALE_STATUSES = frozenset({OrderStatus.PROCESSING, OrderStatus.COMPLETED})
"""Statuses at which an order counts as a sale (WooCommerce's own "paid" statuses)."""

LIFECYCLE_RANK = {
    status: rank
    for rank, status in enumerate(
        [
            OrderStatus.CHECKOUT_DRAFT,
            OrderStatus.PENDING,
            OrderStatus.FAILED,
            OrderStatus.ON_HOLD,
            OrderStatus.PROCESSING,
            OrderStatus.COMPLETED,
            OrderStatus.CANCELLED,
            OrderStatus.REFUNDED,
            OrderStatus.TRASH,
        ]
    )
}
"""How far along its life an order is: breaks ties between revisions of the same second."""

# Orders and lines are values: nothing in the project mutates them after construction. They
# are not ``frozen`` only because a frozen dataclass costs 5 µs more per order to build, and
# every order of every sync is built once (bench/ledger.py).


@dataclass(slots=True)
class OrderLine:
    product_id: str
    quantity: int
    subtotal: Decimal  # before discount, tax excluded
    total: Decimal  # after discount, tax excluded
    name: str = ""
    variation_id: str = ""
    sku: str = ""


@dataclass(frozen=True, slots=True)
class AttributionFields:
    """The storefront's own record of where the shopper came from (UTM values etc.)."""

    source_type: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_content: str = ""


NO_ATTRIBUTION = AttributionFields()


@dataclass(slots=True)
class Order:
    member: str
    external_id: str
    number: str
    status: OrderStatus
    currency: str
    created_at: datetime  # UTC, aware
    modified_at: datetime  # UTC, aware: the revision's date_modified_gmt
    paid_at: datetime | None  # UTC, aware; None for unpaid and cash-on-delivery orders
    items_subtotal: Decimal  # sum of line subtotals: items before discount, tax excluded
    items_total: Decimal  # sum of line totals: items after discount, tax excluded
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal  # what the customer paid: items + shipping + fees + tax
    refunded_total: Decimal = Decimal(0)  # positive magnitude of all refunds so far
    lines: tuple[OrderLine, ...] = ()
    coupon_codes: tuple[str, ...] = ()  # lowercased, in the order they were applied
    attribution: AttributionFields = NO_ATTRIBUTION
    customer_key: str = ""
    country: str = ""
    state: str = ""
    source_digest: str = (
        ""  # keyed hash of the storefront's document: spots identical re-deliveries
    )
    revision: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.revision = _revision_key(self)

    @property
    def ref(self) -> str:
        """How messages and the ledger name the order: ``wang/1234``."""
        return f"{self.member}/{self.external_id}"

    @property
    def counts_as_sale(self) -> bool:
        """A sale counts at ``processing``/``completed``; every other status books nothing.

        So a ``cancelled``, ``refunded``, ``failed`` or ``trash`` revision reverses what an
        earlier revision booked, and ``pending``, ``on-hold`` and ``checkout-draft`` never count.
        """
        return self.status in SALE_STATUSES

    @property
    def sale_date(self) -> datetime:
        """The date that places the order in a settlement period.

        The paid date; a paid-status order without one (cash on delivery) uses its created date.
        """
        return self.paid_at or self.created_at

    @property
    def fully_refunded(self) -> bool:
        return self.refunded_total > 0 and self.refunded_total >= self.total


def _revision_key(order: Order) -> str:
    """Sortable revision key: the newest revision of an order is the greatest key.

    First ``date_modified_gmt`` (a fixed-width UTC timestamp). WooCommerce keeps whole
    seconds, so two revisions can share one; they are ordered by how far along its life the
    order is (pending before paid before completed before refunded: same-second changes run
    that way), then by the amount refunded (refunds only grow), then by a hash of the booked
    facts. That makes "the newest revision wins" a total order: every replay, in any order,
    converges to the same ledger. Timestamps, not formatted dates: this runs for every order
    of every sync, and formatting dates costs more than all the rest.
    """
    a = order.attribution
    paid = int(order.paid_at.timestamp()) if order.paid_at else ""
    facts = (
        f"{order.status.value}|{order.currency}|{paid}|{order.items_subtotal}|"
        f"{order.items_total}|{order.total}|{order.refunded_total}|"
        f"{','.join(order.coupon_codes)}|{a.utm_source}|{a.utm_campaign}|{a.utm_content}"
    )
    fingerprint = hashlib.blake2b(facts.encode(), digest_size=6).hexdigest()
    refunded = int(order.refunded_total.scaleb(4))
    return (
        f"{int(order.modified_at.timestamp()):011d}~{LIFECYCLE_RANK[order.status]}"
        f"{refunded:016d}~{fingerprint}"
    )
