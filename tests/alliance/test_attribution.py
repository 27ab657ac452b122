"""Attribution rules, one test per rule (see alliance/attribution.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alliance.attribution import Attribution, Evidence, IssuedCoupon, attribute
from alliance.clicks import Click
from tests.factories import make_order, utc

CLICK_AT = utc(2026, 12, 1, 9, 0)


def click(id="c1", source="li", target="wang", deal="li-wang", at=CLICK_AT) -> Click:
    return Click(id=id, source_member=source, target_member=target, deal_id=deal, clicked_at=at)


def run(order, agreement, clicks=(), gifts=()):
    return attribute(
        order,
        agreement,
        referral_coupons=agreement.referral_coupon_index(),
        gift_coupons={(g.member, g.code): g for g in gifts},
        clicks={c.id: c for c in clicks},
    )


def via_click(click_id="c1", **kw):
    return {"utm_source": "alliance", "utm_campaign": "li-wang", "utm_content": click_id, **kw}


def test_a_referral_coupon_attributes_the_order_to_the_deal_referrer(agreement):
    won = run(make_order("wang", coupons=("LI-FRIENDS",)), agreement)
    assert (won.referrer, won.seller, won.evidence, won.deal_id) == (
        "li",
        "wang",
        Evidence.REFERRAL_COUPON,
        "li-wang",
    )


def test_coupon_codes_match_whatever_their_case(agreement):
    won = run(make_order("wang", coupons=("li-friends",)), agreement)
    assert won is not None and won.referrer == "li"


def test_a_referral_coupon_only_counts_in_the_store_it_belongs_to(agreement):
    # LI-FRIENDS lives in wang's store; used at zhang it is just some other coupon.
    assert run(make_order("zhang", coupons=("LI-FRIENDS",)), agreement) is None


def test_a_swap_coupon_names_the_other_member_as_referrer(agreement):
    won = run(make_order("zhao", coupons=("ZHANG-PHOTO",)), agreement)
    assert (won.referrer, won.deal_id) == ("zhang", "zhang-zhao")
    won = run(make_order("zhang", coupons=("ZHAO-TOYS",)), agreement)
    assert (won.referrer, won.deal_id) == ("zhao", "zhang-zhao")


def test_a_coupon_beats_a_click_from_another_partner(agreement):
    order = make_order("li", coupons=("WANG-LOVES-LI",), utm=via_click())
    stray = click(source="zhang", target="li", deal="li-wang")
    won = run(order, agreement, clicks=[stray])
    assert (won.referrer, won.evidence) == ("wang", Evidence.REFERRAL_COUPON)


def test_when_two_partners_coupons_meet_the_coupon_applied_first_wins(agreement):
    gift = IssuedCoupon("gift-abc", "newborn-gift-pack", "wang")
    first_gift = make_order("wang", coupons=("gift-abc", "LI-FRIENDS"))
    assert run(first_gift, agreement, gifts=[gift]).evidence is Evidence.GIFT_COUPON
    first_referral = make_order("wang", coupons=("LI-FRIENDS", "gift-abc"))
    assert run(first_referral, agreement, gifts=[gift]).evidence is Evidence.REFERRAL_COUPON


def test_a_gift_pack_coupon_attributes_the_order_to_the_promotion_trigger_member(agreement):
    gift = IssuedCoupon("gift-abc", "newborn-gift-pack", "wang")
    won = run(make_order("wang", coupons=("GIFT-ABC",)), agreement, gifts=[gift])
    assert (won.referrer, won.evidence, won.deal_id) == (
        "li",
        Evidence.GIFT_COUPON,
        "newborn-gift-pack",
    )


def test_a_tracked_click_named_by_utm_content_attributes_the_order(agreement):
    order = make_order("wang", utm=via_click(), created=CLICK_AT + timedelta(hours=2))
    won = run(order, agreement, clicks=[click()])
    assert (won.referrer, won.evidence, won.reference) == ("li", Evidence.CLICK, "c1")


def test_a_click_only_counts_with_utm_source_alliance(agreement):
    order = make_order("wang", utm=via_click(utm_source="newsletter"), created=CLICK_AT)
    assert run(order, agreement, clicks=[click()]) is None


def test_an_unknown_click_id_attributes_nothing(agreement):
    order = make_order("wang", utm=via_click("nope"), created=CLICK_AT)
    assert run(order, agreement, clicks=[click()]) is None


def test_a_click_whose_target_is_another_member_attributes_nothing(agreement):
    order = make_order("li", utm=via_click(), created=CLICK_AT)
    assert run(order, agreement, clicks=[click(target="wang")]) is None


@pytest.mark.parametrize(
    ("delay", "counts"),
    [
        (timedelta(days=29, hours=23), True),
        (timedelta(days=30), True),
        (timedelta(days=30, seconds=1), False),
        (-timedelta(minutes=4), True),  # clocks differ a little between store and alliance
        (-timedelta(hours=1), False),  # an order placed before the click was not sent by it
    ],
)
def test_a_click_counts_only_inside_the_attribution_window(agreement, delay, counts):
    order = make_order("wang", utm=via_click(), created=CLICK_AT + delay)
    assert (run(order, agreement, clicks=[click()]) is not None) is counts


def test_a_member_never_refers_itself(agreement):
    self_click = click(source="wang", target="wang")
    order = make_order("wang", utm=via_click(), created=CLICK_AT)
    assert run(order, agreement, clicks=[self_click]) is None


def test_a_click_between_members_without_a_deal_attributes_nothing(agreement):
    # li pays nobody for zhao's referrals: there is no zhao -> li deal
    order = make_order("li", utm=via_click(), created=CLICK_AT)
    assert run(order, agreement, clicks=[click(source="zhao", target="li")]) is None


def test_an_order_without_evidence_has_no_winner(agreement):
    assert run(make_order("wang", coupons=("summer-sale",)), agreement) is None


@pytest.mark.parametrize(
    ("delay", "counts"),
    [(-timedelta(minutes=5), True), (-timedelta(minutes=5, seconds=1), False)],
    ids=["exactly the clock skew", "a second more"],
)
def test_a_click_may_be_stamped_up_to_five_minutes_after_the_order(agreement, delay, counts):
    order = make_order("wang", utm=via_click(), created=CLICK_AT + delay)
    assert (run(order, agreement, clicks=[click()]) is not None) is counts


def test_utm_values_are_read_as_a_storefront_may_spell_them(agreement):
    """Stores and plugins pass ``utm_source`` in any case and with stray spaces: still ours."""
    utm = via_click(" c1 ", utm_source=" Alliance ")
    order = make_order("wang", utm=utm, created=CLICK_AT + timedelta(hours=1))
    won = run(order, agreement, clicks=[click()])
    assert (won.referrer, won.reference, won.deal_id) == ("li", "c1", "li-wang")
    empty = make_order("wang", utm=via_click(""), created=CLICK_AT)
    assert run(empty, agreement, clicks=[click(id="")]) is None


def test_a_gift_coupon_never_pays_the_seller_itself_or_an_unknown_promotion(agreement):
    """A gift coupon used at li (the promotion's own trigger member) or one naming a promotion
    the agreement no longer has attributes nothing by itself: a referral coupon beside it
    still counts."""
    own = IssuedCoupon("gift-own", "newborn-gift-pack", "li")
    assert run(make_order("li", coupons=("gift-own",)), agreement, gifts=[own]) is None
    gone = IssuedCoupon("gift-old", "summer-2025", "wang")
    order = make_order("wang", coupons=("gift-old", "LI-FRIENDS"))
    won = run(order, agreement, gifts=[gone])
    assert (won.referrer, won.evidence, won.reference) == (
        "li",
        Evidence.REFERRAL_COUPON,
        "li-friends",
    )


def test_the_winning_evidence_names_seller_reference_and_deal(agreement):
    """What an order row stores and a statement cites: who sold, which coupon or click, which
    deal or promotion."""
    gift = IssuedCoupon("gift-abc", "newborn-gift-pack", "wang")
    by_gift = run(make_order("wang", coupons=("GIFT-ABC",)), agreement, gifts=[gift])
    assert by_gift == Attribution(
        "li", "wang", Evidence.GIFT_COUPON, "gift-abc", "newborn-gift-pack"
    )
    order = make_order("wang", utm=via_click(), created=CLICK_AT + timedelta(hours=2))
    by_click = run(order, agreement, clicks=[click()])
    assert by_click == Attribution("li", "wang", Evidence.CLICK, "c1", "li-wang")
