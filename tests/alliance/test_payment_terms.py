"""The agreement's payment terms: ``payment_due_days`` and ``settlement_day`` in ``[alliance]``,
defaulted and checked like every other field (``FILE:LINE: key: what is wrong``)."""

from __future__ import annotations

from datetime import date

import pytest

from alliance.agreement.parse import agreement_summary, parse_agreement
from alliance.errors import AgreementError
from alliance.settlement import settlement_day
from tests.conftest import EXAMPLE

TEXT = EXAMPLE.read_text(encoding="utf-8")
LINE = "payment_due_days = 10"


def edit(new: str) -> str:
    assert TEXT.count(LINE) == 1
    return TEXT.replace(LINE, new)


def problems(text: str) -> list[str]:
    with pytest.raises(AgreementError) as caught:
        parse_agreement(text)
    return [str(p) for p in caught.value.problems]


def test_the_example_says_ten_days_and_leaving_it_out_means_ten_too():
    assert parse_agreement(TEXT).settings.payment_due_days == 10
    assert parse_agreement(edit("")).settings.payment_due_days == 10
    assert parse_agreement(edit("payment_due_days = 30")).settings.payment_due_days == 30
    assert parse_agreement(edit("payment_due_days = 0")).settings.payment_due_days == 0


def test_check_says_when_transfers_are_due_and_when_a_month_settles():
    summary = agreement_summary(parse_agreement(TEXT))
    assert "(14 days after each month ends); transfers due 10 days after settlement" in summary
    named = agreement_summary(parse_agreement(edit(f"{LINE}\nsettlement_day = 20")))
    assert "on day 20 of the next month, once nothing is pending" in named


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ('payment_due_days = "10"', 'payment_due_days is text "10"; write a whole number without '
         "quotes, such as payment_due_days = 10"),
        ("payment_due_days = -1", "payment_due_days is -1; write a whole number between 0 and 365"),
        ("payment_due_days = 366", "payment_due_days is 366; write a whole number between 0 and "
         "365"),
        ("payment_due_days = 1.5", "payment_due_days is a decimal number 1.5; write a whole"),
    ],
)  # fmt: skip
def test_a_bad_payment_term_is_reported_on_its_line(written, says):
    (problem,) = problems(edit(written))
    assert problem.startswith(f"alliance.toml:15: alliance.payment_due_days: {says}")


@pytest.mark.parametrize("day", [0, 29, 31])
def test_a_settlement_day_is_a_day_every_month_has(day):
    (problem,) = problems(edit(f"{LINE}\nsettlement_day = {day}"))
    assert problem == (
        f"alliance.toml:16: alliance.settlement_day: settlement_day is {day}; write a whole "
        "number between 1 and 28"
    )


def test_a_misspelt_key_is_named_with_the_right_one():
    (problem,) = problems(edit("payment_due_dayz = 10"))
    assert problem.startswith("alliance.toml:15: alliance.payment_due_dayz: unknown key")
    assert '"payment_due_days"' in problem


def test_a_named_settlement_day_replaces_the_end_plus_holdback():
    settings = parse_agreement(edit(f"{LINE}\nsettlement_day = 5")).settings
    assert settings.settlement_day == 5
    day = settlement_day("2026-11", settings.timezone, settings.holdback_days,
                         settings.settlement_day)  # fmt: skip
    assert day == date(2026, 12, 5)
    assert settlement_day("2026-11", settings.timezone, 14) == date(2026, 12, 15)
