"""The WooCommerce JSON we keep, as typed records ``msgspec`` decodes pages straight into.

A page of ``GET /orders`` is about 100 KB, most of it what the firewall throws away: names,
emails, phones, street addresses, IP addresses, user agents, customer notes, every meta value
but five. Parsing it whole into Python objects costs more than the mapping does. Here each
record declares only the fields the mapping reads; msgspec skips every other field *while
parsing*, so a personal value is never even made into a Python object. The one exception
is ``billing.email``, which the mapping turns into ``customer_key`` (an HMAC) and drops.

- Meta values stay :class:`msgspec.Raw` (bytes of the page) until the mapping reads one of
  the five attribution keys: ``_wc_order_attribution_user_agent`` and plugins' own meta are
  never decoded.
- Fields the mapping validates itself are typed ``Any``: a wrong type there is reported by
  the mapping with the same message as ever (``line_items[2].total: ...``). Where a
  *container* has the wrong shape (``billing`` a string, a line item a number) msgspec
  refuses the order, and that one order is parsed the old way and refused by the mapping, in
  the same words, into the quarantine.
- Each order's content digest is taken over its own bytes in the page (keyed with the
  alliance secret), so an order seen before is skipped without being decoded at all.

The records are ``TypedDict``s: decoded, they are plain dicts holding only the declared keys,
which is what :func:`connector.woocommerce.mapping.map_order` reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, TypedDict

import msgspec

from connector import json_body


class MetaEntry(TypedDict, total=False):
    key: Any
    value: msgspec.Raw  # decoded only for the attribution keys


class Region(TypedDict, total=False):
    """``billing`` / ``shipping``: only where the customer is, never who."""

    email: Any  # billing only: hashed into customer_key, then dropped
    country: Any
    state: Any


class LineItem(TypedDict, total=False):
    product_id: Any
    variation_id: Any
    quantity: Any
    subtotal: Any
    total: Any
    name: Any  # the product's name, not the customer's
    sku: Any


class CouponLine(TypedDict, total=False):
    code: Any


class Refund(TypedDict, total=False):
    total: Any


class OrderRecord(TypedDict, total=False):
    """An order of ``/wc/v3/orders`` as the firewall reads it (reference §2)."""

    id: Any
    number: Any
    status: Any
    currency: Any
    date_created_gmt: Any
    date_modified_gmt: Any
    date_paid_gmt: Any
    total: Any
    discount_total: Any
    shipping_total: Any
    total_tax: Any
    line_items: list[LineItem]
    refunds: list[Refund]
    coupon_lines: list[CouponLine]
    meta_data: list[MetaEntry]
    billing: Region
    shipping: Region


class ProductRecord(TypedDict, total=False):
    """A product of ``/wc/v3/products``: what a card shows and a gift pack names."""

    id: Any
    name: Any
    permalink: Any
    sku: Any
    price: Any
    regular_price: Any
    sale_price: Any
    on_sale: Any
    status: Any
    stock_status: Any
    type: Any
    date_modified_gmt: Any
    categories: Any
    images: Any


_PAGE = msgspec.json.Decoder(list[msgspec.Raw])
_ORDERS = msgspec.json.Decoder(list[OrderRecord])
_ORDER = msgspec.json.Decoder(OrderRecord)
_PRODUCT = msgspec.json.Decoder(ProductRecord)


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One order of a page: its bytes, its digest, and (:meth:`record`) its typed record."""

    raw: msgspec.Raw
    digest: str

    def record(self) -> Any:
        """The order as the mapping reads it: an :class:`OrderRecord` dict, or, when the
        order's shape is broken, whatever the page holds there (the mapping refuses it)."""
        try:
            return _ORDER.decode(self.raw)
        except msgspec.ValidationError:
            return json_body.loads(bytes(self.raw))  # refused by the mapping, in its words
        except msgspec.DecodeError:  # text msgspec refuses (a lone surrogate): as before
            return json_body.loads(bytes(self.raw))


def page_entries(page: bytes, secret: bytes) -> list[PageEntry]:
    """Split a page of orders into its orders' bytes and digest each; nothing is decoded.

    Raises ``ValueError`` when the page is not a JSON list (msgspec's error is one).
    """
    entries = []
    for raw in _raw_orders(page):
        digest = hashlib.sha256(secret)
        digest.update(raw)
        entries.append(PageEntry(raw, digest.hexdigest()[:32]))
    return entries


def _raw_orders(page: bytes) -> list[msgspec.Raw]:
    """The page's orders as bytes. Text msgspec refuses (a lone surrogate, which a broken
    plugin writes and the old parser reads) is read the old way and written out again
    (ASCII, escaped): that order is then refused by the mapping, in its usual words."""
    try:
        return _PAGE.decode(page)
    except msgspec.DecodeError:
        documents = json_body.loads(page)  # raises ValueError as msgspec would
        if not isinstance(documents, list):
            raise msgspec.ValidationError("a page of orders is not a JSON list") from None
        return [msgspec.Raw(json.dumps(d, default=str).encode()) for d in documents]


def order_records(page: bytes, entries: list[PageEntry] | None = None) -> list[Any]:
    """Every order of a page as a typed record (see :meth:`PageEntry.record`): in one call
    when every order has the expected shape, else order by order."""
    try:
        return _ORDERS.decode(page)
    except (msgspec.ValidationError, msgspec.DecodeError):
        listed = entries if entries is not None else [PageEntry(r, "") for r in _raw_orders(page)]
        return [entry.record() for entry in listed]


def product_record(raw: bytes) -> Any:
    return _PRODUCT.decode(raw)


def meta_value(value: Any) -> Any:
    """A meta value as JSON reads it, whether it is still :class:`msgspec.Raw` or not."""
    if type(value) is msgspec.Raw:
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return None
    return value
