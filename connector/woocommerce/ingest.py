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
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
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
from connector import json_body
from connector.woocommerce.fields import MAX_ID
from connector.woocommerce.mapping import map_order


def order_id(raw: object) -> str | None:
    """The store's id of a document, when it has one the database can hold."""
    if type(raw) is dict:
        candidate = raw.get("id")
        if type(candidate) is int and 0 < candidate <= MAX_ID:
            return str(candidate)
    return None


def page_digests(documents: list[Any], secret: bytes) -> list[str]:
    """:func:`source_digest` of each document with a usable id ("" for the others)."""
    return [source_digest(raw, secret) if order_id(raw) else "" for raw in documents]


def source_digest(raw: Mapping[str, Any], secret: bytes) -> str:
    """SHA-256 over the alliance secret and one order document: spots a document seen before.

    A change detector, not a signature; the secret makes it reveal nothing about the
    document. SHA-256 because processors accelerate it (twice BLAKE2b's speed here). Any
    parsed JSON is digested, including what orjson refuses to encode (see :func:`_spelled`).
    """
    digest = hashlib.sha256(secret)
    try:
        digest.update(orjson.dumps(raw, default=str))
    except TypeError:
        digest.update(_spelled(raw))
    return digest.hexdigest()[:32]


class _Mark(str):
    """Punctuation :func:`_spelled` writes as it is (a document never holds one)."""


_OPEN_LIST, _CLOSE_LIST, _OPEN_OBJECT = _Mark("["), _Mark("]"), _Mark("{")
_CLOSE_OBJECT, _COMMA, _COLON = _Mark("}"), _Mark(","), _Mark(":")


def _spelled(raw: object) -> bytes:
    """A deterministic spelling of any parsed JSON, for what orjson refuses: integers beyond
    64 bits (of any length), lone surrogates, nesting deeper than 254. Iterative, so no depth
    overflows it; it starts with a byte orjson never writes, so it matches none of its output.
    """
    out: list[str] = ["\x00"]
    pending: list[object] = [raw]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is _Mark:
            out.append(item)  # type: ignore[arg-type]
        elif kind is str:
            out.append(json.dumps(item))  # ASCII: surrogates become \ud800 escapes
        elif item is None or kind is bool:
            out.append(json.dumps(item))
        elif kind is int:
            out.append(hex(item))  # no digit limit, unlike str(int)
        elif kind is float or kind is Decimal:
            out.append(f"{kind.__name__}:{item}")
        elif isinstance(item, Mapping):
            pending.append(_CLOSE_OBJECT)
            for key, value in reversed(list(item.items())):
                name = key if type(key) is str else f"{type(key).__name__}?"
                pending += [_COMMA, value, _COLON, _Mark(json.dumps(name))]
            pending.append(_OPEN_OBJECT)
        elif isinstance(item, list | tuple):
            pending.append(_CLOSE_LIST)
            for value in reversed(item):
                pending += [_COMMA, value]
            pending.append(_OPEN_LIST)
        else:
            out.append(f"{kind.__name__}?")
    return "".join(out).encode("utf-8", "surrogatepass")


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
    now: datetime | None = None,
) -> BookingResult:
    """Book WooCommerce order documents of one member; bad ones come back in ``rejected``.

    ``now`` (default: the current time) is the clock that dates in the future are judged by.
    """
    pages = batched(documents, PAGE_SIZE)
    options = {"member": member, "secret": secret, "batch_size": batch_size, "now": now}
    return _ingest(engine, agreement, pages, **options)


def ingest_pages(
    engine: Engine,
    agreement: Agreement,
    pages: Iterable[bytes | str],
    *,
    member: str,
    secret: bytes,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> BookingResult:
    """Book pages of ``GET /orders`` JSON (each a list of orders) of one member.

    The caller has already checked each response (status, content type); a page that is
    still not a JSON list raises :class:`BadInputError` and nothing from it is booked.
    """
    parsed = (_page_orders(page, member, n) for n, page in enumerate(pages, start=1))
    options = {"member": member, "secret": secret, "batch_size": batch_size, "now": now}
    return _ingest(engine, agreement, parsed, **options)


def _ingest(
    engine: Engine,
    agreement: Agreement,
    pages: Iterator[list[Any]],
    *,
    member: str,
    secret: bytes,
    batch_size: int,
    now: datetime | None,
) -> BookingResult:
    total = BookingResult()
    while True:
        with collector_paused(), engine.connect() as reader:
            batch = PreparedBatch()
            for documents in pages:
                moment = now or datetime.now(UTC)
                _prepare(reader, documents, batch, member=member, secret=secret, now=moment)
                del documents  # freed by reference counting while the collector is paused
                if batch.seen >= batch_size:
                    break
            if not batch.seen:
                return total
            total.add(_book(engine, agreement, batch))
            del batch


def _page_orders(page: bytes | str, member: str, number: int) -> list[Any]:
    try:
        orders = json_body.loads(page)
    except ValueError as exc:
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
    now: datetime,
    digests: list[str] | None = None,
) -> None:
    """Skip documents seen before and map the rest (the firewall) into ``batch``.

    Which ids are stored is asked first (reading an id is cheap); then each document is
    digested and, unless it is the stored one, mapped at once, while it is still in cache.
    With no ``reader`` nothing is stored yet for the member (a first backfill). ``digests``
    (one per document) were computed elsewhere, by a fetch process.
    """
    ids = [order_id(raw) for raw in documents]
    stored: Mapping[str, str] = {}
    if reader is not None:
        stored = stored_digests(reader, member, [i for i in ids if i is not None])
    orders, rejected = batch.orders, batch.rejected
    for position, raw in enumerate(documents):
        digest = ""
        if ids[position] is not None:
            digest = digests[position] if digests else source_digest(raw, secret)
            if stored.get(ids[position]) == digest:  # type: ignore[arg-type]
                batch.skipped += 1
                continue
        try:
            orders.append(
                map_order(
                    raw,
                    member=member,
                    secret=secret,
                    position=position,
                    source_digest=digest,
                    now=now,
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
    now: datetime | None = None,
) -> PreparedBatch:
    """Digest and map one page (CPU only, safe in another thread); book it with ``book_prepared``.

    ``reader`` looks up the stored digests; None when the member has nothing stored yet.
    ``now`` (default: the current time) judges dates in the future.
    """
    batch = PreparedBatch()
    moment = now or datetime.now(UTC)
    _prepare(reader, documents, batch, member=member, secret=secret, now=moment, digests=digests)
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
