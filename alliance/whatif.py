"""What-if: what the booked orders and clicks of some months would carry under other terms.

No second implementation: every order goes through :func:`alliance.attribution.attribute` and
:func:`alliance.commission.order_targets`, every click through
:func:`alliance.commission.click_targets`, exactly as booking does; only the agreement differs.
What a fact *should* carry is what booking converges to (the ledger's net per source and key),
so replaying under the current agreement gives back the ledger's figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from alliance.agreement import Agreement
from alliance.attribution import IssuedCoupon, attribute
from alliance.clicks import Click
from alliance.commission import click_targets, order_targets
from alliance.ledger import BookedKey
from alliance.orders import Order

ZERO = Decimal(0)


@dataclass
class Replay:
    """Net amounts per ``(deal, payer, payee, unit)`` over a set of facts."""

    amounts: dict[BookedKey, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    orders: int = 0
    clicks: int = 0
    attributed: int = 0

    def add(self, key: BookedKey, amount: Decimal) -> None:
        self.amounts[key] += amount


def replay(
    agreement: Agreement,
    orders: Iterable[Order],
    clicks: Iterable[Click],
    *,
    clicks_by_id: Mapping[str, Click],
    gift_coupons: Mapping[tuple[str, str], IssuedCoupon],
) -> Replay:
    """Attribute and price each order and click under ``agreement``; nothing is stored.

    ``clicks_by_id`` holds the clicks the orders' ``utm_content`` name (from any month), and
    ``gift_coupons`` the issued gift-pack coupons among the orders' codes, as booking has them.
    """
    result = Replay()
    coupon_index = agreement.referral_coupon_index()
    for order in orders:
        result.orders += 1
        if order.currency != agreement.currency:
            continue  # booking refuses these too
        won = attribute(
            order,
            agreement,
            referral_coupons=coupon_index,
            gift_coupons=gift_coupons,
            clicks=clicks_by_id,
        )
        result.attributed += won is not None
        for target in order_targets(order, won, agreement):
            result.add(target.key, target.amount)
    for click in clicks:
        result.clicks += 1
        for target in click_targets(click, agreement):
            result.add(target.key, target.amount)
    return result


@dataclass(frozen=True, slots=True)
class Side:
    earned: Decimal
    owed: Decimal


@dataclass(frozen=True, slots=True)
class DealChange:
    deal_id: str
    payer: str
    payee: str
    unit: str
    actual: Decimal
    simulated: Decimal

    @property
    def difference(self) -> Decimal:
        return self.simulated - self.actual


@dataclass(frozen=True, slots=True)
class Comparison:
    """Actual against simulated, per member (in the currency) and per deal (any unit)."""

    first: str
    last: str
    currency: str
    members: dict[str, tuple[Side, Side]]  # member -> (actual, simulated)
    deals: list[DealChange]


def compare(
    first: str,
    last: str,
    currency: str,
    members: Iterable[str],
    actual: Mapping[BookedKey, Decimal],
    simulated: Mapping[BookedKey, Decimal],
) -> Comparison:
    """Put the ledger's net and the replay's side by side."""
    keys = sorted(set(actual) | set(simulated))
    deals = [
        DealChange(*key, actual.get(key, ZERO), simulated.get(key, ZERO))
        for key in keys
        if actual.get(key, ZERO) or simulated.get(key, ZERO)
    ]
    names = sorted(set(members) | {d.payer for d in deals} | {d.payee for d in deals})
    return Comparison(
        first,
        last,
        currency,
        {m: (_side(m, actual, currency), _side(m, simulated, currency)) for m in names},
        deals,
    )


def _side(member: str, amounts: Mapping[BookedKey, Decimal], currency: str) -> Side:
    earned = owed = ZERO
    for (_deal, payer, payee, unit), amount in amounts.items():
        if unit != currency:
            continue  # swap credits are not money: they show per deal
        if payee == member:
            earned += amount
        if payer == member:
            owed += amount
    return Side(earned, owed)
