"""``GET /r/{token}``: verify a tracked link, record the click, send the shopper on.

The order of things is the contract: the token is verified and checked against the agreement;
the destination is built and held to the target member's own store host (never an open
redirect); only then is the click recorded durably (:func:`alliance.booking.book_clicks`),
and only after that commits does the shopper get the 302. Anything wrong before the click is
recorded answers the 404 page, records nothing and redirects nowhere.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from sqlalchemy import Engine, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alliance.agreement import Agreement
from alliance.products import PUBLISHED, is_web_url
from alliance.storage.schema import products
from widgets.click_writer import ClickWriter, PendingClick
from widgets.links import BadLink, LinkClaim, link_key, verify_link
from widgets.rendering import make_environment, override_dir
from widgets.visitors import ClickJudge, agent_class, visitor_key, visitor_key_secret

UTM_SOURCE = "alliance"
NO_STORE = {"Cache-Control": "no-store"}
URL_CACHE_SECONDS = 60.0
"""How long a product's page address is remembered (products change only when synced)."""
URL_CACHE_SIZE = 10_000


def new_click_id() -> str:
    """A random, URL-safe click id (128 bits): travels as ``utm_content``."""
    return secrets.token_urlsafe(16)


def _host_and_port(url: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.rstrip(".").lower(), port


def same_store(url: str, store_url: str) -> bool:
    """True when ``url`` is a safe http(s) URL on the store's own host (and port)."""
    if not is_web_url(url) or not is_web_url(store_url):
        return False
    mine = _host_and_port(url)
    return mine is not None and mine == _host_and_port(store_url)


def merge_utm(url: str, *, placement: str, deal_id: str, click_id: str) -> str:
    """``url`` with the alliance's UTM values; any ``utm_*`` it had is replaced, other
    parameters are kept byte for byte, in order, and the fragment stays."""
    parts = urlsplit(url)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not unquote_plus(pair.partition("=")[0]).strip().lower().startswith("utm_")
    ]
    ours = {
        "utm_source": UTM_SOURCE,
        "utm_medium": placement,
        "utm_campaign": deal_id,
        "utm_content": click_id,
    }
    kept += [f"{k}={quote(v, safe='')}" for k, v in ours.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), parts.fragment))


@dataclass(frozen=True)
class Destination:
    claim: LinkClaim
    url: str  # before the UTM values are merged in


class Redirector:
    """Everything ``/r/{token}`` needs, built once per app: keys, judge, engine, agreement."""

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
        self._urls: dict[tuple[str, str], tuple[float, str | None]] = {}

    def destination(self, token: str) -> Destination | None:
        """Where a genuine token for a live deal leads, or None (tampered, unknown, unsafe)."""
        try:
            claim = verify_link(self.link_key, token)
        except BadLink:
            return None
        members = self.agreement.members
        if claim.source not in members or claim.target not in members:
            return None
        legs = self.agreement.legs_between(claim.source, claim.target)
        if not any(leg.deal_id == claim.deal_id for leg in legs):
            return None
        store_url = members[claim.target].url
        url = self._product_url(claim) or store_url
        return Destination(claim, url) if same_store(url, store_url) else None

    def _product_url(self, claim: LinkClaim) -> str | None:
        """The product's page, remembered for a minute (products change only when synced)."""
        if not claim.product_id:
            return None
        key = (claim.target, claim.product_id)
        now = time.monotonic()
        cached = self._urls.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        url = self._load_product_url(claim)
        if len(self._urls) >= URL_CACHE_SIZE:
            self._urls.clear()
        self._urls[key] = (now + URL_CACHE_SECONDS, url)
        return url

    def _load_product_url(self, claim: LinkClaim) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(products.c.permalink, products.c.status).where(
                    products.c.member == claim.target,
                    products.c.product_id == claim.product_id,
                )
            ).first()
        if row is None or row.status != PUBLISHED or not row.permalink:
            return None  # unknown, unpublished or unlinkable: the store's home page
        return row.permalink

    def click(self, token: str, ip: str, user_agent: str) -> str | None:
        """Record the click and return the URL to redirect to; None: answer 404."""
        prepared = self.prepare(token, ip, user_agent)
        if prepared is None:
            return None
        location, pending = prepared
        self.writer.record_now(pending)
        return location

    def prepare(self, token: str, ip: str, user_agent: str) -> tuple[str, PendingClick] | None:
        """Where the click goes and what to record (the writer records it), or None: 404."""
        found = self.destination(token)
        if found is None:
            return None
        claim = found.claim
        click_id = new_click_id()
        location = merge_utm(
            found.url, placement=claim.placement, deal_id=claim.deal_id, click_id=click_id
        )
        if not same_store(location, self.agreement.members[claim.target].url):
            return None
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


def not_found() -> HTMLResponse:
    return HTMLResponse(not_found_html(), status_code=404, headers=NO_STORE)


async def redirect_route(request: Request) -> Response:
    """``GET /r/{token}``: the 302 leaves once the click's batch is committed."""
    redirector: Redirector = request.app.state.redirector
    ip = request.client.host if request.client else ""
    prepared = redirector.prepare(
        request.path_params["token"], ip, request.headers.get("user-agent", "")
    )
    if prepared is None:
        return not_found()
    location, pending = prepared
    await redirector.writer.record(pending)
    return RedirectResponse(location, status_code=302, headers=NO_STORE)
