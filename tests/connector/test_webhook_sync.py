"""A verified webhook delivery becomes "sync this order": fetched back, booked once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from alliance.storage.schema import ledger_entries, orders
from connector.fixtures.orders import woo_order
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


def test_deleted_order_delivery_books_nothing(sqlite_engine, agreement, caplog) -> None:
    with start_sandbox(orders=[woo_order(6002, created=MOMENT, modified=MOMENT)]) as handle:
        store = WooCommerceStore(
            "wang", handle.url, handle.key.consumer_key, handle.key.consumer_secret
        )
        event = read_webhook("wang", *delivery({"id": 6002}, "order.deleted"), HOOK_SECRET)
        assert handle_webhook(sqlite_engine, agreement, store, event, secret=b"x" * 40) is None
    assert "was deleted" in caplog.text
    assert booked(sqlite_engine) == (0, 0)
