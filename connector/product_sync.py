"""Members' products for the partner widgets, synced incrementally like their orders.

The same re-anchored walk as orders (:mod:`connector.pages`), simpler: products carry no
money, so each page is upserted and the products bookmark moved in one transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from alliance.services import catalog
from alliance.services import sync_records as records
from connector.pages import ONE_SECOND, identity, modified_at
from connector.storefront import Storefront
from connector.woocommerce.products import map_products

log = logging.getLogger("alliance.sync")


def sync_products(engine: Engine, store: Storefront, since: datetime | None, per_page: int) -> int:
    """Products modified after ``since``, upserted; returns how many were stored."""
    member = store.member
    cursor = since
    seen: set[tuple[Any, Any]] = set()
    synced = 0
    while True:
        page = store.list_products(modified_after=cursor, per_page=per_page)
        fresh = [d for d in page.documents if identity(d) not in seen]
        seen.update(map(identity, page.documents))
        products, rejected = map_products(fresh, member)
        for error in rejected:
            log.warning("%s: product skipped: %s", member, error)
        newest = max(filter(None, map(modified_at, page.documents)), default=None)
        with engine.begin() as conn:
            catalog.upsert_products(conn, products)
            if newest is not None:
                records.advance_bookmark(conn, member, "products_bookmark", newest)
        synced += len(products)
        if len(page.documents) < per_page or newest is None:
            return synced
        anchor = newest - ONE_SECOND
        if cursor is not None and anchor <= cursor:
            # A page of products all modified in one second: rare; read them by page number.
            for number in range(2, (page.total_pages or 1) + 1):
                more = store.list_products(modified_after=cursor, page=number, per_page=per_page)
                products, _ = map_products(more.documents, member)
                with engine.begin() as conn:
                    catalog.upsert_products(conn, products)
                synced += len(products)
            return synced
        cursor = anchor
