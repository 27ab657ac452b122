"""The sync quarantines one odd order and books the rest of its page.

Documents JSON allows but the ledger cannot take: an integer over 64 bits, a lone surrogate, a
date in 2099, an id that is a list, a NUL in a date. The 2099 order and a lone surrogate in a
page's JSON (the sandbox's ``surrogate`` fault) go through the real sandbox over HTTP; values the
sandbox cannot hold (it stores orders with orjson) are served by a small store that hands the
sync documents as a tolerant JSON parser reads them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from alliance.services import sync_records as records
from alliance.storage.schema import orders
from connector.fixtures.orders import woo_order
from connector.sandbox.server import start_sandbox
from connector.storefront import Page
from connector.sync import sync_member
from tests.conftest import SECRET
from tests.connector.test_sync import connect

KEY = SECRET.encode()
BASE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


class ParsedStore:
    """A store whose pages are parsed by the standard library, which keeps what orjson cannot:
    integers of any size and lone surrogates (``"\\ud800"`` in the JSON text)."""

    member = "wang"

    def __init__(self, text: str) -> None:
        self.documents = json.loads(text)

    def list_orders(
        self, *, modified_after: datetime | None, status: str | None = None, **_: Any
    ) -> Page:
        if status == "trash":
            return Page([], 1, 0, 0)
        bound = "" if modified_after is None else f"{modified_after:%Y-%m-%dT%H:%M:%S}"
        found = [d for d in self.documents if str(d.get("date_modified_gmt")) > bound]
        return Page(found, 1, len(found), 1)

    def list_products(self, **_: Any) -> Page:
        return Page([], 1, 0, 0)


def wang_page(count: int) -> list[dict[str, Any]]:
    return [
        woo_order(
            5001 + n,
            created=BASE + timedelta(minutes=n),
            coupons=[("LI-FRIENDS", Decimal("5.00"))],
        )
        for n in range(count)
    ]


def booked(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(orders.c.external_id)).scalars())


@pytest.mark.parametrize(
    ("where", "raw", "reason"),
    [
        ("quantity", "1180591620717411303424", "line_items[0].quantity: out of range"),
        ("name", '"Baby \\ud800 wash"', "line_items[0].name: invalid UTF-8"),
        ("first_name", "100000000000000000000", None),  # a field the firewall drops
        ("first_name", '"M\\udfffei"', None),
    ],
    ids=["70-bit quantity", "surrogate in a kept name", "huge dropped", "surrogate dropped"],
)
def test_one_odd_order_on_a_page_is_quarantined_and_the_rest_booked(
    engine, agreement, where, raw, reason
):
    documents = wang_page(6)
    marker = "ODD-VALUE-HERE"
    target = documents[3]["billing" if where == "first_name" else "line_items"]
    (target if where == "first_name" else target[0])[where] = marker
    text = json.dumps(documents).replace(f'"{marker}"', raw)
    report = sync_member(engine, agreement, ParsedStore(text), secret=KEY, products=False)
    assert report.ok, report.error
    with engine.connect() as conn:
        held = records.quarantined(conn, "wang")
    if reason is None:
        assert report.quarantined == 0 and held == []
        assert len(booked(engine)) == 6
        return
    assert report.quarantined == 1 and booked(engine) == {str(5001 + n) for n in (0, 1, 2, 4, 5)}
    assert [(h.external_id, h.reason.startswith(reason)) for h in held] == [("5004", True)]
    assert raw.strip('"') not in held[0].reason


def test_an_order_dated_2099_is_quarantined_with_what_to_check(engine, agreement) -> None:
    documents = wang_page(5)
    future = woo_order(5099, created=datetime(2099, 1, 1, tzinfo=UTC))
    with start_sandbox(orders=[*documents, future]) as handle:
        report = sync_member(engine, agreement, connect(handle), secret=KEY, products=False)
    assert report.ok and report.quarantined == 1
    assert booked(engine) == {str(5001 + n) for n in range(5)}
    with engine.connect() as conn:
        (held,) = records.quarantined(conn, "wang")
    assert held.external_id == "5099"
    assert held.reason.startswith("date_created_gmt: ")
    assert "in the future" in held.reason and "clock" in held.reason


def test_an_order_dated_2099_does_not_carry_the_bookmark_past_today(
    sqlite_engine, agreement
) -> None:
    future = woo_order(5099, created=datetime(2099, 1, 1, tzinfo=UTC))
    with start_sandbox(orders=[*wang_page(3), future]) as handle:
        store = connect(handle)
        sync_member(sqlite_engine, agreement, store, secret=KEY, products=False)
        now = datetime.now(UTC)  # a new order: the store stamps its modification now
        handle.state.add_orders([woo_order(5010, created=now - timedelta(hours=1), modified=now)])
        sync_member(sqlite_engine, agreement, store, secret=KEY, products=False)
    assert "5010" in booked(sqlite_engine)


def test_a_lone_surrogate_on_a_real_stores_page_quarantines_its_order_not_the_sync(
    engine, agreement
) -> None:
    """JSON allows an escaped lone surrogate and orjson refuses it: the page is read again by
    the standard library, and only the order holding it is quarantined, by its field."""
    with start_sandbox(orders=wang_page(5), faults="surrogate@path=orders") as handle:
        report = sync_member(engine, agreement, connect(handle), secret=KEY, products=False)
    assert report.ok, report.error
    assert report.quarantined == 1 and len(booked(engine)) == 4
    with engine.connect() as conn:
        (held,) = records.quarantined(conn, "wang")
    assert held.reason.startswith("line_items[0].name: ")


def test_an_id_or_date_a_broken_store_sent_as_a_list_is_quarantined_not_a_crash(
    engine, agreement
) -> None:
    documents = wang_page(4)
    documents[1]["id"] = [5002, 5003]
    documents[2]["date_modified_gmt"] = {"date": "2026-11-02T08:02:00"}
    report = sync_member(
        engine, agreement, ParsedStore(json.dumps(documents)), secret=KEY, products=False
    )
    assert report.ok, report.error
    assert booked(engine) == {"5001", "5004"} and report.quarantined == 2


def test_a_nul_in_a_quarantined_orders_date_is_stored_as_a_question_mark(engine, agreement) -> None:
    """PostgreSQL refuses NUL in text: kept raw, it would fail the whole page."""
    documents = wang_page(3)
    documents[1]["date_modified_gmt"] = "2026-11-02T08:01:00\u0000"
    text = json.dumps(documents)  # the NUL travels as \u0000, as JSON writes it
    report = sync_member(engine, agreement, ParsedStore(text), secret=KEY, products=False)
    assert report.ok, report.error
    assert booked(engine) == {"5001", "5003"}
    with engine.connect() as conn:
        (held,) = records.quarantined(conn, "wang")
    assert held.external_id == "5002" and "\x00" not in held.date_modified
