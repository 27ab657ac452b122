"""Shelves: which partners a member's block may recommend, and which of their products.

A partner is on ``member``'s shelves when a deal pays ``member`` for referring to it; its
shelf holds the synced products a card may link to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from alliance.agreement import Agreement
from alliance.products import Product
from alliance.services.catalog import products_of


@dataclass(frozen=True, slots=True)
class Shelf:
    """One partner's recommendable products, and the deal under which ``member`` links them."""

    partner: str
    deal_id: str
    products: tuple[Product, ...]


def partner_deals(agreement: Agreement, member: str) -> dict[str, str]:
    """``partner -> deal id`` for every partner that rewards ``member`` for referrals.

    A deal allows the block when one of its legs has ``member`` as referrer and the partner as
    seller. With several such deals the smallest deal id is cited, so links are stable.
    """
    deals: dict[str, str] = {}
    for partner in sorted(agreement.members):
        if partner == member:
            continue
        legs = agreement.legs_between(member, partner)
        if legs:
            deals[partner] = min(leg.deal_id for leg in legs)
    return deals


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def shelf_products(products: Iterable[Product], store_url: str) -> tuple[Product, ...]:
    """The products a partner block may show: recommendable and on the partner's own store.

    The tracked redirect only sends shoppers to the seller's own store host, so a product
    whose permalink points elsewhere would be a dead card: it is left out here.
    """
    store_host = _host(store_url)
    return tuple(p for p in products if p.recommendable and _host(p.permalink) == store_host)


def load_shelves(conn: Any, agreement: Agreement, member: str) -> list[Shelf]:
    """Every partner's shelf for ``member``'s block, read from the synced catalog."""
    return [
        Shelf(
            partner,
            deal_id,
            shelf_products(products_of(conn, partner), agreement.members[partner].url),
        )
        for partner, deal_id in partner_deals(agreement, member).items()
    ]
