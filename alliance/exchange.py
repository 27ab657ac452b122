"""Given versus received: what each member's partner blocks did for its partners, and back.

A member *gives* a partner the product cards its pages showed of the partner's products and
the clicks its pages sent to the partner; it *receives* the same from the partner's pages.
The view is built from aggregated counts only (no rows, no visitors), so it is pure and
cheap; ``alliance.storage.impressions`` and ``alliance.storage.click_counts`` add them up.

Days are the alliance's days (its ``timezone``, as statements date their lines): the web
app counts impressions per day in that timezone, and clicks are cut at the same midnights, so
a member reads the same dates in ``alliance exchange`` as in its statement.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from alliance.periods import parse_period

CardKey = tuple[str, str, str]
"""(source member, partner, placement): whose page showed whose cards, where."""

ClickKey = tuple[str, str, str, bool, str]
"""(source member, target member, placement, valid, invalid reason)."""

UNSPECIFIED_REASON = "unspecified"
"""How an invalid click recorded without a reason is counted, so it is never lost."""


@dataclass(frozen=True, slots=True)
class Window:
    """Whole days from ``first`` to ``last``, both included, in ``timezone`` (an IANA name:
    the alliance's; UTC by default)."""

    first: date
    last: date
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the window ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def of_period(cls, period: str, timezone: str = "UTC") -> Window:
        """The days of a ``YYYY-MM`` period."""
        year, month = (int(part) for part in parse_period(period).split("-"))
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last), timezone)

    @classmethod
    def chosen(
        cls,
        period: str | None,
        first: date | None,
        last: date | None,
        *,
        today: date,
        timezone: str = "UTC",
    ) -> Window:
        """A period, or ``first`` to ``last`` (``today`` when only ``first``), or else the
        month of ``today``; raises ``ValueError`` naming the options when they conflict."""
        if period is not None and (first is not None or last is not None):
            raise ValueError("give --period or --from/--to, not both")
        if period is not None:
            return cls.of_period(period, timezone)
        if first is None and last is not None:
            raise ValueError("--to needs --from (the first day)")
        if first is not None:
            return cls(first, last or today, timezone)
        return cls.of_period(f"{today:%Y-%m}", timezone)

    @property
    def start(self) -> datetime:
        """The first moment inside the window (aware, in UTC)."""
        return _midnight(self.first, self.timezone)

    @property
    def end(self) -> datetime:
        """The first moment after the window (aware, in UTC): clicks are ``start <= at < end``."""
        return _midnight(self.last + timedelta(days=1), self.timezone)


def _midnight(day: date, timezone: str) -> datetime:
    """The moment ``day`` starts in ``timezone``, in UTC."""
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def day_in(moment: datetime, timezone: str) -> date:
    """The day an aware ``moment`` falls on in ``timezone``: the day a member reads."""
    return moment.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True, slots=True)
class Flow:
    """Traffic one way between two members: cards shown and clicks sent."""

    cards: int = 0
    valid_clicks: int = 0
    invalid: tuple[tuple[str, int], ...] = ()  # (reason, clicks), sorted by reason
    rated_clicks: int = 0
    """Valid clicks at placements that showed cards: the rate's numerator, so links placed
    by hand (an article with no block) do not inflate the click-through rate."""

    @property
    def clicks_without_cards(self) -> int:
        """Valid clicks from placements that showed no cards (links placed by hand in an
        article or an email): counted, but outside the click-through rate."""
        return self.valid_clicks - self.rated_clicks

    @property
    def invalid_clicks(self) -> int:
        return sum(n for _, n in self.invalid)

    @property
    def invalid_by_reason(self) -> dict[str, int]:
        return dict(self.invalid)

    @property
    def click_through_rate(self) -> Decimal | None:
        """Valid clicks per card shown at the same placements; ``None`` when none was shown."""
        return Decimal(self.rated_clicks) / Decimal(self.cards) if self.cards else None

    @property
    def is_empty(self) -> bool:
        return not (self.cards or self.valid_clicks or self.invalid)

    def __add__(self, other: Flow) -> Flow:
        reasons: dict[str, int] = defaultdict(int)
        for reason, n in (*self.invalid, *other.invalid):
            reasons[reason] += n
        return Flow(
            cards=self.cards + other.cards,
            valid_clicks=self.valid_clicks + other.valid_clicks,
            invalid=tuple(sorted(reasons.items())),
            rated_clicks=self.rated_clicks + other.rated_clicks,
        )


@dataclass(frozen=True, slots=True)
class PartnerExchange:
    """One member and one partner: what the member gave it and received from it."""

    member: str
    partner: str
    given: Flow
    received: Flow

    @property
    def card_balance(self) -> int:
        """Cards given minus cards received: positive when the member shows more."""
        return self.given.cards - self.received.cards

    @property
    def click_balance(self) -> int:
        """Valid clicks given minus received: positive when the member sends more."""
        return self.given.valid_clicks - self.received.valid_clicks


@dataclass(frozen=True, slots=True)
class MemberExchange:
    """A member's exchange with every partner it traded traffic with, and the totals."""

    member: str
    partners: tuple[PartnerExchange, ...]
    given: Flow = field(default_factory=Flow)
    received: Flow = field(default_factory=Flow)

    @property
    def is_empty(self) -> bool:
        return not self.partners


@dataclass(frozen=True, slots=True)
class ExchangeView:
    """The given-versus-received view of some members over a window."""

    window: Window
    members: tuple[MemberExchange, ...]
    cards_flushed_at: datetime | None = None  # when the web app last added cards; None: never

    @property
    def is_empty(self) -> bool:
        return all(m.is_empty for m in self.members)

    def of(self, member: str) -> MemberExchange:
        return next(m for m in self.members if m.member == member)


def flows_between(
    cards: Mapping[CardKey, int], clicks: Mapping[ClickKey, int]
) -> dict[tuple[str, str], Flow]:
    """Traffic per direction ``(from, to)``; a member's own products on its own page (never
    served by a block) are left out."""
    card_totals: dict[tuple[str, str], int] = defaultdict(int)
    shown_at: set[CardKey] = set()
    for (source, partner, placement), n in cards.items():
        if source != partner and n > 0:
            card_totals[source, partner] += n
            shown_at.add((source, partner, placement))
    valid: dict[tuple[str, str], int] = defaultdict(int)
    rated: dict[tuple[str, str], int] = defaultdict(int)
    invalid: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (source, target, placement, is_valid, reason), n in clicks.items():
        if source == target or n <= 0:
            continue
        if is_valid:
            valid[source, target] += n
            if (source, target, placement) in shown_at:
                rated[source, target] += n
        else:
            invalid[source, target][reason or UNSPECIFIED_REASON] += n
    pairs = set(card_totals) | set(valid) | set(invalid)
    return {
        pair: Flow(
            cards=card_totals.get(pair, 0),
            valid_clicks=valid.get(pair, 0),
            invalid=tuple(sorted(invalid[pair].items())) if pair in invalid else (),
            rated_clicks=rated.get(pair, 0),
        )
        for pair in pairs
    }


def build_exchange(
    window: Window,
    members: Sequence[str],
    cards: Mapping[CardKey, int],
    clicks: Mapping[ClickKey, int],
    *,
    cards_flushed_at: datetime | None = None,
) -> ExchangeView:
    """The view of ``members`` (in that order) from counts summed over ``window``.

    Partners are whoever traded traffic with the member, in name order, including members
    no longer in the agreement: the counts are what happened.
    """
    flows = flows_between(cards, clicks)
    partners_of: dict[str, set[str]] = defaultdict(set)
    for source, target in flows:
        partners_of[source].add(target)
        partners_of[target].add(source)
    empty = Flow()
    result = []
    for member in members:
        pairs = tuple(
            PartnerExchange(
                member,
                partner,
                given=flows.get((member, partner), empty),
                received=flows.get((partner, member), empty),
            )
            for partner in sorted(partners_of.get(member, ()))
        )
        result.append(
            MemberExchange(
                member,
                pairs,
                given=_total(p.given for p in pairs),
                received=_total(p.received for p in pairs),
            )
        )
    return ExchangeView(window, tuple(result), cards_flushed_at)


def _total(flows: Iterable[Flow]) -> Flow:
    total = Flow()
    for flow in flows:
        total = total + flow
    return total
