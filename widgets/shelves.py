"""Shelves: which partners a member's block may recommend, which of their products, and which
product images a card may show.

A partner is on ``member``'s shelves when a deal pays ``member`` for referring to it; its
shelf holds the synced products a card may link to. Images are held to the partner's own store
at render time (:func:`shown_image`), against the agreement's current store URL.

Reading a shelf rebuilds and validates every product of every partner (most of a cold block's
time), so each process keeps the shelves (:class:`ShelfCache`) for as long as the catalog is
the same: its *version* is each member's product count and newest modification, read again at
most every :data:`VERSION_CHECK_SECONDS` (a product sync in another process shows within that
time, well inside the minute a rendered block is kept anyway).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import SplitResult, urlsplit, urlunsplit

from sqlalchemy import func, select

from alliance.agreement import Agreement
from alliance.products import Product, is_web_url
from alliance.services.catalog import products_of
from alliance.storage.schema import products

VERSION_CHECK_SECONDS = 5.0
"""How often a process asks whether the catalog changed (seconds of real time)."""


@dataclass(frozen=True, slots=True)
class Shelf:
    """One partner's recommendable products, and the deal under which ``member`` links them."""

    partner: str
    deal_id: str
    products: tuple[Product, ...]


def partner_deals(agreement: Agreement, member: str) -> dict[str, str]:
    """``partner -> deal id`` for every partner that rewards ``member`` for referrals.

    A deal allows the block when one of its legs has ``member`` as referrer and the partner as
    seller. With several such deals the smallest deal id is cited, so links are stable.
    """
    deals: dict[str, str] = {}
    for partner in sorted(agreement.members):
        if partner == member:
            continue
        legs = agreement.legs_between(member, partner)
        if legs:
            deals[partner] = min(leg.deal_id for leg in legs)
    return deals


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def shelf_products(products: Iterable[Product], store_url: str) -> tuple[Product, ...]:
    """The products a partner block may show: recommendable and on the partner's own store.

    The tracked redirect only sends shoppers to the seller's own store host, so a product
    whose permalink points elsewhere would be a dead card: it is left out here.
    """
    store_host = _host(store_url)
    return tuple(p for p in products if p.recommendable and _host(p.permalink) == store_host)


_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Place(NamedTuple):
    """Where a URL points, as a browser reads it: lowercase ASCII host, None for a default port."""

    scheme: str
    host: str
    port: int | None
    parts: SplitResult


def _place(url: str) -> _Place | None:
    if not is_web_url(url):  # http(s) only; no credentials, whitespace or backslashes
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
        # IDNA, as browsers do: fullwidth letters fold, a lookalike stays its own punycode
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    return _Place(scheme, host, None if port == _DEFAULT_PORTS[scheme] else port, parts)


@lru_cache(maxsize=4096)
def shown_image(image_url: str, store_url: str, *, secure: bool) -> str:
    """The URL a card may show ``image_url`` at, or ``""`` when it must show none.

    A visitor's browser fetches every image, so only the partner store's own host and port
    (from the agreement's ``store_url``) may serve one: any other host would learn who saw the
    block. An ``http`` image of a store whose URL is ``https`` is fetched over ``https`` (as
    browsers upgrade mixed images anyway); another ``http`` image only shows on an http block
    (``secure`` false). The URL is rebuilt from the host checked, so the browser fetches what
    was checked.
    """
    image, store = _place(image_url), _place(store_url)
    if image is None or store is None or (image.host, image.port) != (store.host, store.port):
        return ""
    scheme = "https" if store.scheme == "https" else image.scheme
    if secure and scheme != "https":
        return ""
    netloc = f"[{image.host}]" if ":" in image.host else image.host
    if image.port is not None:
        netloc += f":{image.port}"
    parts = image.parts
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def load_shelves(conn: Any, agreement: Agreement, member: str) -> list[Shelf]:
    """Every partner's shelf for ``member``'s block, read from the synced catalog."""
    return [
        Shelf(
            partner,
            deal_id,
            shelf_products(products_of(conn, partner), agreement.members[partner].url),
        )
        for partner, deal_id in partner_deals(agreement, member).items()
    ]


CatalogVersion = tuple[tuple[str, int, Any], ...]


def catalog_version(conn: Any) -> CatalogVersion:
    """Per member: how many products, and the newest modification. Any product a sync adds,
    changes (a store bumps ``date_modified`` on every edit, stock included) or removes
    changes it."""
    query = select(products.c.member, func.count(), func.max(products.c.modified_at)).group_by(
        products.c.member
    )
    return tuple(sorted((row[0], int(row[1]), row[2]) for row in conn.execute(query)))


@dataclass
class ShelfCache:
    """Every member's shelves, kept while the catalog version and the agreement are the same.

    Thread-safe: blocks render in worker threads. ``clock`` is real time (monotonic), not the
    app's clock, which tests and benchmarks move by whole rotation slots.
    """

    check_every: float = VERSION_CHECK_SECONDS
    clock: Callable[[], float] = time.monotonic
    loads: int = 0  # shelves read from the database (for tests and benchmarks)
    _version: CatalogVersion | None = None
    _checked: float = float("-inf")
    _agreement: Agreement | None = None
    _shelves: dict[str, list[Shelf]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shelves(self, conn: Any, agreement: Agreement, member: str) -> list[Shelf]:
        now = self.clock()
        with self._lock:
            stale = agreement is not self._agreement or now - self._checked >= self.check_every
        if stale:
            version = catalog_version(conn)
            with self._lock:
                if version != self._version or agreement is not self._agreement:
                    self._shelves = {}
                    self._version, self._agreement = version, agreement
                self._checked = now
        with self._lock:
            found = self._shelves.get(member)
        if found is None:
            found = load_shelves(conn, agreement, member)
            with self._lock:
                if self._agreement is agreement:
                    self._shelves[member] = found
                self.loads += 1
        return found

    def forget(self) -> None:
        """Read the catalog again on the next block (after a sync in this process)."""
        with self._lock:
            self._shelves, self._version, self._checked = {}, None, float("-inf")


def shelf_cache_of(state: Any) -> ShelfCache:
    """The app's shelf cache (made on first use, kept on ``app.state.shelf_cache``)."""
    cache = getattr(state, "shelf_cache", None)
    if cache is None:
        cache = state.shelf_cache = ShelfCache()
    return cache
