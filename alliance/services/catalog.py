"""Members' products, as the partner widgets show them: upserted by (member, product id)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import orjson
from sqlalchemy import Connection, select

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
        )
        for row in conn.execute(query).mappings()
    ]
