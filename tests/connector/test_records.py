"""Typed records (msgspec): the same orders and refusals as parsing whole, nothing personal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from alliance.errors import OrderDataError
from alliance.orders import Order
from connector import json_body
from connector.fixtures.orders import PERSONAL_STRINGS, distinctive_customer, woo_order
from connector.sandbox.seed import generate_orders
from connector.woocommerce.ingest import ingest_pages
from connector.woocommerce.mapping import map_order
from connector.woocommerce.records import meta_value, order_records, page_entries
from connector.woocommerce.typed_ingest import ingest_typed_pages
from tests.conftest import SECRET
from tests.connector.test_mapping_properties import PATHS, PROPERTY, _replaced, json_values
from tests.connector.test_sync import ledger

KEY = SECRET.encode()


def outcome(document: Any) -> Order | tuple[str, str, str]:
    try:
        return map_order(document, member="m", secret=KEY, position=0)
    except OrderDataError as error:
        return (error.order, error.field, error.message)


def page_of(*documents: Any) -> bytes:
    return json.dumps(list(documents), default=str, allow_nan=False).encode()


@PROPERTY
@given(st.sampled_from(PATHS), json_values, st.booleans())
def test_any_value_in_any_field_maps_or_is_refused_exactly_as_when_parsed_whole(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    try:
        page = page_of(_replaced(path, value, delete))
    except ValueError:  # NaN or infinity: not JSON, no store sends it
        assume(False)
    [whole] = json_body.loads(page)
    [typed] = order_records(page)
    assert outcome(typed) == outcome(whole)


@given(st.lists(json_values, max_size=4))
def test_anything_in_a_page_is_refused_as_order_data_as_when_parsed_whole(
    documents: list[Any],
) -> None:
    try:
        page = page_of(*documents)
    except ValueError:
        assume(False)
    whole, typed = json_body.loads(page), order_records(page)
    assert [outcome(d) for d in typed] == [outcome(d) for d in whole]


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def test_personal_fields_are_never_made_into_python_objects() -> None:
    customer = distinctive_customer("Qx7Leak")
    document = woo_order(
        9001,
        customer=customer,
        attribution={"utm_source": "alliance", "utm_content": "c1", "source_type": "utm"},
    )
    document["customer_note"] = "Qx7Leak leave it at the door"
    document["meta_data"].append({"id": 9, "key": "_billing_phone", "value": "Qx7Leak 555"})
    [record] = order_records(page_of(document))
    kept = strings_in(record)
    personal = [customer[field] for field in PERSONAL_STRINGS if field != "email"]
    assert not [
        s
        for s in kept
        for p in ["Qx7Leak", *personal]
        if p in s and s != record["billing"]["email"]
    ]
    assert set(record["billing"]) <= {"email", "country", "state"}
    assert all(type(entry["value"]) is msgspec.Raw for entry in record["meta_data"])
    assert map_order(record, member="m", secret=KEY) == map_order(document, member="m", secret=KEY)


def test_a_meta_value_is_decoded_only_when_read() -> None:
    [entry] = page_entries(b'[{"a": 1}]', KEY)
    assert meta_value(msgspec.Raw(b'"x"')) == "x" and meta_value(7) == 7
    assert meta_value(msgspec.Raw(b"\xff")) is None
    assert entry.digest and len(entry.digest) == 32


def test_a_page_that_is_not_a_list_is_refused_whole(sqlite_engine, agreement) -> None:
    from alliance.errors import BadInputError

    with pytest.raises(BadInputError, match="page 1 is not a JSON list"):
        ingest_typed_pages(sqlite_engine, agreement, [b'{"id": 1}'], member="wang", secret=KEY)


def test_typed_pages_book_the_ledger_that_whole_pages_book_and_replay_books_nothing(
    tmp_path, agreement
) -> None:
    from alliance.storage.database import open_database

    documents = generate_orders(450, seed=3, start=70_001)
    documents[17]["line_items"][0]["total"] = "12,50"  # refused by both, in the same words
    documents[40]["billing"] = "nowhere"  # a broken container: refused, not a crash
    documents[41]["line_items"][0] = 5
    pages = [json.dumps(documents[i : i + 100]).encode() for i in range(0, 450, 100)]
    whole_db = open_database(f"sqlite:///{tmp_path / 'whole.db'}")
    typed_db = open_database(f"sqlite:///{tmp_path / 'typed.db'}")
    options = {"member": "wang", "secret": KEY}
    whole = ingest_pages(whole_db, agreement, pages, **options)
    typed = ingest_typed_pages(typed_db, agreement, pages, **options)
    again = ingest_typed_pages(typed_db, agreement, pages, **options)
    assert ledger(typed_db) == ledger(whole_db) and ledger(typed_db)
    assert [str(e) for e in typed.rejected] == [str(e) for e in whole.rejected]
    assert len(typed.rejected) == 3
    assert again.entries_booked == 0 and again.orders_unchanged >= 447
    whole_db.dispose()
    typed_db.dispose()


def test_money_stays_exact_through_typed_records() -> None:
    document = woo_order(9002, lines=[(1, "Wash", 3, Decimal("19.99"))])
    [record] = order_records(page_of(document))
    mapped = map_order(record, member="m", secret=KEY)
    assert mapped.items_total == Decimal("59.97")
