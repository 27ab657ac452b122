"""Realistic WooCommerce REST v3 product JSON, for tests, the sandbox store and the demo.

``woo_product`` returns a plain JSON-ready dict with every field ``GET /wp-json/wc/v3/products``
returns in the ``view`` context (WooCommerce 10: the v2 controller's fields plus the v3
additions ``brands``, ``has_options``, ``post_password``, ``global_unique_id``), the way
WordPress stores them: money as strings, ``""`` for a missing price, names with ``&`` as
``&amp;``, non-ASCII slugs percent-encoded, dates without offset. Output depends only on the
arguments.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from connector.woocommerce.fixtures import SITE, money, woo_date

DEFAULT_CREATED = datetime(2026, 10, 1, 2, 0, 0, tzinfo=UTC)
DEFAULT_NAME = "Organic cotton bodysuit, 3-pack"
DEFAULT_PRICE = Decimal("59.00")
AUTO = "auto"
"""``image=AUTO`` gives the product one uploaded image named after its slug."""

CategorySpec = str | tuple[str, str]
"""A category name (its slug is derived as WordPress does), or an explicit ``(name, slug)``."""


def slugify(text: str) -> str:
    """WordPress ``sanitize_title`` for the common cases: lowercase, dashes, UTF-8 %-encoded."""
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return quote("-".join(words), safe="-").lower()


def _price_html(price: Decimal | None, regular: Decimal | None) -> str:
    def amount(value: Decimal) -> str:
        return (
            '<span class="woocommerce-Price-amount amount"><bdi>'
            f'<span class="woocommerce-Price-currencySymbol">&yen;</span>{money(value)}'
            "</bdi></span>"
        )

    if price is None:
        return ""
    if regular is not None and regular > price:
        return (
            f'<del aria-hidden="true">{amount(regular)}</del> '
            f'<span class="screen-reader-text">Original price was: &yen;{money(regular)}.</span>'
            f'<ins aria-hidden="true">{amount(price)}</ins>'
            f'<span class="screen-reader-text">Current price is: &yen;{money(price)}.</span>'
        )
    return amount(price)


def _stock(stock_status: str) -> dict[str, Any]:
    """Stock fields consistent with the status: backorders need managed stock at or below 0."""
    if stock_status == "onbackorder":
        quantity, backorders = -2, "notify"
    elif stock_status == "outofstock":
        quantity, backorders = 0, "no"
    else:
        quantity, backorders = None, "no"
    return {
        "manage_stock": quantity is not None,
        "stock_quantity": quantity,
        "backorders": backorders,
        "backorders_allowed": backorders != "no",
        "backordered": stock_status == "onbackorder",
        "low_stock_amount": None,
    }


def _terms(specs: Sequence[CategorySpec], first_id: int) -> list[dict[str, Any]]:
    terms = []
    for n, spec in enumerate(specs):
        name, slug = spec if isinstance(spec, tuple) else (spec, slugify(spec))
        terms.append({"id": first_id + n, "name": html.escape(name, quote=False), "slug": slug})
    return terms


def _image(product_id: int, src: str, name: str, created: datetime, offset: timedelta) -> dict:
    return {
        "id": product_id + 9000,
        "date_created": woo_date(created, offset),
        "date_created_gmt": woo_date(created),
        "date_modified": woo_date(created, offset),
        "date_modified_gmt": woo_date(created),
        "src": src,
        "name": name,
        "alt": name,
    }


def woo_product(
    id: int = 101,
    *,
    name: str = DEFAULT_NAME,
    price: Decimal | None = DEFAULT_PRICE,
    regular_price: Decimal | None = None,
    stock_status: str = "instock",
    categories: Sequence[CategorySpec] = ("Baby clothing",),
    modified: datetime | None = None,
    created: datetime | None = None,
    image: str | None = AUTO,
    status: str = "publish",
    type: str = "simple",
    site: str = SITE,
    utc_offset: timedelta = timedelta(hours=8),
) -> dict[str, Any]:
    """One product exactly as ``GET /wp-json/wc/v3/products`` returns it.

    ``price`` is what the shopper pays now (None: no price, ``""``); ``regular_price`` above it
    puts the product on sale. ``type="variable"`` behaves as WooCommerce does: ``price`` is the
    cheapest variation's and ``regular_price``/``sale_price`` are ``""``. ``image`` is an image
    URL, ``AUTO`` for an uploaded one, or None for none (``images: []``).
    """
    created = created or DEFAULT_CREATED + timedelta(hours=id % 1000)
    modified = modified or created + timedelta(days=3)
    slug = slugify(name) or str(id)
    variable = type == "variable"
    regular = price if regular_price is None else regular_price
    on_sale = price is not None and regular is not None and regular > price
    if variable:
        shown_regular, shown_sale = "", ""
    else:
        shown_regular = money(regular) if regular is not None else ""
        shown_sale = money(price) if on_sale and price is not None else ""
    if status == "publish":
        permalink = f"{site}/product/{slug}/"
    else:  # WordPress links unpublished posts by id
        permalink = f"{site}/?post_type=product&p={id}"
    images = []
    if image is not None:
        src = f"{site}/wp-content/uploads/2026/10/{slug}.jpg" if image == AUTO else image
        images.append(_image(id, src, name, created, utc_offset))
    variations = [id * 10 + n for n in range(1, 4)] if variable else []
    shown_name = html.escape(name, quote=False)  # as WordPress stores it: & -> &amp;
    return {
        "id": id,
        "name": shown_name,
        "slug": slug,
        "permalink": permalink,
        "date_created": woo_date(created, utc_offset),
        "date_created_gmt": woo_date(created),
        "date_modified": woo_date(modified, utc_offset),
        "date_modified_gmt": woo_date(modified),
        "type": type,
        "status": status,
        "featured": False,
        "catalog_visibility": "visible",
        "description": f"<p>{shown_name}: soft, breathable and made to last.</p>\n",
        "short_description": "<p>Made from certified organic cotton.</p>\n",
        "sku": f"SKU-{id}",
        "price": money(price) if price is not None else "",
        "regular_price": shown_regular,
        "sale_price": shown_sale,
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": on_sale and not variable,
        "purchasable": price is not None,
        "total_sales": id % 37,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        **_stock(stock_status),
        "sold_individually": False,
        "weight": "0.3",
        "dimensions": {"length": "30", "width": "20", "height": "4"},
        "shipping_required": True,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": 0,
        "purchase_note": "",
        "categories": _terms(categories, 15),
        "brands": [],
        "tags": [],
        "images": images,
        "attributes": [
            {
                "id": 1,
                "name": "Size",
                "slug": "pa_size",
                "position": 0,
                "visible": True,
                "variation": True,
                "options": ["0-3 months", "3-6 months", "6-12 months"],
            }
        ]
        if variable
        else [],
        "default_attributes": [],
        "variations": variations,
        "grouped_products": [],
        "menu_order": 0,
        "price_html": _price_html(price, None if variable else regular),
        "related_ids": [],
        "meta_data": [],
        "stock_status": stock_status,
        "has_options": variable,
        "post_password": "",
        "global_unique_id": "",
        "_links": {
            "self": [{"href": f"{site}/wp-json/wc/v3/products/{id}"}],
            "collection": [{"href": f"{site}/wp-json/wc/v3/products"}],
        },
    }
