"""Money parsing and the one rounding rule: half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alliance.money import (
    CREDIT,
    format_amount,
    from_minor,
    parse_money,
    round_money,
    to_minor,
)


@pytest.mark.parametrize(
    ("amount", "unit", "rounded"),
    [
        ("0.005", "CNY", "0.01"),
        ("0.0049", "CNY", "0.00"),
        ("-0.005", "CNY", "-0.01"),  # half-up means away from zero on the half
        ("2.675", "CNY", "2.68"),
        ("12.5", "JPY", "13"),
        ("1.0005", "KWD", "1.001"),
        ("3", CREDIT, "3"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(amount, unit, rounded):
    assert round_money(Decimal(amount), unit) == Decimal(rounded)
    assert str(round_money(Decimal(amount), unit)) == rounded


@pytest.mark.parametrize("text", ["12.50", "-10.00", "0", "7", " 3.10 "])
def test_decimal_strings_parse_exactly(text):
    assert parse_money(text) == Decimal(text.strip())


@pytest.mark.parametrize(
    "bad", ["12,50", "", None, "abc", "1e3", "NaN", "Infinity", True, [], "--1"]
)
def test_unusable_money_is_refused_with_a_value_error(bad):
    with pytest.raises(ValueError, match="decimal amount"):
        parse_money(bad)


def test_negative_amounts_can_be_refused():
    with pytest.raises(ValueError, match="negative"):
        parse_money("-1.00", allow_negative=False)


def test_a_json_number_is_read_through_its_shortest_repr():
    assert parse_money(19.9) == Decimal("19.9")


def test_minor_units_round_trip_and_refuse_unrounded_amounts():
    assert to_minor(Decimal("12.34"), "CNY") == 1234
    assert from_minor(1234, "CNY") == Decimal("12.34")
    assert from_minor(-5, "CNY") == Decimal("-0.05")
    with pytest.raises(ValueError, match="not rounded"):
        to_minor(Decimal("0.001"), "CNY")


def test_amounts_are_formatted_with_the_currency_decimals():
    assert format_amount(Decimal("5"), "CNY") == "5.00"
    assert format_amount(Decimal("5"), "JPY") == "5"
