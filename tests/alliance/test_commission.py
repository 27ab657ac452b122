"""Commission per deal kind, on an explicit base."""

from __future__ import annotations

from decimal import Decimal

from alliance.agreement import Base
from alliance.attribution import Attribution, Evidence
from alliance.clicks import Click
from alliance.commission import click_targets, order_base, order_targets
from alliance.money import CREDIT
from tests.factories import make_order, utc


def won(referrer, seller, evidence=Evidence.REFERRAL_COUPON, deal="x"):
    return Attribution(referrer, seller, evidence, "ref", deal)


def amounts(targets):
    return {(t.deal_id, t.payer, t.payee, t.unit): t.amount for t in targets}


def test_a_percent_deal_pays_its_rate_of_items_after_discount_excluding_tax_and_shipping(agreement):
    order = make_order("wang", items="200.00", items_before="250.00", shipping="15", tax="26")
    assert amounts(order_targets(order, won("li", "wang"), agreement)) == {
        ("li-wang", "wang", "li", "CNY"): Decimal("20.00")
    }


def test_the_percent_base_is_recorded_on_the_target(agreement):
    order = make_order("li", items="123.45")
    (target,) = order_targets(order, won("wang", "li"), agreement)
    assert (target.base, target.amount) == (Decimal("123.45"), Decimal("9.88"))  # 8% = 9.876


def test_a_per_order_deal_pays_a_fixed_fee_whatever_the_order_size(agreement):
    for items in ("10.00", "999.00"):
        order = make_order("zhang", items=items)
        assert amounts(order_targets(order, won("wang", "zhang"), agreement)) == {
            ("wang-zhang", "zhang", "wang", "CNY"): Decimal("15.00")
        }


def test_a_swap_books_one_credit_and_no_money(agreement):
    order = make_order("zhao", items="800.00")
    assert amounts(order_targets(order, won("zhang", "zhao"), agreement)) == {
        ("zhang-zhao", "zhao", "zhang", CREDIT): Decimal(1)
    }


def test_a_per_click_deal_pays_nothing_for_the_order_itself(agreement):
    order = make_order("zhao", items="500.00")
    assert order_targets(order, won("li", "zhao", Evidence.CLICK, "li-zhao"), agreement) == []


def test_a_valid_click_on_a_per_click_deal_earns_its_amount(agreement):
    c = Click("c9", "li", "zhao", "li-zhao", utc(2026, 12, 1))
    assert amounts(click_targets(c, agreement)) == {
        ("li-zhao", "zhao", "li", "CNY"): Decimal("0.50")
    }


def test_an_invalid_click_earns_nothing(agreement):
    c = Click("c9", "li", "zhao", "li-zhao", utc(2026, 12, 1), valid=False, invalid_reason="bot")
    assert click_targets(c, agreement) == []


def test_a_click_on_a_percent_deal_earns_nothing_by_itself(agreement):
    assert click_targets(Click("c1", "li", "wang", "li-wang", utc(2026, 12, 1)), agreement) == []


def test_a_gift_pack_redemption_pays_the_trigger_member_five_percent(agreement):
    order = make_order("wang", items="80.00", coupons=("gift-abc",))
    attribution = won("li", "wang", Evidence.GIFT_COUPON, "newborn-gift-pack")
    assert amounts(order_targets(order, attribution, agreement)) == {
        ("newborn-gift-pack", "wang", "li", "CNY"): Decimal("4.00")
    }


def test_an_order_that_is_not_a_sale_carries_nothing(agreement):
    for status in (
        "pending",
        "on-hold",
        "checkout-draft",
        "cancelled",
        "refunded",
        "failed",
        "trash",
    ):
        assert order_targets(make_order("wang", status=status), won("li", "wang"), agreement) == []


def test_a_fully_refunded_order_carries_nothing(agreement):
    order = make_order("zhang", items="100", shipping="0", tax="0", refunded="100")
    assert order_targets(order, won("wang", "zhang"), agreement) == []


def test_a_partial_refund_shrinks_the_base_in_proportion(agreement):
    # total 123.00, refunded 12.30 = 10% -> base 100.00 becomes 90.00
    order = make_order("wang", items="100.00", refunded="12.30")
    assert order_base(order, Base.ITEMS_AFTER_DISCOUNT, "CNY") == Decimal("90.00")
    assert amounts(order_targets(order, won("li", "wang"), agreement))[
        ("li-wang", "wang", "li", "CNY")
    ] == Decimal("9.00")


def test_a_partial_refund_keeps_a_per_order_fee(agreement):
    order = make_order("zhang", items="100.00", refunded="50.00")
    assert amounts(order_targets(order, won("wang", "zhang"), agreement)) == {
        ("wang-zhang", "zhang", "wang", "CNY"): Decimal("15.00")
    }


def test_the_order_total_base_includes_tax_and_shipping():
    order = make_order(items="100.00", shipping="10.00", tax="13.00", refunded="3.00")
    assert order_base(order, Base.ORDER_TOTAL, "CNY") == Decimal("120.00")
    # 100.00 items, 3.00 of the 123.00 total refunded: 100.00 x 120/123 = 97.5609... -> 97.56
    assert order_base(order, Base.ITEMS_BEFORE_DISCOUNT, "CNY") == Decimal("97.56")


def test_no_attribution_means_no_commission(agreement):
    assert order_targets(make_order("wang"), None, agreement) == []
