"""Gift packs, the pure rules: which orders earn one, the codes, the coupons, revocation."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.agreement import DiscountType
from alliance.giftpacks import (
    CODE_ALPHABET,
    CODE_BITS,
    alliance_prefix,
    display_code,
    gift_code,
    gift_code_key,
    plan_pack,
    promotion_window,
    qualifies,
    revocation_reason,
    stored_code,
    why_not_qualifying,
)
from tests.conftest import SECRET
from tests.factories import make_order, utc

KEY = gift_code_key(SECRET.encode())
CODE_RE = re.compile(r"RPA-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
IDS = st.text(st.characters(categories=("L", "N", "P")), min_size=1, max_size=30)
TZ = "Asia/Shanghai"


def li_order(**kw):
    kw.setdefault("items", "320.00")
    kw.setdefault("created", utc(2026, 12, 5, 2, 0))
    return make_order("li", kw.pop("id", "1001"), **kw)


# -- codes --------------------------------------------------------------------------------


def test_the_alphabet_has_no_look_alikes_and_a_code_carries_at_least_50_bits():
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET) == 31
    assert CODE_BITS >= 50


def test_a_code_is_grouped_for_reading_behind_the_alliance_initials():
    code = gift_code(KEY, "newborn-gift-pack", "li/1001", "wang", "RPA")
    assert CODE_RE.fullmatch(code), code


@given(promotion=IDS, ref=IDS, member=IDS)
@settings(max_examples=200, deadline=None)
def test_a_code_is_the_same_on_every_call_and_always_readable(promotion, ref, member):
    code = gift_code(KEY, promotion, ref, member, "RPA")
    assert code == gift_code(KEY, promotion, ref, member, "RPA")
    assert CODE_RE.fullmatch(code)
    assert stored_code(code) == code.lower() and display_code(stored_code(code)) == code


@given(
    first=st.tuples(IDS, IDS, IDS),
    second=st.tuples(IDS, IDS, IDS),
)
@settings(max_examples=300, deadline=None)
def test_different_packs_or_partners_get_different_codes(first, second):
    if first == second:
        return
    assert gift_code(KEY, *first, "RPA") != gift_code(KEY, *second, "RPA")


def test_codes_depend_on_the_secret():
    other = gift_code_key(b"another-secret-that-is-long-enough-0123456789")
    assert gift_code(KEY, "p", "li/1", "wang", "AL") != gift_code(other, "p", "li/1", "wang", "AL")


def test_ten_thousand_packs_of_three_partners_share_no_code():
    codes = {
        gift_code(KEY, "newborn-gift-pack", f"li/{n}", member, "RPA")
        for n in range(10_000)
        for member in ("wang", "zhang", "zhao")
    }
    assert len(codes) == 30_000


def test_the_key_is_derived_for_codes_only_never_the_secret_itself():
    assert SECRET.encode() != KEY and len(KEY) == 32


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("Refined Parenting Alliance", "RPA"),
        ("the small shops of the old town", "TSSO"),
        ("Ümlaut Bären", "UB"),  # accents dropped
        ("母婴联盟", "AL"),
        ("Solo", "AL"),
    ],
)
def test_the_prefix_is_the_alliance_initials_else_al(name, prefix):
    assert alliance_prefix(name) == prefix


# -- which orders qualify -----------------------------------------------------------------


def test_a_paid_order_over_the_threshold_inside_the_window_qualifies(agreement):
    promotion = agreement.promotion("newborn-gift-pack")
    assert qualifies(li_order(), promotion, TZ)
    assert qualifies(li_order(items="300.00"), promotion, TZ)  # at the threshold
    assert qualifies(li_order(status="completed"), promotion, TZ)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"items": "299.99"}, "under 300"),
        ({"status": "on-hold"}, "status is on-hold"),
        ({"status": "pending"}, "status is pending"),
        ({"status": "cancelled"}, "status is cancelled"),
        ({"refunded": "343.00"}, "refunded in full"),
        ({"created": utc(2026, 11, 30, 15, 59)}, "outside"),  # 23:59 on 30 Nov in Shanghai
        ({"created": utc(2027, 2, 28, 16, 0)}, "outside"),  # 00:00 on 1 Mar in Shanghai
    ],
)
def test_an_order_that_does_not_qualify_says_why(agreement, changes, why):
    promotion = agreement.promotion("newborn-gift-pack")
    reason = why_not_qualifying(li_order(**changes), promotion, TZ)
    assert reason is not None and why in reason


def test_the_window_is_inclusive_of_both_days_in_the_alliance_timezone(agreement):
    promotion = agreement.promotion("newborn-gift-pack")
    start, end = promotion_window(promotion, TZ)
    assert (start, end) == (utc(2026, 11, 30, 16, 0), utc(2027, 2, 28, 16, 0))
    assert qualifies(li_order(created=utc(2026, 11, 30, 16, 0)), promotion, TZ)
    assert qualifies(li_order(created=utc(2027, 2, 28, 15, 59)), promotion, TZ)


def test_the_paid_date_places_the_order_and_cash_on_delivery_uses_the_created_date(agreement):
    promotion = agreement.promotion("newborn-gift-pack")
    created_before = li_order(created=utc(2026, 11, 28), paid=utc(2026, 12, 2))
    assert qualifies(created_before, promotion, TZ)
    cash = li_order(created=utc(2026, 12, 2), paid=None)
    assert qualifies(cash, promotion, TZ)


def test_an_order_at_another_member_never_triggers(agreement):
    promotion = agreement.promotion("newborn-gift-pack")
    order = make_order("wang", "1", items="500.00", created=utc(2026, 12, 5))
    assert not qualifies(order, promotion, TZ)


# -- revocation ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["cancelled", "failed", "refunded", "trash"])
def test_a_cancelled_failed_refunded_or_trashed_trigger_order_revokes(status):
    assert revocation_reason(li_order(status=status)) == f"the trigger order is {status}"


def test_a_full_refund_revokes_a_partial_one_under_the_threshold_does_not():
    assert (
        revocation_reason(li_order(refunded="343.00")) == "the trigger order was refunded in full"
    )
    assert revocation_reason(li_order(refunded="100.00")) is None  # items now worth 220
    assert revocation_reason(li_order(status="completed")) is None
    assert revocation_reason(li_order(status="on-hold")) is None


# -- the coupons --------------------------------------------------------------------------


def test_a_pack_has_one_single_use_coupon_per_reward_without_customer_data(agreement):
    promotion = agreement.promotion("newborn-gift-pack")
    issued = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    plans = plan_pack(agreement, promotion, "li/1001", issued, KEY)
    assert [p.member for p in plans] == ["wang", "zhang", "zhao"]
    wang, _zhang, zhao = plans
    assert (wang.discount_type, wang.amount) == (DiscountType.FIXED_CART, Decimal("30.00"))
    assert (zhao.discount_type, zhao.amount) == (DiscountType.PERCENT, Decimal("15"))
    for plan in plans:
        assert (plan.usage_limit, plan.usage_limit_per_user) == (1, 1)
        assert plan.expires_at == issued + timedelta(days=60)
        assert "newborn-gift-pack" in plan.description
        assert "Li's Organic Baby Clothes" in plan.description
        assert "@" not in plan.description and "1001" not in plan.description
        assert CODE_RE.fullmatch(plan.code)
    assert len({p.code for p in plans}) == 3
    assert plan_pack(agreement, promotion, "li/1001", issued, KEY) == plans


def test_reward_extras_carry_into_the_plan(agreement):
    promotion = agreement.promotion("newborn-gift-pack")
    sample = replace(
        promotion.rewards[0],
        discount_type=DiscountType.PERCENT,
        amount=Decimal("100"),
        products=("SKU-501",),
        minimum_amount=Decimal("50.00"),
        individual_use=True,
        exclude_sale_items=True,
    )
    changed = replace(promotion, rewards=(sample,))
    (plan,) = plan_pack(agreement, changed, "li/7", utc(2026, 12, 5), KEY)
    assert plan.product_skus == ("SKU-501",)
    assert (plan.minimum_amount, plan.individual_use, plan.exclude_sale_items) == (
        Decimal("50.00"),
        True,
        True,
    )
