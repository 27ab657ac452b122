"""A sync far behind reads several pages at once from a real (latency-modelled) sandbox store,
and ends with exactly the ledger of a sync that reads one page at a time."""

from __future__ import annotations

from datetime import timedelta

from alliance.storage.database import open_database
from connector.backfill import DEFAULT_CAP
from connector.errors import BadResponse
from connector.fetch_process import ThreadSource
from connector.http import HttpPolicy
from connector.sandbox.latency import TWO_CORE, LatencyModel
from connector.sandbox.server import start_sandbox
from connector.woocommerce.store import WooCommerceStore
from tests.connector.test_sync import (
    BASE,
    bookmark,
    connect,
    expected_from,
    ledger,
    snapshots,
    sync,
    wang_orders,
)

SCALE = 0.03
"""A page takes 13 ms alone instead of 0.45 s: the same shape, fifty times faster."""


def test_a_backfill_reads_pages_at_once_and_books_what_one_at_a_time_books(
    sqlite_engine, agreement, tmp_path
) -> None:
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=wang_orders(1500), latency=model) as handle:
        report = sync(sqlite_engine, agreement, connect(handle), products=False)
        final = handle.state.orders()
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert report.ok and report.orders_fetched == 1500 and report.duplicates > 0  # overlaps
    assert model.peak >= 2  # several pages were in flight at once
    assert model.peak <= 4  # never above the cap
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger
    assert bookmark(sqlite_engine) == BASE + timedelta(minutes=1499)


def test_orders_changing_during_a_concurrent_backfill_are_neither_lost_nor_doubled(
    sqlite_engine, agreement, tmp_path
) -> None:
    """After each of the first twelve order-list requests 40 orders change and 40 are added, while
    several pages are in flight: pages shift under the offsets, and the single pass alone
    still books every order as it ends up."""
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=wang_orders(1200), latency=model) as handle:
        handle.faults.set("mutate:40@path=orders@next=12")
        report = sync(sqlite_engine, agreement, connect(handle), products=False)
        final = handle.state.orders()
    assert report.ok and model.peak >= 2
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert len(final) > 1200
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger


def test_orders_changing_after_every_page_settle_on_the_next_sync(
    sqlite_engine, agreement, tmp_path
) -> None:
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=wang_orders(1000), latency=model) as handle:
        handle.faults.set("mutate:4@path=orders")  # 4 modified + 4 new after every page
        assert sync(sqlite_engine, agreement, connect(handle), products=False).ok
        handle.faults.clear()
        assert sync(sqlite_engine, agreement, connect(handle), products=False).ok
        final = handle.state.orders()
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger


def test_a_throttling_store_gets_fewer_pages_at_once_and_nothing_is_lost(
    sqlite_engine, agreement, tmp_path
) -> None:
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=wang_orders(1200), latency=model) as handle:
        handle.faults.set("429:0@every=4@path=orders")
        policy = HttpPolicy(attempts=5, backoff_initial=0.001, backoff_max=0.01)
        store = WooCommerceStore(
            "wang", handle.url, handle.key.consumer_key, handle.key.consumer_secret, policy=policy
        )
        source = ThreadSource(store, {"orders": None}, 100, cap=DEFAULT_CAP)
        pages = [e for e in source.events() if type(e).__name__ == "ChangedPage"]
        assert source.stats.backoffs >= 1  # the client said it was waiting: we slowed down
        report = sync(sqlite_engine, agreement, store, products=False)
        final = handle.state.orders()
    assert pages and report.ok and report.orders_fetched == 1200
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger


def test_a_failure_mid_backfill_keeps_the_bookmark_on_the_booked_prefix_and_resumes(
    sqlite_engine, agreement, tmp_path
) -> None:
    """A captcha on the eighth page request (several pages in flight by then): the sync
    stops, the bookmark covers only orders that are booked, the next sync books the rest."""
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=wang_orders(1500), latency=model) as handle:
        handle.faults.set("html@path=orders@next=1@every=8")
        broken = sync(sqlite_engine, agreement, connect(handle, attempts=1), products=False)
        assert isinstance(broken.error, BadResponse)
        stopped_at = bookmark(sqlite_engine)
        booked = snapshots(sqlite_engine)
        assert stopped_at is not None and 0 < len(booked) < 1500
        # every order up to the bookmark is booked: no hole below it
        below = [
            o
            for o in handle.state.orders()
            if o["date_modified_gmt"] <= f"{stopped_at:%Y-%m-%dT%H:%M:%S}"
        ]
        assert {str(o["id"]) for o in below} <= set(booked)
        handle.faults.clear()
        resumed = sync(sqlite_engine, agreement, connect(handle), products=False)
        final = handle.state.orders()
    assert resumed.ok
    want_ledger, want_snapshots = expected_from(final, agreement, tmp_path)
    assert snapshots(sqlite_engine) == want_snapshots
    assert ledger(sqlite_engine) == want_ledger


def test_a_cap_of_one_reads_one_page_at_a_time(sqlite_engine, agreement) -> None:
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=wang_orders(600), latency=model) as handle:
        report = sync(sqlite_engine, agreement, connect(handle), products=False, concurrency=1)
    assert report.ok and report.orders_fetched == 600
    assert model.peak == 1


def test_a_large_backfill_in_a_fetch_process_books_typed_records_and_refuses_the_same_orders(
    sqlite_engine, agreement, tmp_path, monkeypatch
) -> None:
    """Above the threshold the walk runs in a fetch process, several pages at once, and the
    booking side decodes each page straight into typed records: the same ledger, and the
    same orders quarantined, as the thread that parses whole pages."""
    import connector.sync

    documents = wang_orders(900)
    documents[17]["line_items"][0]["total"] = "12,50"
    documents[140]["billing"] = "nowhere"
    documents[260]["line_items"][0] = 5
    model = LatencyModel(TWO_CORE, scale=SCALE)
    with start_sandbox(orders=documents, latency=model) as handle:
        threaded = sync(sqlite_engine, agreement, connect(handle), products=False)
        monkeypatch.setattr(connector.sync, "PROCESS_THRESHOLD", 100)
        fresh = open_database(f"sqlite:///{tmp_path / 'process.db'}")
        in_process = sync(fresh, agreement, connect(handle), products=False)
    assert threaded.ok and in_process.ok and model.peak >= 2
    assert in_process.quarantined == threaded.quarantined == 3
    assert snapshots(fresh) == snapshots(sqlite_engine)
    assert ledger(fresh) == ledger(sqlite_engine)
    fresh.dispose()
