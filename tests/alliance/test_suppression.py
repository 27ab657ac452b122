"""Small-cell suppression: no released table, with its total, tells a group under k.

The adversary below knows the rules: a "< k" cell holds 1..k-1 customers, a "folded" one k or
more, "other" is the sum of the folded cells and the total the sum of every cell (the columns
here partition their customers, the case where subtraction is most powerful). From the exact
numbers released it works out the range each withheld cell can still take; a range of one
value would be a leak.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.suppression import (
    AtLeast,
    ReleasedTable,
    Withheld,
    as_json,
    release_count,
    release_window_count,
    shown,
    suppress_column,
)

UNBOUNDED = 10**9


def feasible_ranges(table: ReleasedTable) -> dict[str, tuple[int, int]]:
    """The values each withheld cell can take, given everything the table releases."""
    k = table.k
    withheld = {label: v for label, v in table.cells.items() if isinstance(v, Withheld)}
    bounds = {
        label: (1, k - 1) if v is Withheld.UNDER_K else (k, UNBOUNDED)
        for label, v in withheld.items()
    }
    exact = sum(v for v in table.cells.values() if isinstance(v, int))
    if isinstance(table.other, int):
        hidden_sum: int | None = table.other
    elif isinstance(table.total, int):
        hidden_sum = table.total - exact
    else:
        hidden_sum = None
    if hidden_sum is None:
        return bounds
    ranges = {}
    for label, (lo, hi) in bounds.items():
        rest_lo = sum(b[0] for other, b in bounds.items() if other != label)
        rest_hi = sum(b[1] for other, b in bounds.items() if other != label)
        ranges[label] = (max(lo, hidden_sum - rest_hi), min(hi, hidden_sum - rest_lo))
    return ranges


columns = st.dictionaries(
    st.sampled_from([f"region-{n}" for n in range(12)]),
    st.one_of(st.integers(1, 14), st.integers(1, 60)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=600, deadline=None)
@given(counts=columns, k=st.integers(5, 12))
def test_no_released_table_plus_its_total_reveals_a_count_under_k(counts, k):
    total = sum(counts.values())
    table = suppress_column(counts, total, k)
    for label, value in table.cells.items():  # every number shown counts k or more
        assert not isinstance(value, int) or value >= k
        if counts[label] < k:
            assert value is Withheld.UNDER_K
    for value in (table.other, table.total):
        assert not isinstance(value, int) or value == 0 or value >= k
    for label, (lo, hi) in feasible_ranges(table).items():
        assert lo <= counts[label] <= hi, "the adversary's model must admit the truth"
        if counts[label] < k:
            assert hi > lo, f"{label} = {counts[label]} can be worked out from {table}"


@settings(max_examples=200, deadline=None)
@given(counts=columns, k=st.integers(5, 12))
def test_cells_of_k_or_more_stay_exact_unless_folded_to_protect_a_small_one(counts, k):
    table = suppress_column(counts, sum(counts.values()), k)
    folded = [label for label, v in table.cells.items() if v is Withheld.FOLDED]
    if not any(n < k for n in counts.values()):
        assert table.cells == counts and table.other == 0 and table.total == sum(counts.values())
    assert all(counts[label] >= k for label in folded)


def test_a_lone_small_cell_is_protected_by_folding_the_smallest_other_cell():
    table = suppress_column({"CN-CN31": 40, "CN-CN11": 12, "CN-CN20": 3}, 55, 10)
    assert table.cells == {"CN-CN31": 40, "CN-CN11": Withheld.FOLDED, "CN-CN20": Withheld.UNDER_K}
    assert (table.other, table.total) == (15, 55)
    assert shown(table.cells["CN-CN20"], 10) == "< 10"


def test_a_fold_whose_cells_would_all_be_one_is_not_released_exactly():
    # two cells of 1 and one of exactly k: other = 1 + 1 + 10 would pin both small cells
    table = suppress_column({"a": 1, "b": 1, "c": 10}, 12, 10)
    assert table.other is not None and not isinstance(table.total, int)
    assert all(hi > lo for lo, hi in feasible_ranges(table).values())


def test_a_column_under_k_shows_only_that_it_is_small_and_an_empty_one_shows_zero():
    small = suppress_column({"a": 3, "b": 4}, 7, 10)
    assert small.cells == {"a": Withheld.UNDER_K, "b": Withheld.UNDER_K}
    assert (small.other, small.total) == (Withheld.UNDER_K, Withheld.UNDER_K)
    empty = suppress_column({}, 0, 10)
    assert (empty.cells, empty.other, empty.total) == ({}, 0, 0)


def test_cells_that_share_customers_are_folded_by_their_distinct_union():
    # two categories bought by the same 6 customers: "other" is 6 people, not 12
    members = {"toys": {1, 2, 3, 4, 5, 6}, "books": {1, 2, 3, 4, 5, 6}, "wash": set(range(30))}
    table = suppress_column(
        {label: len(ids) for label, ids in members.items()},
        30,
        10,
        union=lambda labels: len(set().union(*(members[label] for label in labels))),
    )
    assert table.cells == {
        "toys": Withheld.UNDER_K,
        "books": Withheld.UNDER_K,
        "wash": Withheld.FOLDED,
    }
    assert (table.other, table.total) == (30, 30)


@pytest.mark.parametrize(
    ("count", "shorter", "expected"),
    [
        (40, (40, 40), 40),  # the edge months added nobody: exact
        (40, (25, 30), 40),  # they added 15 and 10: each at least k, exact
        (40, (38, 30), AtLeast(40)),  # dropping the first month loses 2: only "at least"
        (47, (45, 47), AtLeast(40)),
        (9, (9, 9), Withheld.UNDER_K),
    ],
)
def test_a_window_count_never_differs_from_a_one_month_shorter_window_by_under_k(
    count, shorter, expected
):
    assert release_window_count(count, shorter, 10) == expected


@settings(max_examples=300, deadline=None)
@given(whole=st.integers(0, 200), lost_first=st.integers(0, 40), lost_last=st.integers(0, 40))
def test_two_exact_window_counts_one_month_apart_never_differ_by_under_k(
    whole, lost_first, lost_last
):
    k = 10
    without_first, without_last = max(0, whole - lost_first), max(0, whole - lost_last)
    released = release_window_count(whole, (without_first, without_last), k)
    for shorter in (without_first, without_last):
        released_shorter = release_count(shorter, k)
        if isinstance(released, int) and isinstance(released_shorter, int):
            assert not 0 < released - released_shorter < k
    if isinstance(released, AtLeast):  # a range of k values, never one
        assert released.floor <= whole < released.floor + k and released.floor >= k


def test_json_names_why_a_number_is_withheld():
    assert [as_json(v) for v in (12, Withheld.UNDER_K, Withheld.FOLDED, AtLeast(30))] == [
        12,
        "under_k",
        "folded",
        "at_least_30",
    ]
