"""WooCommerce product JSON -> domain Product: what a partner widget may show, and nothing else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.errors import BadInputError
from alliance.products import Product, ProductDataError, StockStatus, is_web_url
from connector.fixtures.products import slugify, woo_product
from connector.woocommerce.fields import _CONTROL
from connector.woocommerce.products import (
    CATEGORIES_MAX,
    NAME_MAX,
    describe_product,
    map_product,
    map_products,
)

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)
MODIFIED = datetime(2026, 11, 20, 18, 30, 5, tzinfo=UTC)


def as_sent(raw: dict[str, Any]) -> dict[str, Any]:
    """Exactly what the API would send: through JSON and back."""
    return json.loads(json.dumps(raw))


def mapped(raw: Any) -> Product:
    return map_product(as_sent(raw), "wang")


def refused(raw: Any, position: int | None = None) -> ProductDataError:
    with pytest.raises(ProductDataError) as caught:
        map_product(raw, "wang", position=position)
    return caught.value


def test_a_published_product_in_stock_keeps_every_field_a_widget_needs() -> None:
    raw = woo_product(
        205,
        name="Bamboo muslin swaddle",
        price=Decimal("89.90"),
        categories=["Baby bedding", ("Gifts", "gifts")],
        modified=MODIFIED,
    )
    product = mapped(raw)
    assert product == Product(
        member="wang",
        product_id="205",
        name="Bamboo muslin swaddle",
        permalink="https://shop.example/product/bamboo-muslin-swaddle/",
        price=Decimal("89.90"),
        regular_price=Decimal("89.90"),
        on_sale=False,
        image_url="https://shop.example/wp-content/uploads/2026/10/bamboo-muslin-swaddle.jpg",
        image_alt="Bamboo muslin swaddle",
        stock_status=StockStatus.IN_STOCK,
        categories=("baby-bedding", "gifts"),
        category_names=("Baby bedding", "Gifts"),
        status="publish",
        modified_at=MODIFIED,
        sku="SKU-205",
    )
    assert product.ref == "wang/205"
    assert product.recommendable


def test_the_modified_date_is_the_gmt_field_not_the_site_local_one() -> None:
    raw = woo_product(7, modified=MODIFIED, utc_offset=timedelta(hours=8))
    assert raw["date_modified"] == "2026-11-21T02:30:05"  # site-local, must not be used
    assert mapped(raw).modified_at == MODIFIED


def test_a_product_on_sale_keeps_both_prices() -> None:
    product = mapped(woo_product(8, price=Decimal("49.00"), regular_price=Decimal("59.00")))
    assert (product.price, product.regular_price, product.on_sale) == (
        Decimal("49.00"),
        Decimal("59.00"),
        True,
    )


def test_a_variable_product_has_a_price_but_no_regular_price() -> None:
    product = mapped(woo_product(9, type="variable", price=Decimal("39.00")))
    assert (product.price, product.regular_price) == (Decimal("39.00"), None)
    assert not product.on_sale


def test_a_product_without_any_price_maps_with_none() -> None:
    raw = woo_product(10, price=None)
    assert raw["price"] == "" and raw["regular_price"] == ""
    product = mapped(raw)
    assert product.price is None and product.regular_price is None


def test_html_entities_in_names_are_decoded_once() -> None:
    raw = woo_product(11, name="Toys & Games", categories=["Books & Toys"])
    assert raw["name"] == "Toys &amp; Games"  # what WordPress stores and the API returns
    raw["categories"].append({"id": 99, "name": "Tom &amp;lt;3", "slug": "tom"})
    product = mapped(raw)
    assert product.name == "Toys & Games"
    assert product.category_names == ("Books & Toys", "Tom &lt;3")


def test_names_lose_control_and_bidi_characters_and_are_trimmed() -> None:
    raw = woo_product(12)
    raw["name"] = "Sleep\u202e suit\n\x1b[31m" + "x" * 500
    raw["images"][0]["alt"] = "a\x00lt &#27;text"
    product = mapped(raw)
    assert product.name.startswith("Sleep suit[31m")
    assert len(product.name) == NAME_MAX
    assert product.image_alt == "alt text"


def test_non_ascii_category_slugs_stay_percent_encoded_as_wordpress_sends_them() -> None:
    product = mapped(woo_product(13, categories=["婴儿服装"]))
    assert product.categories == (slugify("婴儿服装"),)
    assert product.categories[0].startswith("%e5%a9%b4")
    assert product.category_names == ("婴儿服装",)


def test_repeated_and_slugless_categories_are_skipped_and_the_list_is_capped() -> None:
    raw = woo_product(14, categories=[("A", "a"), ("A again", "a"), ("No slug", ""), ("B", "b")])
    assert mapped(raw).categories == ("a", "b")
    many = woo_product(15, categories=[(f"C{n}", f"c{n}") for n in range(CATEGORIES_MAX + 20)])
    product = mapped(many)
    assert len(product.categories) == len(product.category_names) == CATEGORIES_MAX


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/product/",
        "/product/bodysuit/",
        "https://shop.example@evil.example/",
        "https:\\\\evil.example\\",
        "https://",
        "ftp://shop.example/product/",
        "https://shop.example/\u202eproduct",
        "https://shop.example:port/",
        "https://[::1/",
        "https://shop.example/" + "a" * 3000,
    ],
)
def test_a_permalink_that_is_not_plain_http_refuses_the_product(url: str) -> None:
    raw = woo_product(21, name="Bodysuit")
    raw["permalink"] = url
    error = refused(raw)
    assert error.product == "Bodysuit (id 21)"
    assert error.field == "permalink"
    assert "http(s)" in error.message
    assert "alert" not in str(error) and "evil" not in str(error)


def test_the_refused_scheme_is_named_so_the_owner_can_find_the_plugin() -> None:
    raw = woo_product(22, name="Bodysuit")
    raw["permalink"] = "javascript:alert(1)"
    assert str(refused(raw)) == (
        "product Bodysuit (id 22): permalink: expected an http(s) URL, got a javascript: URL"
    )


@pytest.mark.parametrize(
    "src",
    [
        "javascript:alert(1)",
        "data:image/svg+xml;base64,PHN2Zy8+",
        "//cdn.example/a.jpg",
        "http://shop.example/a b.jpg",
        "",
        None,
    ],
)
def test_an_image_that_is_not_plain_http_is_dropped_and_the_product_kept(src: str | None) -> None:
    raw = woo_product(23)
    raw["images"][0].update(src=src, alt="a picture")
    product = mapped(raw)
    assert (product.image_url, product.image_alt) == ("", "")
    assert product.recommendable


def test_a_product_without_images_or_categories_maps() -> None:
    raw = woo_product(24, image=None, categories=[])
    raw["categories"] = None
    product = mapped(raw)
    assert (product.image_url, product.categories, product.category_names) == ("", (), ())


def test_a_missing_permalink_maps_but_cannot_be_recommended() -> None:
    raw = woo_product(25)
    raw["permalink"] = None
    product = mapped(raw)
    assert product.permalink == ""
    assert not product.recommendable


@pytest.mark.parametrize(
    ("status", "stock", "recommendable"),
    [
        ("publish", "instock", True),
        ("publish", "onbackorder", True),
        ("publish", "outofstock", False),
        ("draft", "instock", False),
        ("pending", "instock", False),
        ("private", "instock", False),
        ("future", "instock", False),
        ("trash", "instock", False),
    ],
)
def test_only_published_orderable_products_are_recommendable(
    status: str, stock: str, recommendable: bool
) -> None:
    product = mapped(woo_product(26, status=status, stock_status=stock))
    assert product.status == status
    assert product.stock_status == StockStatus(stock)
    assert product.recommendable is recommendable


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("price", "12,50", "price", "decimal amount"),
        ("price", "-3.00", "price", "negative"),
        ("regular_price", ["59"], "regular_price", "a list"),
        ("stock_status", "preorder", "stock_status", "unknown stock status 'preorder'"),
        ("stock_status", None, "stock_status", "null"),
        ("status", "Publish\x1b", "status", "'Publish\\x1b'"),
        ("on_sale", "yes", "on_sale", "true/false"),
        ("date_modified_gmt", "2026-11-25 13:45", "date_modified_gmt", "UTC date"),
        ("date_modified_gmt", None, "date_modified_gmt", "missing"),
        ("permalink", 42, "permalink", "expected a URL, got a number"),
        ("images", {"src": "x"}, "images", "expected a list"),
        ("categories", ["gifts"], "categories[0]", "expected an object"),
        ("name", {"rendered": "x"}, "name", "expected text"),
        ("name", "bad \udc80 utf-8", "name", "invalid UTF-8"),
    ],
)
def test_bad_fields_name_the_product_and_the_json_path(
    path: str, value: Any, field: str, message: str
) -> None:
    raw = woo_product(31, name="Bodysuit")
    raw[path] = value
    error = refused(raw)
    named = "31 (id 31)" if path == "name" else "Bodysuit (id 31)"
    assert (error.product, error.field) == (named, field)
    assert message in error.message
    assert str(error).startswith(f"product {error.product}: {field}: ")


def test_nested_fields_are_named_by_their_json_path() -> None:
    raw = woo_product(32, name="Bodysuit")
    raw["images"][0]["src"] = ["https://shop.example/a.jpg"]
    raw["categories"].append({"id": 3, "name": 7, "slug": "seven"})
    assert refused(raw).field == "images[0].src"
    raw["images"][0]["src"] = "https://shop.example/a.jpg"
    assert refused(raw).field == "categories[1].name"


@pytest.mark.parametrize(
    ("raw", "position", "named"),
    [
        ({"id": 5, "name": "Cot &amp; mattress"}, None, "Cot & mattress (id 5)"),
        ({"id": 5, "name": ""}, None, "5 (id 5)"),
        ({"id": "5", "name": "Cot"}, 3, "Cot (at index 3)"),
        ({"id": -1}, 3, "at index 3"),
        ({"name": "\x1b[2J\u202eCot\n" + "y" * 100}, None, "[2JCot" + "y" * 34),
        (["not", "an", "object"], 0, "at index 0"),
        (None, None, "(unidentified)"),
    ],
)
def test_products_are_described_without_control_characters(
    raw: Any, position: int | None, named: str
) -> None:
    assert describe_product(raw, position) == named


def test_a_product_without_an_id_is_refused_and_named_by_position() -> None:
    raw = woo_product(33, name="Bodysuit")
    del raw["id"]
    error = refused(raw, position=4)
    assert (error.product, error.field) == ("Bodysuit (at index 4)", "id")


def test_a_batch_keeps_going_after_a_bad_product() -> None:
    bad = woo_product(42)
    bad["stock_status"] = "preorder"
    products, errors = map_products([woo_product(41), bad, "garbage", woo_product(43)], "li")
    assert [p.ref for p in products] == ["li/41", "li/43"]
    assert [(e.product, e.field) for e in errors] == [
        (f"{woo_product(42)['name']} (id 42)", "stock_status"),
        ("at index 2", "(whole product)"),
    ]


def test_product_errors_are_bad_input() -> None:
    error = refused("garbage")
    assert isinstance(error, BadInputError) and isinstance(error, ValueError)


def test_a_product_built_directly_still_refuses_unsafe_urls() -> None:
    good = mapped(woo_product(51))
    fields = {name: getattr(good, name) for name in Product.__dataclass_fields__}
    with pytest.raises(ProductDataError, match="permalink: not an http"):
        Product(**{**fields, "permalink": "javascript:alert(1)"})
    with pytest.raises(ProductDataError, match="image_url"):
        Product(**{**fields, "image_url": "data:image/png;base64,AAAA"})


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://shop.example/product/x/", True),
        ("http://127.0.0.1:8080/?post_type=product&p=5", True),
        ("HTTPS://SHOP.EXAMPLE/", True),
        ("https://店.example/产品/", True),
        ("https://shop.example/a b", False),
        ("https://shop.example/\u00a0", False),
        ("https://shop.example/\u200b", False),
        ("mailto:a@example.com", False),
        ("", False),
    ],
)
def test_only_absolute_http_urls_count_as_web_urls(url: str, ok: bool) -> None:
    assert is_web_url(url) is ok


# --- properties -----------------------------------------------------------------------------

hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\udc80", "\x00", "\u202e", "&amp;", "&#0;", "&#x1b;", "12,50", "1e3", ""]),
    st.sampled_from(["javascript:alert(1)", "data:,x", " https://a.example/", "https://a@b/"]),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
        st.decimals(allow_nan=True, allow_infinity=True),
        hostile_text,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["id", "src", "slug", "name", "alt"]),
            children,
            max_size=4,
        ),
    ),
    max_leaves=10,
)

BASE = woo_product(9001, price=Decimal("49.00"), regular_price=Decimal("59.00"))
PATHS = [
    *[(key,) for key in BASE],
    *[("images", 0, key) for key in BASE["images"][0]],
    *[("categories", 0, key) for key in BASE["categories"][0]],
    ("images", 0),
    ("categories", 0),
]


def _replaced(path: tuple[Any, ...], value: Any, delete: bool) -> dict[str, Any]:
    raw = as_sent(BASE)
    target = raw
    for part in path[:-1]:
        target = target[part]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


def clean(text: str) -> bool:
    """No control, bidi or zero-width character, and valid UTF-8."""
    return not any(ord(c) in _CONTROL or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def _map_or_refuse(raw: Any) -> Product | ProductDataError:
    try:
        product = map_product(raw, "m", position=0)
    except ProductDataError as error:
        assert error.product and error.field and error.message
        assert clean(str(error))
        return error
    for url in (product.permalink, product.image_url):
        assert url == "" or (is_web_url(url) and url.lower().startswith(("http://", "https://")))
    assert clean(product.name) and len(product.name) <= NAME_MAX
    assert all(map(clean, (product.image_alt, *product.categories, *product.category_names)))
    assert len(product.categories) == len(product.category_names) <= CATEGORIES_MAX
    return product


@PROPERTY
@given(st.sampled_from(PATHS), json_values, st.booleans())
def test_any_json_value_in_any_field_maps_or_is_refused_as_product_data(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    result = _map_or_refuse(_replaced(path, value, delete))
    if isinstance(result, ProductDataError):
        assert result.product.endswith("(id 9001)") or path == ("id",)


@PROPERTY
@given(json_values)
def test_any_json_document_as_a_product_maps_or_is_refused_as_product_data(value: Any) -> None:
    _map_or_refuse(value)


@PROPERTY
@given(st.text(max_size=60), st.text(max_size=60))
def test_no_url_but_plain_http_ever_comes_through(permalink: str, src: str) -> None:
    raw = as_sent(BASE)
    raw["permalink"], raw["images"][0]["src"] = permalink, src
    for prefix in ("", "https://", "javascript:"):
        raw["permalink"] = prefix + permalink
        _map_or_refuse(raw)


valid_products = st.builds(
    woo_product,
    st.integers(min_value=1, max_value=2**40),
    name=st.text(max_size=80),
    price=st.none() | st.decimals(min_value=0, max_value=Decimal("9999.99"), places=2),
    stock_status=st.sampled_from([s.value for s in StockStatus]),
    categories=st.lists(st.text(min_size=1, max_size=20), max_size=4),
    status=st.sampled_from(["publish", "draft", "private", "pending"]),
    type=st.sampled_from(["simple", "variable"]),
    image=st.sampled_from(["auto", None, "javascript:alert(1)"]),
)


@PROPERTY
@given(valid_products)
def test_every_fixture_product_maps_and_is_recommendable_exactly_when_it_should(
    raw: dict[str, Any],
) -> None:
    product = map_product(as_sent(raw), "m")
    assert product.product_id == str(raw["id"])
    assert product.modified_at.tzinfo is UTC
    assert product.recommendable == (
        raw["status"] == "publish" and raw["stock_status"] != "outofstock"
    )
    sent_image = raw["images"][0]["src"] if raw["images"] else ""
    assert bool(product.image_url) == sent_image.startswith("https://")
