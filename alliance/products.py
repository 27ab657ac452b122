"""The storefront-agnostic product: what a partner widget needs to recommend it.

A connector maps its storefront's JSON to :class:`Product` (see
``connector.woocommerce.products``). Products carry nothing personal, but they are shown on
other members' pages, so the two URLs are held to one rule (:func:`is_web_url`): a hostile
store must never get a ``javascript:`` or ``data:`` link into a partner's storefront.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from urllib.parse import urlsplit

from alliance.errors import BadInputError

URL_MAX = 2048
"""Longer URLs are refused: real permalinks and upload URLs are far shorter."""

_WEB_SCHEMES = frozenset({"http", "https"})


class StockStatus(str, Enum):
    """WooCommerce's ``stock_status`` values (plugins may add more; those are refused)."""

    IN_STOCK = "instock"
    OUT_OF_STOCK = "outofstock"
    ON_BACKORDER = "onbackorder"


SELLABLE_STOCK = frozenset({StockStatus.IN_STOCK, StockStatus.ON_BACKORDER})
"""Stock statuses at which a shopper can still order the product."""

PUBLISHED = "publish"


class ProductDataError(BadInputError):
    """One product from a storefront cannot be used as it is.

    ``product`` names it as its shop knows it (``Bamboo swaddle (id 205)``), ``field`` is the
    JSON path of the problem (``images[0].src``).
    """

    def __init__(self, product: str, field: str, message: str) -> None:
        self.product = product
        self.field = field
        self.message = message
        super().__init__(f"product {product}: {field}: {message}")


def is_web_url(value: str) -> bool:
    """True for an absolute ``http``/``https`` URL that is safe to put in an ``href``/``src``.

    Refuses other schemes (``javascript:``, ``data:``, ``//host`` without a scheme), any
    whitespace or control character (browsers strip them, so ``java\\tscript:`` would work),
    backslashes (browsers read them as ``/``), credentials (``https://shop@evil.example``)
    and URLs over :data:`URL_MAX` characters.
    """
    if type(value) is not str or not value or len(value) > URL_MAX:
        return False
    # isprintable() refuses every whitespace character but the plain space (checked on its own)
    if not value.isprintable() or " " in value or "\\" in value:
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # malformed IPv6 literal or port
        return False
    return parts.scheme.lower() in _WEB_SCHEMES and bool(host) and "@" not in parts.netloc


@dataclass(frozen=True, slots=True)
class Product:
    member: str
    product_id: str  # the storefront's id as text, like Order.external_id
    name: str  # at most 200 characters, control characters removed
    permalink: str  # the product page on the member's store: an http(s) URL, or "" if none
    price: Decimal | None  # None when the store has no price ("" in WooCommerce)
    regular_price: Decimal | None
    on_sale: bool
    image_url: str  # first image, http(s) only, or ""
    image_alt: str
    stock_status: StockStatus
    categories: tuple[str, ...]  # category slugs, in the store's order
    category_names: tuple[str, ...]  # the same categories' names, aligned with ``categories``
    status: str  # post status: "publish", "draft", "private", "pending", "future", "trash"...
    modified_at: datetime  # UTC, aware: the revision's date_modified_gmt
    sku: str = ""  # the shop's stock-keeping unit; gift-pack rewards name products by it

    def __post_init__(self) -> None:
        # The widgets print these URLs into partners' pages: hold the rule however a Product
        # is built (mapper, storage, tests), not only in the mapper.
        for field, url in (("permalink", self.permalink), ("image_url", self.image_url)):
            if url and not is_web_url(url):
                raise ProductDataError(self.ref, field, "not an http(s) URL")
        if len(self.categories) != len(self.category_names):
            raise ProductDataError(self.ref, "categories", "slugs and names are not aligned")

    @property
    def ref(self) -> str:
        """How messages and storage name the product: ``wang/205``."""
        return f"{self.member}/{self.product_id}"

    @property
    def recommendable(self) -> bool:
        """Partners may show it: published, orderable (in stock or on backorder), linkable."""
        return (
            self.status == PUBLISHED
            and self.stock_status in SELLABLE_STOCK
            and bool(self.permalink)
        )
