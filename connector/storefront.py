"""What the alliance needs from a member's online store, whatever software runs it.

The sync, the gift-pack issuer and the web app talk to this protocol only; WooCommerce is the
first implementation (:class:`connector.woocommerce.store.WooCommerceStore`). Documents come
back as the store's own JSON (parsed), because the mapping is the data firewall and lives in
one place per store type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class Page:
    """One page of a listing, oldest change first, with the store's own totals."""

    documents: list[Any]
    number: int
    total: int | None  # X-WP-Total: matching documents in the store right now
    total_pages: int | None
    size: int = 0  # bytes received, for progress and benchmarks
    raw: bytes = b""  # the page as received: a fetch process sends this instead of documents


@dataclass(frozen=True)
class NewCoupon:
    """A coupon to create in a member's store (gift packs, referral codes)."""

    code: str
    amount: Decimal
    discount_type: str = "fixed_cart"  # or "percent", "fixed_product"
    expires_at: datetime | None = None
    usage_limit: int | None = 1
    individual_use: bool = False
    description: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    usage_limit_per_user: int | None = None
    minimum_amount: Decimal | None = None  # the order's least spend for the coupon to apply
    exclude_sale_items: bool = False
    product_ids: tuple[int, ...] = ()  # only these products (the store's ids); () for all


@dataclass(frozen=True)
class CouponOutcome:
    """What became of one coupon in a batch: created, already there, or refused."""

    code: str
    coupon_id: int | None = None
    already_exists: bool = False
    error: str | None = None
    error_code: str = ""  # the store's code for a refusal; "" when it gave no answer for it

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Access:
    """What ``alliance members`` shows about a store's reachability and key."""

    reachable: bool
    can_read: bool
    can_write: bool
    orders_total: int | None = None
    supports_modified_after: bool | None = None
    problem: str | None = None


class Storefront(Protocol):
    """A member's store, as the alliance uses it."""

    member: str

    def list_orders(
        self,
        *,
        modified_after: datetime | None,
        page: int = 1,
        per_page: int = 100,
        status: str | None = None,
        modified_before: datetime | None = None,
    ) -> Page:
        """Orders modified after a moment (UTC), oldest change first, id breaking ties."""
        ...

    def get_order(self, order_id: int) -> Any: ...

    def list_products(
        self, *, modified_after: datetime | None, page: int = 1, per_page: int = 100
    ) -> Page: ...

    def create_coupons(self, coupons: Sequence[NewCoupon]) -> list[CouponOutcome]: ...

    def find_coupon(self, code: str) -> Any | None:
        """The store's coupon with this code (matched case-insensitively), or None."""
        ...

    def get_coupon(self, coupon_id: int) -> Any: ...

    def expire_coupon(self, coupon_id: int, at: datetime) -> None: ...

    def add_order_note(self, order_id: int, note: str, *, customer_note: bool = True) -> int: ...

    def list_order_notes(self, order_id: int) -> list[Any]:
        """An order's notes (newest first), as the store returns them."""
        ...

    def supports_modified_after(self) -> bool | None:
        """Whether the store knows ``modified_after`` (None: could not tell)."""
        ...

    def check_access(self) -> Access: ...

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> Any:
        """Verify a webhook delivery from this store and say what to do about it."""
        ...

    def close(self) -> None: ...
