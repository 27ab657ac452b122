"""parse_agreement / load_agreement: the example's terms, and every mistake with FILE:LINE: key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alliance.agreement.model import Base, DealKind, DiscountType
from alliance.agreement.parse import (
    STARTER_PATH,
    agreement_summary,
    load_agreement,
    parse_agreement,
)
from alliance.errors import AgreementError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alliance.toml"
WOO_SECRET = "cs_" + "9f8e7d6c5b4a" * 3
WOO_KEY = "ck_" + "0a1b2c3d4e5f" * 3


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture
def text(example_path: Path) -> str:
    return example_path.read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    """Replace one exact, unique snippet of the example (so line numbers stay known)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems(text: str) -> list[str]:
    with pytest.raises(AgreementError) as info:
        parse_agreement(text, "alliance.toml")
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return [str(problem) for problem in info.value.problems]


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- the example file -----------------------------------------------------------------------


def test_the_example_file_parses_to_its_settings_and_four_members(example_path: Path) -> None:
    agreement = load_agreement(example_path)
    settings = agreement.settings
    assert (settings.name, settings.currency, settings.timezone) == (
        "Refined Parenting Alliance",
        "CNY",
        "Asia/Shanghai",
    )
    assert settings.links_base_url == "https://go.parenting.example"
    assert (settings.attribution_window_days, settings.holdback_days) == (30, 14)
    assert settings.min_group_size == 10
    assert list(agreement.members) == ["li", "wang", "zhang", "zhao"]
    li = agreement.members["li"]
    assert li.name == "Li's Organic Baby Clothes"
    assert (li.url, li.store, li.credentials_env) == ("https://li.example", "woocommerce", "LI_WC")
    assert (li.key_variable, li.secret_variable) == ("LI_WC_KEY", "LI_WC_SECRET")
    assert agreement.members["zhang"].categories == ("toys", "early-education")
    assert agreement.source == str(example_path)
    assert len(agreement.version) == 16


def test_the_example_deals_have_their_kinds_terms_and_lowercased_coupons(text: str) -> None:
    agreement = parse_agreement(text)
    assert [(d.id, d.kind) for d in agreement.deals] == [
        ("li-wang", DealKind.PERCENT),
        ("wang-li", DealKind.PERCENT),
        ("wang-zhang", DealKind.PER_ORDER),
        ("li-zhao", DealKind.PER_CLICK),
        ("zhang-zhao", DealKind.SWAP),
    ]
    li_wang = agreement.deal("li-wang")
    assert li_wang.rate == Decimal("0.10")
    assert li_wang.base is Base.ITEMS_AFTER_DISCOUNT
    assert [(leg.referrer, leg.seller, leg.referral_coupons) for leg in li_wang.legs] == [
        ("li", "wang", ("li-friends",))
    ]
    assert agreement.deal("wang-li").rate == Decimal("0.08")
    assert agreement.deal("wang-zhang").amount == Decimal("15.00")
    assert agreement.deal("wang-zhang").legs[0].referral_coupons == ("wang-toys",)
    per_click = agreement.deal("li-zhao")
    assert (per_click.amount, per_click.click_window_hours) == (Decimal("0.50"), 24)
    assert agreement.legs_between("li", "wang") == li_wang.legs


def test_the_swap_deal_has_two_legs_with_the_coupons_of_each_store(text: str) -> None:
    swap = parse_agreement(text).deal("zhang-zhao")
    assert swap.credits == 1
    assert [(leg.referrer, leg.seller, leg.referral_coupons) for leg in swap.legs] == [
        ("zhang", "zhao", ("zhang-photo",)),
        ("zhao", "zhang", ("zhao-toys",)),
    ]
    index = parse_agreement(text).referral_coupon_index()
    assert index[("zhao", "zhang-photo")].referrer == "zhang"
    assert index[("zhang", "zhao-toys")].referrer == "zhao"


def test_the_promotion_has_its_dates_rewards_and_five_percent_redemption(text: str) -> None:
    promotion = parse_agreement(text).promotion("newborn-gift-pack")
    assert (promotion.trigger_member, promotion.min_order_total) == ("li", Decimal("300.00"))
    assert (promotion.starts, promotion.ends) == (date(2026, 12, 1), date(2027, 2, 28))
    assert promotion.coupon_valid_days == 60
    assert promotion.redemption_rate == Decimal("0.05")
    assert promotion.redemption_base is Base.ITEMS_AFTER_DISCOUNT
    assert [(r.member, r.discount_type, r.amount, r.label) for r in promotion.rewards] == [
        ("wang", DiscountType.FIXED_CART, Decimal("30.00"), "Baby-wash trial set"),
        ("zhang", DiscountType.FIXED_CART, Decimal("20.00"), "Toy trial voucher"),
        ("zhao", DiscountType.PERCENT, Decimal("15"), "Newborn photo shoot"),
    ]


def test_the_summary_names_members_deals_promotions_and_the_version(text: str) -> None:
    agreement = parse_agreement(text)
    summary = agreement_summary(agreement)
    assert summary.splitlines()[0] == "Refined Parenting Alliance"
    assert "CNY" in summary and "Asia/Shanghai" in summary
    assert "li: Li's Organic Baby Clothes" in summary
    assert "li-wang [percent]: wang pays li 10% of items after discount" in summary
    assert "zhang pays wang 15.00 CNY per referred order" in summary
    assert "zhang-zhao [swap]" in summary and "newborn-gift-pack" in summary
    assert summary.splitlines()[-1] == f"version {agreement.version}"


def test_the_starter_file_validates() -> None:
    agreement = load_agreement(STARTER_PATH)
    assert len(agreement.members) == 2
    assert [deal.kind for deal in agreement.deals] == [DealKind.PERCENT]


# -- the version ----------------------------------------------------------------------------


def test_comments_and_layout_do_not_change_the_version(text: str) -> None:
    original = parse_agreement(text).version
    relaid = edit(text, 'rate = "10%"', 'rate   =   "10%"      # changed comment')
    relaid = "# a new first comment\n\n" + relaid.replace("\n\n", "\n\n\n")
    assert parse_agreement(relaid).version == original
    reordered = edit(text, 'name = "Refined Parenting Alliance"\ncurrency = "CNY"', "")
    reordered = edit(
        reordered, "[alliance]", '[alliance]\ncurrency = "CNY"\nname = "Refined Parenting Alliance"'
    )
    assert parse_agreement(reordered).version == original


def test_any_change_of_terms_changes_the_version(text: str) -> None:
    original = parse_agreement(text).version
    assert parse_agreement(edit(text, 'rate = "10%"', 'rate = "11%"')).version != original
    assert parse_agreement(edit(text, "ends = 2027-02-28", "ends = 2027-03-01")).version != original


# -- file-level problems --------------------------------------------------------------------


def test_a_missing_file_is_reported_on_line_one(tmp_path: Path) -> None:
    with pytest.raises(AgreementError) as info:
        load_agreement(tmp_path / "nope.toml")
    assert str(info.value) == (
        f"{tmp_path / 'nope.toml'}:1: <file>: the file does not exist; check the path, "
        "or create one with `alliance init`"
    )


def test_a_file_that_is_not_utf8_is_reported_at_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "alliance.toml"
    path.write_bytes(b'[alliance]\nname = "caf\xe9"\n')
    with pytest.raises(AgreementError) as info:
        load_agreement(path)
    assert [(p.line, p.key) for p in info.value.problems] == [(2, "<file>")]
    assert "UTF-8" in info.value.problems[0].message


def test_a_toml_syntax_error_is_one_problem_with_its_line(text: str) -> None:
    assert only_problem(edit(text, 'rate = "8%"', "rate = 8%")) == (
        "alliance.toml:65: <file>: is not valid TOML: expected newline or end of document "
        "after a statement (column 9); fix the syntax of this line"
    )


def test_a_missing_alliance_table_is_reported_on_line_one(text: str) -> None:
    broken = edit(text, "[alliance]", "[alliances]")
    found = problems(broken)
    assert 'alliance.toml:6: alliances: unknown key "alliances"; did you mean "alliance"?' in found
    assert (
        "alliance.toml:1: alliance: missing; add an [alliance] table with name, currency "
        "and timezone" in found
    )


# -- the [alliance] table -------------------------------------------------------------------


def test_an_unknown_timezone_is_reported_with_its_line(text: str) -> None:
    problem = only_problem(edit(text, '"Asia/Shanghai"', '"Asia/Shanghi"'))
    assert problem.startswith('alliance.toml:9: alliance.timezone: timezone "Asia/Shanghi" is not')


def test_an_unknown_currency_is_reported_and_lowercase_is_corrected(text: str) -> None:
    assert only_problem(edit(text, '"CNY"', '"XYZ"')).startswith(
        'alliance.toml:8: alliance.currency: currency "XYZ" is not a known ISO 4217 code'
    )
    assert only_problem(edit(text, '"CNY"', '"cny"')) == (
        'alliance.toml:8: alliance.currency: currency "cny" must be written "CNY"'
    )


def test_a_missing_required_setting_points_at_its_table(text: str) -> None:
    broken = edit(text, 'timezone = "Asia/Shanghai"', "")
    assert only_problem(broken) == (
        'alliance.toml:6: alliance.timezone: missing; write timezone = "Asia/Shanghai"'
    )


def test_a_misspelt_key_is_unknown_and_the_close_key_is_suggested(text: str) -> None:
    assert only_problem(edit(text, "holdback_days = 14", "holdbak_days = 14")) == (
        'alliance.toml:13: alliance.holdbak_days: unknown key "holdbak_days"; '
        'did you mean "holdback_days"?'
    )
    assert only_problem("colour = 1\n" + text).startswith(
        'alliance.toml:1: colour: unknown key "colour"; remove it'
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "holdback_days = 14",
            'holdback_days = "14"',
            'alliance.toml:13: alliance.holdback_days: holdback_days is text "14"; '
            "write a whole number without quotes, such as holdback_days = 14",
        ),
        (
            "attribution_window_days = 30",
            "attribution_window_days = 0",
            "alliance.toml:11: alliance.attribution_window_days: attribution_window_days is 0; "
            "write a whole number between 1 and 365",
        ),
        (
            "min_group_size = 10",
            "min_group_size = 1000000",
            "alliance.toml:14: alliance.min_group_size: min_group_size is 1000000; "
            "write a whole number between 5 and 1000",
        ),
        (
            "holdback_days = 14",
            "holdback_days = -3",
            "alliance.toml:13: alliance.holdback_days: holdback_days is -3; "
            "write a whole number between 0 and 365",
        ),
        (
            'settlement_period = "monthly"',
            'settlement_period = "weekly"',
            'alliance.toml:12: alliance.settlement_period: settlement_period "weekly" is not '
            'supported; only "monthly" is, so write settlement_period = "monthly"',
        ),
    ],
)
def test_wrong_types_and_absurd_numbers_are_reported(
    text: str, old: str, new: str, expected: str
) -> None:
    assert only_problem(edit(text, old, new)) == expected


# -- members --------------------------------------------------------------------------------


def test_member_mistakes_are_reported_on_their_lines(text: str) -> None:
    broken = edit(text, 'url = "https://li.example"', 'url = "li.example"')
    broken = edit(broken, 'credentials_env = "WANG_WC"', 'credentials_env = "wang-wc"')
    broken = edit(
        broken,
        'store = "woocommerce"\nurl = "https://zhang',
        'store = "shopify"\nurl = "https://zhang',
    )
    broken = edit(broken, 'categories = ["photography", "services"]', "categories = [1]")
    found = problems(broken)
    assert [problem.split(": ")[0:2] for problem in found] == [
        ["alliance.toml:20", "members.li.url"],
        ["alliance.toml:29", "members.wang.credentials_env"],
        ["alliance.toml:35", "members.zhang.store"],
        ["alliance.toml:46", "members.zhao.categories[0]"],
    ]
    assert 'url "li.example" is not a web address' in found[0]


def test_a_member_id_must_be_lowercase(text: str) -> None:
    found = problems(edit(text, "[members.zhao]", "[members.Zhao]"))
    assert found[0].startswith('alliance.toml:40: members.Zhao: member id "Zhao" is not valid')


def test_credentials_env_defaults_to_the_id_in_capitals(text: str) -> None:
    agreement = parse_agreement(edit(text, 'credentials_env = "LI_WC"', ""))
    assert agreement.members["li"].credentials_env == "LI_WC"
    renamed = text.replace('"li"', '"big-li"').replace("[members.li]", "[members.big-li]")
    renamed = edit(renamed, 'credentials_env = "LI_WC"', "")
    assert parse_agreement(renamed).members["big-li"].credentials_env == "BIG_LI_WC"


def test_an_alliance_needs_at_least_two_members() -> None:
    text = (
        '[alliance]\nname = "A"\ncurrency = "EUR"\ntimezone = "Europe/Berlin"\n\n'
        '[members.solo]\nname = "Solo"\nurl = "https://solo.example"\n'
    )
    assert only_problem(text) == (
        "alliance.toml:6: members: an alliance needs at least 2 members but this file has 1; "
        "add a [members.<id>] table for each shop"
    )


# -- deals ----------------------------------------------------------------------------------


def test_a_rate_over_one_hundred_percent_is_reported_with_its_line(text: str) -> None:
    assert only_problem(edit(text, 'rate = "10%"', 'rate = "110%"')) == (
        'alliance.toml:56: deals[0].rate: rate "110%" is over 100%; '
        'write a percentage between 0% and 100% such as "10%"'
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"-5"', 'rate "-5" is negative'),
        ('"-5%"', 'rate "-5%" is negative'),
        ('"abc"', 'rate "abc" is not a percentage; write it like "10%"'),
        ('"10"', 'rate "10" has no percent sign; write "10%"'),
        ('"0%"', 'rate "0%" pays nothing'),
        ("0.1", 'rate 0.1 is a bare number; quote it as a percentage, such as rate = "10%"'),
        ("10", 'rate 10 is a bare number; quote it as a percentage, such as rate = "10%"'),
    ],
)
def test_bad_rates_are_explained(text: str, value: str, says: str) -> None:
    problem = only_problem(edit(text, 'rate = "10%"', f"rate = {value}"))
    assert problem.startswith(f"alliance.toml:56: deals[0].rate: {says}")


def test_a_member_cannot_refer_to_itself(text: str) -> None:
    assert only_problem(edit(text, 'seller = "zhao"', 'seller = "li"')) == (
        "alliance.toml:80: deals[3].seller: a member cannot refer to itself; "
        "make referrer and seller two different members"
    )


def test_an_unknown_referrer_lists_the_members(text: str) -> None:
    assert only_problem(
        edit(text, 'referrer = "wang"\nseller = "zhang"', 'referrer = "wnag"\nseller = "zhang"')
    ) == (
        'alliance.toml:71: deals[2].referrer: referrer "wnag" is not a member; '
        'use one of li, wang, zhang, zhao; did you mean "wang"?'
    )


def test_terms_of_another_kind_of_deal_are_refused(text: str) -> None:
    broken = edit(text, 'amount = "15.00"', 'amount = "15.00"\nrate = "5%"')
    assert only_problem(broken) == (
        "alliance.toml:75: deals[2].rate: rate does not apply to per_order deals; remove it"
    )


def test_a_missing_pay_and_an_unknown_pay_are_reported(text: str) -> None:
    assert only_problem(edit(text, 'pay = "per_order"', 'pay = "per-order"')) == (
        'alliance.toml:73: deals[2].pay: pay "per-order" is not supported; write one of '
        'percent, per_click, per_order, swap; did you mean "per_order"?'
    )
    assert only_problem(edit(text, 'pay = "per_order"\n', "")).startswith(
        "alliance.toml:69: deals[2].pay: missing; write pay = "
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"15.001"', 'amount "15.001" has more decimal places than the currency allows'),
        ('"0"', 'amount "0" is too small; write more than 0'),
        ('"-2"', 'amount "-2" is too small'),
        ('"15,00"', 'amount "15,00" is not an amount'),
        ("15", "amount is a whole number 15; write the amount in quotes"),
    ],
)
def test_bad_amounts_are_explained(text: str, value: str, says: str) -> None:
    problem = only_problem(edit(text, 'amount = "15.00"', f"amount = {value}"))
    assert problem.startswith(f"alliance.toml:74: deals[2].amount: {says}")


def test_a_click_window_must_be_at_most_thirty_days(text: str) -> None:
    assert only_problem(edit(text, "click_window_hours = 24", "click_window_hours = 721")) == (
        "alliance.toml:83: deals[3].click_window_hours: click_window_hours is 721; "
        "write a whole number between 0 and 720"
    )


def test_swap_members_must_be_two_different_known_members(text: str) -> None:
    assert only_problem(edit(text, '["zhang", "zhao"]', '["zhang", "zhang"]')).startswith(
        "alliance.toml:89: deals[4].members[1]: a member cannot swap with itself"
    )
    assert only_problem(edit(text, '["zhang", "zhao"]', '["zhang"]')).startswith(
        "alliance.toml:89: deals[4].members: members is a list of 1; name exactly the two"
    )


def test_swap_coupons_must_live_in_a_store_of_the_swap(text: str) -> None:
    broken = edit(text, 'zhao = ["ZHANG-PHOTO"]', 'li = ["ZHANG-PHOTO"]')
    assert only_problem(broken).startswith(
        'alliance.toml:92: deals[4].referral_coupons.li: "li" is not one of this swap\'s members'
    )


def test_two_deals_of_one_kind_in_one_direction_name_both_ids(text: str) -> None:
    extra = (
        '\n[[deals]]\nid = "li-wang-2"\nreferrer = "li"\nseller = "wang"\n'
        'pay = "percent"\nrate = "2%"\n'
    )
    broken = edit(text, "\n[[promotions]]", extra + "\n[[promotions]]")
    assert only_problem(broken) == (
        'alliance.toml:95: deals[5]: deals "li-wang" and "li-wang-2" are both percent deals '
        "in which wang pays li; keep one of them"
    )


def test_a_deal_id_used_twice_is_reported(text: str) -> None:
    assert only_problem(edit(text, 'id = "wang-zhang"', 'id = "li-wang"')) == (
        'alliance.toml:70: deals[2].id: deal id "li-wang" is already used by deals[0]; '
        "give each deal its own id"
    )


def test_a_referral_coupon_in_one_store_twice_is_reported_whatever_its_case(text: str) -> None:
    assert only_problem(edit(text, '["WANG-TOYS"]', '["zhao-toys"]')) == (
        'alliance.toml:93: deals[4].referral_coupons.zhang[0]: referral coupon "zhao-toys" '
        'is already used in zhang\'s store by deal "wang-zhang"; a code can belong to one deal '
        "only"
    )
    assert only_problem(edit(text, '["LI-FRIENDS"]', '["LI-FRIENDS", "li-friends"]')).startswith(
        'alliance.toml:58: deals[0].referral_coupons[1]: referral coupon "li-friends" is already'
    )


def test_a_referral_coupon_with_spaces_is_refused(text: str) -> None:
    assert only_problem(edit(text, '["LI-FRIENDS"]', '["LI FRIENDS"]')).startswith(
        'alliance.toml:58: deals[0].referral_coupons[0]: coupon code "LI FRIENDS" is not usable'
    )


# -- promotions -----------------------------------------------------------------------------


def test_a_quoted_date_is_told_to_lose_its_quotes(text: str) -> None:
    assert only_problem(edit(text, "starts = 2026-12-01", 'starts = "2026-12-01"')) == (
        'alliance.toml:99: promotions[0].starts: starts is text "2026-12-01"; '
        "write it as 2026-12-01 without quotes"
    )
    assert only_problem(edit(text, "ends = 2027-02-28", "ends = 2027-02-28T10:00:00")).endswith(
        "write it as 2026-12-01 without quotes"
    )


def test_a_promotion_that_ends_before_it_starts_is_reported(text: str) -> None:
    assert only_problem(edit(text, "ends = 2027-02-28", "ends = 2026-11-30")).startswith(
        "alliance.toml:100: promotions[0].ends: ends 2026-11-30 is before starts 2026-12-01"
    )


def test_reward_mistakes_point_at_the_reward_line(text: str) -> None:
    broken = edit(
        text,
        '{ member = "zhang", discount_type = "fixed_cart", amount = "20.00"',
        '{ member = "li", discount_type = "fixed_cart", amount = "-1"',
    )
    broken = edit(broken, 'amount = "15",', 'amount = "150",')
    found = problems(broken)
    assert found == [
        'alliance.toml:106: promotions[0].rewards[1].amount: amount "-1" is too small; '
        'write more than 0, such as "15.00"',
        'alliance.toml:106: promotions[0].rewards[1].member: member "li" is the trigger member; '
        "rewards come from the other members",
        'alliance.toml:107: promotions[0].rewards[2].amount: amount "150" is over 100 for a '
        "percent discount; write a percentage between 0 and 100",
    ]


def test_a_member_with_two_rewards_is_reported(text: str) -> None:
    broken = edit(text, '{ member = "zhang", discount_type', '{ member = "wang", discount_type')
    assert only_problem(broken).startswith(
        'alliance.toml:106: promotions[0].rewards[1].member: member "wang" already has a reward'
    )


def test_a_trigger_needs_a_known_member_and_a_minimum(text: str) -> None:
    broken = edit(
        text,
        'trigger = { member = "li", min_order_total = "300.00" }',
        'trigger = { member = "lee", minimum = "1" }',
    )
    found = problems(broken)
    assert sorted(p.split(": ")[1] for p in found) == [
        "promotions[0].trigger.member",
        "promotions[0].trigger.min_order_total",
        "promotions[0].trigger.minimum",
    ]
    assert all(p.startswith("alliance.toml:98: ") for p in found)


def test_a_promotion_id_may_not_be_a_deal_id(text: str) -> None:
    assert only_problem(edit(text, 'id = "newborn-gift-pack"', 'id = "li-wang"')).startswith(
        'alliance.toml:96: promotions[0].id: promotion id "li-wang" is already used'
    )


def test_empty_rewards_and_bad_coupon_days_are_reported(text: str) -> None:
    start = text.index("rewards = [")
    broken = text[:start] + "rewards = []\n"
    broken = edit(broken, "coupon_valid_days = 60", "coupon_valid_days = 0")
    assert [p.split(": ")[1] for p in problems(broken)] == [
        "promotions[0].coupon_valid_days",
        "promotions[0].rewards",
    ]


# -- secrets and many problems at once ------------------------------------------------------


def test_a_secret_written_inline_is_reported_with_its_variable(text: str) -> None:
    broken = edit(text, 'credentials_env = "LI_WC"', f'consumer_secret = "{WOO_SECRET}"')
    assert only_problem(broken) == (
        "alliance.toml:21: members.li.consumer_secret: a secret is written inline; remove it "
        "and set it in the environment variable LI_WC_SECRET instead (the file names "
        "variables with credentials_env)"
    )


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            'url = "https://wang.example"',
            f'url = "https://wang.example/?k={WOO_KEY}"',
            "members.wang.url",
        ),
        (
            'description = "Natural baby toiletries"',
            f'description = "{WOO_KEY}"',
            "members.wang.description",
        ),
        ('credentials_env = "WANG_WC"', 'api_key = "hunter2-plain"', "members.wang.api_key"),
        ('credentials_env = "WANG_WC"', 'password = "hunter2-plain"', "members.wang.password"),
        (
            'categories = ["baby-toiletries"]',
            f'categories = ["{WOO_SECRET}"]',
            "members.wang.categories[0]",
        ),
        ('id = "wang-li"', 'id = "wang-li"\ntoken = "hunter2-plain"', "deals[1].token"),
    ],
)
def test_secrets_anywhere_are_reported_and_never_echoed(
    text: str, old: str, new: str, key: str
) -> None:
    found = problems(edit(text, old, new))
    assert any(f": {key}: a secret is written inline" in p for p in found), found
    joined = "\n".join(found)
    for secret in (WOO_KEY, WOO_SECRET, "hunter2", WOO_KEY[3:20], WOO_SECRET[3:20]):
        assert secret not in joined


def test_a_secret_in_a_value_that_is_also_invalid_is_still_not_echoed(text: str) -> None:
    found = problems(edit(text, 'url = "https://li.example"', f'url = "{WOO_KEY}"'))
    assert found == [
        "alliance.toml:20: members.li.url: a secret is written inline; remove it and set it in "
        "the environment variable LI_WC_KEY instead (the file names variables with "
        "credentials_env)"
    ]


def test_several_problems_in_one_file_are_all_reported_in_line_order(text: str) -> None:
    broken = edit(text, '"Asia/Shanghai"', '"Nowhere/Town"')
    broken = edit(broken, 'url = "https://zhang.example"', "url = 5")
    broken = edit(broken, 'rate = "8%"', 'rate = "800%"')
    broken = edit(broken, 'seller = "zhao"', 'seller = "li"')
    broken = edit(broken, "coupon_valid_days = 60", "coupon_valid_days = 99999")
    found = problems(broken)
    assert [p.split(": ")[0] for p in found] == [
        "alliance.toml:9",
        "alliance.toml:36",
        "alliance.toml:65",
        "alliance.toml:80",
        "alliance.toml:101",
    ]


def test_overlapping_deals_are_reported_even_when_a_deal_has_another_problem(text: str) -> None:
    duplicate = (
        '\n[[deals]]\nid = "li-wang-again"\nreferrer = "li"\nseller = "wang"\n'
        'pay = "percent"\nrate = "abc"\n'
    )
    found = problems(edit(text, "[[promotions]]", duplicate + "\n[[promotions]]"))
    assert any('deals "li-wang" and "li-wang-again" are both percent deals' in p for p in found)
    assert any('deals[5].rate: rate "abc" is not a percentage' in p for p in found)
