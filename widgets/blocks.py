"""The partner block ("Recommended by our partners") and the script that embeds it.

``GET /w/{member}/{placement}`` shows 3 to 6 recommendable products of the partners that have
a deal with ``member`` as referrer, in a fair round-robin across partners whose starting
partner rotates every :data:`ROTATION_SECONDS`. Query parameters: ``variant`` (grid, list,
single), ``count`` (3-6), ``lang`` (else ``Accept-Language``), ``frame=1`` (a whole page for
an ``<iframe>``), ``embed=1`` (asked by ``embed.js``; the same fragment). Every card links to
a signed tracked URL ``<links base>/r/<token>``.

Within one rotation slot a block is rendered once per process and kept (:class:`BlockCache`);
answers carry an ``ETag`` (hash of the bytes) and ``Cache-Control: public, max-age=60``, and
``If-None-Match`` gets a 304. Impressions are counted in memory (:class:`ImpressionCounter`),
never written per request.

``GET /embed.js`` fills every ``<div data-alliance-widget data-member data-placement>``.
"""

from __future__ import annotations

import hashlib
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from babel.numbers import format_currency
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from alliance.agreement import Agreement
from alliance.products import Product
from alliance.storage.catalog import products_of
from widgets import i18n
from widgets.links import PLACEMENTS, LinkClaim, link_key, link_url, sign_link
from widgets.rendering import shared_environment

ROTATION_SECONDS = 60
"""How long one rotation (starting partner, product offsets) is shown; also the cache life."""

MAX_AGE = 60
"""``Cache-Control: public, max-age`` of blocks (seconds)."""

EMBED_MAX_AGE = 300
"""``Cache-Control`` of ``embed.js`` (seconds)."""

MIN_CARDS = 3
MAX_CARDS = 6


class Variant(str, Enum):
    GRID = "grid"
    LIST = "list"
    SINGLE = "single"


DEFAULT_CARDS = {Variant.GRID: 4, Variant.LIST: 3, Variant.SINGLE: 1}
"""Cards per variant when ``count`` is not given; ``single`` always shows one."""

IFRAME_HEIGHTS = {Variant.GRID.value: 420, Variant.LIST.value: 460, Variant.SINGLE.value: 440}
"""Default ``<iframe>`` heights (pixels) used by ``embed.js``; ``data-height`` overrides."""

EMBED_BASES = 16
"""Rendered ``embed.js`` copies kept (one per base URL the service is reached under)."""

CACHE_ENTRIES = 2048
"""Rendered blocks kept per process; expired ones are dropped first."""


class BlockRequestError(ValueError):
    """A query parameter of a block request is not one we accept (answered with 400)."""


# --- choosing products ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shelf:
    """One partner's recommendable products, and the deal under which ``member`` links them."""

    partner: str
    deal_id: str
    products: tuple[Product, ...]


@dataclass(frozen=True, slots=True)
class Pick:
    product: Product
    deal_id: str


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


def choose_products(shelves: Sequence[Shelf], count: int, rotation: int) -> list[Pick]:
    """Up to ``count`` products, round-robin across partners; deterministic in ``rotation``.

    Partners are taken in id order starting at ``rotation % partners``; each partner's own
    list is rotated by ``rotation // partners`` so its other products get their turn. Over
    any ``partners`` consecutive rotations every partner starts once, so when shelves are
    deep enough each partner shows the same number of cards.
    """
    stocked = sorted((s for s in shelves if s.products), key=lambda s: s.partner)
    if not stocked or count <= 0:
        return []
    n = len(stocked)
    start, turn = rotation % n, rotation // n
    queues: list[list[Pick]] = []
    for shelf in stocked[start:] + stocked[:start]:
        offset = turn % len(shelf.products)
        ordered = shelf.products[offset:] + shelf.products[:offset]
        queues.append([Pick(p, shelf.deal_id) for p in ordered])
    picks: list[Pick] = []
    depth = 0
    while len(picks) < count and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(picks) < count:
                picks.append(queue[depth])
        depth += 1
    return picks


def rotation_for(member: str, placement: str, now: float) -> int:
    """The rotation shown at ``now``: the time slot, offset per block so blocks differ."""
    offset = zlib.crc32(f"{member}/{placement}".encode())
    return int(now // ROTATION_SECONDS) + offset


# --- counting impressions ------------------------------------------------------------------


@dataclass
class ImpressionCounter:
    """Cards shown, counted in memory: ``(day, source, placement, partner) -> cards``.

    ``add`` is a dict increment under a lock; ``drain`` hands the counts over and starts
    again, for a periodic flush job to persist. ``totals`` keeps everything since start.
    """

    pending: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    totals: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, day: str, source: str, placement: str, partners: Iterable[str]) -> None:
        with self._lock:
            for partner in partners:
                key = (day, source, placement, partner)
                self.pending[key] += 1
                self.totals[key] += 1

    def drain(self) -> dict[tuple[str, str, str, str], int]:
        with self._lock:
            drained, self.pending = dict(self.pending), Counter()
        return drained


# --- caching rendered blocks -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    partners: tuple[str, ...]  # one entry per card, for impressions
    expires: float


@dataclass
class BlockCache:
    """Rendered blocks by request shape, each kept until its rotation slot ends."""

    entries: dict[tuple[Any, ...], Rendered] = field(default_factory=dict)
    limit: int = CACHE_ENTRIES

    def get(self, key: tuple[Any, ...], now: float) -> Rendered | None:
        hit = self.entries.get(key)
        return hit if hit is not None and hit.expires > now else None

    def put(self, key: tuple[Any, ...], value: Rendered, now: float) -> None:
        if len(self.entries) >= self.limit:
            self.entries = {k: v for k, v in self.entries.items() if v.expires > now}
            if len(self.entries) >= self.limit:
                self.entries.clear()
        self.entries[key] = value


def _state(request: Request, name: str, make: Callable[[], Any]) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        value = make()
        setattr(request.app.state, name, value)
    return value


def impressions_of(state: Any) -> ImpressionCounter:
    """The app's impression counter (made on first use, kept on ``app.state.impressions``)."""
    counter = getattr(state, "impressions", None)
    if counter is None:
        counter = ImpressionCounter()
        state.impressions = counter
    return counter


# --- HTTP -------------------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (a list, weak or strong, or ``*``) matches ``etag``."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in {"1", "true", "yes"}


def _variant_and_count(query: Mapping[str, str]) -> tuple[Variant, int]:
    try:
        variant = Variant(query.get("variant") or Variant.GRID.value)
    except ValueError:
        raise BlockRequestError("variant must be grid, list or single") from None
    if variant is Variant.SINGLE:
        return variant, 1
    text = query.get("count")
    if not text:
        return variant, DEFAULT_CARDS[variant]
    if not text.isdigit() or not MIN_CARDS <= int(text) <= MAX_CARDS:
        raise BlockRequestError(f"count must be a whole number from {MIN_CARDS} to {MAX_CARDS}")
    return variant, int(text)


def _money(product_price: Any, currency: str, locale: str) -> str:
    if product_price is None:
        return ""
    return format_currency(product_price, currency, locale=i18n.babel_locale(locale))


def render_block(
    request: Request,
    *,
    member: str,
    placement: str,
    variant: Variant,
    count: int,
    locale: str,
    frame: bool,
    origin: str,
    rotation: int,
    expires: float,
) -> Rendered:
    """Choose the products and render the block (runs in a worker thread: it reads the DB)."""
    state = request.app.state
    agreement: Agreement = state.agreement
    with state.engine.connect() as conn:
        shelves = load_shelves(conn, agreement, member)
    picks = choose_products(shelves, count, rotation)
    key = link_key(state.settings.require_secret())
    cards = []
    for pick in picks:
        p = pick.product
        claim = LinkClaim(
            source=member,
            target=p.member,
            product_id=p.product_id,
            placement=placement,
            deal_id=pick.deal_id,
        )
        on_sale = p.regular_price is not None and p.price is not None and p.regular_price > p.price
        cards.append(
            {
                "name": p.name,
                "url": link_url(origin, sign_link(key, claim)),
                "image_url": p.image_url,
                "image_alt": p.image_alt or p.name,
                "shop": agreement.members[p.member].name,
                "price": _money(p.price, agreement.currency, locale),
                "regular_price": _money(p.regular_price, agreement.currency, locale),
                "on_sale": on_sale,
                "backorder": p.stock_status.value == "onbackorder",
            }
        )
    if not cards:
        return Rendered(b"", "", (), expires)
    block = {
        "member": member,
        "placement": placement,
        "variant": variant.value,
        "lang": i18n.html_lang(locale),
        "frame": frame,
        "block_id": f"sa-{member}-{placement}",
        "cards": cards,
    }
    name = "block_iframe.html" if frame else "block.html"
    template = shared_environment(state).get_template(name)
    body = template.render(block=block, translations=i18n.translations(locale)).encode()
    return Rendered(body, etag_of(body), tuple(pick.product.member for pick in picks), expires)


def _cached_response(body: bytes, etag: str, request: Request, headers: dict[str, str]) -> Response:
    headers = {"ETag": etag, **headers}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers)


_FRAME_CSP = "default-src 'none'; img-src http: https:; style-src 'unsafe-inline'; base-uri 'none'"


async def block_route(request: Request) -> Response:
    """``GET /w/{member}/{placement}``: the partner block (HTML fragment or iframe page)."""
    agreement: Agreement = request.app.state.agreement
    member = request.path_params["member"]
    placement = request.path_params["placement"]
    if member not in agreement.members or placement not in PLACEMENTS:
        return PlainTextResponse("No such block.", status_code=404)
    query = request.query_params
    try:
        variant, count = _variant_and_count(query)
    except BlockRequestError as error:
        return PlainTextResponse(str(error), status_code=400)
    locale = i18n.choose_locale(query.get("lang"), request.headers.get("accept-language"))
    frame = _flag(query.get("frame"))
    origin = (agreement.settings.links_base_url or str(request.base_url)).rstrip("/")
    now = getattr(request.app.state, "clock", time.time)()
    rotation = rotation_for(member, placement, now)
    cache: BlockCache = _state(request, "block_cache", BlockCache)
    key = (member, placement, variant, count, locale, frame, origin, rotation)
    rendered = cache.get(key, now)
    if rendered is None:
        expires = (now // ROTATION_SECONDS + 1) * ROTATION_SECONDS
        rendered = await run_in_threadpool(
            render_block,
            request,
            member=member,
            placement=placement,
            variant=variant,
            count=count,
            locale=locale,
            frame=frame,
            origin=origin,
            rotation=rotation,
            expires=expires,
        )
        cache.put(key, rendered, now)
    headers = {
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Vary": "Accept-Language",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _FRAME_CSP + ("" if frame else "; frame-ancestors 'none'"),
    }
    if not rendered.body:
        return Response(status_code=204, headers=headers)
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    impressions_of(request.app.state).add(day, member, placement, rendered.partners)
    response = _cached_response(rendered.body, rendered.etag, request, headers)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


async def embed_route(request: Request) -> Response:
    """``GET /embed.js``: the script that fills ``<div data-alliance-widget>`` elements."""
    base = str(request.base_url).rstrip("/")
    scripts: dict[str, tuple[bytes, str]] = _state(request, "embed_scripts", dict)
    cached = scripts.get(base)
    if cached is None:
        if len(scripts) >= EMBED_BASES:  # Host headers are the client's to choose
            scripts.clear()
        template = shared_environment(request.app.state).get_template("embed.js")
        body = template.render(
            base=base,
            heights=IFRAME_HEIGHTS,
            title=i18n.translations(i18n.ENGLISH).gettext("Recommended by our partners"),
        ).encode()
        cached = scripts[base] = (body, etag_of(body))
    body, etag = cached
    headers = {
        "Cache-Control": f"public, max-age={EMBED_MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    response = _cached_response(body, etag, request, headers)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response
