"""A verified webhook delivery becomes "sync this order": fetched back, booked once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from alliance.services.sync_records import quarantined
from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders
from connector.fixtures.orders import distinctive_customer, woo_order
from connector.http import StoreClient
from connector.sandbox.server import start_sandbox
from connector.sync import handle_webhook
from connector.woocommerce.store import WooCommerceStore
from connector.woocommerce.webhooks import (
    Ping,
    SyncOrder,
    WebhookRejected,
    read_webhook,
    signature,
)
from tests.conftest import SECRET

HOOK_SECRET = "wang-webhook-secret"
MOMENT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def delivery(document: dict, topic: str = "order.updated") -> tuple[dict, bytes]:
    body = json.dumps(document).encode()
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": signature(body, HOOK_SECRET),
        "X-WC-Webhook-Delivery-ID": "77",
        "Content-Type": "application/json",
    }
    return headers, body


def booked(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
        total = conn.execute(select(func.coalesce(func.sum(ledger_entries.c.amount_minor), 0)))
        return entries, int(total.scalar_one())


def test_order_delivery_is_fetched_back_and_booked_once(engine, agreement) -> None:
    order = woo_order(
        6001,
        status="processing",
        created=MOMENT,
        modified=MOMENT,
        coupons=[("LI-FRIENDS", Decimal("5.00"))],
    )
    with start_sandbox(orders=[order]) as handle:
        store = WooCommerceStore(
            "wang",
            handle.url,
            handle.key.consumer_key,
            handle.key.consumer_secret,
            client=StoreClient("wang", sleep=lambda _s: None),
            webhook_secret=HOOK_SECRET,
        )
        forged = {**order, "total": "99999.00"}  # the delivery's body is never booked
        event = store.read_webhook(*delivery(forged))
        assert event == SyncOrder("wang", 6001, "order.updated", "77")
        first = handle_webhook(engine, agreement, store, event, secret=SECRET.encode())
        assert first is not None and first.entries_booked == 1
        once = booked(engine)
        assert once[1] > 0
        again = handle_webhook(engine, agreement, store, event, secret=SECRET.encode())
        assert again is not None and again.entries_booked == 0  # a duplicate delivery
        assert booked(engine) == once
        handle.state.refund(6001, "20.00")
        later = read_webhook("wang", *delivery(handle.state.order(6001)), HOOK_SECRET)
        assert handle_webhook(engine, agreement, store, later, secret=SECRET.encode())
        assert booked(engine)[1] < once[1]  # the refund cut the commission
    with engine.connect() as conn:
        total = conn.execute(select(orders.c.total_minor)).scalar_one()
    assert total == int(Decimal(order["total"]) * 100)


def test_ping_is_accepted_and_forgeries_are_not() -> None:
    ping = read_webhook(
        "wang", {"Content-Type": "application/x-www-form-urlencoded"}, b"webhook_id=12", ""
    )
    assert ping == Ping(12)
    headers, body = delivery({"id": 6001})
    with pytest.raises(WebhookRejected) as caught:
        read_webhook("wang", headers, body.replace(b"6001", b"6002"), HOOK_SECRET)
    assert caught.value.status == 401 and HOOK_SECRET not in str(caught.value)
    headers["X-WC-Webhook-Signature"] = signature(body, "another secret")
    with pytest.raises(WebhookRejected):
        read_webhook("wang", headers, body, HOOK_SECRET)


def wang(handle) -> WooCommerceStore:
    return WooCommerceStore(
        "wang",
        handle.url,
        handle.key.consumer_key,
        handle.key.consumer_secret,
        client=StoreClient("wang", sleep=lambda _s: None),
        webhook_secret=HOOK_SECRET,
    )


def referred(order_id: int, tag: str = "Quixotic") -> dict:
    """A paid wang order that Li's coupon referred, bought by a customer easy to spot in logs."""
    return woo_order(
        order_id,
        status="processing",
        created=MOMENT,
        modified=MOMENT,
        coupons=[("LI-FRIENDS", Decimal("5.00"))],
        customer=distinctive_customer(tag),
    )


def hook(store, engine, agreement, order_id: int, topic: str = "order.updated"):
    event = read_webhook("wang", *delivery({"id": order_id}, topic), HOOK_SECRET)
    return handle_webhook(engine, agreement, store, event, secret=SECRET.encode())


def entry_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(ledger_entries.c.id)).scalars())


def stored_status(engine, order_id: int) -> str:
    with engine.connect() as conn:
        query = select(orders.c.status).where(orders.c.external_id == str(order_id))
        return conn.execute(query).scalar_one()


def test_an_order_moved_to_the_trash_is_reversed_by_its_deleted_delivery(
    engine, agreement, caplog
) -> None:
    with start_sandbox(orders=[referred(6001)]) as handle:
        store = wang(handle)
        hook(store, engine, agreement, 6001)
        assert booked(engine)[1] > 0
        handle.state.delete_order(6001, force=False)  # WooCommerce's "Move to Trash"
        assert handle.state.order(6001)["status"] == "trash"  # it still reads back
        result = hook(store, engine, agreement, 6001, "order.deleted")
        assert result is not None and result.orders_applied == 1 and result.entries_booked == 1
        assert booked(engine) == (2, 0)  # the accrual and its reversal
        assert stored_status(engine, 6001) == "trash"
        ledger = entry_ids(engine)
        again = hook(store, engine, agreement, 6001, "order.deleted")  # a re-delivery
        assert again is not None and again.entries_booked == 0
    assert entry_ids(engine) == ledger
    assert "move it to the trash" not in caplog.text


def test_an_order_deleted_for_good_is_booked_as_a_trashed_revision_and_says_why(
    engine, agreement, caplog, tmp_path
) -> None:
    with start_sandbox(orders=[referred(6002)]) as handle:
        store = wang(handle)
        hook(store, engine, agreement, 6002)
        handle.state.delete_order(6002, force=True)  # "Delete permanently": the store answers 404
        with caplog.at_level(logging.INFO, logger="alliance"):
            result = hook(store, engine, agreement, 6002, "order.deleted")
        assert result is not None and result.entries_booked == 1
        assert booked(engine) == (2, 0)
        assert stored_status(engine, 6002) == "trash"
        ledger = entry_ids(engine)
        for _ in range(2):  # re-deliveries and replays change nothing
            replay = hook(store, engine, agreement, 6002, "order.deleted")
            assert replay is not None and replay.entries_booked == 0
        assert entry_ids(engine) == ledger
        elsewhere = open_database(f"sqlite:///{tmp_path / 'replay.db'}")  # the same history, again
        handle.state.add_orders([referred(6002)])
        hook(store, elsewhere, agreement, 6002)
        handle.state.delete_order(6002, force=True)
        hook(store, elsewhere, agreement, 6002, "order.deleted")
        assert entry_ids(elsewhere) == ledger  # entry for entry
        elsewhere.dispose()
    (line,) = [r.getMessage() for r in caplog.records if "deleted for good" in r.getMessage()]
    assert "wang" in line and "6002" in line
    assert "Quixotic" not in caplog.text  # nothing personal in any log line


def test_an_order_trashed_then_deleted_for_good_is_reversed_once(engine, agreement) -> None:
    with start_sandbox(orders=[referred(6003)]) as handle:
        store = wang(handle)
        hook(store, engine, agreement, 6003)
        handle.state.delete_order(6003, force=False)
        hook(store, engine, agreement, 6003, "order.deleted")
        reversed_once = entry_ids(engine)
        handle.state.delete_order(6003, force=True)  # emptied from the trash
        result = hook(store, engine, agreement, 6003, "order.deleted")
        assert result is not None and result.entries_booked == 0
    assert entry_ids(engine) == reversed_once and booked(engine) == (2, 0)


def test_a_deleted_delivery_for_an_order_never_booked_books_nothing(
    sqlite_engine, agreement, caplog
) -> None:
    with start_sandbox() as handle, caplog.at_level(logging.INFO, logger="alliance"):
        assert hook(wang(handle), sqlite_engine, agreement, 6004, "order.deleted") is None
    assert booked(sqlite_engine) == (0, 0)
    assert "6004" in caplog.text and "nothing to reverse" in caplog.text


def test_an_update_for_an_order_the_store_no_longer_has_books_nothing_and_says_why(
    sqlite_engine, agreement, caplog
) -> None:
    with start_sandbox() as handle:
        assert hook(wang(handle), sqlite_engine, agreement, 6005) is None
    assert booked(sqlite_engine) == (0, 0)
    assert "6005" in caplog.text and "permalinks" not in caplog.text


def test_a_quarantined_order_deleted_for_good_leaves_the_quarantine(sqlite_engine, agreement):
    broken = referred(6006)
    broken["line_items"][0]["total"] = "twelve"  # no store sends it: the order is quarantined
    with start_sandbox(orders=[broken]) as handle:
        store = wang(handle)
        hook(store, sqlite_engine, agreement, 6006)
        with sqlite_engine.connect() as conn:
            assert [q.external_id for q in quarantined(conn, "wang")] == ["6006"]
        handle.state.delete_order(6006, force=True)
        assert hook(store, sqlite_engine, agreement, 6006, "order.deleted") is None
    with sqlite_engine.connect() as conn:
        assert quarantined(conn, "wang") == []  # nothing left to fix
    assert booked(sqlite_engine) == (0, 0)
