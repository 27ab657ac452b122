"""Statement lines say what changed and why: the change in base and amount, in a shop's words.

Hand-computed figures. Wang's order #7 has items of 100.00 (shipping 10.00, tax 13.00: a total of
123.00) and Li's referral coupon, so the li-wang deal (10% of the items) pays Li 10.00 on a base
of 100.00. A refund of 24.60 (20% of the total) leaves a base of 80.00 and 8.00: the statement
shows -20.00 and -2.00, a "partial refund". The full refund then takes the rest: -80.00 and
-8.00, a "refund". Order #8 (the same figures) is cancelled: -100.00 and -10.00, "cancelled".
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from alliance.orders import OrderStatus
from alliance.report import statement_csv, statement_json, statement_table
from alliance.services.booking import book_orders
from alliance.services.reporting import close_period, member_statement
from alliance.statement import revision_facts
from tests.factories import make_order, utc

T0 = utc(2026, 12, 5, 2, 0)
SOON = T0 + timedelta(days=1)  # inside the 14-day holdback
LATER = utc(2027, 3, 1)


def rev(minutes: int, id: str = "7", **kw):
    return make_order(
        "wang", id, coupons=("LI-FRIENDS",), modified=T0 + timedelta(minutes=minutes), **kw
    )


def book(engine, agreement, *orders, minutes: int = 0) -> None:
    book_orders(engine, agreement, list(orders), now=T0 + timedelta(minutes=minutes))


def seen(engine, agreement, member: str, period: str, as_of):
    statement = member_statement(engine, agreement, member, period, as_of=as_of)
    return [(ln.order, ln.reason, ln.base, ln.amount, ln.status) for ln in statement.lines]


D = Decimal


def test_a_partial_refund_shows_the_change_and_leaves_the_sale_standing(engine, agreement):
    book(engine, agreement, rev(0))
    book(engine, agreement, rev(5, refunded="24.60"), minutes=5)
    assert seen(engine, agreement, "li", "2026-12", SOON) == [
        ("wang#7", "sale", D("100.00"), D("10.00"), "pending"),
        ("wang#7", "partial refund", D("-20.00"), D("-2.00"), "pending"),
    ]
    assert seen(engine, agreement, "wang", "2026-12", LATER) == [
        ("wang#7", "sale", D("100.00"), D("-10.00"), "approved"),
        ("wang#7", "partial refund", D("-20.00"), D("2.00"), "approved"),
    ]


def test_a_refund_and_a_cancellation_show_what_they_take_back(engine, agreement):
    book(engine, agreement, rev(0), rev(0, id="8"))
    book(engine, agreement, rev(5, refunded="24.60"), minutes=5)
    book(engine, agreement, rev(10, status="refunded", refunded="123.00"), minutes=10)
    book(engine, agreement, rev(15, id="8", status="cancelled"), minutes=15)
    assert seen(engine, agreement, "li", "2026-12", SOON) == [
        ("wang#7", "sale", D("100.00"), D("10.00"), "reversed"),
        ("wang#7", "partial refund", D("-20.00"), D("-2.00"), "reversed"),
        ("wang#7", "refund", D("-80.00"), D("-8.00"), "reversed"),
        ("wang#8", "sale", D("100.00"), D("10.00"), "reversed"),
        ("wang#8", "cancelled", D("-100.00"), D("-10.00"), "reversed"),
    ]
    statement = member_statement(engine, agreement, "li", "2026-12", as_of=SOON)
    assert (statement.earned, statement.owed, statement.net) == (D("0.00"), 0, D("0.00"))

    data = json.loads(statement_json(statement))
    assert [
        (ln["kind"], ln["reason"], ln["base"], ln["base_after"], ln["amount"])
        for ln in data["lines"]
    ] == [
        ("accrual", "sale", "100.00", "100.00", "10.00"),
        ("reversal", "partial refund", "-20.00", "80.00", "-2.00"),
        ("reversal", "refund", "-80.00", "0.00", "-8.00"),
        ("accrual", "sale", "100.00", "100.00", "10.00"),
        ("reversal", "cancelled", "-100.00", "0.00", "-10.00"),
    ]
    assert set(data["lines"][0]) >= {
        "date", "order", "deal", "counterparty", "kind", "base", "amount", "status"
    }  # fmt: skip

    rows = list(csv.DictReader(io.StringIO(statement_csv(statement))))
    assert [(r["reason"], r["base"], r["amount"]) for r in rows][1:3] == [
        ("partial refund", "-20.00", "-2.00"),
        ("refund", "-80.00", "-8.00"),
    ]

    table = statement_table(statement).splitlines()
    assert re.split(r"\s{2,}", table[2]) == [
        "date", "order", "deal", "counterparty", "reason", "base", "you receive", "you pay",
        "status",
    ]  # fmt: skip
    assert re.split(r"\s{2,}", table[5]) == [
        "2026-12-05",
        "wang#7",
        "li-wang",
        "wang",
        "partial refund",
        "-20.00",
        "-2.00",
        "reversed",
    ]  # fmt: skip  (li earned it: the amount is under "you receive", "you pay" is empty)
    right = table[2].index("you receive") + len("you receive")  # amounts are right-aligned
    assert table[5].index("-2.00") + len("-2.00") == right


@pytest.mark.parametrize(
    ("status", "word"),
    [("failed", "cancelled"), ("trash", "cancelled"), ("on-hold", "on hold")],
)
def test_other_statuses_that_take_a_sale_back_are_named(engine, agreement, status, word):
    book(engine, agreement, rev(0))
    book(engine, agreement, rev(5, status=status), minutes=5)
    assert [line[1] for line in seen(engine, agreement, "li", "2026-12", SOON)] == ["sale", word]


def test_a_sale_first_seen_after_a_partial_refund_says_so(engine, agreement):
    book(engine, agreement, rev(5, refunded="24.60"))
    assert seen(engine, agreement, "li", "2026-12", SOON) == [
        ("wang#7", "sale, partly refunded", D("80.00"), D("8.00"), "pending"),
    ]


def test_a_clawback_after_the_period_closed_still_says_why(engine, agreement):
    book(engine, agreement, rev(0))
    close_period(engine, "2026-12")
    a_month = 60 * 24 * 31
    book(engine, agreement, rev(a_month, refunded="24.60"), minutes=a_month)
    book(engine, agreement, rev(a_month + 5, status="refunded", refunded="123.00"), minutes=a_month)
    statement = member_statement(engine, agreement, "li", "2027-01", as_of=LATER)
    lines = [(ln.kind.value, ln.reason, ln.base, ln.amount) for ln in statement.lines]
    assert lines == [
        ("clawback", "clawback (partial refund after 2026-12 closed)", D("-20.00"), D("-2.00")),
        ("clawback", "clawback (refund after 2026-12 closed)", D("-80.00"), D("-8.00")),
    ]
    assert {ln.status for ln in statement.lines} == {"clawed back"}  # nothing of #7 stands
    table = statement_table(statement)  # a clawback is final: payable now, not pending
    assert "payable now (pending lines left out): you receive -10.00   you pay 0.00" in table


def test_a_per_order_fee_has_no_base_to_change(engine, agreement):
    order = make_order("zhang", "9", coupons=("WANG-TOYS",), modified=T0)
    book(engine, agreement, order)
    cancelled = make_order(
        "zhang", "9", coupons=("WANG-TOYS",), modified=T0 + timedelta(minutes=5), status="trash"
    )
    book(engine, agreement, cancelled, minutes=5)
    assert seen(engine, agreement, "wang", "2026-12", SOON) == [
        ("zhang#9", "sale", None, D("15.00"), "reversed"),
        ("zhang#9", "cancelled", None, D("-15.00"), "reversed"),
    ]


@pytest.mark.parametrize(
    ("status", "refunded"),
    [("processing", "0"), ("completed", "24.60"), ("refunded", "123.00"), ("trash", "0.01")],
)
def test_the_order_revision_is_read_back_as_written(status, refunded):
    order = make_order("wang", "7", status=status, refunded=refunded)
    assert revision_facts(order.revision) == (OrderStatus(status), Decimal(refunded))
    assert revision_facts("click") is None


def test_the_table_says_who_pays_when_lines_approve_and_what_is_payable_now(engine, agreement):
    book(engine, agreement, rev(0))  # wang's sale on li's referral: wang pays li 10.00
    book(engine, agreement, make_order("wang", "8", coupons=("LI-FRIENDS",), modified=T0))
    for member, column in (("li", "you receive"), ("wang", "you pay")):
        statement = member_statement(engine, agreement, member, "2026-12", as_of=SOON)
        (sale, _), table = statement.lines, statement_table(statement).splitlines()
        assert sale.approves_on == "2026-12-19"  # 10:00 on 5 December there, plus 14 days
        header, row = table[2], table[4]
        end = header.index(column) + len(column)
        assert row[end - len("10.00") : end] == "10.00" and "-10.00" not in row
        assert row.endswith("pending until 2026-12-19")
        assert json.loads(statement_json(statement))["lines"][0]["approves_on"] == "2026-12-19"
    li = statement_table(member_statement(engine, agreement, "li", "2026-12", as_of=SOON))
    assert "you receive 20.00   you pay 0.00   net: you receive 20.00 CNY" in li
    assert "payable now (pending lines left out): you receive 0.00" in li
    wang = statement_table(member_statement(engine, agreement, "wang", "2026-12", as_of=LATER))
    assert "you receive 0.00   you pay 20.00   net: you pay 20.00 CNY" in wang
    assert (
        "payable now (pending lines left out): you receive 0.00   you pay 20.00   net: you pay"
        in wang
    )
    assert "pending until" not in wang  # every line approved by now
