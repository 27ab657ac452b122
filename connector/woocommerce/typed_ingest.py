"""Book pages of WooCommerce order JSON through the typed records (:mod:`.records`).

The same steps as :func:`connector.woocommerce.ingest.ingest_pages` (skip what is stored, map
through the firewall, book in batches), but a page is never parsed whole: each order's bytes
are digested as they stand in the page, an order whose digest is stored is skipped before
anything of it but its id is decoded, and the others are decoded into typed records that
hold no personal field. Malformed orders are refused by the mapping in the usual words.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypedDict

import msgspec
from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.errors import BadInputError, OrderDataError
from alliance.gcpause import collector_paused
from alliance.services.booking import BATCH_SIZE, BookingResult, stored_digests
from connector.woocommerce.ingest import PreparedBatch, book_prepared, order_id
from connector.woocommerce.mapping import map_order
from connector.woocommerce.records import order_records, page_entries


class _Id(TypedDict, total=False):
    id: Any


_ID = msgspec.json.Decoder(_Id)


def _id_of(raw: msgspec.Raw) -> str | None:
    try:
        return order_id(_ID.decode(raw))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def prepare_typed_page(
    reader: Connection | None,
    page: bytes,
    batch: PreparedBatch,
    *,
    member: str,
    secret: bytes,
    now: datetime,
    number: int = 1,
    expect_stored: bool = True,
) -> int:
    """Skip the page's stored orders and map the rest into ``batch``; returns how many were
    stored. ``expect_stored`` (the page before had stored orders): look up by ids alone
    first, and decode only the orders that changed; else decode the page in one call."""
    try:
        entries = page_entries(page, secret)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadInputError(
            f"{member}: orders page {number} is not a JSON list of orders ({exc}); "
            "nothing from it was booked"
        ) from None
    stored: dict[str, str] = {}
    records: list[Any] | None = None
    if reader is not None and expect_stored:
        ids = [_id_of(entry.raw) for entry in entries]
    else:
        records = order_records(page, entries)
        ids = [order_id(record) for record in records]
    if reader is not None:
        stored = stored_digests(reader, member, [i for i in ids if i is not None])
    hits = 0
    for position, entry in enumerate(entries):
        if stored and ids[position] is not None and stored.get(ids[position]) == entry.digest:
            batch.skipped += 1
            hits += 1
            continue
        record = records[position] if records is not None else entry.record()
        digest = entry.digest if order_id(record) is not None else ""
        try:
            batch.orders.append(
                map_order(
                    record,
                    member=member,
                    secret=secret,
                    position=position,
                    source_digest=digest,
                    now=now,
                )
            )
        except OrderDataError as exc:
            batch.rejected.append(exc)
    batch.seen += len(entries)
    return hits


def ingest_typed_pages(
    engine: Engine,
    agreement: Agreement,
    pages: Iterable[bytes | str],
    *,
    member: str,
    secret: bytes,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> BookingResult:
    """Book pages of ``GET /orders`` JSON of one member (see the module)."""
    total = BookingResult()
    numbered = enumerate(pages, start=1)
    expect_stored = True
    while True:
        with collector_paused(), engine.connect() as reader:
            batch = PreparedBatch()
            for number, page in numbered:
                data = page.encode() if isinstance(page, str) else page
                moment = now or datetime.now(UTC)
                hits = prepare_typed_page(
                    reader,
                    data,
                    batch,
                    member=member,
                    secret=secret,
                    now=moment,
                    number=number,
                    expect_stored=expect_stored,
                )
                expect_stored = hits > 0
                if batch.seen >= batch_size:
                    break
            if not batch.seen:
                return total
            total.add(book_prepared(engine, agreement, batch))
