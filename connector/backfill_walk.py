"""The listing walk of a large sync, with several pages in flight (:mod:`connector.backfill`).

Which pages, so that orders changing during the backfill are neither lost nor doubled:

- The first page is asked for exactly as :class:`connector.pages.ListingWalk` asks
  (``modified_after``, oldest change first, id breaking ties), and its ``X-WP-Total`` is the
  snapshot: ``total`` orders changed after the bookmark. A sync that is only a few pages
  behind, or a store that ignores ``modified_after``, is walked as before, one page at a time.
- The rest of the snapshot is read by ``offset``, in pages that overlap the one before by a
  few orders, several at once. Every page is a contiguous run of the listing *as it was when
  that page was read*. An order modified meanwhile leaves its place and goes to the end of the
  listing (its ``date_modified`` is now), which shifts later pages back by one: a page whose
  first order is past everything read so far may have skipped orders, so the gap is read
  again by date (``modified_after``/``modified_before`` around it) before that page is booked.
  The proof that nothing else is skipped: an order that did not change sits in the listing
  throughout, in the same place relative to every other such order; if it lies between the
  start of a page and the end of what was covered before, that page holds it.
- Then the walk goes on from the newest covered change, one page at a time, as the ordinary
  walk does: it reads the orders modified during the backfill (at the end of the listing).

Pages are handed on in the order they were asked for, whatever order they arrive in, so
each page's bookmark covers only orders booked before it, and a kill at any moment loses
nothing (the next sync starts from the bookmark) and books nothing twice (digests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.backfill import DEFAULT_CAP, Aimd, InOrder, slice_offsets
from connector.pages import (
    LISTINGS,
    ONE_SECOND,
    ChangedPage,
    Event,
    ListingDone,
    ListingWalk,
    modified_at,
)
from connector.storefront import Page, Storefront

FEW_PAGES = 3
"""A sync at most this many pages behind is walked one page at a time."""
OVERLAP = 5
"""Orders each offset page shares with the page before it."""

Key = tuple[datetime, int]
"""Where an order sits in the listing: (date_modified_gmt, id)."""


def listing_key(document: Any) -> Key | None:
    moment = modified_at(document)
    if moment is None:
        return None
    order_id = document.get("id")
    return (moment, order_id) if type(order_id) is int else None


@dataclass
class WalkStats:
    """What the concurrent part of a walk did, for logs and benchmarks."""

    offset_pages: int = 0
    gaps_read_again: int = 0
    peak_in_flight: int = 0
    backoffs: int = 0


@dataclass(frozen=True)
class _Fetched:
    number: int
    page: Page
    level: int
    started: float
    finished: float


class ConcurrentWalk(ListingWalk):
    """A :class:`ListingWalk` that reads a large listing several pages at a time."""

    def __init__(
        self,
        store: Storefront,
        per_page: int,
        secret: bytes | None = None,
        *,
        cap: int = DEFAULT_CAP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(store, per_page, secret)
        self.cap = cap
        self.clock = clock
        self.controller = Aimd(cap=cap)
        self.stats = WalkStats()
        self._prefetched: Page | None = None
        self._lock = threading.Lock()

    def _fetch(
        self, since: datetime | None, number: int, listing: str, before: datetime | None = None
    ) -> Page:
        if self._prefetched is not None:  # the first page, read already to decide
            page, self._prefetched = self._prefetched, None
            return page
        return super()._fetch(since, number, listing, before)

    def _listing(self, listing: str, cursor: datetime | None) -> Iterator[Event]:
        first = super()._fetch(cursor, 1, listing)
        total = first.total or 0
        ignored = cursor is not None and self._ignored(first, cursor) is not None
        at_once = getattr(self.store, "list_orders_from", None)
        if (
            ignored
            or at_once is None
            or self.cap <= 1
            or len(first.documents) < self.per_page
            or total <= FEW_PAGES * self.per_page
        ):
            self._prefetched = first
            yield from super()._listing(listing, cursor)
            return
        yield from self._at_once(listing, cursor, first, total)

    def _at_once(
        self, listing: str, cursor: datetime | None, first: Page, total: int
    ) -> Iterator[Event]:
        event = self._page(listing, first)
        yield event
        high = event.newest
        covered = _last_key(first.documents)
        for page in self._offset_pages(
            listing, cursor, slice_offsets(total, self.per_page, OVERLAP)
        ):
            head = _first_key(page.documents)
            if head is None:  # empty (orders left the listing) or nothing we can place
                if page.documents:
                    yield self._page(listing, page, moves_bookmark=False)
                continue
            if covered is None or head > covered:  # a gap: orders may have left meanwhile
                self.stats.gaps_read_again += 1
                since = covered[0] - ONE_SECOND if covered is not None else cursor
                for gap_event in self._between(listing, since, head[0] + ONE_SECOND):
                    yield gap_event
                    if isinstance(gap_event, ChangedPage) and gap_event.newest is not None:
                        high = _later(high, gap_event.newest)
                covered = (head[0], head[1]) if covered is None else max(covered, head)
            event = self._page(listing, page)
            yield event
            high = _later(high, event.newest)
            last = _last_key(page.documents)
            if last is not None:
                covered = last if covered is None else max(covered, last)
        tail = covered[0] - ONE_SECOND if covered is not None else cursor
        for event in super()._listing(listing, tail):  # what changed during the backfill
            if isinstance(event, ListingDone):
                yield ListingDone(listing, _later(high, event.newest))
            else:
                yield event

    def _between(self, listing: str, since: datetime | None, before: datetime) -> Iterator[Event]:
        """Every order modified after ``since`` and before ``before``, one page at a time."""
        cursor = since
        while True:
            page = self._fetch(cursor, 1, listing, before)
            event = self._page(listing, page)
            yield event
            newest = event.newest
            if len(page.documents) < self.per_page or newest is None:
                return
            anchor = newest - ONE_SECOND
            if cursor is None or anchor > cursor:
                cursor = anchor
            else:  # a whole page in one second
                yield from self._drain_second(listing, newest)
                cursor = newest

    def _offset_pages(
        self, listing: str, since: datetime | None, offsets: list[int]
    ) -> Iterator[Page]:
        """The pages at ``offsets``, fetched up to the controller's limit at once, in order."""
        controller = self.controller
        order: InOrder[Page] = InOrder()
        pending: dict[Future[_Fetched], int] = {}
        listener = getattr(self.store, "backoff_listener", None)
        if hasattr(self.store, "backoff_listener"):
            self.store.backoff_listener = self._backoff  # type: ignore[attr-defined]
        pool = ThreadPoolExecutor(max_workers=self.cap, thread_name_prefix="page")
        submitted = 0
        try:
            while order.next < len(offsets):
                with self._lock:
                    room = controller.limit - len(pending)
                while (
                    room > 0 and submitted < len(offsets) and submitted < order.next + 2 * self.cap
                ):
                    with self._lock:
                        level = controller.started(self.clock())
                    future = pool.submit(
                        self._fetch_at, submitted, offsets[submitted], since, listing, level
                    )
                    pending[future] = submitted
                    submitted += 1
                    room -= 1
                self.stats.peak_in_flight = max(self.stats.peak_in_flight, len(pending))
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    del pending[future]
                    fetched = future.result()  # a store error ends the walk, raised here
                    self.requests += 1
                    self.stats.offset_pages += 1
                    with self._lock:
                        controller.finished(
                            fetched.level,
                            fetched.started,
                            fetched.finished,
                            len(fetched.page.documents),
                        )
                    yield from order.add(fetched.number, fetched.page)
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            if hasattr(self.store, "backoff_listener"):
                self.store.backoff_listener = listener  # type: ignore[attr-defined]

    def _fetch_at(
        self, number: int, offset: int, since: datetime | None, listing: str, level: int
    ) -> _Fetched:
        started = self.clock()
        page = self.store.list_orders_from(  # type: ignore[attr-defined]
            offset, modified_after=since, per_page=self.per_page, status=LISTINGS[listing]
        )
        return _Fetched(number, page, level, started, self.clock())

    def _backoff(self) -> None:
        """The store's client is about to wait and retry (429, 5xx, timeout): slow down now."""
        with self._lock:
            self.stats.backoffs += 1
            self.controller.trouble()


def _first_key(documents: list[Any]) -> Key | None:
    return next(filter(None, map(listing_key, documents)), None)


def _last_key(documents: list[Any]) -> Key | None:
    return next(filter(None, map(listing_key, reversed(documents))), None)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None else max(a, b)
