"""Incremental sync from a real sandbox store into real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from alliance.services import sync_records as records
from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders, products
from connector.errors import AuthFailed, BadResponse
from connector.fixtures.orders import woo_order
from connector.fixtures.products import woo_product
from connector.http import HttpPolicy, StoreClient
from connector.sandbox.server import start_sandbox
from connector.sync import sync_member
from connector.woocommerce.ingest import ingest_orders
from connector.woocommerce.store import WooCommerceStore
from tests.conftest import SECRET

BASE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
KEY = SECRET.encode()


def wang_orders(count: int, *, start: int = 5001, same_second: bool = False) -> list[dict]:
    """Wang's orders: a third with Li's referral coupon (a 10% deal), a mix of statuses."""
    rng = random.Random(count)
    result = []
    for n in range(count):
        moment = BASE if same_second else BASE + timedelta(minutes=n)
        coupons = [("LI-FRIENDS", Decimal("5.00"))] if n % 3 == 0 else []
        status = rng.choice(["processing", "completed", "completed", "on-hold", "pending"])
        status = "completed" if coupons else status
        result.append(
            woo_order(start + n, status=status, created=moment, modified=moment, coupons=coupons)
        )
    return result


def connect(handle, *, attempts: int = 3, member: str = "wang", key=None) -> WooCommerceStore:
    key = key or handle.key
    client = StoreClient(
        member, policy=HttpPolicy(attempts=attempts), verify=True, sleep=lambda _s: None
    )
    return WooCommerceStore(
        member, handle.url, key.consumer_key, key.consumer_secret, client=client
    )


def sync(engine, agreement, store, **options):
    return sync_member(engine, agreement, store, secret=KEY, **options)


def ledger(engine: Engine) -> dict[tuple[str, str, str, str], int]:
    """Net booked per (order, deal, payer, payee): what the statements are made of."""
    e = ledger_entries.c
    query = select(e.source_ref, e.deal_id, e.payer, e.payee, func.sum(e.amount_minor)).group_by(
        e.source_ref, e.deal_id, e.payer, e.payee
    )
    with engine.connect() as conn:
        return {tuple(row[:4]): int(row[4]) for row in conn.execute(query)}


def snapshots(engine: Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(orders.c.external_id, orders.c.status, orders.c.refunded_minor))
        return {row[0]: (row[1], row[2]) for row in rows}


def expected_from(store_orders: list[dict], agreement, tmp_path: Path):
    """The ledger and snapshots a fresh database gets from the store's final state at once."""
    fresh = open_database(f"sqlite:///{tmp_path / 'expected.db'}")
    live = [o for o in store_orders if o["status"] != "trash"]
    ingest_orders(fresh, agreement, live, member="wang", secret=KEY)
    try:
        return ledger(fresh), snapshots(fresh)
    finally:
        fresh.dispose()


def bookmark(engine: Engine, member: str = "wang") -> datetime | None:
    with engine.connect() as conn:
        return records.load_state(conn, member).orders_bookmark


def test_backfill_then_only_changes(engine, agreement) -> None:
    with start_sandbox(orders=wang_orders(260)) as handle:
        store = connect(handle)
        seen: list[tuple[int, int | None]] = []
        first = sync(engine, agreement, store, progress=lambda *counts: seen.append(counts))
        assert first.ok and first.orders_fetched == 260
        assert first.booking.entries_booked > 0
        assert len(snapshots(engine)) == 260
        assert bookmark(engine) == BASE + timedelta(minutes=259)
        assert seen[-1] == (260, 260)
        booked = ledger(engine)

        again = sync(engine, agreement, store)
        assert again.ok and again.booking.orders_applied == 0 and again.booking.entries_booked == 0
        assert again.requests <= 4  # the overlap window, trash and products: not 260 orders
        assert ledger(engine) == booked

        handle.state.refund(5001, "20.00")
        handle.state.set_status(5004, "cancelled")
        handle.state.set_status(5007, "trash")
        changed = sync(engine, agreement, store)
        assert changed.ok and changed.booking.orders_applied == 3
        assert changed.orders_fetched <= 3 + 10
        after = ledger(engine)
        refunded = ("wang/5001", "li-wang", "wang", "li")
        assert booked[("wang/5004", "li-wang", "wang", "li")] > 0
        assert 0 < after[refunded] < booked[refunded]  # the commission shrank with the refund
        assert after[("wang/5004", "li-wang", "wang", "li")] == 0  # cancelled: reversed
        assert after[("wang/5007", "li-wang", "wang", "li")] == 0  # trashed: reversed
        assert bookmark(engine) > BASE + timedelta(minutes=259)


def test_orders_changing_while_we_page_are_neither_skipped_nor_double_booked(
    sqlite_engine, agreement, tmp_path
) -> None:
    with start_sandbox(orders=wang_orders(450)) as handle:
        store = connect(handle)
        handle.faults.set("mutate:4@path=orders")  # 4 modified + 4 new between page requests
        report = sync(sqlite_engine, agreement, store, products=False)
        assert report.ok
        handle.faults.clear()
        settle = sync(sqlite_engine, agreement, store, products=False)
        assert settle.ok
        final = handle.state.orders()
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert len(final) > 450
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger


def test_the_first_pass_alone_sees_every_change_made_during_it(sqlite_engine, agreement, tmp_path):
    with start_sandbox(orders=wang_orders(300)) as handle:
        handle.faults.set("mutate:2@path=orders@next=3")
        assert sync(sqlite_engine, agreement, connect(handle), products=False).ok
        final = handle.state.orders()
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger


def test_more_orders_in_one_second_than_a_page_holds(sqlite_engine, agreement) -> None:
    with start_sandbox(orders=wang_orders(250, same_second=True)) as handle:
        report = sync(sqlite_engine, agreement, connect(handle), products=False)
    assert report.ok and report.orders_fetched == 250
    assert len(snapshots(sqlite_engine)) == 250


def test_a_store_that_ignores_modified_after_is_read_whole_with_a_warning(
    sqlite_engine, agreement
) -> None:
    with start_sandbox(orders=wang_orders(130), legacy_ignores_modified_after=True) as handle:
        store = connect(handle)
        assert sync(sqlite_engine, agreement, store).ok
        handle.state.refund(5010, "5.00")
        report = sync(sqlite_engine, agreement, store)
    assert report.ok and report.ignores_modified_after
    assert any("ignores modified_after" in w for w in report.warnings)
    assert report.booking.orders_applied == 1  # everything re-read, only the change booked
    with sqlite_engine.connect() as conn:
        assert records.load_state(conn, "wang").ignores_modified_after


def test_wrong_keys_leave_the_bookmark_alone_and_ask_for_attention(engine, agreement) -> None:
    from connector.sandbox.auth import generate_key

    with start_sandbox(orders=wang_orders(20)) as handle:
        assert sync(engine, agreement, connect(handle)).ok
        before = bookmark(engine)
        handle.state.refund(5002, "1.00")
        wrong = type(handle.key)(handle.key.consumer_key, generate_key().consumer_secret)
        report = sync(engine, agreement, connect(handle, key=wrong))
    assert isinstance(report.error, AuthFailed)
    assert bookmark(engine) == before
    with engine.connect() as conn:
        state = records.load_state(conn, "wang")
    assert state.needs_attention and state.last_error_kind == "auth_failed"
    assert "Invalid signature" in state.last_error  # OAuth over plain HTTP
    assert wrong.consumer_secret not in state.last_error


def test_a_broken_page_mid_backfill_keeps_what_was_committed(sqlite_engine, agreement) -> None:
    with start_sandbox(orders=wang_orders(500)) as handle:
        handle.faults.set("html@path=orders@every=3")
        broken = sync(sqlite_engine, agreement, connect(handle, attempts=1), products=False)
        assert isinstance(broken.error, BadResponse)
        kept = bookmark(sqlite_engine)
        assert kept is not None and kept < BASE + timedelta(minutes=499)
        assert len(snapshots(sqlite_engine)) == broken.orders_fetched
        first_ledger = ledger(sqlite_engine)
        handle.faults.clear()
        resumed = sync(sqlite_engine, agreement, connect(handle), products=False)
    assert resumed.ok and len(snapshots(sqlite_engine)) == 500
    assert resumed.booking.orders_applied == 500 - broken.orders_fetched  # nothing twice
    assert all(ledger(sqlite_engine)[k] == v for k, v in first_ledger.items())


def test_one_malformed_order_is_quarantined_and_the_rest_booked(engine, agreement) -> None:
    documents = wang_orders(30)
    documents[7]["line_items"][0]["total"] = "twelve"
    with start_sandbox(orders=documents) as handle:
        store = connect(handle)
        report = sync(engine, agreement, store)
        assert report.ok and report.quarantined == 1
        assert len(snapshots(engine)) == 29
        with engine.connect() as conn:
            [held] = records.quarantined(conn, "wang")
        assert held.external_id == "5008" and "line_items[0].total" in held.reason
        line = handle.state.order(5008)["line_items"]
        line[0]["total"] = documents[8]["line_items"][0]["total"]
        handle.state.modify_order(5008, line_items=line)  # the shop fixes it
        assert sync(engine, agreement, store).ok
    with engine.connect() as conn:
        assert records.quarantined(conn, "wang") == []
    assert len(snapshots(engine)) == 30


def test_products_sync_incrementally(engine, agreement) -> None:
    items = [woo_product(700 + n, modified=BASE + timedelta(minutes=n)) for n in range(120)]
    with start_sandbox(products=items) as handle:
        store = connect(handle)
        assert sync(engine, agreement, store).products_synced == 120
        assert sync(engine, agreement, store).products_synced <= 5  # the overlap only
        sold_out = woo_product(705, stock_status="outofstock", modified=BASE + timedelta(days=1))
        handle.state.add_product(sold_out)  # the shop sold the last one
        assert sync(engine, agreement, store).ok
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(products)).scalar_one()
        status = conn.execute(
            select(products.c.stock_status).where(products.c.product_id == "705")
        ).scalar_one()
    assert count == 120 and status == "outofstock"


def test_full_sync_reads_everything_again_and_books_nothing_new(sqlite_engine, agreement) -> None:
    with start_sandbox(orders=wang_orders(120)) as handle:
        store = connect(handle)
        assert sync(sqlite_engine, agreement, store).ok
        before = ledger(sqlite_engine)
        full = sync(sqlite_engine, agreement, store, full=True)
    assert full.ok and full.orders_fetched == 120 and full.booking.entries_booked == 0
    assert ledger(sqlite_engine) == before


@pytest.mark.parametrize("moment", [BASE, BASE + timedelta(days=3)])
def test_bookmark_never_moves_backwards(sqlite_engine, moment) -> None:
    with sqlite_engine.begin() as conn:
        records.advance_bookmark(conn, "li", "orders_bookmark", BASE + timedelta(days=1))
        records.advance_bookmark(conn, "li", "orders_bookmark", moment)
    assert bookmark(sqlite_engine, "li") == max(moment, BASE + timedelta(days=1))


@pytest.mark.slow
def test_a_large_backfill_fetches_in_its_own_process_with_the_same_result(
    sqlite_engine, agreement, tmp_path, monkeypatch
) -> None:
    import connector.sync

    monkeypatch.setattr(connector.sync, "PROCESS_THRESHOLD", 100)  # 340 orders count as large
    documents = wang_orders(340)
    with start_sandbox(orders=documents) as handle:
        report = sync(sqlite_engine, agreement, connect(handle), products=False)
        assert report.ok and report.orders_fetched == 340
        assert report.requests >= 5  # the probe, and the child's pages counted too
        want_ledger, want_snapshots = expected_from(handle.state.orders(), agreement, tmp_path)
        assert snapshots(sqlite_engine) == want_snapshots
        assert ledger(sqlite_engine) == want_ledger

    fresh = open_database(f"sqlite:///{tmp_path / 'broken.db'}")
    with start_sandbox(orders=documents) as handle:
        handle.faults.set("html@path=orders@every=3")  # the probe, page 1, then a captcha
        broken = sync(fresh, agreement, connect(handle, attempts=1), products=False)
    assert isinstance(broken.error, BadResponse)  # raised in the child, reported here
    assert broken.orders_fetched == 100 and bookmark(fresh) == BASE + timedelta(minutes=99)
    fresh.dispose()
