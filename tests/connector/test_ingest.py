"""The ingest path: identical documents skipped, revisions applied, nothing personal stored."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import select

from alliance.errors import BadInputError, OrderDataError
from alliance.storage.schema import ledger_entries, orders
from connector.fixtures.orders import distinctive_customer, woo_order
from connector.woocommerce.ingest import ingest_orders, ingest_pages, source_digest
from tests.conftest import SECRET

KEY = SECRET.encode()
PAID = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
BODYSUIT = [(101, "Organic bodysuit", 2, Decimal("150.00"))]


def referred(id: int, **kw) -> dict:
    kw.setdefault("coupons", [("WANG-LOVES-LI", Decimal("0"))])
    return woo_order(id, created=PAID, lines=BODYSUIT, **kw)


def test_documents_seen_before_are_skipped_and_book_nothing(engine, agreement):
    docs = [referred(1), referred(2)]
    first = ingest_orders(engine, agreement, docs, member="li", secret=KEY)
    assert (first.orders_applied, first.entries_booked) == (2, 2)
    again = ingest_orders(engine, agreement, json.loads(json.dumps(docs)), member="li", secret=KEY)
    assert (again.orders_seen, again.orders_unchanged, again.orders_applied) == (2, 2, 0)
    assert again.entries_booked == 0


def test_a_changed_document_with_the_same_modified_second_is_still_a_new_revision(
    engine, agreement
):
    ingest_orders(engine, agreement, [referred(1)], member="li", secret=KEY)
    cancelled = referred(1)
    cancelled["status"] = "cancelled"  # same date_modified_gmt: WooCommerce keeps whole seconds
    result = ingest_orders(engine, agreement, [cancelled], member="li", secret=KEY)
    assert result.orders_applied == 1
    with engine.connect() as conn:
        amounts = conn.execute(select(ledger_entries.c.amount_minor)).scalars().all()
    assert sorted(amounts) == [-2400, 2400]  # 8% of 300.00 booked, then reversed


def test_pages_of_api_json_are_parsed_and_booked_in_batches(engine, agreement):
    page_one = orjson.dumps([referred(n) for n in range(1, 4)])
    page_two = orjson.dumps([referred(n) for n in range(4, 6)]).decode()
    result = ingest_pages(
        engine, agreement, [page_one, page_two], member="li", secret=KEY, batch_size=2
    )
    assert (result.orders_seen, result.orders_applied, result.entries_booked) == (5, 5, 5)


def test_a_bad_order_in_a_page_is_rejected_by_name_and_the_rest_are_booked(engine, agreement):
    bad = referred(7)
    bad["line_items"][0]["quantity"] = -1
    result = ingest_orders(engine, agreement, [referred(6), bad], member="li", secret=KEY)
    assert result.orders_applied == 1
    (problem,) = result.rejected
    assert isinstance(problem, OrderDataError)
    assert "#7" in problem.order and problem.field == "line_items[0].quantity"


def test_the_collector_is_running_again_after_ingest_even_when_it_fails(engine, agreement):
    assert gc.isenabled()
    ingest_orders(engine, agreement, [referred(8)], member="li", secret=KEY)
    assert gc.isenabled()
    with pytest.raises(BadInputError, match="li: orders page 2 is not valid JSON"):
        pages = [orjson.dumps([referred(9)]), b"[1, 2"]
        ingest_pages(engine, agreement, pages, member="li", secret=KEY)
    assert gc.isenabled()


def test_the_digest_is_keyed_and_changes_with_any_byte_of_the_document():
    doc = referred(9)
    assert source_digest(doc, KEY) == source_digest(json.loads(json.dumps(doc)), KEY)
    assert source_digest(doc, KEY) != source_digest(doc, b"another-secret-another-secret-00")
    changed = json.loads(json.dumps(doc))
    changed["billing"]["phone"] = "+86 0"
    assert source_digest(changed, KEY) != source_digest(doc, KEY)


def test_no_personal_data_reaches_the_database_file(tmp_path, agreement):
    from alliance.storage.database import open_database

    engine = open_database(f"sqlite:///{tmp_path / 'firewall.db'}")
    customer = distinctive_customer("Zq7Leak")
    docs = [
        referred(n, customer=customer, modified=PAID + timedelta(minutes=n), cod=n % 2 == 0)
        for n in range(1, 6)
    ]
    for doc in docs:
        doc["customer_note"] = "Zq7Leak-note please ring twice"
    ingest_orders(engine, agreement, docs, member="li", secret=KEY)
    with engine.connect() as conn:
        stored = conn.execute(select(orders.c.customer_key, orders.c.country)).all()
    engine.dispose()
    assert len(stored) == 5 and all(len(key) == 64 and country == "CN" for key, country in stored)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("firewall.db"))
    assert b"Zq7Leak" not in raw
    assert customer["email"].encode() not in raw and b"203.0.113.9" not in raw


def _booked_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(orders.c.external_id)).scalars())


def _at(doc: dict, path: tuple, value) -> dict:
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("id",), 1180591620717411303424, "id"),
        (("line_items", 0, "quantity"), 10**20, "line_items[0].quantity"),
        (("line_items", 0, "product_id"), 2**64, "line_items[0].product_id"),
        (("line_items", 0, "name"), "Organic \ud800 bodysuit", "line_items[0].name"),
        (("coupon_lines", 0, "code"), "wang-\udfffloves-li", "coupon_lines[0].code"),
    ],
    ids=["70-bit id", "67-bit quantity", "65-bit product", "surrogate name", "surrogate code"],
)
def test_an_order_the_json_encoder_cannot_take_is_refused_by_field_and_the_rest_booked(
    engine, agreement, path, value, field
):
    bad = _at(referred(22), path, value)
    docs = [referred(21), bad, referred(23)]
    result = ingest_orders(engine, agreement, docs, member="li", secret=KEY)
    assert result.orders_applied == 2 and _booked_ids(engine) == {"21", "23"}
    (problem,) = result.rejected
    assert problem.field == field
    assert str(value) not in str(problem)  # neither the number nor the text is quoted
    assert "\ud800" not in str(problem) and "\udfff" not in str(problem)


@pytest.mark.parametrize(
    "value",
    [2**70, "M\ud800ei", {"deep": json.loads("[" * 300 + "]" * 300)}, -(2**64), 10**5000],
    ids=["70-bit", "surrogate", "300-deep", "negative-65-bit", "5001-digit"],
)
def test_odd_values_in_fields_the_firewall_drops_neither_stop_nor_repeat_the_order(
    sqlite_engine, agreement, value
):
    docs = [referred(31), _at(referred(32), ("billing", "first_name"), value)]
    docs[1]["meta_data"].append({"id": 9, "key": "_plugin", "value": value})
    first = ingest_orders(sqlite_engine, agreement, docs, member="li", secret=KEY)
    assert (first.orders_applied, first.rejected) == (2, [])
    again = ingest_orders(sqlite_engine, agreement, docs, member="li", secret=KEY)
    assert (again.orders_unchanged, again.orders_applied) == (2, 0)  # the digest is stable


def test_the_fallback_digest_tells_documents_apart():
    one = _at(referred(41), ("billing", "first_name"), 2**70)
    two = _at(referred(41), ("billing", "first_name"), 2**70 + 1)
    assert source_digest(one, KEY) != source_digest(two, KEY)
    assert source_digest(one, KEY) == source_digest(json.loads(json.dumps(one)), KEY)
    surrogate = _at(referred(41), ("billing", "first_name"), "\ud800")
    assert source_digest(surrogate, KEY) != source_digest(one, KEY)


@pytest.mark.parametrize(
    ("path", "value", "field", "says"),
    [
        (("total",), "300.005", "total", "3 decimal places; CNY has 2"),
        (("total",), "99999999999999999999.99", "total", "too large"),
        (("line_items", 0, "total"), "300.001", "line_items[0].total", "CNY has 2"),
        (("line_items", 0, "subtotal"), "99999999999999999.99", "line_items[0].subtotal", "large"),
        (("refunds",), [{"id": 1, "total": "-0.125"}], "refunds[0].total", "CNY has 2"),
    ],
)
def test_amounts_the_ledger_cannot_hold_are_refused_alone(
    engine, agreement, path, value, field, says
):
    docs = [referred(51), _at(referred(52), path, value), referred(53)]
    result = ingest_orders(engine, agreement, docs, member="li", secret=KEY)
    assert _booked_ids(engine) == {"51", "53"}
    (problem,) = result.rejected
    assert (problem.field, problem.external_id) == (field, "52")
    assert says in problem.message
    assert "99999999999999999" not in problem.message


@pytest.mark.parametrize("field", ["date_created_gmt", "date_modified_gmt", "date_paid_gmt"])
def test_an_order_dated_more_than_a_day_ahead_is_rejected_with_what_to_check(
    sqlite_engine, agreement, field
):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    late = referred(62, modified=now + timedelta(hours=2))
    late[field] = "2099-01-01T00:00:00"
    if field == "date_created_gmt":
        late["date_modified_gmt"] = late["date_paid_gmt"] = "2099-01-01T00:00:00"
    docs = [referred(61), late]
    result = ingest_orders(sqlite_engine, agreement, docs, member="li", secret=KEY, now=now)
    assert _booked_ids(sqlite_engine) == {"61"}
    (problem,) = result.rejected
    assert problem.field == field
    assert "in the future" in problem.message and "2099-01-01T00:00:00" in problem.message
    assert "clock" in problem.message and "timezone" in problem.message


def test_an_order_a_little_ahead_of_our_clock_is_booked(sqlite_engine, agreement):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    ahead = referred(71, modified=now + timedelta(hours=23, minutes=59))
    result = ingest_orders(sqlite_engine, agreement, [ahead], member="li", secret=KEY, now=now)
    assert (result.orders_applied, result.rejected) == (1, [])
