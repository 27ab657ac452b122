"""Shared pieces for the sandbox store's tests: a settable clock, a small store, clients."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

from connector.fixtures.orders import woo_order
from connector.sandbox.server import SandboxHandle

T0 = datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock tests move by hand: the store's stamps become exact and predictable."""

    def __init__(self, now: datetime = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=seconds)
            return self.now


def store_orders() -> list[dict[str, Any]]:
    """Five orders with known dates: 1002 and 1004 share both creation and modification time."""
    day = timedelta(days=1)
    return [
        woo_order(1001, status="processing", created=T0, modified=T0 + timedelta(hours=1)),
        woo_order(1002, status="completed", created=T0 + day, modified=T0 + 2 * day),
        woo_order(1003, status="trash", created=T0 + 3 * day, modified=T0 + 3 * day),
        woo_order(1004, status="on-hold", created=T0 + day, modified=T0 + 2 * day),
        woo_order(
            1005,
            status="processing",
            created=T0 + 4 * day,
            modified=T0 + 4 * day,
            attribution={"utm_source": "alliance", "utm_content": "clk_1"},
        ),
    ]


STORE_PRODUCTS = [
    {"id": 101, "name": "Organic cotton bodysuit", "price": "59.00"},
    {"id": 205, "name": "Bamboo muslin swaddle", "price": "89.90", "stock_status": "outofstock"},
]
STORE_COUPONS = [{"code": "SAVE10", "amount": "10", "discount_type": "fixed_cart"}]
TOTAL_OF_1001 = Decimal("217.90")  # 2 x 59.00 + 89.90 + 10.00 shipping


def https_session(handle: SandboxHandle) -> requests.Session:
    """Basic auth over HTTPS, trusting only the sandbox's CA."""
    session = requests.Session()
    session.auth = (handle.key.consumer_key, handle.key.consumer_secret)
    session.verify = handle.ca_path
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (reference §9)
    return session
