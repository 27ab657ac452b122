"""``GET /r/{token}``: verify a tracked link, record the click, send the shopper on.

The order of things is the contract: the token is verified and checked against the agreement;
the destination is built and held to the target member's own store host (never an open
redirect); only then is the click recorded durably (:func:`alliance.services.booking.book_clicks`),
and only after that commits does the shopper get the 302. Anything wrong before the click is
recorded answers the 404 page, records nothing and redirects nowhere. Two exceptions, both so
that a shop's page never waits on our database: while SQLite cannot take clicks the 302 goes
out after a quarter of a second with the click held in memory, and past the bound of held
clicks the shopper gets a quick 503 instead (:mod:`widgets.held_clicks`). ``HEAD`` answers
as ``GET`` would, with no body, and records nothing: link checkers and previews are no clicks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from sqlalchemy import Engine, select
from starlette.types import ASGIApp, Receive, Scope, Send

from alliance.agreement import Agreement
from alliance.products import PUBLISHED, is_web_url
from alliance.storage.schema import products
from widgets.click_writer import ClickWriter, PendingClick
from widgets.held_clicks import RETRY_AFTER_SECONDS, DatabaseBusy
from widgets.links import GIFT_PACK_PLACEMENT, BadLink, LinkClaim, link_key, verify_link
from widgets.rendering import make_environment, override_dir
from widgets.visitors import ClickJudge, agent_class, visitor_key, visitor_key_secret

log = logging.getLogger("alliance.clicks")

UTM_SOURCE = "alliance"
URL_CACHE_SECONDS = 60.0
"""How long a product's page address is remembered (products change only when synced)."""
URL_CACHE_SIZE = 10_000

_LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"
"""What a ``Location`` keeps unencoded (Starlette's ``RedirectResponse`` rule): the header
must be ASCII, so anything else in a store's permalink is percent-encoded."""


RANDOM_BYTES = 10
"""Random bytes per click id (80 bits)."""


class ClickIds:
    """Click ids that sort by time: 48 bits of milliseconds, then 80 random bits, as 32 hex
    digits (they travel as ``utm_content``; 80 random bits a millisecond cannot be guessed).

    Why ordered: the ``clicks`` table's key index then grows at its right edge, so a batch
    of clicks touches one index page instead of one per click; random ids made every commit
    write about twice as much to SQLite's WAL (``bench/clicks.py``). The randomness is read
    4 KiB at a time: a ``getrandom`` call per click also hands the GIL away on every request.
    """

    def __init__(self, ids_per_read: int = 256, clock: Callable[[], float] = time.time) -> None:
        self._size = RANDOM_BYTES * ids_per_read
        self._pool = b""
        self._at = 0
        self._clock = clock
        self._lock = threading.Lock()

    def __call__(self) -> str:
        millis = int(self._clock() * 1000) & 0xFFFF_FFFF_FFFF
        with self._lock:
            if self._at >= len(self._pool):
                self._pool, self._at = os.urandom(self._size), 0
            raw = self._pool[self._at : self._at + RANDOM_BYTES]
            self._at += RANDOM_BYTES
        return f"{millis:012x}{raw.hex()}"


new_click_id = ClickIds()


def _host_and_port(url: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.rstrip("."), port  # urlsplit lowercases the hostname


def same_store(url: str, store_url: str) -> bool:
    """True when ``url`` is a safe http(s) URL on the store's own host (and port)."""
    if not is_web_url(url) or not is_web_url(store_url):
        return False
    mine = _host_and_port(url)
    return mine is not None and mine == _host_and_port(store_url)


@dataclass(frozen=True, slots=True)
class Page:
    """A checked page on a member's store, split once so that each click only joins strings."""

    head: str  # scheme://netloc/path
    kept: tuple[str, ...]  # the query's pairs but utm_*, byte for byte, in order
    fragment: str

    @classmethod
    def of(cls, url: str) -> Page:
        parts = urlsplit(url)
        kept = tuple(
            pair
            for pair in parts.query.split("&")
            if pair and not unquote_plus(pair.partition("=")[0]).strip().lower().startswith("utm_")
        )
        head = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return cls(_ascii(head), tuple(_ascii(pair) for pair in kept), _ascii(parts.fragment))

    def with_utm(self, *, placement: str, deal_id: str, click_id: str) -> str:
        """The page with the alliance's UTM values; every value is percent-encoded with no
        safe characters, so none can end the query or change the host."""
        ours = (
            f"utm_source={UTM_SOURCE}",
            f"utm_medium={quote(placement, safe='')}",
            f"utm_campaign={quote(deal_id, safe='')}",
            f"utm_content={quote(click_id, safe='')}",
        )
        url = f"{self.head}?{'&'.join(self.kept + ours)}"
        return f"{url}#{self.fragment}" if self.fragment else url


@dataclass(frozen=True, slots=True)
class Destination:
    claim: LinkClaim
    page: Page  # before the UTM values are merged in


def _ascii(text: str) -> str:
    """``text`` fit for a ``Location`` header (ASCII; existing %-escapes kept)."""
    return quote(text, safe=_LOCATION_SAFE)


def merge_utm(url: str, *, placement: str, deal_id: str, click_id: str) -> str:
    """``url`` with the alliance's UTM values; any ``utm_*`` it had is replaced, other
    parameters are kept byte for byte, in order, and the fragment stays."""
    return Page.of(url).with_utm(placement=placement, deal_id=deal_id, click_id=click_id)


class Redirector:
    """Everything ``/r/{token}`` needs, built once per app: keys, judge, engine, agreement.

    What can be worked out before a click is: which (source, target, deal) triples are live,
    each member's home page, and (for a minute) each product's page, already checked against
    its store's host. A click then costs a signature check, dict look-ups and a string join.

    A link at the ``giftpack`` placement (a gift pack's note, the thank-you block) names a
    promotion instead of a deal: it is live from the promotion's trigger member to each of its
    reward members, and to nothing else. Its click is judged like any other and, a promotion
    being no per-click deal, earns nothing (its redeemed coupons do).
    """

    def __init__(
        self,
        engine: Engine,
        agreement: Agreement,
        secret: bytes,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.agreement = agreement
        self.link_key = link_key(secret)
        self.visitor_secret = visitor_key_secret(secret)
        self.judge = ClickJudge(agreement)
        self.clock = clock
        self.writer = ClickWriter(engine, agreement, self.judge)
        members = agreement.members
        self._live = {
            (source, target): frozenset(
                leg.deal_id for leg in agreement.legs_between(source, target)
            )
            for source in members
            for target in members
            if source != target
        }
        gifts: dict[tuple[str, str], set[str]] = {}
        for promotion in agreement.promotions:
            for reward in promotion.rewards:
                pair = (promotion.trigger_member, reward.member)
                if pair in self._live:  # both members, and not the same one
                    gifts.setdefault(pair, set()).add(promotion.id)
        self._gift_packs = {pair: frozenset(ids) for pair, ids in gifts.items()}
        self._homes = {
            name: Page.of(info.url) for name, info in members.items() if is_web_url(info.url)
        }
        self._pages: dict[tuple[str, str], tuple[float, Page | None]] = {}

    def destination(self, token: str) -> Destination | None:
        """Where a genuine token for a live deal leads, or None (tampered, unknown, unsafe)."""
        try:
            claim = verify_link(self.link_key, token)
        except BadLink:
            return None
        page = self._page_for(claim)
        return None if page is None else Destination(claim, page)

    def _page_for(self, claim: LinkClaim) -> Page | None:
        """The claim's page: its product's, else its store's home; None for no live deal
        (or, at the gift-pack placement, no promotion rewarding the target)."""
        live = self._gift_packs if claim.placement == GIFT_PACK_PLACEMENT else self._live
        if claim.deal_id not in live.get((claim.source, claim.target), ()):
            return None
        home = self._homes.get(claim.target)
        if home is None:
            return None
        if not claim.product_id:
            return home
        key = (claim.target, claim.product_id)
        now = time.monotonic()
        cached = self._pages.get(key)
        if cached is None or cached[0] <= now:
            cached = (now + URL_CACHE_SECONDS, self._product_page(claim, home))
            if len(self._pages) >= URL_CACHE_SIZE:
                self._pages.clear()
            self._pages[key] = cached
        return cached[1]

    def _product_page(self, claim: LinkClaim, home: Page) -> Page | None:
        """The product's page; the store's home page for a product that is unknown or not
        published; None (a 404) for one whose page is off the target's own store."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(products.c.permalink, products.c.status).where(
                    products.c.member == claim.target,
                    products.c.product_id == claim.product_id,
                )
            ).first()
        if row is None or row.status != PUBLISHED or not row.permalink:
            return home  # unknown, unpublished or unlinkable
        if not same_store(row.permalink, self.agreement.members[claim.target].url):
            return None  # never a redirect off the target's own store
        return Page.of(row.permalink)

    def prepare(self, token: str, ip: str, user_agent: str) -> tuple[str, PendingClick] | None:
        """Where the click goes and what to record (the writer records it), or None: 404."""
        found = self.destination(token)
        if found is None:
            return None
        claim = found.claim
        click_id = new_click_id()
        location = found.page.with_utm(
            placement=claim.placement, deal_id=claim.deal_id, click_id=click_id
        )
        now = self.clock()
        visitor = visitor_key(self.visitor_secret, ip, user_agent, now.date())
        pending = PendingClick(claim, click_id, visitor, agent_class(user_agent), now)
        return location, pending


@lru_cache(maxsize=1)
def not_found_html() -> str:
    """Rendered once (it has no per-request data), from a shop's override folder if it has
    ``not_found.html``, else the shipped template."""
    return (
        make_environment(override_dir())
        .get_template("not_found.html")
        .render(
            title="This link does not work",
            message="The link you followed is broken, has expired, or was changed on the way.",
        )
    )


_NO_STORE = (b"cache-control", b"no-store")
_NOT_FOUND_HEADERS = [(b"content-type", b"text/html; charset=utf-8"), _NO_STORE]
_BUSY_HEADERS = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode()), *_NOT_FOUND_HEADERS]


class TrackedLinks:
    """ASGI middleware that answers ``/r/{token}`` itself, ahead of the rest of the app.

    A tracked link is the one request that happens on every click, so it skips the request
    and response objects, the router and the other middleware: it reads the two things it
    needs from the ASGI scope and sends the 302 (or the 404 page) directly. Every other path
    goes to the app. An error answers 500 and records nothing (no 302 without a stored or
    held click); past the bound of held clicks the answer is a 503 with ``Retry-After``.
    """

    def __init__(self, app: ASGIApp, redirector: Redirector) -> None:
        self.app = app
        self.redirector = redirector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/r/") or "/" in path[3:]:
            await self.app(scope, receive, send)
            return
        try:
            status, headers, body = await self._answer_click(scope, path[3:])
        except Exception:
            log.exception("a tracked link could not be recorded; the visitor got a 500")
            status, headers, body = 500, _NOT_FOUND_HEADERS, _error_html()
        await _answer(send, status, headers, body, head=scope["method"] == "HEAD")

    async def _answer_click(self, scope: Scope, token: str) -> tuple[int, list, bytes]:
        if scope["method"] not in ("GET", "HEAD"):
            return 405, [(b"allow", b"GET, HEAD"), *_NOT_FOUND_HEADERS], b""
        user_agent = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
                break
        client = scope.get("client")
        prepared = self.redirector.prepare(token, client[0] if client else "", user_agent)
        if prepared is None:
            return 404, _NOT_FOUND_HEADERS, not_found_html().encode()
        location, pending = prepared
        if scope["method"] == "GET":  # HEAD (link checkers, previews) is no click
            try:
                await self.redirector.writer.record(pending)  # the 302 leaves once committed
            except DatabaseBusy:  # nothing recorded, no click id sent out: try again soon
                return 503, _BUSY_HEADERS, _error_html()
        return 302, [(b"location", location.encode("ascii")), _NO_STORE], b""


def _error_html() -> bytes:
    return (
        b"<!doctype html><title>Please try again</title><p>This link could not be followed "
        b"just now. Please go back and try again in a moment.</p>"
    )


async def _answer(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, head: bool
) -> None:
    """Send the answer; to ``HEAD``, the same status and headers (length included), no body."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
