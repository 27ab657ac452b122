"""Ingest WooCommerce order documents: skip identical re-deliveries, map, book.

The one path from storefront JSON to the ledger, shared by ``alliance import-orders``, the
sync worker, the demo and the benchmark. A keyed digest of each document is stored with the
order's revision; a document seen before is skipped before it is even mapped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.booking import BATCH_SIZE, BookingResult, book_orders, unchanged_documents
from alliance.errors import BadInputError, OrderDataError
from alliance.gcpause import collector_paused
from alliance.orders import Order
from connector.woocommerce.mapping import map_orders


def source_digest(raw: Mapping[str, Any], secret: bytes) -> str:
    """Keyed hash of one order document (keyed, so it reveals nothing about its contents)."""
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    body = orjson.dumps(raw, default=str)
    return hashlib.blake2b(body, key=key, digest_size=16).hexdigest()


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ingest_orders(
    engine: Engine,
    agreement: Agreement,
    documents: Iterable[Any],
    *,
    member: str,
    secret: bytes,
    batch_size: int = BATCH_SIZE,
) -> BookingResult:
    """Book WooCommerce order documents of one member; bad ones come back in ``rejected``."""
    total = BookingResult()
    for chunk in _batched(documents, batch_size):
        with collector_paused():
            total.add(_ingest_batch(engine, agreement, chunk, member=member, secret=secret))
            del chunk  # freed by reference counting while the collector is still paused
    return total


def ingest_pages(
    engine: Engine,
    agreement: Agreement,
    pages: Iterable[bytes | str],
    *,
    member: str,
    secret: bytes,
    batch_size: int = BATCH_SIZE,
) -> BookingResult:
    """Book pages of ``GET /orders`` JSON (each a list of orders), parsing them batch by batch.

    Parsing happens inside the batch so the collector pause covers the parsed documents too.
    The caller has already checked that each page is JSON (the connector's response checks).
    """
    total = BookingResult()
    pending = enumerate(pages, start=1)
    while True:
        with collector_paused():
            batch: list[Any] = []
            for number, page in pending:
                batch += _page_orders(page, member, number)
                if len(batch) >= batch_size:
                    break
            if not batch:
                return total
            total.add(_ingest_batch(engine, agreement, batch, member=member, secret=secret))
            del batch  # freed by reference counting while the collector is still paused


def _page_orders(page: bytes | str, member: str, number: int) -> list[Any]:
    try:
        orders = orjson.loads(page)
    except orjson.JSONDecodeError as exc:
        raise BadInputError(
            f"{member}: orders page {number} is not valid JSON ({exc}); nothing from it was booked"
        ) from None
    if not isinstance(orders, list):
        raise BadInputError(
            f"{member}: orders page {number} is not a JSON list of orders; "
            "nothing from it was booked"
        )
    return orders


def _ingest_batch(
    engine: Engine, agreement: Agreement, chunk: list[Any], *, member: str, secret: bytes
) -> BookingResult:
    """Skip documents seen before, map the rest (the firewall), book them: one batch."""
    digests: dict[str, str] = {}
    for raw in chunk:
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), int):
            digests[str(raw["id"])] = source_digest(raw, secret)
    known = unchanged_documents(engine, member, digests)
    todo = [raw for raw in chunk if not (isinstance(raw, Mapping) and str(raw.get("id")) in known)]
    orders: list[Order] = []
    rejected: list[OrderDataError] = []
    for item in map_orders(todo, member=member, secret=secret, digests=digests):
        (orders if isinstance(item, Order) else rejected).append(item)  # type: ignore[arg-type]
    result = book_orders(engine, agreement, orders, batch_size=max(len(chunk), 1))
    result.orders_seen = len(chunk)
    result.orders_unchanged += len(chunk) - len(todo)
    result.rejected[:0] = rejected
    return result
