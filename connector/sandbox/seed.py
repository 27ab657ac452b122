"""What a sandbox store starts with: a seed file, or generated orders and products.

Generated data is realistic on purpose (a mix of statuses, partial refunds, referral coupons,
order attribution, cash on delivery) and deterministic for a given ``seed``, so demos and
benchmarks see the same store every run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from alliance.errors import BadInputError
from connector.fixtures.orders import DEFAULT_CREATED, woo_date, woo_order

_WP_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_PRODUCT_NAMES = (
    ("Organic cotton bodysuit, 3-pack", "59.00", "Clothing"),
    ("Bamboo muslin swaddle", "89.90", "Clothing"),
    ("Merino sleep sack", "239.00", "Clothing"),
    ("Calendula baby wash", "68.00", "Toiletries"),
    ("Unscented nappy balm", "45.50", "Toiletries"),
    ("Wooden stacking rainbow", "129.00", "Toys"),
    ("Felt activity book", "76.00", "Toys"),
    ("Newborn photo session", "899.00", "Photography"),
)
_STATUS_MIX = (
    ("completed", 40), ("processing", 30), ("on-hold", 6), ("pending", 8),
    ("cancelled", 6), ("refunded", 4), ("failed", 2),
)  # fmt: skip
_REFERRAL_COUPONS = ("li-friends", "li-friends", "wang-loves-li", "zhang-photo")
"""Codes of the example agreement (examples/alliance.toml): "li-friends" lives in wang's store."""


def parse_woo_date(text: str) -> datetime | None:
    """A naive datetime from WordPress's accepted date-time forms; offsets are ignored, as
    WooCommerce ignores them (reference §6). None if the text is not such a date."""
    match = _WP_DATE.match(text.strip())
    if match is None:
        return None
    try:
        return datetime.fromisoformat(f"{match[1]}T{match[2]}")
    except ValueError:
        return None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def complete_product(
    partial: Mapping[str, Any], site_url: str, utc_offset: timedelta, now: datetime
) -> dict[str, Any]:
    """A product in WooCommerce's full shape, the given fields kept as they are."""
    product_id = int(partial["id"])
    name = str(partial.get("name") or f"Product {product_id}")
    slug = str(partial.get("slug") or _slug(name) or product_id)
    price = str(partial.get("price") or partial.get("regular_price") or "0.00")
    category = partial.get("category")
    doc: dict[str, Any] = {
        "id": product_id,
        "name": name,
        "slug": slug,
        "permalink": f"{site_url}/product/{slug}/",
        "date_created": woo_date(now, utc_offset),
        "date_created_gmt": woo_date(now),
        "date_modified": woo_date(now, utc_offset),
        "date_modified_gmt": woo_date(now),
        "type": "simple",
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": f"SKU-{product_id}",
        "price": price,
        "regular_price": str(partial.get("regular_price") or price),
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "purchasable": True,
        "total_sales": 0,
        "virtual": False,
        "downloadable": False,
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "backorders": "no",
        "categories": (
            [{"id": 15 + len(str(category)), "name": str(category), "slug": _slug(str(category))}]
            if category
            else [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}]
        ),
        "tags": [],
        "images": [
            {
                "id": product_id + 9000,
                "src": f"{site_url}/wp-content/uploads/{product_id}.jpg",
                "name": slug,
                "alt": name,
            }
        ],
        "attributes": [],
        "variations": [],
        "related_ids": [],
        "meta_data": [],
    }
    doc.update({k: v for k, v in partial.items() if k != "category"})
    doc["on_sale"] = bool(doc.get("sale_price"))
    return doc


def generate_products(count: int = 8, *, start: int = 101) -> list[dict[str, Any]]:
    """A handful of partial products (id, name, price, category) for ``complete_product``."""
    products = []
    for n in range(count):
        name, price, category = _PRODUCT_NAMES[n % len(_PRODUCT_NAMES)]
        if n >= len(_PRODUCT_NAMES):
            name = f"{name} ({n // len(_PRODUCT_NAMES) + 1})"
        products.append({"id": start + n, "name": name, "price": price, "category": category})
    products[-1]["stock_status"] = "outofstock" if count > 3 else "instock"
    return products


def generate_orders(
    count: int,
    *,
    seed: int = 0,
    start: int = 1001,
    products: Sequence[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
    span: timedelta = timedelta(days=90),
    utc_offset: timedelta = timedelta(hours=8),
) -> list[dict[str, Any]]:
    """``count`` orders with ids from ``start``, created over ``span`` before ``now``.

    Creation times rise with the id, as on a real store; each order is modified at most a few
    days after it was created and never after ``now``.
    """
    rng = random.Random(seed)
    now = (now or DEFAULT_CREATED).astimezone(UTC).replace(microsecond=0)
    catalogue = [
        (int(p["id"]), str(p["name"]), Decimal(str(p.get("price") or "0")))
        for p in (products or generate_products())
    ]
    statuses, weights = zip(*_STATUS_MIX, strict=True)
    step = span / max(count, 1)
    orders = []
    for n in range(count):
        order_id = start + n
        created = (
            now
            - span
            + step * n
            + timedelta(seconds=rng.randrange(max(int(step.total_seconds()), 1)))
        )
        created = min(created, now).replace(microsecond=0)
        status = rng.choices(statuses, weights)[0]
        picks = rng.sample(catalogue, k=min(len(catalogue), rng.choice((1, 1, 2, 3))))
        lines = [(pid, name, rng.choice((1, 1, 2)), price) for pid, name, price in picks]
        coupons = [(rng.choice(_REFERRAL_COUPONS), Decimal(10))] if rng.random() < 0.15 else []
        refunds = None
        if status in ("completed", "processing") and rng.random() < 0.08:
            refunds = [Decimal(rng.choice(("5.00", "10.00", "20.00")))]
        attribution = None
        if rng.random() < 0.6:
            utm = rng.random() < 0.3
            attribution = {
                "utm_source": "alliance" if utm else "",
                "utm_medium": "referral" if utm else "",
                "utm_content": f"clk_{rng.getrandbits(48):012x}" if utm else "",
            }
        later = timedelta(minutes=rng.randrange(1, 4 * 24 * 60))
        if created + later > now:  # spread over what is left, never piled up at "now"
            later = (now - created) * rng.random()
        modified = (created + later).replace(microsecond=0)
        orders.append(
            woo_order(
                order_id,
                status=status,
                created=created,
                modified=modified if status not in ("pending", "failed") else created,
                lines=lines,
                coupons=coupons,
                refunds=refunds,
                attribution=attribution,
                cod=status == "processing" and rng.random() < 0.1,
                rng=random.Random(seed * 1_000_003 + order_id),
                utc_offset=utc_offset,
            )
        )
    return orders


@dataclass
class SeedData:
    """What a seed file holds."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    coupons: list[dict[str, Any]] = field(default_factory=list)


def load_seed(path: str | Path) -> SeedData:
    """A seed file: a JSON list of orders, or ``{"orders": [...], "products": [...],
    "coupons": [...]}``. Every problem is a ``BadInputError`` naming the file."""
    path = Path(path)
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such seed file") from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the seed file: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise BadInputError(f"{path}: not JSON: {exc}") from None
    if isinstance(raw, list):
        raw = {"orders": raw}
    if not isinstance(raw, dict):
        raise BadInputError(f"{path}: expected a list of orders or an object with orders")
    unknown = set(raw) - {"orders", "products", "coupons"}
    if unknown:
        raise BadInputError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    data = SeedData()
    for name in ("orders", "products", "coupons"):
        items = raw.get(name, [])
        if not isinstance(items, list):
            raise BadInputError(f"{path}: {name} must be a list")
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise BadInputError(f"{path}: {name}[{n}] is not an object")
            if name != "coupons" and (
                not isinstance(item.get("id"), int) or isinstance(item.get("id"), bool)
            ):
                raise BadInputError(f"{path}: {name}[{n}] has no integer id")
            if name == "coupons" and not str(item.get("code") or "").strip():
                raise BadInputError(f"{path}: coupons[{n}] has no code")
        getattr(data, name).extend(items)
    return data


__all__ = [
    "SeedData",
    "complete_product",
    "generate_orders",
    "generate_products",
    "load_seed",
    "parse_woo_date",
]
