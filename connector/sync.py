"""Incremental sync of one member's store into the ledger: fetch what changed, book it, move on.

Which pages are read, and why they are never skipped or doubled, is :mod:`connector.pages`;
here each page is booked as it arrives, in one transaction with the bookmark it covers. The
bookmark is the newest ``date_modified_gmt`` whose orders are committed, and it only moves
forward.

- Each sync starts an overlap window (5 minutes) before the bookmark, for orders saved with a
  modification time a little older than their commit. Documents already booked are skipped by
  their digest before mapping, so the overlap costs almost nothing.
- ``status=trash`` is read in a second, short pass (the default listing leaves trash out) with
  its own bookmark, so a trashed sale is reversed.
- A sync more than a few pages behind (a first backfill above all) fetches several pages at
  once, as many as the store serves faster (:mod:`connector.backfill`, at most
  ``concurrency``, default 4, or ``ALLIANCE_SYNC_CONCURRENCY``); pages are still booked in
  listing order, so the bookmark covers only a contiguous prefix of booked pages.
- A large backfill fetches in a process of its own (:mod:`connector.fetch_process`).

One malformed order is quarantined with its reason and the rest of its page is booked. A store
that fails (keys, HTML, down) fails only its own member's sync; the bookmark stays put.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.errors import FatalError, OrderDataError
from alliance.gcpause import collector_paused
from alliance.services import sync_records as records
from alliance.services.booking import BookingResult
from alliance.services.deletion import book_deleted_order
from connector.backfill import DEFAULT_CAP
from connector.errors import NotFound, StoreError
from connector.fetch_process import PROCESS_THRESHOLD, EventSource, ProcessSource, ThreadSource
from connector.pages import ChangedPage, Event, ListingDone, Notice, identity
from connector.product_sync import sync_products
from connector.storefront import Storefront
from connector.woocommerce.ingest import PreparedBatch, book_prepared, prepare_page
from connector.woocommerce.records import order_records
from connector.woocommerce.webhooks import SyncOrder, WebhookEvent

log = logging.getLogger("alliance.sync")

OVERLAP = timedelta(minutes=5)
PER_PAGE = 100

CONCURRENCY_VARIABLE = "ALLIANCE_SYNC_CONCURRENCY"


def concurrency_cap() -> int:
    """Pages a sync may have in flight at once: ``ALLIANCE_SYNC_CONCURRENCY``, default 4."""
    text = os.environ.get(CONCURRENCY_VARIABLE, "").strip()
    if not text:
        return DEFAULT_CAP
    if not text.isdigit() or not 1 <= int(text) <= 32:
        raise FatalError(
            f"{CONCURRENCY_VARIABLE}={text!r} is not a number of pages from 1 to 32; "
            "set it to 1 (one page at a time), 4 (the default) or what the stores can take"
        )
    return int(text)


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
    skipped: str = ""  # why this member was not synced at all (another worker had it)

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
    guard: Callable[[Connection], None] | None = None,
    concurrency: int | None = None,
) -> SyncReport:
    """Sync one member's orders (and products); store errors are reported, not raised.

    ``concurrency`` caps the pages in flight (None: :func:`concurrency_cap`; 1: one at a
    time, as before). ``guard`` runs inside every page's transaction before it commits; the
    worker's fencing check raises there when another worker holds the member now, so nothing
    stale commits.
    """
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
    booker = _Booker(engine, agreement, member, secret, report, progress)
    booker.clock = clock  # judges order dates in the future
    booker.has_quarantine = has_quarantine
    booker.has_orders = has_orders
    booker.guard = guard
    since = {
        "orders": _minus(state.orders_bookmark, overlap),
        "trash": _minus(state.trash_bookmark, overlap),
    }
    source: EventSource = ThreadSource(store, since, per_page)
    cap = concurrency_cap() if concurrency is None else concurrency
    try:
        backfill = state.orders_bookmark is None
        source = _source(store, since, per_page, backfill=backfill, secret=secret, cap=cap)
        with collector_paused():  # see alliance.gcpause: each page dies once it is booked
            booker.consume(source.events())
        trash_high = booker.newest.get("trash")
        if report.bookmark is not None and (trash_high is None or trash_high < report.bookmark):
            # Anything trashed after the trash pass is newer than the orders bookmark, since
            # that pass ran after every order it covers had been listed.
            with engine.begin() as conn:
                records.advance_bookmark(conn, member, "trash_bookmark", report.bookmark)
        if products:
            since = _minus(state.products_bookmark, overlap)
            report.products_synced = sync_products(engine, store, since, per_page)
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
                store_orders_total=booker.store_total,
                ignores_modified_after=report.ignores_modified_after,
            )
    sent_here = getattr(store, "requests_sent", 0) - sent_before
    report.requests = sent_here + source.requests_elsewhere
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


def _source(
    store: Storefront,
    since: dict[str, datetime | None],
    per_page: int,
    *,
    backfill: bool,
    secret: bytes,
    cap: int = DEFAULT_CAP,
) -> EventSource:
    """A fetch process for a large backfill of a WooCommerce store, else a thread; the walk
    reads several pages at once when the store can (``list_orders_from``) and ``cap`` > 1."""
    spec = getattr(store, "spec", None)
    at_once = cap > 1 and hasattr(store, "list_orders_from")
    if backfill and spec is not None:
        probe = store.list_orders(modified_after=None, per_page=1)
        if (probe.total or 0) > PROCESS_THRESHOLD:
            if at_once:
                return ProcessSource(spec(), since, per_page, secret, cap)
            return ProcessSource(spec(), since, per_page, secret)
    if at_once:
        return ThreadSource(store, since, per_page, cap)
    return ThreadSource(store, since, per_page)


BOOKMARKS = {"orders": "orders_bookmark", "trash": "trash_bookmark"}


@dataclass(frozen=True)
class _Ready:
    """A page's documents new to this run, digested and mapped, waiting to be booked."""

    fresh: list[Any]
    batch: PreparedBatch | None


class _Booker:
    """Books the walk's pages as they arrive, each with its bookmark, in one transaction."""

    def __init__(
        self,
        engine: Engine,
        agreement: Agreement,
        member: str,
        secret: bytes,
        report: SyncReport,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.agreement = agreement
        self.member = member
        self.secret = secret
        self.report = report
        self.progress = progress
        self.seen: set[tuple[Any, Any]] = set()
        self.newest: dict[str, datetime] = {}
        self.store_total: int | None = None
        self.has_quarantine = False
        self.has_orders = True  # set False for a member with nothing stored: no digest lookups
        self.guard: Callable[[Connection], None] | None = None
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def consume(self, events: Iterator[Event]) -> None:
        for event in events:
            if isinstance(event, ChangedPage):
                self._page(event)
            elif isinstance(event, ListingDone):
                newest = self._no_later_than_now(event.newest)
                if newest is not None and event.listing not in self.newest:
                    self._advance(event.listing, newest)  # a scan: bookmark at the end
                if newest is not None:
                    self.newest[event.listing] = newest
            elif isinstance(event, Notice):
                self.report.warnings.append(event.message)
                self.report.ignores_modified_after |= event.ignores_modified_after
                log.warning("%s", event.message)

    def _page(self, page: ChangedPage) -> None:
        self.report.pages += 1
        if page.listing == "orders" and self.store_total is None:
            self.store_total = page.total
        documents = page.documents if page.documents is not None else _parse(page.raw)
        moment = None
        newest = self._no_later_than_now(page.newest)
        if page.moves_bookmark and newest is not None:
            current = self.newest.get(page.listing)
            moment = newest if current is None else max(current, newest)
            self.newest[page.listing] = moment
        # one transaction: the page's orders, and the bookmark that covers them
        ready = self._prepare(documents, page.digests)
        self._commit(ready, page.listing if moment else None, moment)

    def _prepare(self, documents: list[Any], digests: list[str] | None) -> _Ready:
        """Drop what this run has seen already, then digest and map the rest."""
        fresh, fresh_digests = [], []
        for position, document in enumerate(documents):
            key = identity(document)
            if key in self.seen:
                self.report.duplicates += 1
                continue
            self.seen.add(key)
            fresh.append(document)
            if digests is not None:
                fresh_digests.append(digests[position])
        if not fresh:
            return _Ready(fresh, None)
        given = fresh_digests if digests is not None else None
        options = {"member": self.member, "secret": self.secret, "digests": given}
        options["now"] = self.clock()
        if not self.has_orders:  # a first backfill: nothing stored to compare with
            return _Ready(fresh, prepare_page(None, fresh, **options))
        with self.engine.connect() as reader:
            return _Ready(fresh, prepare_page(reader, fresh, **options))

    def _commit(self, ready: _Ready, listing: str | None, moment: datetime | None) -> None:
        """One transaction: the page's orders and entries, the quarantine of the orders it
        refused, the fencing check and the bookmark that covers the page."""
        report = self.report
        report.orders_fetched += len(ready.fresh)
        guard, member = self.guard, self.member
        column = BOOKMARKS[listing] if listing is not None and moment is not None else None
        refused_by_mapping = ready.batch.rejected if ready.batch is not None else []

        def also(conn: Connection, result: BookingResult) -> None:
            if guard is not None:
                guard(conn)  # e.g. a fencing check: raises if another worker took over
            refused = [*refused_by_mapping, *result.rejected]
            if refused or self.has_quarantine:
                report.quarantined += quarantine_in(conn, member, ready.fresh, refused)
                self.has_quarantine = True
            if column is not None and moment is not None:
                records.advance_bookmark(conn, member, column, moment)

        if ready.batch is not None:
            report.booking.add(book_prepared(self.engine, self.agreement, ready.batch, also=also))
            self.has_orders = True
        elif guard is not None or column is not None:
            with self.engine.begin() as conn:
                also(conn, BookingResult())
        if listing == "orders" and moment is not None:
            report.bookmark = moment
        if self.progress is not None:
            self.progress(len(self.seen), self.store_total)

    def _no_later_than_now(self, moment: datetime | None) -> datetime | None:
        """A bookmark never passes this sync's own clock: an order a broken store dated 2099
        is quarantined, and must not stop every later order from being listed until 2099."""
        return None if moment is None else min(moment, self.clock())

    def _advance(self, listing: str, moment: datetime) -> None:
        with self.engine.begin() as conn:
            records.advance_bookmark(conn, self.member, BOOKMARKS[listing], moment)
        if listing == "orders":
            current = self.report.bookmark
            self.report.bookmark = moment if current is None else max(current, moment)


def _parse(raw: bytes) -> list[Any]:
    """A page a fetch process sent, straight into typed records (:mod:`.woocommerce.records`):
    the fields the mapping reads and nothing personal. Its digests came with it, computed
    by the fetch process over the whole documents, as every other path computes them."""
    try:
        return order_records(raw)
    except ValueError:  # the fetch side checked it already
        raise TypeError("a page of orders is not a JSON list") from None


def _printable(value: Any) -> str:
    """A stored date's text, as the quarantine keeps it for people: a NUL (which PostgreSQL
    refuses, failing the page) or any other unprintable character becomes ``?``."""
    text = value if type(value) is str else ""
    return "".join(char if char.isprintable() else "?" for char in text[:32])


def quarantine_in(
    conn: Connection, member: str, documents: list[Any], rejected: list[OrderDataError]
) -> int:
    """Quarantine refused orders; orders of ``documents`` that booked leave the quarantine."""
    modified = {
        str(d.get("id")): _printable(d.get("date_modified_gmt"))
        for d in documents
        if type(d) is dict
    }
    refused = {error.external_id for error in rejected}
    held = 0
    if rejected:
        pairs = [(e, modified.get(e.external_id or "", "")) for e in rejected]
        held = records.quarantine_orders(conn, member, pairs, datetime.now(UTC))
        for error in rejected:
            log.warning("%s: quarantined %s", member, error)
    records.release_quarantine(conn, member, [i for i in modified if i not in refused])
    return held


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
    member = store.member
    with engine.connect() as reader:  # compare digests: a repeated delivery maps nothing
        batch = prepare_page(reader, [document], member=member, secret=secret)

    def quarantine(conn: Connection, result: BookingResult) -> None:
        quarantine_in(conn, member, [document], [*batch.rejected, *result.rejected])

    return book_prepared(engine, agreement, batch, also=quarantine)


def handle_webhook(
    engine: Engine,
    agreement: Agreement,
    store: Storefront,
    event: WebhookEvent,
    *,
    secret: bytes,
) -> BookingResult | None:
    """Act on a verified delivery: orders are synced one by one, products on the next sync.

    None means there was nothing to book; the reason is logged.
    """
    if isinstance(event, SyncOrder):
        return sync_delivered_order(
            engine, agreement, store, event.order_id, deleted=deletes(event), secret=secret
        )
    return None


def deletes(event: SyncOrder) -> bool:
    """``order.deleted``: WooCommerce moved the order to the Trash, or deleted it for good."""
    return event.topic.endswith(".deleted")


def sync_delivered_order(
    engine: Engine,
    agreement: Agreement,
    store: Storefront,
    order_id: int,
    *,
    deleted: bool,
    secret: bytes,
) -> BookingResult | None:
    """Book an order a webhook named, read back from the store; None when nothing was booked.

    A trashed order reads back with status ``trash`` and is reversed like any revision. One
    deleted for good answers 404: after an ``order.deleted`` delivery that is booked as its
    last stored revision moved to the trash (:mod:`alliance.services.deletion`); after any
    other topic the order is simply gone, and there is nothing to book.
    """
    member = store.member
    try:
        booked = sync_order(engine, agreement, store, order_id, secret=secret)
    except NotFound as exc:
        if not deleted:
            log.warning(
                "%s: order %d is not in the store any more (%s); nothing to book",
                member,
                order_id,
                exc.detail,
            )
            return None
    else:
        if deleted:
            log.info(
                "%s: order %d was moved to the trash; read back and booked (%d ledger entries)",
                member,
                order_id,
                booked.entries_booked,
            )
        return booked

    def release(conn: Connection, _result: BookingResult) -> None:
        records.release_quarantine(conn, member, [str(order_id)])  # gone: nothing to fix

    result = book_deleted_order(engine, agreement, member, str(order_id), also=release)
    if result is None:
        why = "it was never booked, so there is nothing to reverse"
    elif not result.orders_applied:
        why = "it was reversed already"
    else:
        why = f"booked as trashed: {result.entries_booked} ledger entries reverse it"
    log.info(
        "%s: order %d was deleted for good in the store (404 after order.deleted); %s",
        member,
        order_id,
        why,
    )
    return result
