"""Who clicked, without knowing who: a daily visitor key, a user-agent class, and the judge
that decides whether a click is valid.

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

BURST_CLICKS = 10
"""The burst rule: a visitor's clicks past this many within :data:`BURST_SECONDS` (on any
deal, valid or not) are invalid, ``rate-limited``. Ten links a minute is more than a shopper
opens from partner blocks; a loop of requests passes it within seconds."""

BURST_SECONDS = 60
"""The burst rule's window: a click is ``rate-limited`` when the same visitor made
:data:`BURST_CLICKS` or more clicks in the seconds before it."""

DUPLICATE_WINDOW_HOURS = 24
"""The duplicate window of deals that pay per order (percent, per order, swap): a repeat click
by one visitor on the deal within it is ``duplicate``. Per-click deals name their own
(``click_window_hours``). Visitor keys rotate at midnight UTC, so a day is the most any
window can see."""

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


SHOWN_BY = {"embed": "empty", "frame": "iframe"}
"""How a page asks for a block, by query flag (``embed=1``: ``embed.js``'s ``fetch``;
``frame=1``: an ``<iframe>``), and the ``Sec-Fetch-Dest`` a browser sends with each."""


def shown_to_a_visitor(flags: set[str], user_agent: str | None, fetch_dest: str | None) -> bool:
    """Whether a block request counts as cards shown (impressions): a page's own request
    (``flags`` holds ``embed`` or ``frame``), not a bare GET, from an agent the click rules
    would not call a bot, and, when the browser says what it fetches for (``Sec-Fetch-Dest``),
    fetching it as such, not as a page opened by hand."""
    wanted = {SHOWN_BY[flag] for flag in flags if flag in SHOWN_BY}
    if not wanted or agent_class(user_agent) == BOT:
        return False
    return fetch_dest is None or fetch_dest in wanted


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
"""Each visitor's latest ``keep`` clicks since ``since``: if ``burst_clicks`` of them fall in the
burst window before a click it is a burst, whatever came before them, so no more are needed."""
_LATEST_VALID = (
    select(_c.visitor_key, _c.deal_id, _c.target_member, func.max(_c.clicked_at))
    .where(
        _c.visitor_key.in_(bindparam("visitors", expanding=True)),
        _c.deal_id.in_(bindparam("deals", expanding=True)),
        _c.valid.is_(True),
        _c.clicked_at > bindparam("since"),
    )
    .group_by(_c.visitor_key, _c.deal_id, _c.target_member)
)
"""Per visitor, deal and target, the latest valid click since ``since``."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A click waiting for its verdict."""

    deal_id: str
    visitor: str
    agent: str
    at: datetime
    target: str = ""  # whose store it leads to: tells a promotion's partners apart


@dataclass(slots=True)
class VisitorHistory:
    """What the table says of one visitor just before a batch: enough to judge its clicks."""

    recent: list[datetime] = field(default_factory=list)
    """Times of the visitor's latest clicks (any deal, valid or not): at most ``burst_clicks``
    from the table, since one burst window before the batch, then the batch's own."""
    last_valid: dict[tuple[str, str], datetime] = field(default_factory=dict)
    """Per duplicate key (:meth:`ClickJudge.duplicate_key`), the visitor's latest valid click."""


class ClickJudge:
    """Valid or not, with a reason, for every click whatever its deal pays: only per-click
    deals pay for valid clicks, but the exchange report and the reciprocity weights count
    valid clicks of every deal, so a loop of requests must not count there either. (An
    invalid click still attributes an order that names it: attribution ignores verdicts.)

    Reasons in order of precedence: ``bot``, ``rate-limited`` (the burst rule:
    ``burst_clicks`` or more clicks by the visitor in the ``burst_seconds`` before, any deal),
    ``duplicate`` (a valid click by the same visitor on the same deal within the deal's
    window: ``click_window_hours`` for per-click deals, :data:`DUPLICATE_WINDOW_HOURS` else).
    A promotion's gift-pack links are judged as a deal paying per order, one per partner: a
    shopper opening each gift of a pack makes one valid click at each partner's store.

    A batch is judged with two queries whatever its size (:meth:`judge_batch`);
    the verdicts themselves come from :meth:`decide`, which does no I/O.
    """

    def __init__(
        self,
        agreement: Agreement,
        burst_clicks: int = BURST_CLICKS,
        burst_seconds: float = BURST_SECONDS,
    ) -> None:
        self.agreement = agreement
        self.burst_clicks = burst_clicks
        self.burst = timedelta(seconds=burst_seconds)
        self.windows = {
            deal.id: timedelta(
                hours=deal.click_window_hours
                if deal.kind is DealKind.PER_CLICK
                else DUPLICATE_WINDOW_HOURS
            )
            for deal in agreement.deals
        }
        # A promotion pays for the orders its coupons bring, never for clicks: its gift-pack
        # links are judged as a deal paying per order.
        self.windows.update(
            (promotion.id, timedelta(hours=DUPLICATE_WINDOW_HOURS))
            for promotion in agreement.promotions
        )
        """Every deal's (and promotion's) duplicate window (zero: no duplicate check)."""
        self.per_target = frozenset(promotion.id for promotion in agreement.promotions)
        """Ids whose duplicates are told apart by target: a promotion has several partners."""

    def duplicate_key(self, deal_id: str, target: str) -> tuple[str, str]:
        """What a repeat click must share to be a duplicate: the deal (both directions of a
        swap alike), or a promotion and the partner it leads to."""
        return (deal_id, target if deal_id in self.per_target else "")

    def judge_batch(self, conn: Connection, batch: Sequence[Candidate]) -> list[Verdict]:
        """Verdicts for ``batch`` in order; each click also sees the batch's earlier ones."""
        histories = self._histories(conn, batch)
        verdicts = []
        for click in batch:
            history = histories.get(click.visitor)
            if history is None:  # a bot, or a deal no longer agreed: no history needed
                history = histories[click.visitor] = VisitorHistory()
            verdict = self.decide(click, history)
            history.recent.append(click.at)  # every click counts towards a burst, valid or not
            if verdict.valid:
                history.last_valid[self.duplicate_key(click.deal_id, click.target)] = click.at
            verdicts.append(verdict)
        return verdicts

    def decide(self, click: Candidate, history: VisitorHistory) -> Verdict:
        """The verdict for ``click`` given the visitor's history (pure: no I/O)."""
        if click.agent == BOT:
            return Verdict(False, BOT_REASON)
        burst_start = click.at - self.burst
        if sum(1 for at in history.recent if at > burst_start) >= self.burst_clicks:
            return Verdict(False, RATE_LIMITED)
        window = self.windows.get(click.deal_id)
        last = history.last_valid.get(self.duplicate_key(click.deal_id, click.target))
        if window and last is not None and last > click.at - window:
            return Verdict(False, DUPLICATE)
        return VALID

    def _histories(self, conn: Connection, batch: Sequence[Candidate]) -> dict[str, VisitorHistory]:
        """Two grouped queries for the visitors whose clicks need judging (index-backed:
        ``clicks (visitor_key, clicked_at)``)."""
        judged = [c for c in batch if c.deal_id in self.windows and c.agent != BOT]
        if not judged:
            return {}
        visitors = sorted({c.visitor for c in judged})
        first = min(c.at for c in batch)
        histories = {v: VisitorHistory() for v in visitors}
        since = first - self.burst
        rows = conn.execute(
            _LATEST_CLICKS, {"visitors": visitors, "since": since, "keep": self.burst_clicks}
        )
        for visitor, at in rows:
            histories[visitor].recent.append(_aware(at))
        windows = {c.deal_id: self.windows[c.deal_id] for c in judged}
        deals = sorted(d for d, w in windows.items() if w)
        if deals:
            since = first - max(windows[d] for d in deals)
            params = {"visitors": visitors, "deals": deals, "since": since}
            for visitor, deal_id, target, at in conn.execute(_LATEST_VALID, params):
                last = histories[visitor].last_valid
                key = self.duplicate_key(deal_id, target)
                at = _aware(at)
                if key not in last or last[key] < at:  # a swap's two directions: the latest
                    last[key] = at
        return histories


def _aware(at: datetime | str) -> datetime:
    """``max()`` over a UTC column comes back as text on SQLite (no type is attached)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
