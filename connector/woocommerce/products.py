"""WooCommerce REST v3 product JSON -> the domain :class:`~alliance.products.Product`.

Products are shown on partner members' pages, so this is a firewall too: only the fields a
recommendation needs are read, text is trimmed and stripped of control characters, and a URL
that is not plain ``http(s)`` never comes through (a hostile store could send
``javascript:``): a bad permalink refuses the product, a bad image is dropped.

WordPress stores names HTML-escaped (a category "Toys & Games" comes back as
``Toys &amp; Games``, and so do product names saved by a shop manager), so names and alt texts
are unescaped once here; templates escape them again on output.

Every problem becomes a :class:`~alliance.products.ProductDataError` naming the product the way
the shop owner knows it (``Bamboo swaddle (id 205)``) and the JSON path of the field
(``images[0].src``). :func:`map_products` keeps going after a bad product.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from alliance.products import Product, ProductDataError, StockStatus, is_web_url
from connector.woocommerce.fields import (
    _CONTROL,
    _SURROGATE_RE,
    MAX_ID,
    _date,
    _Invalid,
    _list,
    _money,
    _object,
    _text,
    _whole,
    describe_kind,
)

NAME_MAX = 200
"""Names and alt texts are kept for widgets, trimmed so a hostile store cannot bloat storage."""

TERM_MAX = 200
"""Category slugs and names."""

SKU_MAX = 100
"""Characters of a SKU kept (gift-pack rewards name products by SKU); longer is cut."""

CATEGORIES_MAX = 50
"""Categories kept per product (the first ones, in the store's order); more is noise."""

_STOCK = {status.value: status for status in StockStatus}
_STOCK_LIST = ", ".join(_STOCK)
_STATUS_RE = re.compile(r"[a-z0-9_-]{1,20}", re.ASCII)
_SCHEME_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]{0,15}):")
_WHOLE_PRODUCT = "(whole product)"
_LABEL_MAX = 40


def _label(value: object, field: str, limit: int) -> str:
    """Display text: HTML entities decoded once, then the usual :func:`_text` cleaning."""
    text = _text(value, field, limit * 8)  # an entity is at most ~10 characters
    if "&" in text:
        text = html.unescape(text)
    return _text(text, field, limit)


def _price(value: object, field: str) -> Decimal | None:
    """WooCommerce prices are strings; ``""`` (no price yet, some variable products) is None."""
    if value is None or (type(value) is str and not value.strip()):
        return None
    return _money(value, field)


def _url(value: object, field: str) -> str:
    """The URL text as sent (null is ``""``); checking it is the caller's business."""
    if type(value) is not str:
        if value is None:
            return ""
        raise _Invalid(field, f"expected a URL, got {describe_kind(value)}")
    if _SURROGATE_RE.search(value) is not None:
        raise _Invalid(field, "invalid UTF-8")
    return value.strip()


def _permalink(value: object) -> str:
    url = _url(value, "permalink")
    if url and not is_web_url(url):
        scheme = _SCHEME_RE.match(url)
        shown = f", got a {scheme.group(1).lower()}: URL" if scheme else ""
        raise _Invalid("permalink", f"expected an http(s) URL{shown}")
    return url


def _first_image(images: list[Any]) -> tuple[str, str]:
    """``(src, alt)`` of the first image; an image that is not plain http(s) is dropped."""
    if not images:
        return "", ""
    image = _object(images[0], "images[0]")
    if not image:
        return "", ""
    src = _url(image.get("src"), "images[0].src")
    if not is_web_url(src):
        return "", ""
    return src, _label(image.get("alt"), "images[0].alt", NAME_MAX)


def _categories(terms: list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Slugs and names, aligned; terms without a slug and repeated slugs are skipped."""
    slugs: dict[str, str] = {}
    for index, term in enumerate(terms):
        if len(slugs) >= CATEGORIES_MAX:
            break
        if type(term) is not dict and not isinstance(term, Mapping):
            raise _Invalid(f"categories[{index}]", f"expected an object, got {describe_kind(term)}")
        slug = _text(term.get("slug"), f"categories[{index}].slug", TERM_MAX)
        if slug and slug not in slugs:
            slugs[slug] = _label(term.get("name"), f"categories[{index}].name", TERM_MAX) or slug
    return tuple(slugs), tuple(slugs.values())


def _map(raw: Mapping[str, Any], member: str) -> Product:
    get = raw.get
    product_id = str(_whole(get("id"), "id", 1))
    name = _label(get("name"), "name", NAME_MAX)
    permalink = _permalink(get("permalink"))

    status = get("status")
    if type(status) is not str or _STATUS_RE.fullmatch(status) is None:
        shown = repr(status) if type(status) is str and len(status) <= 40 else describe_kind(status)
        raise _Invalid("status", f'expected a post status such as "publish", got {shown}')
    stock = get("stock_status")
    stock_status = _STOCK.get(stock) if type(stock) is str else None
    if stock_status is None:
        shown = repr(stock) if type(stock) is str and len(stock) <= 40 else describe_kind(stock)
        raise _Invalid(
            "stock_status", f"unknown stock status {shown}; expected one of {_STOCK_LIST}"
        )
    on_sale = get("on_sale")
    if on_sale is None:
        on_sale = False
    elif type(on_sale) is not bool:
        raise _Invalid("on_sale", f"expected true/false, got {describe_kind(on_sale)}")

    price = _price(get("price"), "price")
    regular_price = _price(get("regular_price"), "regular_price")
    modified_at = _date(get("date_modified_gmt"), "date_modified_gmt")
    image_url, image_alt = _first_image(_list(get("images"), "images"))
    categories, category_names = _categories(_list(get("categories"), "categories"))
    try:
        sku = _text(get("sku"), "sku", SKU_MAX)
    except _Invalid:  # a widget needs no SKU: a strange one never refuses the product
        sku = ""

    return Product(
        member=member,
        product_id=product_id,
        name=name,
        permalink=permalink,
        price=price,
        regular_price=regular_price,
        on_sale=on_sale,
        image_url=image_url,
        image_alt=image_alt,
        stock_status=stock_status,
        categories=categories,
        category_names=category_names,
        status=status,
        modified_at=modified_at,
        sku=sku,
    )


def describe_product(raw: object, position: int | None = None) -> str:
    """Name a product as its shop knows it: ``Bamboo swaddle (id 205)``, else its position.

    Tolerates any input, since it is used to report products that could not be mapped.
    """
    parts: list[str] = []
    product_id = None
    if isinstance(raw, Mapping):
        candidate = raw.get("id")
        if type(candidate) is int and 0 < candidate <= MAX_ID:
            product_id = candidate
        name = raw.get("name")
        label = ""
        if type(name) is str and _SURROGATE_RE.search(name) is None:
            name = name[: _LABEL_MAX * 8]
            label = (html.unescape(name) if "&" in name else name).translate(_CONTROL).strip()
            label = label[:_LABEL_MAX].rstrip()
        label = label or (str(product_id) if product_id else "")
        if label:
            parts.append(label)
        if product_id:
            parts.append(f"(id {product_id})")
    if product_id is None and position is not None:
        parts.append(f"(at index {position})" if parts else f"at index {position}")
    return " ".join(parts) or "(unidentified)"


def map_product(raw: Mapping[str, Any], member: str, *, position: int | None = None) -> Product:
    """Map one ``/wc/v3/products`` object (or a ``product.*`` webhook body) to a Product.

    ``position`` (0-based index in the caller's list) names the product in errors when it has
    no usable id. Raises :class:`ProductDataError` and nothing else, whatever ``raw`` holds.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise ProductDataError(
            describe_product(raw, position),
            _WHOLE_PRODUCT,
            f"expected an object, got {describe_kind(raw)}",
        )
    try:
        return _map(raw, member)
    except _Invalid as exc:
        raise ProductDataError(describe_product(raw, position), exc.field, exc.message) from None


def map_products(raws: Iterable[Any], member: str) -> tuple[list[Product], list[ProductDataError]]:
    """Map a list of products (an API page): the good ones, and why each bad one was refused."""
    products: list[Product] = []
    errors: list[ProductDataError] = []
    for position, raw in enumerate(raws):
        try:
            products.append(map_product(raw, member, position=position))
        except ProductDataError as exc:
            errors.append(exc)
    return products, errors
