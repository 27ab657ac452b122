"""The promotion report over real booking: packs issued into sandbox stores over HTTP, shoppers
redeeming the codes at the partners, the syncs booking them, a trigger order cancelled; the
figures are worked out by hand (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alliance.giftpacks import gift_code, gift_code_key
from alliance.promotion_report import PartnerFigures
from alliance.services.promotion_report import promotion_reports
from tests.connector.giftpack_support import KEY, GiftAlliance, gift_alliance

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PHOTO = {"code": "ZHANG-PHOTO", "amount": "10.00", "discount_type": "fixed_cart"}


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def code_for(order_id: int, member: str) -> str:
    return gift_code(gift_code_key(KEY), "newborn-gift-pack", f"li/{order_id}", member, "RPA")


def buy(alliance: GiftAlliance, member: str, lines: list[tuple[int, int]], *codes: str) -> int:
    """A shopper's checkout at ``member`` with these codes; the order's id."""
    order: dict[str, Any] = alliance.stores[member].state.checkout(
        {
            "line_items": [{"product_id": p, "quantity": q} for p, q in lines],
            "coupon_lines": [{"code": code.lower()} for code in codes],
            "billing": {"email": "mother@example.com", "country": "CN"},
        }
    )
    return order["id"]


def figures(partner: PartnerFigures) -> tuple:
    return (
        partner.partner,
        partner.planned,
        partner.created,
        partner.pending,
        partner.failed,
        partner.expired,
        partner.redeemed,
        partner.revenue,
        partner.discount,
        partner.estimated,
        partner.commission,
    )


def test_the_report_adds_up_redemptions_refunds_and_a_revoked_pack(
    tmp_path: Path, engine: Engine
) -> None:
    with gift_alliance(
        tmp_path, database_url=url_of(engine), coupons={"zhao": [PHOTO]}
    ) as alliance:
        alliance.now = T0
        alliance.issue()  # li#1001 and li#1002 qualify: two packs, six coupons
        # wang: 2 x 59.00 = 118.00 - 30.00 = 88.00; commission 5% = 4.40
        buy(alliance, "wang", [(501, 2)], code_for(1001, "wang"))
        # zhao: 899.00 - 15% (134.85) = 764.15; 5% = 38.2075 -> 38.21
        buy(alliance, "zhao", [(701, 1)], code_for(1001, "zhao"))
        # zhao: the gift code, then Zhang's 10.00 referral code: 899.00 - 134.85 - 10.00
        # = 754.15 (the gift code came first, so the promotion's); 5% = 37.7075 -> 37.71
        buy(alliance, "zhao", [(701, 1)], code_for(1002, "zhao"), "ZHANG-PHOTO")
        # wang: 59.00 + 45.00 - 30.00 = 74.00, then 20.00 refunded: base 54.00; 5% = 2.70
        partly = buy(alliance, "wang", [(501, 1), (502, 1)], code_for(1002, "wang"))
        alliance.stores["wang"].state.refund(partly, "20.00", "one bottle returned")
        # zhang: used, then cancelled: the store gives the use back; not a redemption
        cancelled = buy(alliance, "zhang", [(601, 1)], code_for(1002, "zhang"))
        alliance.stores["zhang"].state.update_order(cancelled, {"status": "cancelled"})
        # li#1002 cancelled: its pack is revoked, zhang's unused coupon expired
        alliance.stores["li"].state.update_order(1002, {"status": "cancelled"})
        alliance.sync("li", "wang", "zhang", "zhao")
        alliance.issue()

        (report,) = promotion_reports(engine, alliance.agreement)

    assert (report.packs, report.issued, report.issuing, report.revoking, report.revoked) == (
        2, 1, 0, 0, 1,
    )  # fmt: skip
    D = Decimal
    assert [figures(p) for p in report.partners] == [
        ("wang", 2, 2, 0, 0, 0, 2, D("142.00"), D("60.00"), 0, D("7.10")),
        ("zhang", 2, 2, 0, 0, 1, 0, D("0.00"), D("0.00"), 0, D("0.00")),
        ("zhao", 2, 2, 0, 0, 0, 2, D("1518.30"), D("269.70"), 1, D("75.92")),
    ]
    assert report.total.commission == D("83.02") and report.total.redeemed == 4
    assert report.total.rate == D(4) / D(6)


def test_pending_and_failed_coupons_are_counted_apart(tmp_path: Path) -> None:
    taken = {"code": code_for(1001, "zhang"), "amount": "25.00", "discount_type": "fixed_cart"}
    with gift_alliance(tmp_path, coupons={"zhang": [taken]}) as alliance:
        alliance.now = T0
        alliance.stores["zhao"].down()  # down while the packs are issued: its coupons wait
        alliance.issue()
        # the store's own coupon with the code: an order using it owes the promotion nothing
        buy(alliance, "zhang", [(601, 1)], code_for(1001, "zhang"))
        alliance.sync("zhang")
        (report,) = promotion_reports(alliance.engine, alliance.agreement, promotion_id=None)
        assert promotion_reports(alliance.engine, alliance.agreement, promotion_id="other") == []

    assert (report.packs, report.issued, report.issuing) == (2, 0, 2)
    assert [figures(p)[:7] for p in report.partners] == [
        ("wang", 2, 2, 0, 0, 0, 0),
        ("zhang", 2, 1, 0, 1, 0, 0),
        ("zhao", 2, 0, 2, 0, 0, 0),
    ]
    zhang = report.partners[1]
    assert zhang.revenue == 0 and zhang.rate == 0 and report.partners[2].rate is None
