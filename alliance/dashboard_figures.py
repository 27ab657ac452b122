"""The dashboard's figures, from rollup counts to what a member reads: pure arithmetic.

Counts arrive per month as ``measure -> integer`` (money in minor units); here they become
shares, rates and averages (``Decimal``), shared figures are suppressed below the agreement's
``min_group_size``, a member is flagged a free rider, and a 12-month trend becomes the
geometry of a small SVG chart (the template draws it; no script, no font).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from alliance.money import format_amount, from_minor, round_money


class Measure(str, Enum):
    """What ``dashboard_member_months`` counts per member and month."""

    ORDERS = "orders"  # sales (processing or completed) in the member's store
    REVENUE = "revenue"  # their totals less refunds, minor units
    PARTNER_ORDERS = "partner_orders"  # of them, attributed to a partner
    PARTNER_REVENUE = "partner_revenue"
    PARTNER_CLICK_ORDERS = "partner_click_orders"  # of them, attributed by a partner's click
    CUSTOMERS = "customers"  # distinct customers who bought
    REPEAT_CUSTOMERS = "repeat_customers"  # of them, who had bought here in an earlier month
    NEW_CUSTOMERS = "new_customers"  # whose first order here is in the month
    NEW_VIA_PARTNERS = "new_via_partners"  # of them, whose first order a partner brought
    PARTNER_CLICKS = "partner_clicks"  # valid clicks partners sent to the member
    CLICKS_SENT = "clicks_sent"  # valid clicks the member sent to partners
    EARNED = "earned"  # commission partners owe the member (ledger, the currency)
    OWED = "owed"  # commission the member owes partners


class PairMeasure(str, Enum):
    """What ``dashboard_pair_days`` counts per day, sender and receiver."""

    CLICKS = "clicks"
    ORDERS = "orders"
    REVENUE = "revenue"
    COMMISSION = "commission"  # what the receiver (seller) owes the sender (referrer)


HUNDRED = Decimal(100)


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part / whole``, or None when there is no whole to divide by."""
    return None if not whole else Decimal(part) / Decimal(whole)


def percent_text(share: Decimal | None) -> str:
    """``Decimal("0.354")`` -> ``"35.4%"``; None -> ``"-"``."""
    if share is None:
        return "-"
    return f"{(share * HUNDRED).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


@dataclass(frozen=True)
class Month:
    """One member's month, as counted; every figure the overview shows is derived here."""

    period: str
    counts: Mapping[str, int]
    currency: str

    def count(self, measure: Measure) -> int:
        return int(self.counts.get(measure.value, 0))

    def money(self, measure: Measure) -> Decimal:
        return from_minor(self.count(measure), self.currency)

    @property
    def partner_share_of_new_customers(self) -> Decimal | None:
        return ratio(self.count(Measure.NEW_VIA_PARTNERS), self.count(Measure.NEW_CUSTOMERS))

    @property
    def conversion(self) -> Decimal | None:
        """Orders a partner's click brought per valid click partners sent (orders a coupon
        brought had no click to convert)."""
        return ratio(self.count(Measure.PARTNER_CLICK_ORDERS), self.count(Measure.PARTNER_CLICKS))

    @property
    def partner_order_value(self) -> Decimal | None:
        return self._average(
            self.money(Measure.PARTNER_REVENUE), self.count(Measure.PARTNER_ORDERS)
        )

    @property
    def other_order_value(self) -> Decimal | None:
        other = self.count(Measure.ORDERS) - self.count(Measure.PARTNER_ORDERS)
        revenue = self.money(Measure.REVENUE) - self.money(Measure.PARTNER_REVENUE)
        return self._average(revenue, other)

    @property
    def repeat_rate(self) -> Decimal | None:
        return ratio(self.count(Measure.REPEAT_CUSTOMERS), self.count(Measure.CUSTOMERS))

    def _average(self, total: Decimal, count: int) -> Decimal | None:
        """Average order value, rounded by the one rounding rule."""
        return None if count <= 0 else round_money(total / count, self.currency)


@dataclass(frozen=True)
class Shared:
    """A figure over several members' customers: its value, or suppressed (``value`` None
    and ``suppressed``) when fewer than ``k`` customers stand behind it."""

    value: Decimal | None
    suppressed: bool = False
    k: int = 0


def shared_share(part: int, whole: int, customers: int, k: int) -> Shared:
    """``part / whole`` over ``customers`` customers, released only for at least ``k``."""
    if customers < k:
        return Shared(None, suppressed=True, k=k)
    return Shared(ratio(part, whole), k=k)


def alliance_month(months: Sequence[Month], k: int) -> dict[str, Shared]:
    """The alliance's figures for one month over every member: the shares and rates that the
    overview sets beside the member's own, each suppressed under ``k`` customers."""
    total = {m: sum(month.count(m) for month in months) for m in Measure}
    customers = total[Measure.CUSTOMERS]
    new = total[Measure.NEW_CUSTOMERS]
    return {
        "partner_share_of_new_customers": shared_share(
            total[Measure.NEW_VIA_PARTNERS], new, new, k
        ),
        "repeat_rate": shared_share(total[Measure.REPEAT_CUSTOMERS], customers, customers, k),
        "conversion": shared_share(
            total[Measure.PARTNER_CLICK_ORDERS], total[Measure.PARTNER_CLICKS], customers, k
        ),
    }


def is_free_rider(received: int, given: int, free_rider_ratio: Decimal) -> bool:
    """Receives more than ``free_rider_ratio`` times what it gives (clicks, over the window)."""
    return received > 0 and Decimal(received) > free_rider_ratio * Decimal(given)


def last_periods(period: str, count: int) -> list[str]:
    """The ``count`` periods ending with ``period``, oldest first."""
    year, month = int(period[:4]), int(period[5:7])
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return found[::-1]


CHART_WIDTH = 240
CHART_HEIGHT = 60
BAR_GAP = 2


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str  # the period and its value, for the bar's <title>


@dataclass(frozen=True)
class Chart:
    """A bar chart's geometry in a ``CHART_WIDTH`` x ``CHART_HEIGHT`` view box."""

    bars: tuple[Bar, ...]
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    peak: str = ""  # the largest value, as text
    empty: bool = field(default=False)
    first: str = ""  # the first period, for the axis
    last: str = ""


def trend_chart(points: Sequence[tuple[str, Decimal | None, str]]) -> Chart:
    """Bars for ``(period, value, value as text)``, oldest first; a missing value draws none."""
    values = [value for _, value, _ in points if value is not None]
    peak = max((v for v in values if v > 0), default=Decimal(0))
    slot = CHART_WIDTH // max(len(points), 1)
    bars = []
    for index, (period, value, text) in enumerate(points):
        height = 0
        if value is not None and value > 0 and peak:
            height = max(1, int((value / peak * (CHART_HEIGHT - 2)).to_integral_value()))
        bars.append(
            Bar(
                x=index * slot + BAR_GAP // 2,
                y=CHART_HEIGHT - height,
                width=max(slot - BAR_GAP, 1),
                height=height,
                label=f"{period}: {text}",
            )
        )
    peak_text = next((text for _, value, text in points if value == peak and peak), "")
    return Chart(
        tuple(bars), peak=peak_text, empty=not peak, first=points[0][0], last=points[-1][0]
    )


def _money_text(value: Decimal | None, unit: str) -> str:
    return "-" if value is None else format_amount(value, unit)


def overview_charts(months: Sequence[Month], unit: str) -> dict[str, Chart]:
    """The overview's 12-month trends, one chart per figure."""

    def chart(value: Callable[[Month], Decimal | None], text: Callable[[Month], str]) -> Chart:
        return trend_chart([(m.period, value(m), text(m)) for m in months])

    def count(measure: Measure) -> Chart:
        return chart(lambda m: Decimal(m.count(measure)), lambda m: str(m.count(measure)))

    def money(measure: Measure) -> Chart:
        return chart(lambda m: m.money(measure), lambda m: _money_text(m.money(measure), unit))

    def share(figure: Callable[[Month], Decimal | None]) -> Chart:
        return chart(figure, lambda m: percent_text(figure(m)))

    return {
        "clicks": count(Measure.PARTNER_CLICKS),
        "orders": count(Measure.PARTNER_ORDERS),
        "revenue": money(Measure.PARTNER_REVENUE),
        "new_share": share(lambda m: m.partner_share_of_new_customers),
        "conversion": share(lambda m: m.conversion),
        "partner_value": chart(
            lambda m: m.partner_order_value, lambda m: _money_text(m.partner_order_value, unit)
        ),
        "repeat": share(lambda m: m.repeat_rate),
        "earned": money(Measure.EARNED),
        "owed": money(Measure.OWED),
    }
