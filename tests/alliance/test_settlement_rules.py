"""The settlement's rules without a database: ids, due dates, when a month can settle, swap
balances carried forward, and which lines are still pending."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance.ledger import Entry, EntryKind, SourceKind
from alliance.settlement import (
    NotSettleable,
    Payment,
    Transfer,
    TransferStatus,
    carry_swap_balances,
    check_over,
    due_on,
    pending_lines,
    plan_transfers,
    settlement_day,
    transfer_id,
    transfer_status,
)

TZ = "Asia/Shanghai"
D = Decimal


def test_transfer_ids_are_deterministic_and_differ_by_period_and_direction():
    first = transfer_id("2026-11", "li", "wang", "CNY")
    assert first == transfer_id("2026-11", "li", "wang", "CNY")
    assert first.startswith("2026-11-") and first.replace("-", "").isalnum()
    others = {
        transfer_id("2026-12", "li", "wang", "CNY"),
        transfer_id("2026-11", "wang", "li", "CNY"),
        transfer_id("2026-11", "li-wang", "x", "CNY"),  # no clash from dashes in member ids
        transfer_id("2026-11", "li", "wang-x", "CNY"),
    }
    assert first not in others and len(others) == 4


def test_the_demo_month_settles_in_one_transfer_of_the_difference():
    planned = plan_transfers(
        "2026-11",
        [("li", "wang", D("101.84")), ("wang", "li", D("27.45"))],
        currency="CNY",
        due_on=date(2026, 12, 25),
    )
    assert [(t.payer, t.payee, t.amount, t.due_on) for t in planned] == [
        ("li", "wang", D("74.39"), date(2026, 12, 25))
    ]


def test_a_month_settles_from_its_end_plus_the_holdback_in_the_alliance_timezone():
    assert settlement_day("2026-11", TZ, 14) == date(2026, 12, 15)
    assert settlement_day("2026-12", TZ, 0) == date(2027, 1, 1)
    assert settlement_day("2027-02", TZ, 30) == date(2027, 3, 31)


def test_transfers_are_due_the_agreed_days_after_the_settlement_day_there():
    late_evening_utc = datetime(2026, 12, 15, 17, 30, tzinfo=UTC)  # already the 16th in Shanghai
    assert due_on(late_evening_utc, TZ, 10) == date(2026, 12, 26)
    assert due_on(late_evening_utc, TZ, 0) == date(2026, 12, 16)


@pytest.mark.parametrize(
    ("period", "says"),
    [("2026-12", "is not over yet: it ends on 2027-01-01"), ("2027-03", "is in the future")],
)
def test_a_month_not_over_is_refused(period, says):
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    with pytest.raises(NotSettleable, match=says):
        check_over(period, now, TZ)
    check_over("2026-11", now, TZ)  # over


def test_the_first_hours_of_a_month_in_shanghai_are_still_the_old_month_in_utc():
    just_after = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
    check_over("2026-11", just_after, TZ)


def test_swap_credits_run_as_a_balance_per_pair_carried_forward():
    first = carry_swap_balances({}, [("zhao", "zhang", 2), ("zhang", "zhao", 1)])
    assert [(b.owed_by, b.owed_to, b.brought_forward, b.this_period, b.carried_forward)
            for b in first] == [("zhao", "zhang", 0, 1, 1)]  # fmt: skip
    brought = {("zhang", "zhao"): -1}  # zhao owes zhang one
    second = carry_swap_balances(brought, [("zhang", "zhao", 3)])
    assert [(b.owed_by, b.owed_to, b.brought_forward, b.this_period, b.carried_forward)
            for b in second] == [("zhang", "zhao", -1, 3, 2)]  # fmt: skip
    even = carry_swap_balances({("zhang", "zhao"): 2}, [("zhao", "zhang", 2)])
    assert [(b.owed_by, b.carried_forward) for b in even] == [("zhang", 0)]
    assert carry_swap_balances({}, []) == ()


@given(
    st.dictionaries(
        st.sampled_from([("a", "b"), ("a", "c"), ("b", "c")]), st.integers(-50, 50), max_size=3
    ),
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("abc"), st.integers(0, 9)), max_size=8
    ),
)
def test_a_carried_balance_is_what_was_brought_plus_what_the_period_added(brought, lines):
    lines = [(p, q, n) for p, q, n in lines if p != q]
    for b in carry_swap_balances(brought, lines):
        assert b.carried_forward >= 0
        assert b.carried_forward == b.brought_forward + b.this_period
        key = tuple(sorted((b.owed_by, b.owed_to)))
        sign = 1 if b.owed_by == key[0] else -1
        assert sign * b.brought_forward == brought.get(key, 0)
        added = sum(n if (p, q) == key else -n for p, q, n in lines if {p, q} == set(key))
        assert sign * b.this_period == added


def _entry(id_: str, days_before: float, amount: str, *, ref: str | None = None) -> Entry:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    return Entry(
        id=id_,
        source=SourceKind.ORDER,
        source_ref=ref or f"wang/{id_}",
        revision=f"r{id_}",
        deal_id="li-wang",
        kind=EntryKind.ACCRUAL if D(amount) > 0 else EntryKind.REVERSAL,
        payer="wang",
        payee="li",
        unit="CNY",
        amount=D(amount),
        base=None,
        period="2026-11",
        occurred_at=now - timedelta(days=days_before),
        agreement_version="v1",
        label=f"wang#{id_}",
    )


def test_pending_lines_are_counted_with_when_the_last_is_approved():
    now = datetime(2026, 12, 7, tzinfo=UTC)
    old, recent, newest = _entry("1", 20, "5.00"), _entry("2", 10, "5.00"), _entry("3", 8, "5.00")
    refunded, its_refund = _entry("4", 9, "5.00"), _entry("5", 9, "-5.00", ref="wang/4")
    entries = [old, recent, newest, refunded, its_refund]
    count, until = pending_lines(entries, entries, as_of=now, holdback_days=14)
    assert count == 2  # the refunded sale carries nothing: reversed, not pending
    assert until == newest.occurred_at + timedelta(days=14)
    count, _ = pending_lines(entries, entries, as_of=now, holdback_days=14, held={"3"})
    assert count == 1  # a disputed line is out of the settlement: it does not hold it up


def test_a_transfer_is_overdue_the_day_after_it_is_due_until_it_is_paid():
    transfer = Transfer("t", "2026-11", "li", "wang", D("1.00"), "CNY", date(2026, 12, 25))
    assert transfer_status(transfer, None, date(2026, 12, 25)) is TransferStatus.OPEN
    assert transfer_status(transfer, None, date(2026, 12, 26)) is TransferStatus.OVERDUE
    paid = Payment("t", datetime(2026, 12, 30, tzinfo=UTC), "BANK-1", "li@shop")
    assert transfer_status(transfer, paid, date(2027, 1, 5)) is TransferStatus.PAID
