"""Properties: whatever JSON a store sends, mapping answers an Order or an OrderDataError."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.errors import OrderDataError
from alliance.orders import Order
from connector.fixtures.orders import woo_order
from connector.woocommerce.mapping import map_order

SECRET = b"alliance-test-secret"
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

hostile_text = st.one_of(
    st.text(max_size=30),
    st.text(st.sampled_from(["\udc80", "\udcff", "\ud800", "\x00", "\u202e", "a", "-", "1", "."])),
    st.sampled_from(["12,50", "1e3", "-10.00", "NaN", "Infinity", "", "(none)", "2026-11-25"]),
)
KEYS = ["key", "value", "total", "id", "status", "quantity", "email", "country"]
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.floats(),
        hostile_text,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10) | st.sampled_from(KEYS), children, max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip

BASE = woo_order(
    9001,
    coupons=[("Save10", Decimal(10))],
    refunds=[Decimal("5.00")],
    tax_rate=Decimal("0.13"),
    attribution={"utm_source": "alliance", "utm_content": "c1"},
)
PATHS = [
    *[(key,) for key in BASE],
    *[("billing", key) for key in BASE["billing"]],
    *[("shipping", key) for key in BASE["shipping"]],
    *[("line_items", 0, key) for key in BASE["line_items"][0]],
    *[("coupon_lines", 0, key) for key in BASE["coupon_lines"][0]],
    ("refunds", 0, "total"),
    ("refunds", 0),
    ("line_items", 1),
    ("meta_data", 3),
    ("meta_data", 3, "key"),
    ("meta_data", 3, "value"),
    ("meta_data", 5, "value"),
]


def _replaced(path: tuple[Any, ...], value: Any, delete: bool) -> dict[str, Any]:
    raw = json.loads(json.dumps(BASE), parse_float=Decimal)
    target = raw
    for part in path[:-1]:
        target = target[part]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


def _map_or_refuse(raw: Any) -> Order | OrderDataError:
    try:
        return map_order(raw, member="m", secret=SECRET, position=0)
    except OrderDataError as error:
        assert error.order and error.field and error.message
        return error


@PROPERTY
@given(st.sampled_from(PATHS), json_values, st.booleans())
def test_any_json_value_in_any_field_maps_or_is_refused_as_order_data(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    result = _map_or_refuse(_replaced(path, value, delete))
    if isinstance(result, OrderDataError):
        assert result.order.startswith("#9001")


@PROPERTY
@given(json_values)
def test_any_json_document_as_an_order_is_refused_as_order_data(value: Any) -> None:
    """A JSON value that is not a WooCommerce order (no id, no money, no dates) is refused
    as order data, never mapped and never any other exception."""
    assert isinstance(_map_or_refuse(value), OrderDataError)


unit_prices = st.decimals(min_value=0, max_value=Decimal("9999.99"), places=2)
valid_orders = st.builds(
    woo_order,
    st.integers(min_value=1, max_value=2**40),
    status=st.sampled_from(["pending", "processing", "completed", "on-hold", "refunded"]),
    created=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    lines=st.lists(
        st.tuples(st.integers(1, 10**6), st.text(max_size=40), st.integers(0, 50), unit_prices),
        max_size=5,
    ),
    coupons=st.lists(st.tuples(st.text(min_size=1, max_size=12), unit_prices), max_size=3),
    refunds=st.none() | st.lists(unit_prices, max_size=3),
    shipping=st.decimals(min_value=0, max_value=100, places=2),
    tax_rate=st.sampled_from([Decimal(0), Decimal("0.06"), Decimal("0.09"), Decimal("0.13")]),
    attribution=st.none()
    | st.fixed_dictionaries({"utm_source": st.sampled_from(["", "alliance"])}),
    cod=st.booleans(),
    utc_offset=st.sampled_from([timedelta(0), timedelta(hours=8), timedelta(hours=-5)]),
)


@PROPERTY
@given(valid_orders)
def test_every_valid_fixture_order_maps_with_consistent_money(raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(raw), parse_float=Decimal)  # exactly what the API would send
    order = map_order(raw, member="m", secret=SECRET, now=datetime(2035, 2, 1, tzinfo=UTC))
    assert order.items_total <= order.items_subtotal
    assert order.refunded_total >= 0
    assert order.discount_total == order.items_subtotal - order.items_total
    assert order.total == order.items_total + order.shipping_total + order.tax_total
    assert order.created_at.tzinfo is UTC and order.modified_at >= order.created_at
    assert all(code == code.strip().lower() for code in order.coupon_codes)
    assert len(order.customer_key) == 64
    assert order.paid_at is None or raw["payment_method"] != "cod"
