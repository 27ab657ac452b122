"""The read side of joint promotions: the figures ``alliance promotions report`` prints.

Reads every pack and coupon of a promotion, the partners' orders that used its codes and its
ledger entries, and hands them to the pure :mod:`alliance.promotion_report`. A promotion the
agreement no longer lists is still reported while packs of it remain in the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine

from alliance.agreement import Agreement
from alliance.giftpacks import CouponState
from alliance.money import from_minor
from alliance.orders import Order
from alliance.promotion_report import (
    CouponFacts,
    PackFacts,
    PromotionFigures,
    build_promotion_figures,
)
from alliance.storage import giftpacks as rows
from alliance.storage.giftpacks import GiftCoupon, GiftPack

CLOCK_MARGIN = timedelta(days=1)
"""How long before a coupon was planned an order using it is still looked for: the order's
sale date comes from the store's clock, the plan's from the alliance's."""


def promotion_reports(
    engine: Engine, agreement: Agreement, *, promotion_id: str | None = None
) -> list[PromotionFigures]:
    """The figures of every promotion in the agreement, then of any other that has packs (or
    only of ``promotion_id``), in the agreement's order."""
    with engine.connect() as conn:
        packs = rows.load(conn, _scope(promotion_id))
        by_promotion: dict[str, list[GiftPack]] = {}
        for pack in packs:
            by_promotion.setdefault(pack.promotion_id, []).append(pack)
        listed = [p.id for p in agreement.promotions if promotion_id in (None, p.id)]
        ids = listed + sorted(set(by_promotion) - set(listed))
        reports = []
        for pid in ids:
            mine = by_promotion.get(pid, [])
            coupons = [coupon for pack in mine for coupon in pack.coupons]
            orders: list[Order] = []
            for partner, (codes, since) in _codes_by_partner(coupons).items():
                orders += rows.orders_using_codes(conn, partner, codes, since - CLOCK_MARGIN)
            entries = rows.promotion_entries(conn, pid)
            reports.append(
                build_promotion_figures(
                    pid,
                    agreement.currency,
                    promotion=next((p for p in agreement.promotions if p.id == pid), None),
                    packs=[_pack_facts(pack) for pack in mine],
                    orders=orders,
                    commission=_commission(entries, agreement.currency),
                )
            )
    return reports


def _scope(promotion_id: str | None) -> ColumnElement[bool]:
    gp = rows.gp
    return gp.promotion_id.is_not(None) if promotion_id is None else gp.promotion_id == promotion_id


def _codes_by_partner(coupons: list[GiftCoupon]) -> dict[str, tuple[set[str], datetime]]:
    """Per partner: its codes that may have been used (never a failed one: that code is the
    store's own coupon), and the earliest moment one was planned."""
    found: dict[str, tuple[set[str], datetime]] = {}
    for coupon in coupons:
        if coupon.state is CouponState.FAILED:
            continue
        codes, since = found.get(coupon.member, (set(), coupon.planned_at))
        codes.add(coupon.code)
        found[coupon.member] = (codes, min(since, coupon.planned_at))
    return found


def _pack_facts(pack: GiftPack) -> PackFacts:
    return PackFacts(
        pack.status,
        tuple(
            CouponFacts(
                partner=c.member,
                code=c.code,
                state=c.state,
                created=(
                    c.state is CouponState.CREATED
                    or c.coupon_id is not None
                    or c.store_created_at is not None
                ),
                discount_type=c.plan.discount_type,
                amount=c.plan.amount,
            )
            for c in pack.coupons
        ),
    )


def _commission(entries: dict[tuple[str, str, str], int], currency: str) -> dict[str, Decimal]:
    """Partner -> what it pays under the promotion, net (money only)."""
    paid: dict[str, Decimal] = {}
    for (payer, _payee, unit), minor in entries.items():
        if unit == currency:
            paid[payer] = paid.get(payer, Decimal(0)) + from_minor(minor, unit)
    return paid
