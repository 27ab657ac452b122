"""Run the listing walk beside the booking: in a thread, or in a process of its own.

The walk is the one-page-at-a-time :class:`~connector.pages.ListingWalk`, or, given a
concurrency ``cap``, the :class:`~connector.backfill_walk.ConcurrentWalk` that keeps several
pages in flight (adaptive backfill; its :class:`WalkStats` come back in ``stats``).

Fetching a page (HTTP, then parsing its JSON) and booking it (digest, map, attribute, write)
are both mostly Python, so in two threads they take turns on one GIL. For a large backfill the
walk therefore runs in a separate process: it fetches and parses on the second core, and
sends each page's raw bytes through a pipe (one page ahead: the pipe blocks), while this
process parses its copy and books. Measured with ``bench/sync.py``.

Either way the booking side sees the same events in the same order, and a store failure in
the walk is raised in the booking side as the same typed error.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from connector.backfill_walk import ConcurrentWalk, WalkStats
from connector.errors import StoreError, StoreUnavailable
from connector.pages import ChangedPage, Event, ListingWalk
from connector.storefront import Storefront

PROCESS_THRESHOLD = 5000
"""Orders to fetch above which a backfill gets its own fetch process (starting one costs
about half a second: Python and the connector are imported afresh)."""

_END = object()


class EventSource:
    """The walk's events, produced elsewhere.

    ``requests_elsewhere`` counts requests the store object of this process did not send (a
    fetch process has its own); the thread shares the store, whose own counter sees them.
    """

    requests_elsewhere = 0

    def events(self) -> Iterator[Event]:  # pragma: no cover - interface
        raise NotImplementedError


def _walk(
    store: Storefront, per_page: int, secret: bytes | None, cap: int | None
) -> ListingWalk | ConcurrentWalk:
    """The walk a source runs: concurrent when given a ``cap``, else one page at a time."""
    if cap is None:
        return ListingWalk(store, per_page, secret)
    return ConcurrentWalk(store, per_page, secret, cap=cap)


def events_in_thread(events: Iterable[Event], name: str) -> Iterator[Event]:
    """``events`` produced by a daemon thread, at most two ahead of the consumer; an error in
    the thread is raised here, and closing this generator stops the thread."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for event in events:
                if not offer(event):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the booking side, raised there
            offer(exc)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=60)


class ThreadSource(EventSource):
    """The walk in a daemon thread, at most two events ahead of the booking."""

    def __init__(
        self,
        store: Storefront,
        since: dict[str, datetime | None],
        per_page: int,
        cap: int | None = None,
    ) -> None:
        self.store = store
        self.since = since
        self.per_page = per_page
        self.cap = cap
        self.stats = WalkStats()

    def events(self) -> Iterator[Event]:
        walk = _walk(self.store, self.per_page, None, self.cap)
        if isinstance(walk, ConcurrentWalk):
            self.stats = walk.stats
        return events_in_thread(walk.events(self.since), f"walk-{self.store.member}")


class ProcessSource(EventSource):
    """The walk in a spawned process, for large backfills of a WooCommerce store."""

    def __init__(
        self,
        spec: dict[str, Any],
        since: dict[str, datetime | None],
        per_page: int,
        secret: bytes | None = None,
        cap: int | None = None,
    ) -> None:
        self.spec = spec
        self.since = since
        self.per_page = per_page
        self.secret = secret
        self.cap = cap
        self.stats = WalkStats()

    def events(self) -> Iterator[Event]:
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_walk_in_child,
            args=(self.spec, self.since, self.per_page, self.secret, self.cap, sender),
            name=f"fetch-{self.spec['member']}",
            daemon=True,
        )
        process.start()
        sender.close()
        try:
            while True:
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    raise StoreUnavailable(
                        self.spec["member"], "GET orders", "the fetch process stopped unexpectedly"
                    ) from None
                if kind == "event":
                    yield payload
                elif kind == "error":
                    raise payload
                else:
                    self.requests_elsewhere, self.stats = payload
                    return
        finally:
            receiver.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


def _walk_in_child(
    spec: dict[str, Any],
    since: dict,
    per_page: int,
    secret: bytes | None,
    cap: int | None,
    sender: Any,
) -> None:
    from connector.woocommerce.store import WooCommerceStore

    policy = spec["policy"]
    if cap is not None:  # a connection for each page in flight
        policy = replace(policy, pool_size=max(policy.pool_size, cap))
    store = WooCommerceStore(
        spec["member"],
        spec["url"],
        spec["consumer_key"],
        spec["consumer_secret"],
        rest_route=spec["rest_route"],
        query_string_auth=spec["query_string_auth"],
        verify=spec["verify"],
        policy=policy,
    )
    walk = _walk(store, per_page, secret, cap)
    try:
        for event in walk.events(since):
            if isinstance(event, ChangedPage):
                event = replace(event, documents=None)  # the raw bytes travel, not the objects
            sender.send(("event", event))
        stats = walk.stats if isinstance(walk, ConcurrentWalk) else WalkStats()
        sender.send(("end", (store.requests_sent, stats)))
    except StoreError as exc:
        sender.send(("error", exc))
    except Exception as exc:
        reason = f"fetching failed ({type(exc).__name__})"
        failure = StoreUnavailable(spec["member"], "GET orders", reason)
        sender.send(("error", failure))
    finally:
        store.close()
        sender.close()
