"""Gift-pack rewards may limit their coupon: products (SKUs), a minimum spend, no combining,
no sale items; every mistake is reported as FILE:LINE: key: what is wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alliance.agreement.parse import agreement_summary, parse_agreement
from alliance.errors import AgreementError
from tests.conftest import EXAMPLE

WANG = '{ member = "wang",  discount_type = "fixed_cart", amount = "30.00", label = "Baby-wash trial set" }'  # noqa: E501


def with_wang(extra: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(WANG) == 1
    return text.replace(WANG, WANG[:-2] + ", " + extra + " }")


def problems(text: str) -> list[str]:
    with pytest.raises(AgreementError) as info:
        parse_agreement(text, "alliance.toml")
    return [str(problem) for problem in info.value.problems]


def test_a_reward_can_be_a_free_sample_of_one_product_with_limits() -> None:
    text = with_wang(
        'products = ["SKU-501"], minimum_amount = "50.00", individual_use = true, '
        "exclude_sale_items = true"
    )
    old = 'discount_type = "fixed_cart", amount = "30.00", label = "Baby-wash'
    text = text.replace(old, 'discount_type = "percent", amount = "100", label = "Baby-wash')
    wang = parse_agreement(text).promotion("newborn-gift-pack").rewards[0]
    assert wang.products == ("SKU-501",)
    assert (wang.amount, wang.minimum_amount) == (Decimal("100"), Decimal("50.00"))
    assert (wang.individual_use, wang.exclude_sale_items) == (True, True)
    summary = agreement_summary(parse_agreement(text))
    assert "wang 100% off [on SKU-501; from 50.00 CNY; not with other coupons; not on sale" in (
        summary
    )


def test_the_extras_default_to_an_unrestricted_coupon() -> None:
    wang = parse_agreement(EXAMPLE.read_text(encoding="utf-8")).promotions[0].rewards[0]
    assert (wang.products, wang.minimum_amount) == ((), None)
    assert (wang.individual_use, wang.exclude_sale_items) == (False, False)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('products = "SKU-501"', "products is text"),
        ("products = []", "products lists 0 SKUs; list 1 to 100"),
        ('products = ["SKU-1", "SKU-1"]', 'SKU "SKU-1" is listed twice'),
        ('products = [" SKU-1"]', 'SKU " SKU-1" is not usable'),
        ("products = [501]", "every entry must be text in quotes"),
        ('minimum_amount = "-5"', 'minimum_amount "-5" is too small'),
        ('minimum_amount = "5.001"', "more decimal places than the currency allows"),
        ("minimum_amount = 50", "minimum_amount is a whole number 50; write the amount in quotes"),
        ('individual_use = "yes"', "individual_use is text"),
        ("exclude_sale_items = 1", "is a whole number 1; write true or false"),
        ('product = ["SKU-1"]', 'unknown key "product"'),
    ],
)
def test_reward_extra_mistakes_point_at_the_reward_line(extra: str, says: str) -> None:
    (problem,) = problems(with_wang(extra))
    assert problem.startswith("alliance.toml:105: promotions[0].rewards[0]."), problem
    assert says in problem, problem


def test_the_extras_change_the_agreement_version() -> None:
    plain = parse_agreement(EXAMPLE.read_text(encoding="utf-8"))
    limited = parse_agreement(with_wang("individual_use = true"))
    assert plain.version != limited.version
