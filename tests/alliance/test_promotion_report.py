"""The promotion report's figures from plain values, each worked out by hand: which orders count
as redemptions, the revenue net of refunds, the discount (known or estimated) and the formats."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from alliance.agreement import Agreement, DiscountType
from alliance.giftpacks import CouponState, PackStatus
from alliance.orders import OrderStatus
from alliance.promotion_report import (
    CouponFacts,
    PackFacts,
    PromotionFigures,
    build_promotion_figures,
    discount_cost,
    promotions_csv,
    promotions_json,
    promotions_table,
)
from tests.factories import make_order

C, P, F, R = CouponState.CREATED, CouponState.PENDING, CouponState.FAILED, CouponState.REVOKED


def coupon(partner: str, code: str, state: CouponState = C, *, created: bool | None = None):
    kind, amount = {
        "wang": (DiscountType.FIXED_CART, Decimal("30.00")),
        "zhang": (DiscountType.FIXED_CART, Decimal("20.00")),
        "zhao": (DiscountType.PERCENT, Decimal("15")),
    }[partner]
    made = state is C if created is None else created
    return CouponFacts(partner, code, state, made, kind, amount)


def pack(status: PackStatus, *coupons: CouponFacts) -> PackFacts:
    return PackFacts(status, coupons)


def figures(agreement: Agreement, packs, orders, commission=None) -> PromotionFigures:
    return build_promotion_figures(
        "newborn-gift-pack",
        "CNY",
        promotion=agreement.promotion("newborn-gift-pack"),
        packs=packs,
        orders=orders,
        commission=commission or {},
    )


PACKS = [
    pack(PackStatus.ISSUED, coupon("wang", "w1"), coupon("zhang", "g1"), coupon("zhao", "z1")),
    pack(PackStatus.ISSUED, coupon("wang", "w2"), coupon("zhang", "g2", P), coupon("zhao", "z2")),
    pack(PackStatus.ISSUING, coupon("wang", "w3"), coupon("zhang", "g3", F), coupon("zhao", "z3")),
    pack(  # revoked: wang's used (kept), zhang's expired unused, zhao's never made
        PackStatus.REVOKED,
        coupon("wang", "w4"),
        coupon("zhang", "g4", R, created=True),
        coupon("zhao", "z4", R, created=False),
    ),
    pack(PackStatus.REVOKING, coupon("wang", "w5"), coupon("zhang", "g5"), coupon("zhao", "z5")),
]


def test_counts_redemptions_that_stand_and_sums_revenue_net_of_refunds(agreement):
    orders = [
        # wang: 118.00 before, 88.00 after the 30.00 coupon; no refund
        make_order("wang", "1", items="88.00", items_before="118.00", coupons=("w1",)),
        # wang: 104.00 -> 74.00, total 74 + 10 + 13 = 97.00, 19.40 refunded (a fifth)
        make_order(
            "wang", "2", items="74.00", items_before="104.00", refunded="19.40", coupons=("w2",)
        ),
        # wang: cancelled (the store gave the use back): not a redemption
        make_order(
            "wang",
            "3",
            status=OrderStatus.CANCELLED,
            items="88.00",
            items_before="118.00",
            coupons=("w3",),
        ),
        # wang: refunded in full: not a redemption any more
        make_order(
            "wang", "4", items="88.00", items_before="118.00", refunded="111.00", coupons=("w3",)
        ),
        # wang: the kept coupon of the revoked pack, with a referral coupon applied after it
        make_order(
            "wang",
            "5",
            status=OrderStatus.COMPLETED,
            items="50.00",
            items_before="90.00",
            coupons=("w4", "li-friends"),
        ),
        # wang: a code that is not the promotion's
        make_order("wang", "6", items="88.00", items_before="98.00", coupons=("li-friends",)),
        # zhao: the 15% code alone: the order's discount is the coupon's, 134.85
        make_order("zhao", "7", items="764.15", items_before="899.00", coupons=("z1",)),
        # zhao: the 15% code after a 10.00 referral coupon: estimated at 15% of 899.00
        make_order(
            "zhao", "8", items="754.15", items_before="899.00", coupons=("z2", "zhang-photo")
        ),
        # zhang: a failed coupon's code is the store's own coupon: not ours
        make_order("zhang", "9", items="68.00", items_before="88.00", coupons=("g3",)),
        # zhang: on hold (not paid): not a redemption yet
        make_order(
            "zhang",
            "10",
            status=OrderStatus.ON_HOLD,
            items="68.00",
            items_before="88.00",
            coupons=("g2",),
        ),
    ]
    commission = {"wang": Decimal("9.70"), "zhao": Decimal("75.92")}
    result = figures(agreement, PACKS, orders, commission)

    assert (result.packs, result.issued, result.issuing, result.revoking, result.revoked) == (
        5, 2, 1, 1, 1,
    )  # fmt: skip
    wang, zhang, zhao = result.partners
    assert [p.partner for p in result.partners] == ["wang", "zhang", "zhao"]
    assert (wang.planned, wang.created, wang.pending, wang.failed, wang.expired) == (5, 5, 0, 0, 0)
    assert wang.redeemed == 3  # w1, w2, w4
    # 88.00 + 74.00 x (97.00 - 19.40) / 97.00 = 88.00 + 59.20, + 50.00
    assert wang.revenue == Decimal("197.20")
    assert wang.discount == Decimal("90.00") and wang.estimated == 0  # three times face value
    assert wang.rate == Decimal(3) / Decimal(5)
    assert wang.commission == Decimal("9.70")

    assert (zhang.planned, zhang.created, zhang.pending, zhang.failed, zhang.expired) == (
        5, 3, 1, 1, 1,
    )  # fmt: skip
    assert (zhang.redeemed, zhang.revenue, zhang.commission) == (0, Decimal(0), Decimal(0))

    assert (zhao.planned, zhao.created, zhao.expired, zhao.redeemed) == (5, 4, 0, 2)
    assert zhao.revenue == Decimal("1518.30")
    assert zhao.discount == Decimal("269.70") and zhao.estimated == 1  # 134.85 twice

    total = result.total
    assert (total.planned, total.created, total.redeemed) == (15, 12, 5)
    assert total.revenue == Decimal("1715.50") and total.discount == Decimal("359.70")
    assert total.commission == Decimal("85.62") and total.estimated == 1


def test_the_discount_of_each_kind_of_coupon(agreement):
    fixed = coupon("wang", "w1")
    percent = coupon("zhao", "z1")
    per_item = CouponFacts("zhang", "g1", C, True, DiscountType.FIXED_PRODUCT, Decimal("12.00"))
    small = make_order("wang", items="0.00", items_before="25.00", coupons=("w1",))
    assert discount_cost(fixed, small, "CNY") == (Decimal("25.00"), False)  # capped at the items
    with_other = make_order("wang", items="58.00", items_before="98.00", coupons=("x", "w1"))
    assert discount_cost(fixed, with_other, "CNY") == (Decimal("30.00"), False)

    alone = make_order("zhao", items="577.99", items_before="679.99", coupons=("z1",))
    assert discount_cost(percent, alone, "CNY") == (Decimal("102.00"), False)
    shared = make_order("zhao", items="567.99", items_before="679.99", coupons=("x", "z1"))
    # 15% of 679.99 = 101.9985 -> 102.00, under the order's whole discount of 112.00
    assert discount_cost(percent, shared, "CNY") == (Decimal("102.00"), True)
    capped = make_order("zhao", items="629.99", items_before="679.99", coupons=("z1", "x"))
    assert discount_cost(percent, capped, "CNY") == (Decimal("50.00"), True)

    two_items = make_order("zhang", items="64.00", items_before="88.00", coupons=("g1",))
    assert discount_cost(per_item, two_items, "CNY") == (Decimal("24.00"), False)
    guessed = make_order("zhang", items="54.00", items_before="88.00", coupons=("g1", "x"))
    assert discount_cost(per_item, guessed, "CNY") == (Decimal("12.00"), True)


def test_an_order_counts_once_and_a_coupon_once(agreement):
    packs = [pack(PackStatus.ISSUED, coupon("wang", code)) for code in ("w1", "w2")]
    orders = [
        make_order("wang", "1", items="40.00", items_before="100.00", coupons=("w1", "w2")),
        make_order("wang", "1", items="40.00", items_before="100.00", coupons=("w1", "w2")),
        make_order("wang", "2", items="70.00", items_before="100.00", coupons=("w1",)),
    ]
    wang = figures(agreement, packs, orders).partners[0]
    assert wang.redeemed == 2  # w1 and w2, whatever the store let through twice
    assert wang.revenue == Decimal("110.00")  # order 1 once, order 2
    assert wang.discount == Decimal("60.00")


def test_a_promotion_gone_from_the_agreement_is_still_reported(agreement):
    result = build_promotion_figures(
        "old-pack",
        "CNY",
        promotion=None,
        packs=[pack(PackStatus.ISSUED, coupon("wang", "w1"))],
        orders=[make_order("wang", items="88.00", items_before="118.00", coupons=("w1",))],
        commission={"wang": Decimal("4.40"), "zhang": Decimal("0")},
    )
    assert not result.in_agreement and result.trigger_member == ""
    assert [p.partner for p in result.partners] == ["wang"]
    assert "no longer in the agreement" in promotions_table([result])
    assert "the agreement no longer lists this promotion" in result.notes[-1]


def test_nothing_yet_reads_as_zeros_with_no_rate(agreement):
    result = figures(agreement, [], [])
    assert [(p.partner, p.planned, p.rate) for p in result.partners] == [
        ("wang", 0, None), ("zhang", 0, None), ("zhao", 0, None),
    ]  # fmt: skip
    table = promotions_table([result])
    assert "packs: 0 (0 issued, 0 revoked)" in table
    assert "trigger li, items after discount of 300.00 CNY or more, 2026-12-01 to 2027-02-28" in (
        table
    )
    data = json.loads(promotions_json([result]))["promotions"][0]
    assert data["totals"]["redemption_rate"] is None and data["totals"]["revenue"] == "0.00"


def test_json_and_csv_carry_money_as_strings_and_escape_formulas(agreement):
    packs = [pack(PackStatus.ISSUED, coupon("wang", "w1"), coupon("zhao", "z1"))]
    orders = [make_order("zhao", items="764.15", items_before="899.00", coupons=("z1", "x"))]
    result = figures(agreement, packs, orders, {"zhao": Decimal("38.21"), "=evil": Decimal(1)})
    data = json.loads(promotions_json([result]))["promotions"][0]
    zhao = data["partners"][2]
    assert zhao == {
        "partner": "zhao",
        "coupons": {"planned": 1, "created": 1, "pending": 0, "failed": 0, "expired": 0},
        "redeemed": 1,
        "redemption_rate": "1.0000",
        "revenue": "764.15",
        "discount_cost": "134.85",
        "discount_estimated": 1,
        "commission": "38.21",
    }
    assert data["packs"] == {"total": 1, "issued": 1, "issuing": 0, "revoking": 0, "revoked": 0}
    assert any("1 discount(s) estimated" in note for note in data["notes"])

    rows = list(csv.DictReader(io.StringIO(promotions_csv([result]))))
    assert [r["partner"] for r in rows] == ["wang", "zhang", "zhao", "'=evil", "total"]
    assert rows[0]["packs"] == "" and rows[-1]["packs"] == "1"
    assert (rows[-1]["revenue"], rows[-1]["commission"]) == ("764.15", "39.21")
    assert rows[0]["redemption_rate"] == "0.0000" and rows[1]["redemption_rate"] == ""
    table = promotions_table([result])
    assert "134.85*" in table and "* 1 discount(s) estimated" in table
