"""The gift pack on a thank-you page: what the block shows of one order's packs, and in which words.

The block's ``order`` parameter is a signed reference (:mod:`widgets.order_refs`) to one of the
member's orders. For every promotion the member triggers, that order's pack (keyed as the
issuer keys it, ``<member>/<order id>``) lists:

- each coupon created in its partner's store and not revoked: the partner's shop, what it
  gives, the code, its expiry and a tracked gift-pack link to the partner's store;
- each coupon still to be created: the partner and what it gives, "on its way".

A pack still being issued with no code to show yet (or a stored order that qualifies but has
no pack yet) says the pack is being prepared. A pack being revoked or revoked (the order was
cancelled or refunded) shows nothing, nor does a coupon of a partner no longer rewarded by the
agreement (its link would lead nowhere). Everything shown comes from the agreement (names,
labels) and the pack; nothing about the customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from sqlalchemy import Connection

from alliance.agreement import Agreement, DiscountType
from alliance.giftpacks import CouponState, PackStatus, qualifies
from alliance.services import giftpacks as packs
from alliance.storage.repository import stored_order
from widgets import i18n

SHOWN_STATUSES = frozenset({PackStatus.ISSUING, PackStatus.ISSUED})
"""Packs the block shows; one being revoked (or revoked) shows nothing."""

DATE_FORMAT = "medium"
"""Babel's date format for expiry dates: ``Feb 4, 2027``, ``2027年2月4日``."""


@dataclass(frozen=True, slots=True)
class Gift:
    """One partner's gift of a pack, as the block shows it."""

    promotion_id: str
    member: str  # the partner whose store the coupon is valid in
    discount_type: DiscountType
    amount: Decimal  # money in the alliance currency, or a percentage
    label: str = ""
    minimum: Decimal | None = None
    code: str = ""  # as customers read it; "" while the coupon is still to be created
    expires_at: datetime | None = None  # UTC; None while pending

    @property
    def pending(self) -> bool:
        return not self.code


@dataclass(frozen=True, slots=True)
class GiftView:
    """What one order's thank-you block shows of its gift packs."""

    trigger: str  # the member whose order earned the packs
    gifts: tuple[Gift, ...] = ()
    preparing: bool = False  # a pack is earned but has no code to show yet


def gift_view(
    conn: Connection, agreement: Agreement, member: str, order_id: str
) -> GiftView | None:
    """The gift packs ``member``'s order ``order_id`` (its store id) earned, or None: nothing
    to show (no promotion, no pack, a revoked pack, an order not stored yet)."""
    gifts: list[Gift] = []
    preparing = False
    ref = f"{member}/{order_id}"  # alliance.orders.Order.ref: how packs name their order
    for promotion in agreement.promotions:
        if promotion.trigger_member != member:
            continue
        found = packs.pack(conn, (promotion.id, ref))
        if found is None:
            order = stored_order(conn, member, order_id)
            if order is not None and qualifies(order, promotion, agreement.settings.timezone):
                preparing = True  # the worker plans it at its next run
            continue
        if found.status not in SHOWN_STATUSES:
            continue
        rewarded = {reward.member for reward in promotion.rewards}
        coded = False
        for coupon in found.coupons:
            if coupon.member not in rewarded or coupon.member not in agreement.members:
                continue  # the partner left: its link would lead nowhere
            plan = coupon.plan
            gift = Gift(
                promotion_id=promotion.id,
                member=coupon.member,
                discount_type=plan.discount_type,
                amount=plan.amount,
                label=plan.label,
                minimum=plan.minimum_amount,
            )
            if coupon.state is CouponState.CREATED and coupon.revoked_at is None:
                gifts.append(replace(gift, code=plan.code, expires_at=plan.expires_at))
                coded = True
            elif coupon.state is CouponState.PENDING:
                gifts.append(gift)
        if found.status is PackStatus.ISSUING and not coded:
            preparing = True
    if not gifts and not preparing:
        return None
    return GiftView(member, tuple(gifts), preparing)


def gift_pack_context(
    view: GiftView,
    agreement: Agreement,
    locale: str,
    link: Callable[[str, str, str], str],
) -> dict[str, Any]:
    """``block.gifts`` of the templates (``gift_pack.html``): every value plain text, for the
    templates to escape. ``link(source, target, promotion id)`` is the tracked gift-pack URL."""
    where = i18n.babel_locale(locale)
    currency = agreement.currency
    zone = ZoneInfo(agreement.settings.timezone)

    def money(amount: Decimal) -> str:
        return format_currency(amount, currency, locale=where)

    coupons = []
    for gift in view.gifts:
        percent = gift.discount_type is DiscountType.PERCENT
        amount = (
            format_percent(gift.amount / 100, locale=where, decimal_quantization=False)
            if percent
            else money(gift.amount)
        )
        expires = ""
        if gift.expires_at is not None:
            day = gift.expires_at.astimezone(zone).date()  # as the note says it
            expires = format_date(day, format=DATE_FORMAT, locale=where)
        coupons.append(
            {
                "shop": agreement.members[gift.member].name,
                "label": gift.label,
                "each_product": gift.discount_type is DiscountType.FIXED_PRODUCT,
                "amount": amount,
                "minimum": money(gift.minimum) if gift.minimum else "",
                "code": gift.code,
                "expires": expires,
                "url": "" if gift.pending else link(view.trigger, gift.member, gift.promotion_id),
            }
        )
    return {"preparing": view.preparing, "coupons": coupons}
