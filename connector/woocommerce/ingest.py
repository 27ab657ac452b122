"""Ingest WooCommerce order documents: skip identical re-deliveries, map, book.

The one path from storefront JSON to the ledger, shared by ``alliance import-orders``, the
sync worker, the demo and the benchmark. A keyed digest of each document is stored with the
order's revision; a document seen before is skipped before it is even mapped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.booking import BATCH_SIZE, BookingResult, book_orders, unchanged_documents
from alliance.errors import OrderDataError
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
        digests: dict[str, str] = {}
        for raw in chunk:
            if isinstance(raw, Mapping) and isinstance(raw.get("id"), int):
                digests[str(raw["id"])] = source_digest(raw, secret)
        known = unchanged_documents(engine, member, digests)
        todo = [
            raw for raw in chunk if not (isinstance(raw, Mapping) and str(raw.get("id")) in known)
        ]
        orders: list[Order] = []
        rejected: list[OrderDataError] = []
        for item in map_orders(todo, member=member, secret=secret):
            if isinstance(item, Order):
                orders.append(replace(item, source_digest=digests.get(item.external_id, "")))
            else:
                rejected.append(item)
        result = book_orders(engine, agreement, orders, batch_size=batch_size)
        result.orders_seen = len(chunk)
        result.orders_unchanged += len(chunk) - len(todo)
        result.rejected[:0] = rejected
        total.add(result)
    return total
