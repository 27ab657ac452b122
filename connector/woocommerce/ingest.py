"""Ingest WooCommerce order documents: skip identical re-deliveries, map, book.

The one path from storefront JSON to the ledger, shared by ``alliance import-orders``, the
sync worker, the demo and the benchmark. A keyed digest of each document is stored with the
order's revision; a document seen before is skipped before it is even mapped.

CPU work (parse, digest, map) runs a page at a time, while the page's documents are still in
the processor's cache; only the compact ``Order`` values are kept, and the database work runs
once per batch of :data:`~alliance.services.booking.BATCH_SIZE` orders, in one transaction. The
cyclic garbage collector is paused per batch (see :mod:`alliance.gcpause`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.errors import BadInputError, OrderDataError
from alliance.gcpause import collector_paused
from alliance.orders import Order
from alliance.services.booking import (
    BATCH_SIZE,
    BookingResult,
    batched,
    book_orders,
    stored_digests,
)
from connector.woocommerce.mapping import map_order


def page_digests(documents: list[Any], secret: bytes) -> list[str]:
    """:func:`source_digest` of each document with an id ("" for the others)."""
    return [
        source_digest(raw, secret) if type(raw) is dict and type(raw.get("id")) is int else ""
        for raw in documents
    ]


def source_digest(raw: Mapping[str, Any], secret: bytes) -> str:
    """SHA-256 over the alliance secret and one order document: spots a document seen before.

    A change detector, not a signature; the secret makes it reveal nothing about the
    document. SHA-256 because processors accelerate it (twice BLAKE2b's speed here).
    """
    digest = hashlib.sha256(secret)
    digest.update(orjson.dumps(raw, default=str))
    return digest.hexdigest()[:32]


PAGE_SIZE = 100
"""Documents mapped together: one ``GET /orders?per_page=100`` page, small enough to stay hot."""


@dataclass
class PreparedBatch:
    """Mapped orders waiting to be booked together, and what was skipped or refused."""

    orders: list[Order] = field(default_factory=list)
    rejected: list[OrderDataError] = field(default_factory=list)
    seen: int = 0
    skipped: int = 0


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
    pages = batched(documents, PAGE_SIZE)
    return _ingest(engine, agreement, pages, member=member, secret=secret, batch_size=batch_size)


def ingest_pages(
    engine: Engine,
    agreement: Agreement,
    pages: Iterable[bytes | str],
    *,
    member: str,
    secret: bytes,
    batch_size: int = BATCH_SIZE,
) -> BookingResult:
    """Book pages of ``GET /orders`` JSON (each a list of orders) of one member.

    The caller has already checked each response (status, content type); a page that is
    still not a JSON list raises :class:`BadInputError` and nothing from it is booked.
    """
    parsed = (_page_orders(page, member, n) for n, page in enumerate(pages, start=1))
    return _ingest(engine, agreement, parsed, member=member, secret=secret, batch_size=batch_size)


def _ingest(
    engine: Engine,
    agreement: Agreement,
    pages: Iterator[list[Any]],
    *,
    member: str,
    secret: bytes,
    batch_size: int,
) -> BookingResult:
    total = BookingResult()
    while True:
        with collector_paused(), engine.connect() as reader:
            batch = PreparedBatch()
            for documents in pages:
                _prepare(reader, documents, batch, member=member, secret=secret)
                del documents  # freed by reference counting while the collector is paused
                if batch.seen >= batch_size:
                    break
            if not batch.seen:
                return total
            total.add(_book(engine, agreement, batch))
            del batch


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


def _prepare(
    reader: Connection | None,
    documents: list[Any],
    batch: PreparedBatch,
    *,
    member: str,
    secret: bytes,
    digests: list[str] | None = None,
) -> None:
    """Skip documents seen before and map the rest (the firewall) into ``batch``.

    Which ids are stored is asked first (reading an id is cheap); then each document is
    digested and, unless it is the stored one, mapped at once, while it is still in cache.
    With no ``reader`` nothing is stored yet for the member (a first backfill). ``digests``
    (one per document) were computed elsewhere, by a fetch process.
    """
    stored: Mapping[str, str] = {}
    if reader is not None:
        ids = [
            str(raw["id"]) for raw in documents if type(raw) is dict and type(raw.get("id")) is int
        ]
        stored = stored_digests(reader, member, ids)
    orders, rejected = batch.orders, batch.rejected
    for position, raw in enumerate(documents):
        digest = ""
        if type(raw) is dict and type(raw.get("id")) is int:
            digest = digests[position] if digests else source_digest(raw, secret)
            if stored.get(str(raw["id"])) == digest:
                batch.skipped += 1
                continue
        try:
            orders.append(
                map_order(
                    raw, member=member, secret=secret, position=position, source_digest=digest
                )
            )
        except OrderDataError as exc:
            rejected.append(exc)
    batch.seen += len(documents)


def prepare_page(
    reader: Connection | None,
    documents: list[Any],
    *,
    member: str,
    secret: bytes,
    digests: list[str] | None = None,
) -> PreparedBatch:
    """Digest and map one page (CPU only, safe in another thread); book it with ``book_prepared``.

    ``reader`` looks up the stored digests; None when the member has nothing stored yet.
    """
    batch = PreparedBatch()
    _prepare(reader, documents, batch, member=member, secret=secret, digests=digests)
    return batch


def book_prepared(
    engine: Engine,
    agreement: Agreement,
    batch: PreparedBatch,
    *,
    also: Callable[[Connection, BookingResult], None] | None = None,
) -> BookingResult:
    """Book a page prepared by :func:`prepare_page` in one transaction, with ``also`` in it.

    ``also`` sees the booking's result (the orders it refused included, except those the
    mapping refused: they are in ``batch.rejected``).
    """
    return _book(engine, agreement, batch, also)


def _book(
    engine: Engine,
    agreement: Agreement,
    batch: PreparedBatch,
    also: Callable[[Connection, BookingResult], None] | None = None,
) -> BookingResult:
    if not batch.orders and also is not None:
        with engine.begin() as conn:
            also(conn, BookingResult())
    result = book_orders(
        engine, agreement, batch.orders, batch_size=max(len(batch.orders), 1), also=also
    )
    result.orders_seen = batch.seen
    result.orders_unchanged += batch.skipped
    result.rejected[:0] = batch.rejected
    return result
