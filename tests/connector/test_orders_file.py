"""Orders files: good orders import, each bad one is reported alone, broken files fail loudly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alliance.errors import BadInputError, OrderDataError
from alliance.orders import Order
from connector.fixtures.orders import woo_order
from connector.woocommerce.files import read_orders_file
from connector.woocommerce.mapping import map_order, map_orders

SECRET = b"alliance-test-secret"


def read(path: Path) -> list[Order | OrderDataError]:
    return read_orders_file(path, member="li", secret=SECRET)


def write(path: Path, orders: Any) -> Path:
    path.write_text(json.dumps(orders, ensure_ascii=False), encoding="utf-8")
    return path


def good(order_id: int) -> dict[str, Any]:
    return woo_order(order_id, lines=[(7, "Wooden rattle", 1, Decimal("45.00"))])


def test_a_file_of_good_orders_maps_every_order(tmp_path: Path) -> None:
    orders = [good(1), good(2), good(3)]
    results = read(write(tmp_path / "orders.json", orders))
    assert results == [map_order(o, member="li", secret=SECRET) for o in orders]
    assert all(isinstance(r.total, Decimal) for r in results if isinstance(r, Order))


def test_an_orders_wrapper_object_is_accepted(tmp_path: Path) -> None:
    results = read(write(tmp_path / "orders.json", {"orders": [good(1)]}))
    assert [r.external_id for r in results if isinstance(r, Order)] == ["1"]


def _bad_orders() -> list[tuple[Any, str, str]]:
    """(order, field, order label) for each kind of bad order."""
    missing = good(11)
    del missing["total"]
    comma = good(12)
    comma["total"] = "12,50"
    null_total = good(13)
    null_total["total"] = None
    unknown = good(14)
    unknown["status"] = "wc-shipped"
    negative = good(15)
    negative["line_items"][0]["quantity"] = -2
    return [
        (missing, "total", "#11 (id 11)"),
        (comma, "total", "#12 (id 12)"),
        (null_total, "total", "#13 (id 13)"),
        (unknown, "status", "#14 (id 14)"),
        (negative, "line_items[0].quantity", "#15 (id 15)"),
        ("not an order", "(whole order)", "at index 11"),
        (None, "(whole order)", "at index 13"),
    ]


def test_each_bad_order_is_reported_alone_and_the_others_still_map(tmp_path: Path) -> None:
    bad = _bad_orders()
    orders: list[Any] = []
    for n, (order, _, _) in enumerate(bad):
        orders += [good(100 + n), order]
    results = read(write(tmp_path / "orders.json", orders))
    assert len(results) == len(orders)
    for n, (_, field, label) in enumerate(bad):
        ok, error = results[2 * n], results[2 * n + 1]
        assert isinstance(ok, Order) and ok.external_id == str(100 + n)
        assert isinstance(error, OrderDataError)
        assert (error.order, error.field) == (label, field)


def test_invalid_utf8_bytes_reject_only_the_order_that_holds_them(tmp_path: Path) -> None:
    broken = good(2)
    broken["line_items"][0]["name"] = "Wooden BADBYTES rattle"
    dropped = good(3)
    dropped["billing"]["first_name"] = "DROPBYTES"
    data = json.dumps([good(1), broken, dropped]).encode()
    data = data.replace(b"BADBYTES", b"\xff\xfe").replace(b"DROPBYTES", b"M\xe9i")
    path = tmp_path / "orders.json"
    path.write_bytes(data)
    first, second, third = read(path)
    assert isinstance(first, Order)
    assert isinstance(second, OrderDataError)
    assert (second.order, second.field, second.message) == (
        "#2 (id 2)",
        "line_items[0].name",
        "invalid UTF-8",
    )
    assert isinstance(third, Order)  # the bad bytes were in a name the firewall drops anyway


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([good(1)]).encode())
    assert isinstance(read(path)[0], Order)


def test_json_numbers_are_read_as_exact_decimals(tmp_path: Path) -> None:
    order = good(1)
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([order]).replace('"total": "55.00"', '"total": 55.10'))
    (result,) = read(path)
    assert isinstance(result, Order) and result.total == Decimal("55.10")


def test_a_file_that_is_not_json_names_the_file_and_the_position(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,total\n1,12.50\n")
    with pytest.raises(BadInputError) as caught:
        read(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 1 column" in message
    assert "GET /wp-json/wc/v3/orders" in message


@pytest.mark.parametrize("content", ['{"id": 1}', '"orders"', "42", '{"orders": 5}'])
def test_json_that_is_not_a_list_of_orders_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "orders.json"
    path.write_text(content)
    with pytest.raises(BadInputError, match="expected a JSON list of orders"):
        read(path)


def test_a_missing_file_is_a_bad_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"nowhere\.json"):
        read(tmp_path / "nowhere.json")


def test_deeply_nested_json_is_refused_without_crashing(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadInputError):
        read(path)


def test_map_orders_works_on_an_already_parsed_api_page() -> None:
    page = json.loads(json.dumps([good(1), {"id": 2}]), parse_float=Decimal)
    first, second = map_orders(page, member="li", secret=SECRET)
    assert isinstance(first, Order) and first.member == "li"
    assert isinstance(second, OrderDataError) and second.order == "#2 (id 2)"


def test_an_integer_too_long_for_python_refuses_only_its_order(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    text = json.dumps([good(1), good(2), good(3)]).replace('"id": 2,', '"id": ' + "9" * 5000 + ",")
    path.write_text(text)
    first, second, third = read(path)
    assert isinstance(first, Order) and isinstance(third, Order)
    assert isinstance(second, OrderDataError) and second.field == "id"
    assert "9999" not in str(second)
