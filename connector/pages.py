"""Which pages of a store's order listings to read, and in what order; nothing is booked here.

The walk is a stream of events (:class:`ChangedPage`, :class:`ListingDone`, :class:`Notice`)
that :mod:`connector.sync` books as they come. It runs beside the booking: in a thread for
ordinary syncs, in a process of its own for large backfills (:mod:`connector.fetch_process`),
where fetching and parsing then get a core and a GIL of their own.

How the listing is walked, and why (reference/woocommerce.md sections 2 and 6):

- ``modified_after`` with ``dates_are_gmt=true`` and ``orderby=modified&order=asc``; the store
  breaks ties by id.
- The next request is *re-anchored* at the newest modification seen minus one second, rather
  than asking for page 2: page numbers shift when an order is modified or inserted while we
  page (it jumps to the end of the list), which would skip an order at every page boundary.
  Re-reading that last second costs a few duplicates, dropped by (order id, date_modified).
- More orders in one second than fit a page (bulk edits, imports): that second is read on its
  own (``modified_after``/``modified_before`` around it) by page number, and read again until
  a pass finds nothing new, because those pages can shift too.
- A store older than WooCommerce 5.8 ignores ``modified_after`` silently (WordPress drops
  unknown parameters) and sends everything. That is detected (an order older than the filter
  comes back) and the walk falls back to reading every page, with a notice; those pages do
  not move the bookmark until the whole scan is booked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import BadResponse
from connector.storefront import Page, Storefront
from connector.woocommerce.ingest import page_digests

ONE_SECOND = timedelta(seconds=1)
GROUP_PASSES_MAX = 5
REQUEST_SLACK = 50
UNKNOWN_LIMIT = 100_000
"""Requests a walk may make before its first page says how many orders there are."""
LISTINGS = {"orders": None, "trash": "trash"}
"""Listing name -> ``status`` filter: trash is left out of WooCommerce's default listing."""


@dataclass(frozen=True)
class ChangedPage:
    """One page of a listing, in walk order. ``raw`` replaces ``documents`` across processes."""

    listing: str
    documents: list[Any] | None
    raw: bytes
    newest: datetime | None
    moves_bookmark: bool  # False while scanning a store that ignores modified_after
    total: int | None
    digests: list[str] | None = None  # one per document, when the walk was given the secret


@dataclass(frozen=True)
class ListingDone:
    listing: str
    newest: datetime | None  # the newest modification seen in the whole listing


@dataclass(frozen=True)
class Notice:
    """Something the shop owner should know (printed by the CLI, kept in the report)."""

    message: str
    ignores_modified_after: bool = False


Event = ChangedPage | ListingDone | Notice


def modified_at(document: Any) -> datetime | None:
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


_PLAIN = (int, str, type(None))


def identity(document: Any) -> tuple[Any, Any]:
    """What makes a listed document a duplicate: (id, date_modified_gmt). Always hashable: a
    broken store's list or object there is spelled out, so it reaches the quarantine."""
    if type(document) is not dict:
        return (None, repr(document)[:100])
    key = (document.get("id"), document.get("date_modified_gmt"))
    if type(key[0]) in _PLAIN and type(key[1]) in _PLAIN:
        return key
    return (None, repr(key)[:200])


class ListingWalk:
    """Walks a store's listings; iterate :meth:`events`."""

    def __init__(self, store: Storefront, per_page: int, secret: bytes | None = None) -> None:
        self.store = store
        self.per_page = per_page
        self.secret = secret  # given in a fetch process: digests are computed on its core
        self.requests = 0
        self.limit = UNKNOWN_LIMIT
        self.seen: set[tuple[Any, Any]] = set()
        self.noticed = False

    def events(self, since: dict[str, datetime | None]) -> Iterator[Event]:
        """Every listing named in ``since`` (listing -> modified_after), one after the other."""
        for listing, moment in since.items():
            yield from self._listing(listing, moment)

    def _fetch(
        self,
        since: datetime | None,
        number: int,
        listing: str,
        before: datetime | None = None,
    ) -> Page:
        self.requests += 1
        if self.requests > self.limit:
            raise BadResponse(
                self.store.member,
                "GET orders",
                f"the store kept sending full pages ({self.requests - 1} requests, far more than "
                "its X-WP-Total says it holds); the listing is not ending",
            )
        page = self.store.list_orders(
            modified_after=since,
            page=number,
            per_page=self.per_page,
            status=LISTINGS[listing],
            modified_before=before,
        )
        if self.requests == 1 and page.total is not None:
            # a paginator must end: every order three times over, plus slack, is plenty
            self.limit = 3 * (page.total // self.per_page + 1) + REQUEST_SLACK
        return page

    def _page(self, listing: str, page: Page, moves_bookmark: bool = True) -> ChangedPage:
        newest = max(filter(None, map(modified_at, page.documents)), default=None)
        new = 0
        for document in page.documents:
            key = identity(document)
            if key not in self.seen:
                self.seen.add(key)
                new += 1
        self._new_in_page = new
        digests = page_digests(page.documents, self.secret) if self.secret else None
        return ChangedPage(
            listing, page.documents, page.raw, newest, moves_bookmark, page.total, digests
        )

    def _ignored(self, page: Page, since: datetime) -> Notice | None:
        """Did the store send an order older than ``modified_after``? Then it ignores it."""
        stale = any(m is not None and m <= since for m in map(modified_at, page.documents))
        if not stale:
            return None
        return Notice(
            f"{self.store.member}: the store ignores modified_after (WooCommerce older than "
            "5.8?), so every sync reads all orders; update WooCommerce to sync only what changed",
            ignores_modified_after=True,
        )

    def _listing(self, listing: str, cursor: datetime | None) -> Iterator[Event]:
        page = self._fetch(cursor, 1, listing)
        high: datetime | None = None
        while True:
            notice = self._ignored(page, cursor) if cursor is not None else None
            if notice is not None:
                if not self.noticed:
                    self.noticed = True
                    yield notice
                yield from self._scan(listing, high)
                return
            event = self._page(listing, page)
            newest = event.newest
            yield event
            if newest is not None:
                high = newest if high is None else max(high, newest)
            if len(page.documents) < self.per_page or newest is None:
                yield ListingDone(listing, high)
                return
            anchor = newest - ONE_SECOND
            if cursor is None or anchor > cursor:
                cursor = anchor
            else:  # a whole page in one second: read that second on its own
                yield from self._drain_second(listing, newest)
                cursor = newest
            page = self._fetch(cursor, 1, listing)

    def _drain_second(self, listing: str, moment: datetime) -> Iterator[Event]:
        """Every order modified within one second, until a full pass finds nothing new."""
        for _ in range(GROUP_PASSES_MAX):
            new_in_pass = 0
            for page in self._pages(listing, moment - ONE_SECOND, moment + ONE_SECOND):
                yield self._page(listing, page)
                new_in_pass += self._new_in_page
            if not new_in_pass:
                return
        yield Notice(
            f"{self.store.member}: orders kept changing while reading those modified at "
            f"{moment:%Y-%m-%d %H:%M:%S} UTC; the next sync reads them again"
        )

    def _pages(
        self, listing: str, since: datetime | None, before: datetime | None = None
    ) -> Iterator[Page]:
        number = 1
        while True:
            page = self._fetch(since, number, listing, before)
            yield page
            if len(page.documents) < self.per_page:
                return
            if page.total_pages is not None and number >= page.total_pages:
                return
            number += 1

    def _scan(self, listing: str, high: datetime | None) -> Iterator[Event]:
        """For stores that ignore ``modified_after``: every page; digests skip the old."""
        for page in self._pages(listing, None):
            event = self._page(listing, page, moves_bookmark=False)
            if event.newest is not None:
                high = event.newest if high is None else max(high, event.newest)
            yield event
        yield ListingDone(listing, high)
