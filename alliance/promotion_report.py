"""What a joint promotion did, per partner: the figures of ``alliance promotions report``.

Built from plain values (the packs and their coupons as stored, the partners' orders that used
a gift code, the promotion's ledger sums), so it is pure; ``alliance.services.promotion_report``
reads them. For each partner of a promotion:

- **coupons**: planned (one per pack), created (the store held it at some point), pending
  (not known to exist yet), failed (the store refused it, or a coupon of its own has the code),
  expired (created, then expired unused when its pack was revoked);
- **redeemed**: coupons used by an order at the partner that still stands (``processing`` or
  ``completed``, not refunded in full); the **rate** is redeemed / created;
- **revenue**: those orders' items after discount (tax and shipping excluded), net of refunds
  in proportion to the share of the order refunded, as commission bases are
  (:func:`alliance.commission.order_base`); an order counts once, whatever codes it used;
- **discount**: what the redeemed coupons took off. A fixed-amount coupon at its face value as
  planned (at most the order's items before discount, as WooCommerce caps it). A percent or
  per-product coupon at the order's discount when the gift code was the order's only coupon
  (WooCommerce's ``discount_total`` is then exactly that coupon's); otherwise it is estimated
  (the percentage of the order's items before discount, or the face value, never more than the
  order's whole discount), because a stored order keeps its coupon codes and its total
  discount, not the discount per code; the report counts the estimated ones and says so;
- **commission**: the promotion's ledger entries the partner pays, net of reversals and
  clawbacks: exactly what its statements carry under the promotion.

Packs are counted by status: issued (every coupon settled, the customer told), still issuing,
revoking (the trigger order was cancelled or refunded in full; unused coupons still to expire)
and revoked.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from alliance.agreement import Base, DiscountType, Promotion
from alliance.commission import order_base
from alliance.giftpacks import CouponState, PackStatus
from alliance.money import format_amount, round_money
from alliance.orders import Order
from alliance.report import _cell, printable, table_lines

RATE_PLACES = Decimal("0.0001")
"""A redemption rate's precision in JSON and CSV: a hundredth of a percent."""

NOTE_WIDTH = 100
"""Where the table's notes wrap."""

TOTAL = "total"
"""The partner name of a promotion's totals row."""

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CouponFacts:
    """One gift coupon as stored: where, its code, its state, its terms."""

    partner: str
    code: str  # as stored (lowercased)
    state: CouponState
    created: bool  # the partner's store held it at some point (now or before it expired)
    discount_type: DiscountType
    amount: Decimal  # money, or a percentage for percent coupons


@dataclass(frozen=True, slots=True)
class PackFacts:
    """One gift pack: its status and its coupons."""

    status: PackStatus
    coupons: tuple[CouponFacts, ...]


@dataclass(frozen=True, slots=True)
class PartnerFigures:
    """One partner's side of a promotion (or the promotion's totals, ``partner`` = total)."""

    partner: str
    planned: int = 0
    created: int = 0
    pending: int = 0
    failed: int = 0
    expired: int = 0
    redeemed: int = 0
    revenue: Decimal = _ZERO
    discount: Decimal = _ZERO
    estimated: int = 0  # redemptions whose discount is estimated, not known
    commission: Decimal = _ZERO

    @property
    def rate(self) -> Decimal | None:
        """Redeemed per created coupon; None while none was created."""
        return Decimal(self.redeemed) / Decimal(self.created) if self.created else None

    def __add__(self, other: PartnerFigures) -> PartnerFigures:
        return PartnerFigures(
            TOTAL,
            *(getattr(self, name) + getattr(other, name) for name in _SUMMED),
        )


_SUMMED = (
    "planned", "created", "pending", "failed", "expired", "redeemed", "revenue", "discount",
    "estimated", "commission",
)  # fmt: skip


@dataclass(frozen=True)
class PromotionFigures:
    """A promotion's packs and its partners' figures."""

    promotion_id: str
    currency: str
    in_agreement: bool  # False: packs remain of a promotion the agreement no longer lists
    description: str = ""
    trigger_member: str = ""
    min_order_total: Decimal | None = None
    starts: date | None = None
    ends: date | None = None
    packs: int = 0
    issued: int = 0
    issuing: int = 0
    revoking: int = 0
    revoked: int = 0
    partners: tuple[PartnerFigures, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> PartnerFigures:
        result = PartnerFigures(TOTAL)
        for partner in self.partners:
            result += partner
        return result


# -- building ---------------------------------------------------------------------------


def build_promotion_figures(
    promotion_id: str,
    currency: str,
    *,
    promotion: Promotion | None,
    packs: Iterable[PackFacts],
    orders: Iterable[Order],
    commission: Mapping[str, Decimal],
) -> PromotionFigures:
    """The figures of one promotion.

    ``promotion``: its terms, or None when the agreement no longer lists it; ``packs``: every
    pack of it; ``orders``: partners' orders that used one of its codes (any status: the ones
    that do not stand are left out here); ``commission``: partner -> the net amount of the
    promotion's ledger entries it pays, in ``currency``.
    """
    packs = list(packs)
    statuses = [pack.status for pack in packs]
    coupons = [coupon for pack in packs for coupon in pack.coupons]
    ours = {(c.partner, c.code): c for c in coupons if c.state is not CouponState.FAILED}

    redeemed: dict[str, set[str]] = {}
    revenue: dict[str, Decimal] = {}
    discount: dict[str, Decimal] = {}
    estimated: dict[str, int] = {}
    seen: set[str] = set()
    for order in orders:
        if not order.counts_as_sale or order.fully_refunded or order.ref in seen:
            continue
        used = [ours[key] for code in order.coupon_codes if (key := (order.member, code)) in ours]
        if not used:
            continue
        seen.add(order.ref)
        partner = order.member
        base = order_base(order, Base.ITEMS_AFTER_DISCOUNT, currency)
        revenue[partner] = revenue.get(partner, _ZERO) + base
        for coupon in used:
            if coupon.code in redeemed.setdefault(partner, set()):
                continue  # one coupon, two standing orders: the store let it; count it once
            redeemed[partner].add(coupon.code)
            amount, guessed = discount_cost(coupon, order, currency)
            discount[partner] = discount.get(partner, _ZERO) + amount
            estimated[partner] = estimated.get(partner, 0) + guessed

    names = _partner_order(promotion, coupons, commission)
    partners = []
    for name in names:
        mine = [c for c in coupons if c.partner == name]
        partners.append(
            PartnerFigures(
                name,
                planned=len(mine),
                created=sum(c.created for c in mine),
                pending=sum(c.state is CouponState.PENDING for c in mine),
                failed=sum(c.state is CouponState.FAILED for c in mine),
                expired=sum(c.state is CouponState.REVOKED and c.created for c in mine),
                redeemed=len(redeemed.get(name, ())),
                revenue=revenue.get(name, _ZERO),
                discount=discount.get(name, _ZERO),
                estimated=estimated.get(name, 0),
                commission=commission.get(name, _ZERO),
            )
        )
    figures = PromotionFigures(
        promotion_id,
        currency,
        in_agreement=promotion is not None,
        description=promotion.description if promotion else "",
        trigger_member=promotion.trigger_member if promotion else "",
        min_order_total=promotion.min_order_total if promotion else None,
        starts=promotion.starts if promotion else None,
        ends=promotion.ends if promotion else None,
        packs=len(packs),
        issued=statuses.count(PackStatus.ISSUED),
        issuing=statuses.count(PackStatus.ISSUING),
        revoking=statuses.count(PackStatus.REVOKING),
        revoked=statuses.count(PackStatus.REVOKED),
        partners=tuple(partners),
    )
    return _with_notes(figures, promotion, coupons)


def discount_cost(coupon: CouponFacts, order: Order, currency: str) -> tuple[Decimal, bool]:
    """What ``coupon`` took off ``order``, and whether that is an estimate (see the module)."""
    if coupon.discount_type is DiscountType.FIXED_CART:
        return round_money(min(coupon.amount, order.items_subtotal), currency), False
    if order.coupon_codes == (coupon.code,):
        return round_money(order.discount_total, currency), False
    if coupon.discount_type is DiscountType.PERCENT:
        guess = order.items_subtotal * coupon.amount / _HUNDRED
    else:  # fixed_product: one eligible item
        guess = coupon.amount
    return round_money(max(_ZERO, min(guess, order.discount_total)), currency), True


def _partner_order(
    promotion: Promotion | None, coupons: Sequence[CouponFacts], commission: Mapping[str, Decimal]
) -> list[str]:
    """The agreement's rewards in order, then any other partner that has coupons or entries."""
    names = [reward.member for reward in promotion.rewards] if promotion else []
    others = {c.partner for c in coupons} | {p for p, amount in commission.items() if amount}
    return names + sorted(others - set(names))


def _with_notes(
    figures: PromotionFigures, promotion: Promotion | None, coupons: Sequence[CouponFacts]
) -> PromotionFigures:
    notes = [
        "revenue: items after discount of the orders that redeemed a code and still stand, "
        "net of refunds (tax and shipping excluded)",
    ]
    kinds = {c.discount_type for c in coupons} | (
        {r.discount_type for r in promotion.rewards} if promotion else set()
    )
    if DiscountType.FIXED_CART in kinds:
        notes.append(
            "discount of fixed-amount coupons: their face value as planned (at most the "
            "order's items before discount)"
        )
    if kinds - {DiscountType.FIXED_CART}:
        notes.append(
            "discount of percent (and per-product) coupons: the order's discount when the gift "
            "code was its only coupon"
        )
    payee = figures.trigger_member or "the trigger member"
    notes.append(f"commission: the promotion's ledger entries each partner pays {payee}, net")
    if not figures.in_agreement:
        notes.append(
            "the agreement no longer lists this promotion: its packs and entries remain, "
            "nothing more is issued"
        )
    return replace(figures, notes=tuple(notes))


def estimate_note(figures: PromotionFigures) -> str | None:
    """How estimated discounts were worked out, when some were (the table marks them *)."""
    estimated = figures.total.estimated
    if not estimated:
        return None
    return (
        f"{estimated} discount(s) estimated: the redeeming order used other coupons too and "
        "keeps only its total discount, so the gift coupon's share is taken as its percentage "
        "of the order's items before discount (a per-product coupon: its face value once), at "
        "most the order's whole discount"
    )


# -- rendering ---------------------------------------------------------------------------


def _rate(figures: PartnerFigures) -> Decimal | None:
    rate = figures.rate
    return None if rate is None else rate.quantize(RATE_PLACES, ROUND_HALF_UP)


def _percent(figures: PartnerFigures) -> str:
    rate = _rate(figures)
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _packs_sentence(figures: PromotionFigures) -> str:
    parts = [f"{figures.issued} issued"]
    if figures.issuing:
        parts.append(f"{figures.issuing} still issuing")
    if figures.revoking:
        parts.append(f"{figures.revoking} being revoked")
    parts.append(f"{figures.revoked} revoked")
    return f"packs: {figures.packs} ({', '.join(parts)})"


_TABLE = [
    "partner", "created", "pending", "failed", "expired", "redeemed", "rate", "revenue",
    "discount", "commission",
]  # fmt: skip


def _row(figures: PartnerFigures, currency: str) -> list[str]:
    discount = format_amount(figures.discount, currency) + ("*" if figures.estimated else "")
    return [
        printable(figures.partner),
        f"{figures.created:,}",
        f"{figures.pending:,}",
        f"{figures.failed:,}",
        f"{figures.expired:,}",
        f"{figures.redeemed:,}",
        _percent(figures),
        format_amount(figures.revenue, currency),
        discount,
        format_amount(figures.commission, currency),
    ]


def _title(figures: PromotionFigures) -> list[str]:
    name = printable(figures.promotion_id)
    if not figures.in_agreement:
        return [f"Gift packs of {name} (no longer in the agreement)"]
    what = f": {printable(figures.description)}" if figures.description else ""
    least = format_amount(figures.min_order_total or _ZERO, figures.currency)
    return [
        f"Gift packs of {name}{what}",
        f"trigger {printable(figures.trigger_member)}, items after discount of {least} "
        f"{figures.currency} or more, {figures.starts} to {figures.ends}",
    ]


def promotion_table(figures: PromotionFigures) -> str:
    """One promotion: a title, its packs, a row per partner and a total, then the notes."""
    out = [*_title(figures), _packs_sentence(figures), ""]
    if not figures.partners:
        out.append("No gift coupons yet.")
    else:
        rows = [_row(p, figures.currency) for p in (*figures.partners, figures.total)]
        table = table_lines(_TABLE, rows, right=set(range(1, len(_TABLE))))
        out += [*table[:-1], table[1], table[-1]]
        out.append(f"(money in {figures.currency}; rate: redeemed per created coupon)")
    estimate = estimate_note(figures)
    notes = [*figures.notes, *([f"* {estimate}"] if estimate is not None else [])]
    out += ["", *(textwrap.fill(note, NOTE_WIDTH, subsequent_indent="  ") for note in notes)]
    return "\n".join(out)


def promotions_table(reports: Sequence[PromotionFigures]) -> str:
    if not reports:
        return "No promotions in the agreement and no gift packs in the database."
    return "\n\n".join(promotion_table(figures) for figures in reports)


def _partner_dict(figures: PartnerFigures, currency: str) -> dict[str, Any]:
    rate = _rate(figures)
    return {
        "partner": figures.partner,
        "coupons": {
            "planned": figures.planned,
            "created": figures.created,
            "pending": figures.pending,
            "failed": figures.failed,
            "expired": figures.expired,
        },
        "redeemed": figures.redeemed,
        "redemption_rate": None if rate is None else str(rate),
        "revenue": format_amount(figures.revenue, currency),
        "discount_cost": format_amount(figures.discount, currency),
        "discount_estimated": figures.estimated,
        "commission": format_amount(figures.commission, currency),
    }


def promotions_json(reports: Sequence[PromotionFigures]) -> str:
    """``{"promotions":[{"promotion","in_agreement","description","trigger_member",
    "min_order_total","starts","ends","currency","packs":{"total","issued","issuing",
    "revoking","revoked"},"partners":[...],"totals":{...},"notes":[...]}]}``; money and rates
    as strings."""
    data = {
        "promotions": [
            {
                "promotion": f.promotion_id,
                "in_agreement": f.in_agreement,
                "description": f.description,
                "trigger_member": f.trigger_member or None,
                "min_order_total": None
                if f.min_order_total is None
                else format_amount(f.min_order_total, f.currency),
                "starts": f.starts.isoformat() if f.starts else None,
                "ends": f.ends.isoformat() if f.ends else None,
                "currency": f.currency,
                "packs": {
                    "total": f.packs,
                    "issued": f.issued,
                    "issuing": f.issuing,
                    "revoking": f.revoking,
                    "revoked": f.revoked,
                },
                "partners": [_partner_dict(p, f.currency) for p in f.partners],
                "totals": _partner_dict(f.total, f.currency),
                "notes": [*f.notes, *filter(None, [estimate_note(f)])],
            }
            for f in reports
        ]
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


CSV_COLUMNS = (
    "promotion", "partner", "packs", "packs_issued", "packs_issuing", "packs_revoking",
    "packs_revoked", "coupons_planned", "coupons_created", "coupons_pending", "coupons_failed",
    "coupons_expired", "redeemed", "redemption_rate", "revenue", "discount_cost",
    "discount_estimated", "commission", "currency",
)  # fmt: skip
"""One row per promotion and partner, then the promotion's total row (``partner`` = total),
the only one with the pack counts (a pack spans every partner)."""


def promotions_csv(reports: Sequence[PromotionFigures]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in reports:
        packs = [f.packs, f.issued, f.issuing, f.revoking, f.revoked]
        rows = [(partner, False) for partner in f.partners] + [(f.total, True)]
        for partner, is_total in rows:
            rate = _rate(partner)
            writer.writerow(
                [
                    _cell(f.promotion_id),
                    _cell(partner.partner),
                    *(packs if is_total else [""] * len(packs)),
                    partner.planned,
                    partner.created,
                    partner.pending,
                    partner.failed,
                    partner.expired,
                    partner.redeemed,
                    "" if rate is None else str(rate),
                    format_amount(partner.revenue, f.currency),
                    format_amount(partner.discount, f.currency),
                    partner.estimated,
                    format_amount(partner.commission, f.currency),
                    f.currency,
                ]
            )
    return out.getvalue()
