"""The agreement retold in plain words, for ``alliance check`` and for members to confirm.

Before members rely on an agreement, each should be able to read back what the file actually
says: who the members are, what every deal pays and what every promotion gives, with amounts
in the alliance's currency. :func:`agreement_summary` produces that text from a validated
:class:`~alliance.agreement.model.Agreement`.
"""

from __future__ import annotations

from decimal import Decimal

from alliance.agreement.model import (
    Agreement,
    AllianceSettings,
    Deal,
    DealKind,
    DiscountType,
    Reward,
)
from alliance.agreement.wording import plain
from alliance.money import format_amount


def agreement_summary(agreement: Agreement) -> str:
    """What the file says, in plain words, for ``alliance check`` and for people to confirm."""
    config, unit = agreement.settings, agreement.currency
    lines = [
        config.name,
        f"  currency {unit}, time zone {config.timezone}, settled "
        f"{config.settlement_period.value} after a {config.holdback_days}-day holdback "
        f"({_settles(config)}); transfers due {config.payment_due_days} days after settlement",
        f"  clicks count for {config.attribution_window_days} days; shared figures need "
        f"at least {config.min_group_size} customers",
        f"members ({len(agreement.members)}):",
        *(
            f"  {m.id}: {m.name} <{m.url}> (keys in {m.key_variable} / {m.secret_variable})"
            for m in agreement.members.values()
        ),
        f"deals ({len(agreement.deals)}):",
        *(f"  {deal.id} [{deal.kind.value}]: {_terms(deal, unit)}" for deal in agreement.deals),
        f"promotions ({len(agreement.promotions)}):",
    ]
    for promo in agreement.promotions:
        gifts = ", ".join(f"{r.member} {_reward(r, unit)}" for r in promo.rewards)
        lines.append(
            f"  {promo.id}: {promo.starts} to {promo.ends}, an order of at least "
            f"{format_amount(promo.min_order_total, unit)} {unit} at {promo.trigger_member} earns "
            f"{gifts}; coupons last {promo.coupon_valid_days} days; each redemption pays "
            f"{promo.trigger_member} {plain(promo.redemption_rate * 100)}%"
        )
    lines.append(f"version {agreement.version}")
    return "\n".join(lines)


def _settles(config: AllianceSettings) -> str:
    if config.settlement_day:
        return f"on day {config.settlement_day} of the next month, once nothing is pending"
    return f"{config.holdback_days} days after each month ends"


def _terms(deal: Deal, unit: str) -> str:
    leg = deal.legs[0]
    if deal.kind is DealKind.SWAP:
        terms = f"{leg.referrer} and {leg.seller} promote each other, {deal.credits} credit(s) "
        terms += "per referred order, no money"
    elif deal.kind is DealKind.PERCENT:
        rate = plain((deal.rate or Decimal(0)) * 100)
        terms = f"{leg.seller} pays {leg.referrer} {rate}% of {deal.base.value.replace('_', ' ')}"
    else:
        money = f"{format_amount(deal.amount or Decimal(0), unit)} {unit}"
        terms = f"{leg.seller} pays {leg.referrer} {money} per referred order"
        if deal.kind is DealKind.PER_CLICK:
            terms = f"{leg.seller} pays {leg.referrer} {money} per valid click "
            terms += f"(one per visitor per {deal.click_window_hours} h)"
    codes = sorted(f"{code} at {lg.seller}" for lg in deal.legs for code in lg.referral_coupons)
    return terms + (f"; referral coupons {', '.join(codes)}" if codes else "")


def _reward(reward: Reward, unit: str) -> str:
    if reward.discount_type is DiscountType.PERCENT:
        text = f"{plain(reward.amount)}% off"
    else:
        text = f"{format_amount(reward.amount, unit)} {unit} off ({reward.discount_type.value})"
    terms = []
    if reward.products:
        terms.append(f"on {', '.join(reward.products)}")
    if reward.minimum_amount is not None:
        terms.append(f"from {format_amount(reward.minimum_amount, unit)} {unit}")
    if reward.individual_use:
        terms.append("not with other coupons")
    if reward.exclude_sale_items:
        terms.append("not on sale items")
    text += f" [{'; '.join(terms)}]" if terms else ""
    return text + (f' "{reward.label}"' if reward.label else "")


def deal_terms(agreement: Agreement) -> dict[str, str]:
    """Each deal's and promotion's rate or amount, as a statement line cites it: ``10%``,
    ``15.00 per order``, ``0.50 per click``, ``1 credit per order``, ``5% of redemptions``."""
    unit = agreement.currency
    terms = {}
    for deal in agreement.deals:
        if deal.kind is DealKind.PERCENT:
            terms[deal.id] = f"{plain((deal.rate or Decimal(0)) * 100)}%"
        elif deal.kind is DealKind.SWAP:
            terms[deal.id] = f"{deal.credits} credit{'s' if deal.credits != 1 else ''} per order"
        else:
            each = "click" if deal.kind is DealKind.PER_CLICK else "order"
            terms[deal.id] = f"{format_amount(deal.amount or Decimal(0), unit)} per {each}"
    for promo in agreement.promotions:
        terms[promo.id] = f"{plain(promo.redemption_rate * 100)}% of redemptions"
    return terms
