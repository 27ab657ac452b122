"""The partner block ("Recommended by our partners") and the script that embeds it.

``GET /w/{member}/{placement}`` shows 3 to 6 recommendable products of the partners that have
a deal with ``member`` as referrer (:mod:`widgets.shelves`), in a rotation across partners
that moves every :data:`ROTATION_SECONDS` and gives more cards to the partners that give
``member`` more back (:mod:`widgets.rotation`, :mod:`alliance.reciprocity`). Query
parameters: ``variant`` (grid, list, single), ``count`` (3-6), ``lang`` (else
``Accept-Language``), ``frame=1`` (a whole page for an ``<iframe>``), ``embed=1`` (asked by
``embed.js``; the same fragment). Every card links to a signed tracked URL
``<links base>/r/<token>``. An unknown member or placement, or a parameter we do not accept,
is answered with JSON ``{"error": ...}`` (404, 400) that ``embed.js`` logs in the console.

On the ``thankyou`` placement, ``order`` (a reference signed with the member's webhook secret,
:mod:`widgets.order_refs`) shows that order's gift pack above the cards
(:mod:`widgets.thankyou_gifts`). Such an answer is one customer's: it is never kept, and says
``Cache-Control: private, no-store``. A reference that is not genuine, or on another placement,
changes nothing: the answer is the block's without it, byte for byte and header for header.

Within one rotation slot a block is rendered once per process and kept
(:mod:`widgets.caching`); answers carry an ``ETag`` (hash of the bytes) and
``Cache-Control: public, max-age=60``, and ``If-None-Match`` gets a 304. Impressions are
counted in memory (:mod:`widgets.impression_counter`), never written per request, per day in
the alliance's timezone, and only for a page's own request (``embed=1`` or ``frame=1``) from
an agent the click rules do not call a bot (:func:`widgets.visitors.shown_to_a_visitor`): a
bare GET or a crawler adds no cards.

``GET /embed.js`` fills every ``<div data-alliance-widget data-member data-placement>``.
``GET /block.css`` is the block's stylesheet: the block links it (``?v=`` its hash) instead of
carrying inline styles, so a shop whose CSP forbids ``'unsafe-inline'`` allows it by origin.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from jinja2 import TemplateNotFound
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from alliance.agreement import Agreement
from widgets import i18n
from widgets.block_weights import block_weights_of
from widgets.caching import BlockCache, Rendered, cached_response, etag_of
from widgets.impression_counter import impressions_of
from widgets.links import (
    GIFT_PACK_PLACEMENT,
    PLACEMENTS,
    LinkClaim,
    link_key,
    link_url,
    sign_link,
)
from widgets.order_refs import BadOrderRef, order_ref_key, read_order_ref
from widgets.rendering import shared_environment
from widgets.rotation import ROTATION_SECONDS, choose_products, rotation_for
from widgets.shelves import partner_deals, shelf_cache_of, shown_image
from widgets.thankyou_gifts import GiftView, gift_pack_context, gift_view
from widgets.visitors import shown_to_a_visitor

__all__ = [  # what other modules import from here; the rest lives in the modules named above
    "IFRAME_HEIGHTS",
    "THANKYOU",  # alliance/cli/web_commands.py: the placement that takes an order reference
    "Variant",
    "block_route",
    "embed_route",
    "partner_deals",  # alliance/cli/web_commands.py: lives in widgets.shelves
    "stylesheet_route",
]

MAX_AGE = 60
"""``Cache-Control: public, max-age`` of blocks (seconds)."""

PRIVATE = "private, no-store"
"""``Cache-Control`` of a block for one order (a genuine ``order`` reference): one customer's
gift codes, never in a shared cache, and fetched afresh as the pack is issued."""

THANKYOU = "thankyou"
"""The placement whose block shows an order's gift pack."""

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

STYLESHEET = "block.css"
"""The block's stylesheet, a file of ``templates/`` that a shop may override like the others."""

STYLESHEET_MAX_AGE = 365 * 24 * 3600
"""``Cache-Control`` of ``/block.css?v=<current version>``: those bytes never change."""


class BlockRequestError(ValueError):
    """A query parameter of a block request is not one we accept (answered with 400)."""


def _state(request: Request, name: str, make: Callable[[], Any]) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        value = make()
        setattr(request.app.state, name, value)
    return value


@dataclass(frozen=True, slots=True)
class Stylesheet:
    """The block's CSS, read once per process; ``version`` (16 hex digits of its hash) is the
    ``v`` of the URL the block links, so a new stylesheet is a new URL."""

    body: bytes
    etag: str
    version: str

    def href(self, base: str) -> str:
        return f"{base}/block.css?v={self.version}"


def load_stylesheet(state: Any) -> Stylesheet:
    """:data:`STYLESHEET` as the app's template loader finds it (a shop's override first)."""
    environment = shared_environment(state)
    if environment.loader is None:
        raise TemplateNotFound(STYLESHEET)
    source, _, _ = environment.loader.get_source(environment, STYLESHEET)
    body = source.encode()
    return Stylesheet(body, etag_of(body), hashlib.sha256(body).hexdigest()[:16])


def _stylesheet(request: Request) -> Stylesheet:
    return _state(request, "block_stylesheet", lambda: load_stylesheet(request.app.state))


# --- HTTP -------------------------------------------------------------------------------------


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


@lru_cache(maxsize=4096)  # babel's formatting is most of a cold block once shelves are kept
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
    now: float,
    expires: float,
    stylesheet: Stylesheet,
    gifts: GiftView | None = None,
) -> Rendered:
    """Choose the products and render the block (runs in a worker thread: it reads the DB);
    with ``gifts``, the order's gift pack above the cards."""
    state = request.app.state
    agreement: Agreement = state.agreement
    secure = urlsplit(origin).scheme.lower() == "https"  # then so are the pages it is on
    with state.engine.connect() as conn:
        shelves = shelf_cache_of(state).shelves(conn, agreement, member)  # per catalog version
        partners = [shelf.partner for shelf in shelves]
        weights = block_weights_of(state).for_member(conn, member, partners, now)
    picks = choose_products(shelves, count, rotation, weights)
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
        image_url = shown_image(p.image_url, agreement.members[p.member].url, secure=secure)
        cards.append(
            {
                "name": p.name,
                "url": link_url(origin, sign_link(key, claim)),
                "image_url": image_url,
                "image_alt": (p.image_alt or p.name) if image_url else "",
                "shop": agreement.members[p.member].name,
                "price": _money(p.price, agreement.currency, locale),
                "regular_price": _money(p.regular_price, agreement.currency, locale),
                "on_sale": on_sale,
                "backorder": p.stock_status.value == "onbackorder",
            }
        )
    if not cards and gifts is None:
        return Rendered(b"", "", (), expires)

    def gift_link(source: str, target: str, promotion_id: str) -> str:
        claim = LinkClaim(source, target, "", GIFT_PACK_PLACEMENT, promotion_id)
        return link_url(origin, sign_link(key, claim))

    block = {
        "member": member,
        "placement": placement,
        "variant": variant.value,
        "lang": i18n.html_lang(locale),
        "frame": frame,
        "block_id": f"sa-{member}-{placement}",
        # the frame is a page of the app (/w/<member>/<placement>): its own stylesheet, at
        # whatever host and path prefix it was reached under
        "stylesheet": stylesheet.href("../.." if frame else origin),
        "cards": cards,
        "gifts": None if gifts is None else gift_pack_context(gifts, agreement, locale, gift_link),
    }
    name = "block_iframe.html" if frame else "block.html"
    template = shared_environment(state).get_template(name)
    body = template.render(block=block, translations=i18n.translations(locale)).encode()
    return Rendered(body, etag_of(body), tuple(pick.product.member for pick in picks), expires)


_FRAME_CSP = "default-src 'none'; img-src http: https:; style-src 'self'; base-uri 'none'"


def order_of(request: Request, member: str, placement: str) -> str | None:
    """The order id a genuine ``order`` reference names on a thank-you block, else None: no
    reference, another placement, a member without a webhook secret, or anything not signed
    with it for this member."""
    ref = request.query_params.get("order")
    if not ref or placement != THANKYOU:
        return None
    secret = request.app.state.webhooks.webhook_secret(member)
    try:
        return read_order_ref(order_ref_key(secret), member, ref)
    except BadOrderRef:
        return None


def load_gift_view(state: Any, member: str, order_id: str) -> GiftView | None:
    with state.engine.connect() as conn:
        return gift_view(conn, state.agreement, member, order_id)


def refused(status: int, reason: str) -> JSONResponse:
    """A block request we cannot answer: ``{"error": reason}``, readable across origins so
    ``embed.js`` can log it in the shop's console, and never cached for long."""
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "X-Content-Type-Options": "nosniff",
    }
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def unknown_block(agreement: Agreement, member: str, placement: str) -> str | None:
    """Why ``/w/<member>/<placement>`` names no block, in words a shop owner acts on; None
    when it names one. The members are not listed: the answer is public."""
    if member not in agreement.members:
        shown = member[:64]
        return (
            f"no member {shown!r} in this alliance: check data-member in the snippet "
            "(`alliance widget --member ...` prints it)"
        )
    if placement not in PLACEMENTS:
        return f"no placement {placement[:32]!r}: data-placement is one of {', '.join(PLACEMENTS)}"
    return None


def _day(now: float, timezone: str) -> str:
    """The day ``now`` falls on in the alliance's timezone, as statements date things."""
    return datetime.fromtimestamp(now, ZoneInfo(timezone)).date().isoformat()


async def block_route(request: Request) -> Response:
    """``GET /w/{member}/{placement}``: the partner block (HTML fragment or iframe page)."""
    agreement: Agreement = request.app.state.agreement
    member = request.path_params["member"]
    placement = request.path_params["placement"]
    unknown = unknown_block(agreement, member, placement)
    if unknown is not None:
        return refused(404, unknown)
    query = request.query_params
    try:
        variant, count = _variant_and_count(query)
    except BlockRequestError as error:
        return refused(400, str(error))
    locale = i18n.choose_locale(query.get("lang"), request.headers.get("accept-language"))
    frame = _flag(query.get("frame"))
    origin = (agreement.settings.links_base_url or str(request.base_url)).rstrip("/")
    now = getattr(request.app.state, "clock", time.time)()
    rotation = rotation_for(member, placement, now)
    expires = (now // ROTATION_SECONDS + 1) * ROTATION_SECONDS
    shape = {
        "member": member,
        "placement": placement,
        "variant": variant,
        "count": count,
        "locale": locale,
        "frame": frame,
        "origin": origin,
        "rotation": rotation,
        "now": now,
        "expires": expires,
    }
    order_id = order_of(request, member, placement)
    gifts = None
    if order_id is not None:
        gifts = await run_in_threadpool(load_gift_view, request.app.state, member, order_id)
    if gifts is not None:  # one order's block: never kept
        rendered = await run_in_threadpool(
            render_block, request, **shape, stylesheet=_stylesheet(request), gifts=gifts
        )
    else:
        cache: BlockCache = _state(request, "block_cache", BlockCache)
        key = (member, placement, variant, count, locale, frame, origin, rotation)
        rendered = cache.get(key, now)
        if rendered is None:
            rendered = await run_in_threadpool(
                render_block, request, **shape, stylesheet=_stylesheet(request)
            )
            cache.put(key, rendered, now)
    headers = {
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Vary": "Accept-Language",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _FRAME_CSP + ("" if frame else "; frame-ancestors 'none'"),
    }
    if order_id is not None:  # a genuine reference: the answer is this order's, pack or not
        headers["Cache-Control"] = PRIVATE
        headers["Referrer-Policy"] = "no-referrer"  # the framed page's URL names the order
    if not rendered.body:
        return Response(status_code=204, headers=headers)
    flags = {flag for flag in ("embed", "frame") if _flag(query.get(flag))}
    headers_in = request.headers
    if shown_to_a_visitor(flags, headers_in.get("user-agent"), headers_in.get("sec-fetch-dest")):
        day = _day(now, agreement.settings.timezone)
        impressions_of(request.app.state).add(day, member, placement, rendered.partners)
    if order_id is not None:
        response = Response(rendered.body, headers=headers)
    else:
        response = cached_response(rendered.body, rendered.etag, request, headers)
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
    response = cached_response(body, etag, request, headers)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


async def stylesheet_route(request: Request) -> Response:
    """``GET /block.css``: the block's styles; cached for a year under the current ``v``."""
    sheet = _stylesheet(request)
    current = request.query_params.get("v") == sheet.version
    headers = {
        "Cache-Control": (
            f"public, max-age={STYLESHEET_MAX_AGE}, immutable"
            if current  # an older version's URL (a pasted block) gets today's, revalidated
            else f"public, max-age={EMBED_MAX_AGE}"
        ),
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    response = cached_response(sheet.body, sheet.etag, request, headers)
    response.headers["Content-Type"] = "text/css; charset=utf-8"
    return response
