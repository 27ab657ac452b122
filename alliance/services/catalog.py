"""Members' products, as the partner widgets show them: upserted by (member, product id)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

import orjson
from sqlalchemy import Connection, func, select

from alliance.agreement import Agreement
from alliance.products import Product, StockStatus
from alliance.storage.repository import _insert
from alliance.storage.schema import products


def _price(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def upsert_products(conn: Connection, items: Sequence[Product]) -> None:
    if not items:
        return
    rows = [
        {
            "member": p.member,
            "product_id": p.product_id,
            "name": p.name,
            "permalink": p.permalink,
            "price": _price(p.price),
            "regular_price": _price(p.regular_price),
            "on_sale": p.on_sale,
            "image_url": p.image_url,
            "image_alt": p.image_alt,
            "stock_status": p.stock_status.value,
            "status": p.status,
            "categories": orjson.dumps(list(p.categories)).decode(),
            "category_names": orjson.dumps(list(p.category_names)).decode(),
            "modified_at": p.modified_at,
            "sku": p.sku,
        }
        for p in items
    ]
    stmt = _insert(conn, products)
    stmt = stmt.on_conflict_do_update(
        index_elements=["member", "product_id"],
        set_={c.name: stmt.excluded[c.name] for c in products.c if not c.primary_key},
    )
    conn.execute(stmt, rows)


def products_of(conn: Connection, member: str) -> list[Product]:
    query = (
        select(products)
        .where(products.c.member == member)
        .order_by(products.c.modified_at.desc(), products.c.product_id)
    )
    return [
        Product(
            member=row["member"],
            product_id=row["product_id"],
            name=row["name"],
            permalink=row["permalink"],
            price=Decimal(row["price"]) if row["price"] else None,
            regular_price=Decimal(row["regular_price"]) if row["regular_price"] else None,
            on_sale=row["on_sale"],
            image_url=row["image_url"],
            image_alt=row["image_alt"],
            stock_status=StockStatus(row["stock_status"]),
            categories=tuple(orjson.loads(row["categories"])),
            category_names=tuple(orjson.loads(row["category_names"])),
            status=row["status"],
            modified_at=row["modified_at"],
            sku=row["sku"],
        )
        for row in conn.execute(query).mappings()
    ]


def has_catalog(conn: Connection, member: str) -> bool:
    """Whether a sync has stored any of the member's products yet."""
    query = select(func.count()).select_from(products).where(products.c.member == member)
    return bool(conn.execute(query).scalar_one())


def product_ids_by_sku(conn: Connection, member: str, skus: Collection[str]) -> dict[str, str]:
    """``sku -> product id`` in the member's synced catalog, for the SKUs it holds.

    SKUs are matched exactly, as WooCommerce keeps them unique per store; a SKU two stored
    products share (a store that allows it) resolves to the newest of them.
    """
    if not skus:
        return {}
    query = (
        select(products.c.sku, products.c.product_id)
        .where(products.c.member == member, products.c.sku.in_(list(skus)))
        .order_by(products.c.modified_at, products.c.product_id)
    )
    return {sku: product_id for sku, product_id in conn.execute(query)}


def unknown_skus(
    conn: Connection, agreement: Agreement
) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Reward SKUs missing from a synced catalog: ``(path in the file, member, sku)``.

    A member whose products were never synced is not judged: nothing is known about it yet.
    """
    found = []
    for p_index, promotion in enumerate(agreement.promotions):
        for r_index, reward in enumerate(promotion.rewards):
            if not reward.products or not has_catalog(conn, reward.member):
                continue
            known = product_ids_by_sku(conn, reward.member, reward.products)
            for s_index, sku in enumerate(reward.products):
                if sku not in known:
                    path = ("promotions", p_index, "rewards", r_index, "products", s_index)
                    found.append((path, reward.member, sku))
    return found
