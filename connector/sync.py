"""Incremental sync of one member's store into the ledger: fetch what changed, book it, move on.

How the orders listing is walked, and why (reference/woocommerce.md sections 2 and 6):

- ``modified_after`` with ``dates_are_gmt=true`` and ``orderby=modified&order=asc``; the store
  breaks ties by id. The bookmark is the newest ``date_modified_gmt`` whose orders are
  committed, and it moves only forward, only after the commit.
- The next request is *re-anchored* at the newest modification seen minus one second, rather
  than asking for page 2: page numbers shift when an order is modified or inserted while we
  page (it jumps to the end of the list), which would skip an order at every page boundary.
  Re-reading that last second costs a few duplicates, dropped by (order id, date_modified).
- More orders in one second than fit a page (bulk edits, imports): that second is read on its
  own (``modified_after``/``modified_before`` around it) by page number, and read again until
  a pass finds nothing new, because those pages can shift too.
- Each sync starts an overlap window (5 minutes) before the bookmark, for orders saved with a
  modification time a little older than their commit. Documents already booked are skipped by
  their digest before mapping, so the overlap costs almost nothing.
- ``status=trash`` is read in a second, short pass (the default listing leaves trash out) with
  its own bookmark, so a trashed sale is reversed.
- A store older than WooCommerce 5.8 ignores ``modified_after`` silently (WordPress drops
  unknown parameters) and sends everything. That is detected (an order older than the filter
  comes back) and the sync falls back to reading every page, with a warning.

One malformed order is quarantined with its reason and the rest of its page is booked. A store
that fails (keys, HTML, down) fails only its own member's sync; the bookmark stays put.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.booking import BookingResult
from alliance.errors import FatalError, OrderDataError
from alliance.gcpause import collector_paused
from alliance.storage import sync_records as records
from connector.errors import StoreError
from connector.storefront import Page, Storefront
from connector.woocommerce.ingest import PreparedBatch, book_prepared, ingest_orders, prepare_page
from connector.woocommerce.webhooks import SyncOrder, WebhookEvent

log = logging.getLogger("alliance.sync")

OVERLAP = timedelta(minutes=5)
PER_PAGE = 100
ONE_SECOND = timedelta(seconds=1)
GROUP_PASSES_MAX = 5

Progress = Callable[[int, int | None], None]
"""Called with (orders fetched so far, orders the store said match); for progress bars."""


@dataclass
class SyncReport:
    """What one member's sync did; printed by the CLI, logged by jobs."""

    member: str
    requests: int = 0
    pages: int = 0
    orders_fetched: int = 0
    duplicates: int = 0
    quarantined: int = 0
    booking: BookingResult = field(default_factory=BookingResult)
    products_synced: int = 0
    bookmark: datetime | None = None
    ignores_modified_after: bool = False
    warnings: list[str] = field(default_factory=list)
    error: StoreError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def sync_member(
    engine: Engine,
    agreement: Agreement,
    store: Storefront,
    *,
    secret: bytes,
    full: bool = False,
    overlap: timedelta = OVERLAP,
    per_page: int = PER_PAGE,
    products: bool = True,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncReport:
    """Sync one member's orders (and products); store errors are reported, not raised."""
    started = time.perf_counter()
    member = store.member
    report = SyncReport(member)
    sent_before = getattr(store, "requests_sent", 0)
    with engine.begin() as conn:
        if full:
            records.reset_bookmarks(conn, member)
        records.record_attempt(conn, member, clock())
        state = records.load_state(conn, member)
        has_quarantine = bool(records.quarantined(conn, member))
        has_orders = records.has_orders(conn, member)
    walker = _OrderWalker(engine, agreement, store, secret, report, per_page, progress)
    walker.has_quarantine = has_quarantine
    walker.has_orders = has_orders
    try:
        since = _minus(state.orders_bookmark, overlap)
        walker.walk(since, status=None, bookmark="orders_bookmark")
        trash_since = _minus(state.trash_bookmark, overlap)
        trash_high = walker.walk(trash_since, status="trash", bookmark="trash_bookmark")
        if report.bookmark is not None and (trash_high is None or trash_high < report.bookmark):
            # Anything trashed after this pass is newer than the orders bookmark (see above).
            with engine.begin() as conn:
                records.advance_bookmark(conn, member, "trash_bookmark", report.bookmark)
        if products:
            report.products_synced = _sync_products(engine, store, state, overlap, per_page)
    except StoreError as exc:
        report.error = exc
        with engine.begin() as conn:
            records.record_failure(
                conn,
                member,
                kind=exc.kind,
                message=str(exc),
                needs_attention=isinstance(exc, FatalError),
            )
        log.error("%s: sync stopped: %s", member, exc)
    else:
        with engine.begin() as conn:
            records.record_success(
                conn,
                member,
                clock(),
                store_orders_total=walker.store_total,
                ignores_modified_after=report.ignores_modified_after,
            )
    finally:
        walker.close()
    report.requests = getattr(store, "requests_sent", 0) - sent_before
    report.seconds = time.perf_counter() - started
    log.info(
        "%s: sync %s in %.2f s: %d requests, %d orders fetched, %d applied, %d entries booked, "
        "%d quarantined",
        member,
        "done" if report.ok else "failed",
        report.seconds,
        report.requests,
        report.orders_fetched,
        report.booking.orders_applied,
        report.booking.entries_booked,
        report.quarantined,
    )
    return report


def _minus(moment: datetime | None, overlap: timedelta) -> datetime | None:
    return None if moment is None else moment - overlap


def _modified(document: Any) -> datetime | None:
    """``date_modified_gmt`` of a listed document (None if it has none we can read)."""
    if type(document) is not dict:
        return None
    value = document.get("date_modified_gmt")
    if type(value) is not str or len(value) < 19:
        return None
    try:
        return datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
    except ValueError:
        return None


def _identity(document: Any) -> tuple[Any, Any]:
    if type(document) is not dict:
        return (None, repr(document)[:100])
    return (document.get("id"), document.get("date_modified_gmt"))


@dataclass(frozen=True)
class _Ready:
    """A page's documents new to this run, digested and mapped, waiting to be booked."""

    fresh: list[Any]
    batch: PreparedBatch | None


class _OrderWalker:
    """Walks one listing (default or trash) and books it page by page."""

    def __init__(
        self,
        engine: Engine,
        agreement: Agreement,
        store: Storefront,
        secret: bytes,
        report: SyncReport,
        per_page: int,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.agreement = agreement
        self.store = store
        self.secret = secret
        self.report = report
        self.per_page = per_page
        self.progress = progress
        self.seen: set[tuple[Any, Any]] = set()
        self.store_total: int | None = None
        self.has_quarantine = False
        self.has_orders = True  # set False for a member with nothing stored: no digest lookups
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fetch-{store.member}")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- fetching -----------------------------------------------------------------------------

    def _fetch(
        self, since: datetime | None, page: int, status: str | None, before: datetime | None = None
    ) -> Page:
        self.report.pages += 1
        return self.store.list_orders(
            modified_after=since,
            page=page,
            per_page=self.per_page,
            status=status,
            modified_before=before,
        )

    def _prefetch(self, *args: Any) -> Future[Page]:
        """Fetch the next page in the background while this one is mapped and booked.

        Only the fetch: mapping in that thread as well was measured 15% slower (the two
        threads then fight over the GIL).
        """
        return self._pool.submit(self._fetch, *args)

    def _prepare(self, documents: list[Any]) -> _Ready:
        """Drop what this run has seen already, then digest and map the rest."""
        fresh = []
        for document in documents:
            identity = _identity(document)
            if identity in self.seen:
                self.report.duplicates += 1
                continue
            self.seen.add(identity)
            fresh.append(document)
        if not fresh:
            return _Ready(fresh, None)
        member, secret = self.store.member, self.secret
        if not self.has_orders:  # a first backfill: nothing stored to compare with
            return _Ready(fresh, prepare_page(None, fresh, member=member, secret=secret))
        with self.engine.connect() as reader:
            return _Ready(fresh, prepare_page(reader, fresh, member=member, secret=secret))

    # -- walking ------------------------------------------------------------------------------

    def walk(self, since: datetime | None, *, status: str | None, bookmark: str) -> datetime | None:
        """Book every order of the listing modified after ``since``; returns the newest seen.

        The cyclic collector is paused meanwhile (see :mod:`alliance.gcpause`): every page's
        objects are freed by reference counting once it is booked, and only the small
        (id, date) pairs of this run stay alive.
        """
        with collector_paused():
            first = self._fetch(since, 1, status)
            if status is None:
                self.store_total = first.total
            return self._walk_changes(first, since, status, bookmark)

    def _filter_ignored(self, page: Page, since: datetime) -> bool:
        """Did the store send an order older than ``modified_after``? Then it ignores it."""
        stale = [m for m in map(_modified, page.documents) if m is not None and m <= since]
        if not stale:
            return False
        message = (
            f"{self.store.member}: the store ignores modified_after (WooCommerce older than 5.8?), "
            "so every sync reads all orders; update WooCommerce to sync only what changed"
        )
        if message not in self.report.warnings:
            self.report.warnings.append(message)
            log.warning("%s", message)
        self.report.ignores_modified_after = True
        return True

    def _walk_changes(
        self, page: Page, cursor: datetime | None, status: str | None, bookmark: str
    ) -> datetime | None:
        high: datetime | None = None
        while True:
            if cursor is not None and self._filter_ignored(page, cursor):
                scanned = self._scan_everything(status, bookmark)
                return max(filter(None, (high, scanned)), default=None)
            documents = page.documents

            newest = max(filter(None, map(_modified, documents)), default=None)
            upcoming: Future[Page] | None = None
            group: datetime | None = None
            if len(documents) >= self.per_page and newest is not None:
                anchor = newest - ONE_SECOND
                if cursor is None or anchor > cursor:
                    cursor = anchor
                    upcoming = self._prefetch(cursor, 1, status)
                else:
                    group = newest  # a whole page in one second: read that second on its own
            if newest is not None:
                high = newest if high is None else max(high, newest)
            # one transaction: the page's orders, and the bookmark that covers them
            self._book(documents, bookmark=bookmark, moment=high)
            if group is not None:
                self._drain_second(group, status)
                cursor = group
                upcoming = self._prefetch(cursor, 1, status)
            if upcoming is None:
                return high
            page = upcoming.result()

    def _drain_second(self, moment: datetime, status: str | None) -> None:
        """Read every order modified within one second, until a full pass finds nothing new."""
        for _ in range(GROUP_PASSES_MAX):
            new_in_pass = 0
            for page in self._pages(moment - ONE_SECOND, status, before=moment + ONE_SECOND):
                new_in_pass += self._book(page.documents)
            if not new_in_pass:
                return
        self.report.warnings.append(
            f"{self.store.member}: orders kept changing while reading those modified at "
            f"{moment:%Y-%m-%d %H:%M:%S} UTC; the next sync reads them again"
        )

    def _pages(
        self, since: datetime | None, status: str | None, before: datetime | None = None
    ) -> Iterator[Page]:
        number = 1
        while True:
            page = self._fetch(since, number, status, before)
            yield page
            if len(page.documents) < self.per_page:
                return
            if page.total_pages is not None and number >= page.total_pages:
                return
            number += 1

    def _scan_everything(self, status: str | None, bookmark: str) -> datetime | None:
        """For stores that ignore ``modified_after``: read every page; digests skip the old."""
        high: datetime | None = None
        pages = self._pages(None, status)
        for page in pages:
            self._book(page.documents)
            newest = max(filter(None, map(_modified, page.documents)), default=None)
            if newest is not None:
                high = newest if high is None else max(high, newest)
        if high is not None:
            self._advance(bookmark, high)
        return high

    # -- booking ------------------------------------------------------------------------------

    def _book(
        self, documents: list[Any], *, bookmark: str | None = None, moment: datetime | None = None
    ) -> int:
        """Book the documents not seen in this run (and move ``bookmark`` to ``moment`` in the
        same transaction); returns how many were new."""
        return self._commit(self._prepare(documents), bookmark, moment)

    def _commit(
        self, ready: _Ready, bookmark: str | None = None, moment: datetime | None = None
    ) -> int:
        report = self.report
        report.orders_fetched += len(ready.fresh)
        member = self.store.member
        also = None
        if bookmark is not None and moment is not None:

            def also(conn: Connection) -> None:
                records.advance_bookmark(conn, member, bookmark, moment)

            if bookmark == "orders_bookmark":
                current = report.bookmark
                report.bookmark = moment if current is None else max(current, moment)
        if ready.batch is not None:
            result = book_prepared(self.engine, self.agreement, ready.batch, also=also)
            report.booking.add(result)
            self._quarantine(ready.fresh, result.rejected)
            self.has_orders = True
        elif also is not None:
            with self.engine.begin() as conn:
                also(conn)
        if self.progress is not None:
            self.progress(len(self.seen), self.store_total)
        return len(ready.fresh)

    def _quarantine(self, documents: list[Any], rejected: list[OrderDataError]) -> None:
        if not rejected and not self.has_quarantine:
            return
        self.report.quarantined += record_quarantine(
            self.engine, self.store.member, documents, rejected
        )
        self.has_quarantine = self.has_quarantine or bool(rejected)

    def _advance(self, bookmark: str, moment: datetime) -> None:
        with self.engine.begin() as conn:
            records.advance_bookmark(conn, self.store.member, bookmark, moment)
        if bookmark == "orders_bookmark":
            current = self.report.bookmark
            self.report.bookmark = moment if current is None else max(current, moment)


def record_quarantine(
    engine: Engine, member: str, documents: list[Any], rejected: list[OrderDataError]
) -> int:
    """Quarantine refused orders; orders of ``documents`` that mapped leave the quarantine."""
    modified = {
        str(d.get("id")): str(d.get("date_modified_gmt", "")) for d in documents if type(d) is dict
    }
    refused = {error.external_id for error in rejected}
    held = 0
    with engine.begin() as conn:
        if rejected:
            pairs = [(e, modified.get(e.external_id or "", "")) for e in rejected]
            held = records.quarantine_orders(conn, member, pairs, datetime.now(UTC))
            for error in rejected:
                log.warning("%s: quarantined %s", member, error)
        records.release_quarantine(conn, member, [i for i in modified if i not in refused])
    return held


def _sync_products(
    engine: Engine,
    store: Storefront,
    state: records.SyncState,
    overlap: timedelta,
    per_page: int,
) -> int:
    """Products for the widgets, incrementally, by the same re-anchoring walk."""
    from alliance.storage import catalog
    from connector.woocommerce.products import map_products

    member = store.member
    cursor = _minus(state.products_bookmark, overlap)
    seen: set[tuple[Any, Any]] = set()
    synced = 0
    while True:
        page = store.list_products(modified_after=cursor, per_page=per_page)
        fresh = [d for d in page.documents if _identity(d) not in seen]
        seen.update(map(_identity, page.documents))
        products, rejected = map_products(fresh, member)
        for error in rejected:
            log.warning("%s: product skipped: %s", member, error)
        newest = max(filter(None, map(_modified, page.documents)), default=None)
        with engine.begin() as conn:
            catalog.upsert_products(conn, products)
            if newest is not None:
                records.advance_bookmark(conn, member, "products_bookmark", newest)
        synced += len(products)
        if len(page.documents) < per_page or newest is None:
            return synced
        anchor = newest - ONE_SECOND
        if cursor is not None and anchor <= cursor:
            # A page of products all modified in one second: rare; read them by page number.
            for number in range(2, (page.total_pages or 1) + 1):
                more = store.list_products(modified_after=cursor, page=number, per_page=per_page)
                products, _ = map_products(more.documents, member)
                with engine.begin() as conn:
                    catalog.upsert_products(conn, products)
                synced += len(products)
            return synced
        cursor = anchor


def sync_order(
    engine: Engine,
    agreement: Agreement,
    store: Storefront,
    order_id: int,
    *,
    secret: bytes,
) -> BookingResult:
    """Fetch one order (a webhook said it changed) and book it; repeating it changes nothing.

    The delivery's own body is never trusted or mapped: only its id is, and the order is
    read back from the store's API, so a forged or stale payload cannot book anything.
    """
    document = store.get_order(order_id)
    result = ingest_orders(engine, agreement, [document], member=store.member, secret=secret)
    record_quarantine(engine, store.member, [document], result.rejected)
    return result


def handle_webhook(
    engine: Engine,
    agreement: Agreement,
    store: Storefront,
    event: WebhookEvent,
    *,
    secret: bytes,
) -> BookingResult | None:
    """Act on a verified delivery: orders are synced one by one, products on the next sync."""
    if isinstance(event, SyncOrder):
        if event.topic.endswith(".deleted"):
            log.warning(
                "%s: order %d was deleted in the store; deleted orders are not reversed "
                "automatically, move it to the trash instead",
                store.member,
                event.order_id,
            )
            return None
        return sync_order(engine, agreement, store, event.order_id, secret=secret)
    return None
