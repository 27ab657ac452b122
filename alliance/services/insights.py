"""Insights: load what is stored, ask the domain for profiles, overlap and fit, release them.

Every command here reads and nothing writes: the numbers are suppressed by the domain
(:mod:`alliance.suppression`) before they leave, and customer ids stay inside the process.
A prospective member's orders are mapped and keyed in memory by the caller and only their
keys come in here; nothing of them is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.errors import BadInputError
from alliance.orders import Order
from alliance.overlap import (
    MAX_MASK_MEMBERS,
    Audiences,
    Lift,
    PairOverlap,
    Purchase,
    WindowCount,
    audiences_from_kinds,
    baskets_by_customer,
    best_partners,
    complementarity_and_lift,
    count_audiences,
    pair_overlap,
)
from alliance.periods import next_period, parse_period, period_of
from alliance.profiles import (
    Profile,
    ProfileFact,
    build_profile,
    region_label,
)
from alliance.storage import profiles as store
from alliance.suppression import Released, release_count

NOBODY = WindowCount(0, 0, 0)

MAX_MONTHS = 36
"""A window longer than three years is refused: profiles are about recent customers."""


@dataclass(frozen=True, slots=True)
class Window:
    """Whole months, first to last, in the alliance timezone, and their UTC bounds."""

    months: tuple[str, ...]
    start: datetime
    end: datetime  # exclusive: the start of the month after the last
    second: datetime  # the start of the second month (== end for a one-month window)
    last: datetime  # the start of the last month

    @property
    def first_month(self) -> str:
        return self.months[0]

    @property
    def last_month(self) -> str:
        return self.months[-1]


def month_start(month: str, timezone: str) -> datetime:
    """The UTC moment a ``YYYY-MM`` month starts in the alliance's timezone."""
    year, number = int(month[:4]), int(month[5:7])
    local = datetime(year, number, 1, tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC"))


def window(last_month: str, months: int, timezone: str) -> Window:
    """``months`` whole months ending with ``last_month``."""
    try:
        parse_period(last_month)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None
    if not 1 <= months <= MAX_MONTHS:
        raise BadInputError(f"--months is {months}; choose 1 to {MAX_MONTHS}")
    names = [last_month]
    while len(names) < months:
        year, number = int(names[0][:4]), int(names[0][5:7])
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
        names.insert(0, f"{year:04d}-{number:02d}")
    starts = [month_start(m, timezone) for m in names]
    end = month_start(next_period(last_month), timezone)
    return Window(tuple(names), starts[0], end, starts[1] if months > 1 else end, starts[-1])


def default_window(engine: Engine, agreement: Agreement, months: int, last: str | None) -> Window:
    """The window a command means: ending ``last``, else with the newest booked sale."""
    timezone = agreement.settings.timezone
    if last is None:
        with engine.connect() as conn:
            newest = store.latest_sale(conn)
        last = period_of(newest, timezone) if newest else period_of(datetime.now(UTC), timezone)
    return window(last, months, timezone)


# -- profile --------------------------------------------------------------------------------


def member_profile(engine: Engine, agreement: Agreement, member: str, span: Window) -> Profile:
    """The member's released profile, month by month."""
    timezone = agreement.settings.timezone
    with engine.connect() as conn:
        first = store.first_sales(conn, member, span.end)
        facts = [
            ProfileFact(
                customer=key,
                month=period_of(sale_at, timezone),
                region=region_label(country, state),
                categories=tuple(categories.split()) or ("uncategorised",),
                value_band=band or "unknown",
                first_month=period_of(first.get(key, sale_at), timezone),
            )
            for key, sale_at, country, state, categories, band in store.member_sales(
                conn, member, span.start, span.end
            )
        ]
    return build_profile(member, facts, span.months, agreement.settings.min_group_size)


# -- overlap ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverlapReport:
    window: Window
    k: int
    customers: dict[str, Released]  # per member (and prospect), over the window
    pairs: list[PairOverlap]
    lifts: list[Lift]
    best: dict[str, list[tuple[str, Decimal]]]  # member -> partners without a deal, best first


def _day(moment: datetime) -> int:
    return (moment.date() - date(2000, 1, 1)).days


def alliance_overlap(
    engine: Engine, agreement: Agreement, span: Window, member: str | None = None
) -> OverlapReport:
    """Every pair's shared customers, complementarity and fit (or only ``member``'s pairs)."""
    k = agreement.settings.min_group_size
    with engine.connect() as conn:
        counted = audiences(conn, span)
        purchases = [
            Purchase(key, who, _day(sale_at), tuple(categories.split()))
            for key, who, sale_at, categories in store.shared_purchases(conn, span.start, span.end)
        ]
    names = sorted(set(agreement.members) | set(counted.members))
    customers = {m: counted.members.get(m, NOBODY).released(k) for m in names}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if member is not None:
        pairs = [p for p in pairs if member in p]
    complementarity, lifts = complementarity_and_lift(baskets_by_customer(purchases), pairs, k)
    overlaps = [
        pair_overlap(
            a,
            b,
            counted.pairs.get((a, b), NOBODY),
            customers[a],
            customers[b],
            complementarity.get((a, b)),
            k,
        )
        for a, b in pairs
    ]
    dealt = agreement_pairs(agreement)
    focus = [member] if member is not None else names
    best = {m: best_partners(m, overlaps, dealt) for m in focus}
    return OverlapReport(span, k, customers, overlaps, lifts, best)


def audiences(conn: Connection, span: Window) -> Audiences:
    """Customers per member and shared per pair over the window and its two one-month-shorter
    windows."""
    middle = (span.second, span.last)
    names = store.members_with_sales(conn, span.start, span.end)
    if not names:
        return Audiences({}, {})
    if len(names) <= MAX_MASK_MEMBERS:  # counted in the database
        kinds = store.audience_kinds(conn, names, span.start, span.end, middle)
        return audiences_from_kinds(names, kinds)
    return count_audiences(  # one member at a time, counted here
        names, lambda member: store.member_spans(conn, member, span.start, span.end, middle)
    )


def agreement_pairs(agreement: Agreement) -> list[tuple[str, str]]:
    """Member pairs that already have a deal (either direction)."""
    return [(leg.referrer, leg.seller) for deal in agreement.deals for leg in deal.legs]


# -- prospect -----------------------------------------------------------------------------


def prospect_overlap(
    engine: Engine,
    agreement: Agreement,
    span: Window,
    name: str,
    orders: Iterable[Order],
    categories: Sequence[str] = (),
) -> OverlapReport:
    """A prospective member against every member, in memory; nothing of it is stored.

    The prospect's orders arrive mapped and keyed with the alliance's secret; its categories
    are what it says it sells (an orders export does not carry product categories).
    """
    k = agreement.settings.min_group_size
    if name in agreement.members:
        raise BadInputError(f"{name!r} is already a member; use: alliance overlap --member {name}")
    theirs: dict[str, list[datetime]] = {}
    for order in orders:
        if order.counts_as_sale and order.customer_key and span.start <= order.sale_date < span.end:
            theirs.setdefault(order.customer_key, []).append(order.sale_date)
    if len(theirs) < k:
        raise BadInputError(
            f"the export holds {len(theirs)} customer(s) with sales in {span.first_month} to "
            f"{span.last_month}; a prospect needs at least {k} (the agreement's min_group_size)"
            " to be compared: export more months of orders"
        )
    own = tuple(categories) or ("(prospect)",)
    with engine.connect() as conn:
        counted = audiences(conn, span)
        rows = list(store.sales_of_customers(conn, span.start, span.end, set(theirs)))
    when: dict[tuple[str, str], list[datetime]] = {}
    for key, who, sale_at, _cats in rows:
        when.setdefault((key, who), []).append(sale_at)
    for key, moments in theirs.items():
        when[key, name] = moments
    purchases = [Purchase(key, who, _day(at), tuple(cats.split())) for key, who, at, cats in rows]
    purchases += [Purchase(key, name, _day(at), own) for key, ats in theirs.items() for at in ats]
    baskets = baskets_by_customer(purchases)
    members = sorted(set(agreement.members) | set(counted.members))
    customers = {m: counted.members.get(m, NOBODY).released(k) for m in members}
    customers[name] = release_count(len(theirs), k)
    pairs = [(m, name) if m < name else (name, m) for m in members]
    complementarity, lifts = complementarity_and_lift(baskets, pairs, k)
    overlaps = []
    for a, b in pairs:
        other = b if a == name else a
        overlaps.append(
            pair_overlap(
                a,
                b,
                _shared_window(when, theirs, name, other, span),
                customers[a],
                customers[b],
                complementarity.get((a, b)),
                k,
            )
        )
    best = {name: best_partners(name, overlaps, [])}
    return OverlapReport(span, k, customers, overlaps, lifts, best)


def _shared_window(
    when: dict[tuple[str, str], list[datetime]],
    theirs: dict[str, list[datetime]],
    prospect: str,
    member: str,
    span: Window,
) -> WindowCount:
    """Shared customers of the prospect and a member over the window and the two windows one
    month shorter, as :func:`alliance.storage.profiles.shared_customer_counts` counts them."""
    whole = without_first = without_last = 0
    for key in theirs:
        at_member = when.get((key, member))
        if not at_member:
            continue
        sides = (theirs[key], at_member)
        whole += 1
        without_first += all(max(side) >= span.second for side in sides)
        without_last += all(min(side) < span.last for side in sides)
    return WindowCount(whole, without_first, without_last)
