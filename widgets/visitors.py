"""Who clicked, without knowing who: a daily visitor key, a user-agent class, and the judge
that decides whether a click on a per-click deal is paid.

The visitor key is a keyed hash of (day, IP address, user agent) under a key derived from the
alliance secret for this purpose only; the IP address and the user agent are never stored.
Because the day is hashed in, keys rotate at midnight UTC: a visitor cannot be followed from
one day to the next, and duplicate detection needs no more than a day or so (a deal's
``click_window_hours`` reaching past midnight sees a new visitor: see :class:`ClickJudge`).

:class:`ClickJudge` reads recent clicks from the ``clicks`` table, so its answers hold across
processes and machines. Its query filters on ``visitor_key`` and ``clicked_at``: an index on
``clicks (visitor_key, clicked_at)`` keeps it cheap on a large table.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from alliance.agreement import Agreement, DealKind
from alliance.clicks import Click
from alliance.storage.schema import clicks

_CONTEXT = b"alliance/visitors/v1"

VISITOR_KEY_CHARS = 32
"""Hex characters kept of the HMAC (128 bits): collisions between visitors are negligible."""

RATE_LIMIT_PER_MINUTE = 10
"""A visitor's clicks beyond this many in 60 seconds (on any deal) are not paid."""

BROWSER, BOT, UNKNOWN = "browser", "bot", "unknown"

DUPLICATE, BOT_REASON, RATE_LIMITED = "duplicate", "bot", "rate-limited"

_BOT_RE = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrap|curl/|wget/|python|httpx|aiohttp|requests/|"
    r"go-http-client|java/|okhttp|libwww|httpclient|node-fetch|axios|undici|postman|"
    r"insomnia|headless|phantomjs|selenium|puppeteer|lighthouse|pingdom|uptime|monitor|"
    r"facebookexternalhit|embedly|preview|feed|validator|checker|archiver|scan",
    re.IGNORECASE,
)
_BROWSER_RE = re.compile(r"^(Mozilla|Opera)/\d")


def visitor_key_secret(secret: bytes) -> bytes:
    """The key for visitor hashes only: HMAC(secret, "alliance/visitors/v1")."""
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def visitor_key(key: bytes, ip: str, user_agent: str, day: date) -> str:
    """A keyed hash of the visitor for one UTC day; the raw IP never leaves this function."""
    message = "\x1f".join((day.isoformat(), ip or "", user_agent or "")).encode("utf-8", "replace")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:VISITOR_KEY_CHARS]


def agent_class(user_agent: str | None) -> str:
    """``"bot"`` for crawlers, scripts and headless browsers (and a missing user agent),
    ``"browser"`` for ``Mozilla/...``-style agents, ``"unknown"`` for anything else."""
    if not user_agent or not user_agent.strip():
        return BOT  # every browser sends one; scripts often do not
    if _BOT_RE.search(user_agent):
        return BOT
    if _BROWSER_RE.match(user_agent.strip()):
        return BROWSER
    return UNKNOWN


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool
    reason: str = ""  # "bot" | "rate-limited" | "duplicate" when not valid


VALID = Verdict(True)


@dataclass(frozen=True)
class ClickJudge:
    """Valid or not, with a reason, for clicks on per-click deals; other deals pay per order,
    so their clicks are always valid (attribution, not the click, decides what they earn).

    Reasons in order of precedence: ``bot``, ``rate-limited`` (more than ``per_minute`` clicks
    by the visitor in the last minute, any deal), ``duplicate`` (a valid click by the same
    visitor on the same deal within the deal's ``click_window_hours``).
    """

    agreement: Agreement
    per_minute: int = RATE_LIMIT_PER_MINUTE

    def judge(
        self,
        conn: Connection,
        deal_id: str,
        visitor: str,
        agent: str,
        now: datetime,
        pending: Sequence[Click] = (),
    ) -> Verdict:
        """``pending``: clicks judged earlier in the same batch, not yet in the table."""
        try:
            deal = self.agreement.deal(deal_id)
        except KeyError:
            return VALID
        if deal.kind is not DealKind.PER_CLICK:
            return VALID
        if agent == BOT:
            return Verdict(False, BOT_REASON)
        recent = conn.execute(
            select(func.count())
            .select_from(clicks)
            .where(
                clicks.c.visitor_key == visitor,
                clicks.c.clicked_at > now - timedelta(minutes=1),
            )
        ).scalar_one()
        minute_ago = now - timedelta(minutes=1)
        recent += sum(1 for c in pending if c.visitor_key == visitor and c.clicked_at > minute_ago)
        if recent >= self.per_minute:
            return Verdict(False, RATE_LIMITED)
        if deal.click_window_hours > 0:
            since = now - timedelta(hours=deal.click_window_hours)
            if any(
                c.visitor_key == visitor
                and c.deal_id == deal_id
                and c.valid
                and c.clicked_at > since
                for c in pending
            ):
                return Verdict(False, DUPLICATE)
            earlier = conn.execute(
                select(clicks.c.id)
                .where(
                    clicks.c.visitor_key == visitor,
                    clicks.c.deal_id == deal_id,
                    clicks.c.valid.is_(True),
                    clicks.c.clicked_at > since,
                )
                .limit(1)
            ).first()
            if earlier is not None:
                return Verdict(False, DUPLICATE)
        return VALID
