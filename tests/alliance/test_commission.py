"""Commission per deal kind, on an explicit base."""

from __future__ import annotations

from decimal import Decimal

from alliance.agreement import Base
from alliance.agreement.parse import parse_agreement
from alliance.attribution import Attribution, Evidence
from alliance.clicks import Click
from alliance.commission import click_targets, order_base, order_targets
from alliance.money import CREDIT
from tests.conftest import EXAMPLE
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
    fee = Click("c2", "wang", "zhang", "wang-zhang", utc(2026, 12, 1))  # paid per order
    assert click_targets(fee, agreement) == []


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


def test_a_click_counts_only_between_the_members_of_its_per_click_deal(agreement):
    """A click naming li-zhao but sent between other members (or the other way round) earns
    nothing: the deal pays zhao -> li for li's links to zhao, no one else."""
    for source, target in (("wang", "zhao"), ("zhao", "li"), ("li", "wang")):
        c = Click("c9", source, target, "li-zhao", utc(2026, 12, 1))
        assert click_targets(c, agreement) == []
    assert (
        click_targets(Click("c9", "li", "zhao", "no-such-deal", utc(2026, 12, 1)), agreement) == []
    )


def test_amounts_keep_every_decimal_of_a_three_decimal_currency():
    """Kuwaiti dinars have 3 decimals: a click worth 0.125 KWD earns 0.125, not 0.13, and
    10% of 10.125 KWD is 1.013 on a base of 10.125, and a 15.125 fee stays 15.125."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('currency = "CNY"', 'currency = "KWD"').replace('"0.50"', '"0.125"')
    text = text.replace('amount = "15.00"', 'amount = "15.125"')
    kwd = parse_agreement(text)
    c = Click("c9", "li", "zhao", "li-zhao", utc(2026, 12, 1))
    assert amounts(click_targets(c, kwd)) == {("li-zhao", "zhao", "li", "KWD"): Decimal("0.125")}
    order = make_order("wang", items="10.125", currency="KWD")  # li-wang: 10% of the items
    (target,) = order_targets(order, won("li", "wang"), kwd)
    assert (target.base, target.amount) == (Decimal("10.125"), Decimal("1.013"))  # 1.0125 up
    gift = won("li", "wang", Evidence.GIFT_COUPON, "newborn-gift-pack")
    (redeemed,) = order_targets(order, gift, kwd)  # 5% of 10.125 = 0.50625
    assert (redeemed.base, redeemed.amount) == (Decimal("10.125"), Decimal("0.506"))
    fee = make_order("zhang", items="40.000", currency="KWD")  # wang-zhang: a fee per order
    assert amounts(order_targets(fee, won("wang", "zhang"), kwd)) == {
        ("wang-zhang", "zhang", "wang", "KWD"): Decimal("15.125")
    }


def test_the_base_of_a_fully_refunded_order_is_zero_and_a_free_order_keeps_its_items(agreement):
    """``order_base`` on its own (gift-pack reports call it): nothing once the whole total
    was refunded; an order a coupon made free still has its items before discount."""
    refunded = make_order("zhang", items="100", shipping="0", tax="0", refunded="100")
    assert order_base(refunded, Base.ITEMS_AFTER_DISCOUNT, "CNY") == Decimal("0.00")
    free = make_order("zhang", items="0", items_before="80.00", shipping="0", tax="0")
    assert free.total == 0
    assert order_base(free, Base.ITEMS_BEFORE_DISCOUNT, "CNY") == Decimal("80.00")


def test_a_deal_that_pays_per_order_counts_even_after_one_that_pays_per_click():
    """li sends zhao customers under two deals: per click, and 4% of each order. An order
    li sent pays the 4%; the per-click deal listed first takes nothing from it."""
    text = EXAMPLE.read_text(encoding="utf-8") + (
        '\n[[deals]]\nid = "li-zhao-orders"\nreferrer = "li"\nseller = "zhao"\n'
        'pay = "percent"\nrate = "4%"\nbase = "items_after_discount"\n'
    )
    both = parse_agreement(text)
    order = make_order("zhao", items="100.00")
    assert amounts(order_targets(order, won("li", "zhao"), both)) == {
        ("li-zhao-orders", "zhao", "li", "CNY"): Decimal("4.00")
    }
