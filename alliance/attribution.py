"""Who sent this order? The attribution rules, written once.

1. A coupon beats any click: a gift-pack coupon or a deal's referral coupon on the order is
   hard evidence. When coupons of two different partners meet on one order, **the coupon
   applied first wins** (WooCommerce lists ``coupon_lines`` in the order they were applied);
   the customer's first intent decides, and the rule is stable across revisions.
2. Otherwise the storefront's order-attribution UTM values: ``utm_source=alliance`` and
   ``utm_content=<click id>`` name one recorded click. It counts when its target is the
   selling member, it happened no later than the order (allowing :data:`CLOCK_SKEW`), and no
   more than the attribution window before it.
3. Otherwise nobody. Never a self-referral, and at most one winner per order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from alliance.agreement import Agreement, DealLeg, Promotion
from alliance.clicks import Click
from alliance.orders import Order

CLOCK_SKEW = timedelta(minutes=5)
"""A click may carry a time up to this much after the order: store and alliance clocks differ."""

UTM_SOURCE = "alliance"
"""The ``utm_source`` value our tracked links carry."""


class Evidence(str, Enum):
    REFERRAL_COUPON = "referral_coupon"
    GIFT_COUPON = "gift_coupon"
    CLICK = "click"


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    """A gift-pack coupon the alliance created in ``member``'s store for ``promotion_id``."""

    code: str  # lowercased
    promotion_id: str
    member: str  # the store it is valid in


@dataclass(frozen=True, slots=True)
class Attribution:
    """The winning evidence for one order."""

    referrer: str
    seller: str
    evidence: Evidence
    reference: str  # the coupon code or the click id
    deal_id: str  # the deal (or promotion) the evidence belongs to


def attribute(
    order: Order,
    agreement: Agreement,
    *,
    referral_coupons: Mapping[tuple[str, str], DealLeg],
    gift_coupons: Mapping[tuple[str, str], IssuedCoupon],
    clicks: Mapping[str, Click],
) -> Attribution | None:
    """Apply the rules above; ``None`` when no partner sent the order.

    ``referral_coupons`` is :meth:`Agreement.referral_coupon_index`, passed in so a batch
    computes it once; ``gift_coupons`` (keyed by store and code) and ``clicks`` hold what is
    known of the order's coupon codes and ``utm_content`` value.
    """
    seller = order.member
    for code in order.coupon_codes:
        gift = gift_coupons.get((seller, code))
        if gift is not None:
            promotion = _promotion_or_none(agreement, gift.promotion_id)
            if promotion is not None and promotion.trigger_member != seller:
                return Attribution(
                    promotion.trigger_member, seller, Evidence.GIFT_COUPON, code, promotion.id
                )
        leg = referral_coupons.get((seller, code))
        if leg is not None and leg.referrer != seller:
            return Attribution(leg.referrer, seller, Evidence.REFERRAL_COUPON, code, leg.deal_id)

    utm = order.attribution
    if utm.utm_source.strip().lower() != UTM_SOURCE or not utm.utm_content:
        return None
    click = clicks.get(utm.utm_content.strip())
    if click is None or click.target_member != seller or click.source_member == seller:
        return None
    if not agreement.legs_between(click.source_member, seller):
        return None
    window = timedelta(days=agreement.settings.attribution_window_days)
    if not (click.clicked_at - CLOCK_SKEW <= order.created_at <= click.clicked_at + window):
        return None
    return Attribution(click.source_member, seller, Evidence.CLICK, click.id, click.deal_id)


def _promotion_or_none(agreement: Agreement, promotion_id: str) -> Promotion | None:
    try:
        return agreement.promotion(promotion_id)
    except KeyError:
        return None
