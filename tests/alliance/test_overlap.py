"""Audience overlap, complementarity and fit: through real storage, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.insights_report import overlap_json, overlap_table
from alliance.overlap import (
    Purchase,
    WindowCount,
    audiences_from_kinds,
    baskets_by_customer,
    best_partners,
    complementarity_and_lift,
    count_audiences,
    fit_score,
    pair_overlap,
)
from alliance.services.booking import book_orders
from alliance.services.insights import alliance_overlap, audiences, window
from alliance.storage import profiles as store
from alliance.suppression import AtLeast, Withheld
from tests.alliance.insights_support import DEC, NOV, email, key, sale

SHANGHAI = "Asia/Shanghai"


def shared_audience(engine, agreement):
    """Li has 40 customers in November; 25 of them buy at Wang and 12 at Zhang in December;
    Zhao has 6 customers, 3 of them Li's."""
    orders, n = [], 1
    for c in range(40):
        orders.append(sale("li", n, c, NOV))
        n += 1
    for c in range(25):
        orders.append(sale("wang", n, c, DEC))
        n += 1
    for c in range(12):
        orders.append(sale("zhang", n, c + 20, DEC))
        n += 1
    for c in (0, 1, 2, 500, 501, 502):
        orders.append(sale("zhao", n, c, DEC))
        n += 1
    book_orders(engine, agreement, orders)


def by_pair(report):
    return {(p.a, p.b): p for p in report.pairs}


def test_shared_customers_are_counted_per_pair_with_each_sides_share(engine, agreement):
    shared_audience(engine, agreement)
    report = alliance_overlap(engine, agreement, window("2026-12", 2, SHANGHAI))
    pairs = by_pair(report)
    assert report.customers == {"li": 40, "wang": 25, "zhang": 12, "zhao": Withheld.UNDER_K}
    li_wang = pairs["li", "wang"]
    assert li_wang.shared == 25
    assert (li_wang.share_of_a, li_wang.share_of_b) == (Decimal("0.63"), Decimal("1.00"))
    assert pairs["li", "zhang"].shared == 12
    assert pairs["wang", "zhang"].shared is Withheld.UNDER_K  # customers 20..24: five
    assert pairs["li", "zhao"].shared is Withheld.UNDER_K and pairs["li", "zhao"].fit is None


def test_different_categories_to_the_same_customers_make_a_good_fit(engine, agreement):
    shared_audience(engine, agreement)
    report = alliance_overlap(engine, agreement, window("2026-12", 2, SHANGHAI), member="li")
    li_zhang = by_pair(report)["li", "zhang"]
    # every shared customer bought baby clothes at Li and toys at Zhang: fully complementary
    assert li_zhang.complementarity == Decimal("1.00")
    assert li_zhang.fit == Decimal("1.00")  # all 12 of Zhang's customers are Li's
    assert report.best == {"li": [("zhang", Decimal("1.00"))]}  # li-wang already has a deal
    assert {(x.a, x.category_a, x.b, x.category_b) for x in report.lifts} >= {
        ("li", "baby-clothing", "zhang", "toys")
    }
    assert all(p.a == "li" or p.b == "li" for p in report.pairs)


def test_a_window_that_differs_by_one_month_by_a_few_customers_is_released_as_a_bound(
    engine, agreement
):
    """Li and Wang share 25 customers over November-December; 3 more in January. Asked for
    November to January, the count differs from November-December by 3: under k, so it is
    only released as "at least 20", never as 28."""
    shared_audience(engine, agreement)
    jan = DEC + timedelta(days=31)
    book_orders(engine, agreement, [sale("wang", 9000 + c, c, jan) for c in range(25, 28)])
    three = alliance_overlap(engine, agreement, window("2027-01", 3, SHANGHAI))
    assert by_pair(three)["li", "wang"].shared == AtLeast(20)
    assert by_pair(three)["li", "wang"].share_of_a is None  # no exact share of a bound


def test_complementarity_rounds_small_groups_to_none_or_all():
    purchases = [Purchase(f"c{n}", "a", 0, ("x",)) for n in range(20)]
    purchases += [Purchase(f"c{n}", "b", 5, ("y",) if n < 17 else ("x",)) for n in range(20)]
    values, lifts = complementarity_and_lift(baskets_by_customer(purchases), [("a", "b")], 10)
    assert values == {("a", "b"): Decimal("1.00")}  # 3 of 20 share a category: rounded away
    assert [(x.category_b, x.customers) for x in lifts] == [("y", AtLeast(10))]  # 17 bought


def test_purchases_more_than_90_days_apart_are_not_bought_together():
    purchases = [Purchase(f"c{n}", "a", 0, ("x",)) for n in range(12)]
    purchases += [Purchase(f"c{n}", "b", 91, ("y",)) for n in range(12)]
    _values, lifts = complementarity_and_lift(baskets_by_customer(purchases), [("a", "b")], 10)
    assert lifts == []


def test_fit_uses_released_numbers_only():
    assert fit_score(Withheld.UNDER_K, 40, 25, Decimal(1)) is None
    assert fit_score(AtLeast(20), 40, 25, Decimal("0.5")) == Decimal("0.40")
    assert fit_score(25, 40, 25, Decimal("0.5")) == Decimal("0.50")
    o = pair_overlap("a", "b", WindowCount(12, 12, 12), 40, 12, Decimal(1), 10)
    assert best_partners("a", [o], [("b", "a")]) == []
    assert best_partners("b", [o], []) == [("a", Decimal("1.00"))]


def test_overlap_output_never_carries_a_customer_key_or_email(engine, agreement):
    shared_audience(engine, agreement)
    r = alliance_overlap(engine, agreement, window("2026-12", 2, SHANGHAI))
    args = (r.window.months, r.k, r.customers, r.pairs, r.lifts, r.best)
    for text in (overlap_table(*args), overlap_json(*args), repr(r)):
        for n in (0, 20, 39, 500):
            assert key(n) not in text and email(n) not in text


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from("abcde"), st.integers(0, 2)),
        max_size=120,
    )
)
def test_audiences_count_exactly_what_sets_of_customers_would(sales):
    """Customers per member and shared per pair, over the window (months 0-2) and the windows
    without month 0 or without month 2, against plain set arithmetic."""
    bought: dict[str, dict[int, set[int]]] = {}
    for customer, member, month in sales:
        bought.setdefault(member, {}).setdefault(customer, set()).add(month)
    spans = {
        member: [(f"c{c}", int(max(ms) >= 1), int(min(ms) <= 1)) for c, ms in by.items()]
        for member, by in bought.items()
    }
    result = count_audiences(sorted(spans), spans.__getitem__)

    def who(member: str, months: set[int]) -> set[int]:
        return {c for c, ms in bought.get(member, {}).items() if ms & months}

    windows = ({0, 1, 2}, {1, 2}, {0, 1})
    for member in bought:
        assert result.members[member] == WindowCount(*(len(who(member, w)) for w in windows))
    for a, b in combinations(sorted(bought), 2):
        expected = WindowCount(*(len(who(a, w) & who(b, w)) for w in windows))
        assert result.pairs.get((a, b), WindowCount(0, 0, 0)) == expected


def test_the_database_and_the_member_by_member_counts_agree(engine, agreement):
    """Kinds of customer counted in the database (bit masks: bit_or on PostgreSQL, a sum of
    distinct bits on SQLite) give what reading each member's customers gives."""
    shared_audience(engine, agreement)
    jan = DEC + timedelta(days=31)
    book_orders(engine, agreement, [sale("wang", 9000 + c, c, jan) for c in range(25, 28)])
    span = window("2027-01", 3, SHANGHAI)
    middle = (span.second, span.last)
    with engine.connect() as conn:
        names = store.members_with_sales(conn, span.start, span.end)
        in_database = audiences_from_kinds(
            names, store.audience_kinds(conn, names, span.start, span.end, middle)
        )
        member_by_member = count_audiences(
            names, lambda m: store.member_spans(conn, m, span.start, span.end, middle)
        )
        assert in_database == member_by_member == audiences(conn, span)
    assert in_database.pairs["li", "wang"] == WindowCount(28, 0, 25)  # li sold in Nov only
    assert in_database.members["zhao"] == WindowCount(6, 6, 6)


def test_an_alliance_without_sales_has_nothing_in_common_yet(engine, agreement):
    report = alliance_overlap(engine, agreement, window("2026-12", 3, SHANGHAI))
    assert set(report.customers.values()) == {0}
    assert all(p.shared == 0 and p.fit is None for p in report.pairs)
    assert "no partner without a deal" in overlap_table(
        report.window.months, report.k, report.customers, report.pairs, report.lifts, report.best
    )
