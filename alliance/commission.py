"""What an attributed order (or a valid click) should carry under the agreement.

Commission is always computed on an explicit base, by default the items after discount:
tax and shipping are excluded unless the deal says ``base = "order_total"``. Refunds shrink
the base in proportion to the part of the order that was refunded (a refund of 10% of the
order's total removes 10% of the base); a fully refunded order carries nothing. A
``per_order`` fee and a swap credit stand while any part of the order stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alliance.agreement import Agreement, Base, Deal, DealKind
from alliance.attribution import Attribution, Evidence
from alliance.clicks import Click
from alliance.money import CREDIT, round_money
from alliance.orders import Order

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Target:
    """One amount ``payer`` should owe ``payee`` for a source fact, under one deal."""

    deal_id: str
    payer: str
    payee: str
    unit: str  # the alliance currency, or ``credit`` for swaps
    amount: Decimal
    base: Decimal | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.deal_id, self.payer, self.payee, self.unit)


def order_base(order: Order, base: Base, currency: str) -> Decimal:
    """The amount a percentage is taken of, net of refunds, rounded to the minor unit."""
    if base is Base.ITEMS_AFTER_DISCOUNT:
        gross = order.items_total
    elif base is Base.ITEMS_BEFORE_DISCOUNT:
        gross = order.items_subtotal
    else:
        gross = order.total
    refunded = order.refunded_total
    if refunded > ZERO:
        if order.total <= ZERO or refunded >= order.total:
            return round_money(ZERO, currency)
        gross = gross * (order.total - refunded) / order.total
    return round_money(max(gross, ZERO), currency)


def order_targets(
    order: Order, attribution: Attribution | None, agreement: Agreement
) -> list[Target]:
    """Every amount the order should carry now; empty when it is not (or no longer) a sale."""
    if attribution is None or not order.counts_as_sale or order.fully_refunded:
        return []
    currency = agreement.currency
    if attribution.evidence is Evidence.GIFT_COUPON:
        promotion = agreement.promotion(attribution.deal_id)
        base = order_base(order, promotion.redemption_base, currency)
        amount = round_money(base * promotion.redemption_rate, currency)
        return [Target(promotion.id, order.member, attribution.referrer, currency, amount, base)]

    targets = []
    for leg in agreement.legs_between(attribution.referrer, order.member):
        if not leg.kind.pays_per_order:
            continue
        deal = agreement.deal(leg.deal_id)
        targets.append(_deal_target(order, deal, leg.referrer, currency))
    return targets


def _deal_target(order: Order, deal: Deal, referrer: str, currency: str) -> Target:
    if deal.kind is DealKind.PERCENT:
        assert deal.rate is not None
        base = order_base(order, deal.base, currency)
        amount = round_money(base * deal.rate, currency)
        return Target(deal.id, order.member, referrer, currency, amount, base)
    if deal.kind is DealKind.PER_ORDER:
        assert deal.amount is not None
        return Target(deal.id, order.member, referrer, currency, round_money(deal.amount, currency))
    return Target(deal.id, order.member, referrer, CREDIT, Decimal(deal.credits))


def click_targets(click: Click, agreement: Agreement) -> list[Target]:
    """A valid click on a ``per_click`` deal earns its amount; anything else earns nothing."""
    if not click.valid:
        return []
    try:
        deal = agreement.deal(click.deal_id)
    except KeyError:
        return []
    if deal.kind is not DealKind.PER_CLICK or deal.amount is None:
        return []
    leg = next(
        (
            g
            for g in deal.legs
            if g.referrer == click.source_member and g.seller == click.target_member
        ),
        None,
    )
    if leg is None:
        return []
    currency = agreement.currency
    return [Target(deal.id, leg.seller, leg.referrer, currency, round_money(deal.amount, currency))]
