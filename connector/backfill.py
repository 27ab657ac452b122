"""How many pages of a backfill to ask a store for at once, and in what order to book them.

A first sync waits on the store, not on us: a page of 100 orders takes a WooCommerce store
about half a second, and our ingest is fifty times faster. A store on two cores serves two
pages at once about twice as fast as one, but four or eight are no faster (each page just takes
longer), and a bigger host keeps up with more. Nobody can tell which from outside, so the
number of pages in flight is *found*, the way TCP finds a link's capacity (AIMD):

- start at one page at a time; after a window of pages at a level, add one more while the
  orders per second rose by more than a margin; when one more did not help, step back to the
  last level that did, and try one more again only after a while;
- back off at once (halve, at least one) on 429, 5xx, timeouts, or a page that takes twice
  as long as pages did at the level before;
- never above a cap (default 4; a shop host is somebody else's machine).

Pages come back in any order; :class:`InOrder` hands them on in the order they were asked
for, so the bookmark only ever covers a contiguous prefix of booked pages.

Pure: no clock, no I/O. The caller passes the times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

DEFAULT_CAP = 4
MARGIN = 0.10
"""One more page in flight must raise orders/s by more than this to be kept."""
REPROBE_AFTER = 6
"""Windows held at a level before one more is tried again (the store may have got faster)."""
LATENCY_LIMIT = 2.0
"""A page this many times slower than the level before is a store in trouble."""

T = TypeVar("T")


def window_pages(level: int) -> int:
    """Pages finished at a level before its rate is judged: enough to see past one slow page."""
    return max(3, 2 * level)


@dataclass
class Aimd:
    """Additive increase, multiplicative decrease of the pages in flight; see the module."""

    cap: int = DEFAULT_CAP
    margin: float = MARGIN
    limit: int = 1
    ceiling: int = 0  # the level that did not help last time; 0: none known
    decreases: int = 0
    increases: int = 0
    peak: int = 1
    _since: float | None = None  # when the first page at this level started
    _orders: int = 0
    _pages: int = 0
    _seconds: float = 0.0
    _last: float = 0.0
    _held: int = 0
    _rates: dict[int, float] = field(default_factory=dict)
    _latency: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cap < 1:
            raise ValueError("the cap on pages in flight must be at least 1")
        self.limit = max(1, min(self.limit, self.cap))

    def started(self, now: float) -> int:
        """A page starts now; returns the level it started at, to give back to :meth:`finished`."""
        if self._since is None:
            self._since = now
        return self.limit

    def finished(self, level: int, started: float, now: float, orders: int) -> None:
        """A page started at ``level`` came back with ``orders`` orders."""
        seconds = max(0.0, now - started)
        reference = self._latency.get(level - 1) if level > 1 else None
        if reference is not None and seconds > LATENCY_LIMIT * reference > 0:
            self.trouble()  # latency doubled: the store is struggling
            return
        if level != self.limit or self._since is None or started < self._since:
            return  # started at another level: it says nothing about this one
        self._orders += orders
        self._pages += 1
        self._seconds += seconds
        self._last = max(self._last, now)
        if self._pages >= window_pages(self.limit):
            self._judge()

    def trouble(self) -> None:
        """429, 5xx, a timeout or a doubled latency: halve the pages in flight, at once."""
        before = self.limit
        self.limit = max(1, before // 2)
        self.ceiling = before if before > 1 else 0
        self.decreases += 1
        self._rates.clear()
        self._latency.clear()
        self._restart()

    def _judge(self) -> None:
        level = self.limit
        # Little's law: ``level`` pages always in flight, each taking the mean time, come back
        # at level / mean a second (a wall-clock rate would count the pipeline filling up)
        mean = self._seconds / self._pages
        rate = level * (self._orders / self._pages) / mean if mean > 0 else float("inf")
        self._rates[level] = rate
        self._latency[level] = mean
        below = self._rates.get(level - 1)
        if below is not None and rate <= below * (1 + self.margin):
            self.ceiling = level  # one more did not pay: step back to the level that did
            self.limit = level - 1
            self._held = 0
        elif level < self.cap and (self.ceiling == 0 or level + 1 < self.ceiling):
            self.limit = level + 1
            self.increases += 1
        else:
            self._held += 1
            if self._held >= REPROBE_AFTER and level < self.cap:
                self.ceiling, self._held = 0, 0
                self.limit = level + 1
                self.increases += 1
        self.peak = max(self.peak, self.limit)
        self._restart()

    def _restart(self) -> None:
        self._since = None
        self._orders = self._pages = 0
        self._seconds = self._last = 0.0


class InOrder(Generic[T]):
    """Items numbered 0, 1, 2... arrive in any order and leave in order, each exactly once."""

    def __init__(self) -> None:
        self.next = 0
        self._waiting: dict[int, T] = {}

    def add(self, number: int, item: T) -> list[T]:
        """Hold ``item``; return every item that can now leave, in order."""
        if number < self.next or number in self._waiting:
            raise ValueError(f"item {number} arrived twice")
        self._waiting[number] = item
        ready: list[T] = []
        while self.next in self._waiting:
            ready.append(self._waiting.pop(self.next))
            self.next += 1
        return ready

    @property
    def waiting(self) -> int:
        return len(self._waiting)


def slice_offsets(total: int, per_page: int, overlap: int) -> list[int]:
    """Offsets of the pages after the first (offset 0) that cover ``total`` listed orders,
    each overlapping the one before by ``overlap`` orders: consecutive pages that share an
    order prove that nothing between them was skipped, even if orders left the listing
    between the two requests."""
    if not 0 <= overlap < per_page:
        raise ValueError("the overlap must be smaller than a page")
    step = per_page - overlap
    return list(range(step, max(0, total - overlap), step))
