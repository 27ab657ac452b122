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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, bindparam, func, select

from alliance.agreement import Agreement, DealKind
from alliance.storage.schema import clicks

_CONTEXT = b"alliance/visitors/v1"

VISITOR_KEY_CHARS = 32
"""Hex characters kept of the HMAC (128 bits): collisions between visitors are negligible."""

RATE_LIMIT_PER_MINUTE = 10
"""A visitor's clicks beyond this many in 60 seconds (on any deal) are not paid."""

BROWSER, BOT, UNKNOWN = "browser", "bot", "unknown"

DUPLICATE, BOT_REASON, RATE_LIMITED = "duplicate", "bot", "rate-limited"

_BOT_WORDS = (
    "crawl", "spider", "slurp", "scrap", "curl/", "wget/", "python", "httpx", "aiohttp",
    "requests/", "go-http-client", "java/", "okhttp", "libwww", "httpclient", "node-fetch",
    "axios", "undici", "postman", "insomnia", "headless", "phantomjs", "selenium", "puppeteer",
    "lighthouse", "pingdom", "uptime", "monitor", "facebookexternalhit", "embedly", "preview",
    "feed", "validator", "checker", "archiver", "scan",
)  # fmt: skip
"""Substrings of lowercased user agents that only robots send (plain ``in`` tests: a regex
alternation over these costs ~90 µs a click; this costs a few)."""
_BOT_SUFFIX_RE = re.compile(r"bot(?:\b|/)")
_BROWSER_RE = re.compile(r"^(Mozilla|Opera)/\d")
AGENT_CACHE_SIZE = 4096
"""User agents repeat (a few browser builds make most traffic): their classes are kept."""


def visitor_key_secret(secret: bytes) -> bytes:
    """The key for visitor hashes only: HMAC(secret, "alliance/visitors/v1")."""
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def visitor_key(key: bytes, ip: str, user_agent: str, day: date) -> str:
    """A keyed hash of the visitor for one UTC day; the raw IP never leaves this function."""
    message = "\x1f".join((day.isoformat(), ip or "", user_agent or "")).encode("utf-8", "replace")
    return hmac.digest(key, message, "sha256").hex()[:VISITOR_KEY_CHARS]


@lru_cache(maxsize=AGENT_CACHE_SIZE)
def agent_class(user_agent: str | None) -> str:
    """``"bot"`` for crawlers, scripts and headless browsers (and a missing user agent),
    ``"browser"`` for ``Mozilla/...``-style agents, ``"unknown"`` for anything else."""
    if not user_agent or not user_agent.strip():
        return BOT  # every browser sends one; scripts often do not
    lowered = user_agent.lower()
    if any(word in lowered for word in _BOT_WORDS):
        return BOT
    if "bot" in lowered and _BOT_SUFFIX_RE.search(lowered):
        return BOT
    if _BROWSER_RE.match(user_agent.strip()):
        return BROWSER
    return UNKNOWN


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool
    reason: str = ""  # "bot" | "rate-limited" | "duplicate" when not valid


VALID = Verdict(True)


# The judge's two queries, built once (a batch only binds its values):
_c = clicks.c
_ranked = (
    select(
        _c.visitor_key,
        _c.clicked_at,
        func.row_number()
        .over(partition_by=_c.visitor_key, order_by=_c.clicked_at.desc())
        .label("n"),
    )
    .where(
        _c.visitor_key.in_(bindparam("visitors", expanding=True)),
        _c.clicked_at > bindparam("since"),
    )
    .subquery()
)
_LATEST_CLICKS = select(_ranked.c.visitor_key, _ranked.c.clicked_at).where(
    _ranked.c.n <= bindparam("keep")
)
"""Each visitor's latest ``keep`` clicks since ``since``: if ``per_minute`` of them fall within a
click's minute it is over the limit, whatever came before them, so no more are needed."""
_LATEST_VALID = (
    select(_c.visitor_key, _c.deal_id, func.max(_c.clicked_at))
    .where(
        _c.visitor_key.in_(bindparam("visitors", expanding=True)),
        _c.deal_id.in_(bindparam("deals", expanding=True)),
        _c.valid.is_(True),
        _c.clicked_at > bindparam("since"),
    )
    .group_by(_c.visitor_key, _c.deal_id)
)
"""Per visitor and deal, the latest valid click since ``since``."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A click waiting for its verdict."""

    deal_id: str
    visitor: str
    agent: str
    at: datetime


@dataclass(slots=True)
class VisitorHistory:
    """What the table says of one visitor just before a batch: enough to judge its clicks."""

    recent: list[datetime] = field(default_factory=list)
    """Times of the visitor's latest clicks (any deal, paid or not): at most ``per_minute``
    from the table, since a minute before the batch, then the batch's own."""
    last_valid: dict[str, datetime] = field(default_factory=dict)
    """Per deal, the visitor's latest valid click."""


class ClickJudge:
    """Valid or not, with a reason, for clicks on per-click deals; other deals pay per order,
    so their clicks are always valid (attribution, not the click, decides what they earn).

    Reasons in order of precedence: ``bot``, ``rate-limited`` (``per_minute`` or more clicks
    by the visitor in the last minute, any deal), ``duplicate`` (a valid click by the same
    visitor on the same deal within the deal's ``click_window_hours``).

    A batch is judged with two queries whatever its size (:meth:`judge_batch`);
    the verdicts themselves come from :meth:`decide`, which does no I/O.
    """

    def __init__(self, agreement: Agreement, per_minute: int = RATE_LIMIT_PER_MINUTE) -> None:
        self.agreement = agreement
        self.per_minute = per_minute
        self.per_click_windows = {
            deal.id: timedelta(hours=deal.click_window_hours)
            for deal in agreement.deals
            if deal.kind is DealKind.PER_CLICK
        }
        """Per-click deals and their duplicate windows (zero: no duplicate check)."""

    def judge_batch(self, conn: Connection, batch: Sequence[Candidate]) -> list[Verdict]:
        """Verdicts for ``batch`` in order; each click also sees the batch's earlier ones."""
        histories = self._histories(conn, batch)
        verdicts = []
        for click in batch:
            history = histories.get(click.visitor)
            if history is None:  # not on a per-click deal, or a bot: no history needed
                history = histories[click.visitor] = VisitorHistory()
            verdict = self.decide(click, history)
            history.recent.append(click.at)  # every click counts towards the rate, paid or not
            if verdict.valid and click.deal_id in self.per_click_windows:
                history.last_valid[click.deal_id] = click.at
            verdicts.append(verdict)
        return verdicts

    def decide(self, click: Candidate, history: VisitorHistory) -> Verdict:
        """The verdict for ``click`` given the visitor's history (pure: no I/O)."""
        window = self.per_click_windows.get(click.deal_id)
        if window is None:
            return VALID
        if click.agent == BOT:
            return Verdict(False, BOT_REASON)
        minute_ago = click.at - timedelta(minutes=1)
        if sum(1 for at in history.recent if at > minute_ago) >= self.per_minute:
            return Verdict(False, RATE_LIMITED)
        last = history.last_valid.get(click.deal_id)
        if window and last is not None and last > click.at - window:
            return Verdict(False, DUPLICATE)
        return VALID

    def _histories(self, conn: Connection, batch: Sequence[Candidate]) -> dict[str, VisitorHistory]:
        """Two grouped queries for the visitors whose clicks need judging (index-backed:
        ``clicks (visitor_key, clicked_at)``)."""
        judged = [c for c in batch if c.deal_id in self.per_click_windows and c.agent != BOT]
        if not judged:
            return {}
        visitors = sorted({c.visitor for c in judged})
        first = min(c.at for c in batch)
        histories = {v: VisitorHistory() for v in visitors}
        since = first - timedelta(minutes=1)
        rows = conn.execute(
            _LATEST_CLICKS, {"visitors": visitors, "since": since, "keep": self.per_minute}
        )
        for visitor, at in rows:
            histories[visitor].recent.append(_aware(at))
        windows = {c.deal_id: self.per_click_windows[c.deal_id] for c in judged}
        deals = sorted(d for d, w in windows.items() if w)
        if deals:
            since = first - max(windows[d] for d in deals)
            params = {"visitors": visitors, "deals": deals, "since": since}
            for visitor, deal_id, at in conn.execute(_LATEST_VALID, params):
                histories[visitor].last_valid[deal_id] = _aware(at)
        return histories


def _aware(at: datetime | str) -> datetime:
    """``max()`` over a UTC column comes back as text on SQLite (no type is attached)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
