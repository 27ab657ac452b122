"""``free_rider_ratio`` in ``[alliance]``: 3.0 unless the agreement says otherwise, a plain
number from 1 to 100, with a message naming the line when it is not."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance.agreement.parse import parse_agreement
from alliance.errors import AgreementError
from tests.conftest import EXAMPLE

ANCHOR = "min_group_size = 10"


def with_ratio(value: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    return text.replace(ANCHOR, f"{ANCHOR}\nfree_rider_ratio = {value}")


def test_the_ratio_defaults_to_three(agreement):
    assert agreement.settings.free_rider_ratio == Decimal(3)


@pytest.mark.parametrize(("value", "expected"), [("2.5", "2.5"), ("4", "4"), ("1", "1")])
def test_an_agreement_may_set_its_own_ratio(value, expected):
    parsed = parse_agreement(with_ratio(value), source="alliance.toml")
    assert parsed.settings.free_rider_ratio == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"3"', "free_rider_ratio is text"),
        ("0.5", "free_rider_ratio is 0.5; write a number between 1 and 100"),
        ("101", "free_rider_ratio is 101; write a number between 1 and 100"),
        ("true", "write a number without quotes"),
        ("nan", "write a number between 1 and 100"),
        ("inf", "write a number between 1 and 100"),
    ],
)
def test_a_ratio_that_is_not_a_sensible_number_is_explained_on_its_line(value, says):
    with pytest.raises(AgreementError) as caught:
        parse_agreement(with_ratio(value), source="alliance.toml")
    message = str(caught.value)
    assert "alliance.toml:15: alliance.free_rider_ratio:" in message
    assert says in message


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_any_number_is_kept_exactly_as_written_or_refused_outside_1_to_100(value: float):
    text = with_ratio(repr(value))
    if 1 <= value <= 100:
        assert parse_agreement(text, source="alliance.toml").settings.free_rider_ratio == Decimal(
            repr(value)
        )
    else:
        with pytest.raises(AgreementError, match="write a number between 1 and 100"):
            parse_agreement(text, source="alliance.toml")
