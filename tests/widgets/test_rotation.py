"""The weighted rotation (pure): shares follow the weights, equal weights are the old
round-robin, and nobody with stock is left out for long."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.products import Product
from connector.fixtures.products import woo_product
from connector.woocommerce.products import map_product
from widgets.rotation import (
    WEIGHT_RESOLUTION,
    Pick,
    choose_products,
    schedule,
    whole_weights,
)
from widgets.shelves import Shelf

PARTNERS = ("li", "wang", "zhang", "zhao", "chen", "sun")
PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    database=None,  # keep the work tree clean: no .hypothesis directory
    suppress_health_check=[HealthCheck.too_slow],
)
LONG_RUNS = settings(PROPERTIES, max_examples=30)  # each example renders thousands of blocks


def _product(partner: str, n: int) -> Product:
    return map_product(
        woo_product(n, name=f"{partner} {n}", site=f"https://{partner}.example"), partner
    )


_PRODUCTS = {p: tuple(_product(p, 1000 + n) for n in range(8)) for p in PARTNERS}


def shelf(partner: str, depth: int) -> Shelf:
    return Shelf(partner, f"deal-{partner}", _PRODUCTS[partner][:depth])


def round_robin(shelves: Sequence[Shelf], count: int, rotation: int) -> list[Pick]:
    """The block's choice before weighting, kept here as the reference for equal weights."""
    stocked = sorted((s for s in shelves if s.products), key=lambda s: s.partner)
    if not stocked or count <= 0:
        return []
    n = len(stocked)
    start, turn = rotation % n, rotation // n
    queues = []
    for s in stocked[start:] + stocked[:start]:
        offset = turn % len(s.products)
        ordered = s.products[offset:] + s.products[:offset]
        queues.append([Pick(p, s.deal_id) for p in ordered])
    picks: list[Pick] = []
    depth = 0
    while len(picks) < count and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(picks) < count:
                picks.append(queue[depth])
        depth += 1
    return picks


def cards_per_partner(
    shelves: Sequence[Shelf], count: int, rotations: range, weights: Mapping[str, Decimal]
) -> Counter[str]:
    return Counter(
        pick.product.member
        for r in rotations
        for pick in choose_products(shelves, count, r, weights)
    )


depths = st.lists(st.integers(0, 8), min_size=1, max_size=len(PARTNERS))
rotations = st.integers(0, 2**33)  # slots since 1970 plus a crc32 offset
counts = st.integers(1, 6)
weight_values = st.decimals(min_value=1, max_value=3, places=2)  # what reciprocity hands out


@st.composite
def weighted_shelves(draw: st.DrawFn, min_depth: int = 0) -> tuple[list[Shelf], dict[str, Decimal]]:
    chosen = draw(depths.map(len))
    shelves = [shelf(p, draw(st.integers(min_depth, 8))) for p in PARTNERS[:chosen]]
    weights = {s.partner: draw(weight_values) for s in shelves}
    return shelves, weights


# --- equal weights: exactly the round-robin of before ----------------------------------------


@PROPERTIES
@given(depths, counts, rotations, st.sampled_from([None, {}, 1, 2.5, Decimal("3.00")]))
def test_with_equal_weights_the_block_is_exactly_the_old_round_robin(
    shelf_depths: list[int], count: int, rotation: int, equal: object
) -> None:
    shelves = [shelf(p, d) for p, d in zip(PARTNERS, shelf_depths, strict=False)]
    weights = equal if equal is None or equal == {} else dict.fromkeys(PARTNERS, equal)
    assert choose_products(shelves, count, rotation, weights) == round_robin(
        shelves, count, rotation
    )


def test_a_partner_missing_from_the_weights_counts_as_the_floor_weight() -> None:
    shelves = [shelf("wang", 6), shelf("zhao", 6)]
    for r in range(12):
        assert choose_products(shelves, 4, r, {"wang": 1}) == round_robin(shelves, 4, r)


# --- weighted shares ---------------------------------------------------------------------------


@LONG_RUNS
@given(weighted_shelves(min_depth=6), counts, rotations, st.integers(1, 3))
def test_over_whole_periods_each_partner_gets_cards_in_proportion_to_its_weight(
    drawn: tuple[list[Shelf], dict[str, Decimal]], count: int, first: int, periods: int
) -> None:
    shelves, weights = drawn
    whole = whole_weights([weights[s.partner] for s in shelves])
    span = range(first, first + periods * sum(whole))
    shown = cards_per_partner(shelves, count, span, weights)
    assert sum(shown.values()) == count * len(span)  # deep shelves: every block is full
    for s, w in zip(shelves, whole, strict=True):
        assert shown[s.partner] == count * periods * w  # exact in whole weights
        share = shown[s.partner] / (count * len(span))
        wanted = float(weights[s.partner] / sum(weights.values()))
        assert abs(share - wanted) <= 0.01  # and within rounding of the real weights


@LONG_RUNS
@given(weighted_shelves(min_depth=6), counts, rotations)
def test_over_a_thousand_rotations_the_shares_are_close_to_the_weights_wherever_they_start(
    drawn: tuple[list[Shelf], dict[str, Decimal]], count: int, first: int
) -> None:
    shelves, weights = drawn
    shown = cards_per_partner(shelves, count, range(first, first + 1000), weights)
    total = sum(weights.values())
    for s in shelves:
        assert abs(shown[s.partner] / (count * 1000) - float(weights[s.partner] / total)) < 0.02


@PROPERTIES
@given(weighted_shelves(), counts, rotations)
def test_a_weighted_block_never_repeats_a_product_and_fills_what_the_shelves_allow(
    drawn: tuple[list[Shelf], dict[str, Decimal]], count: int, rotation: int
) -> None:
    shelves, weights = drawn
    picks = choose_products(shelves, count, rotation, weights)
    assert len(picks) == min(count, sum(len(s.products) for s in shelves))
    assert len({p.product.ref for p in picks}) == len(picks)
    assert all(p.deal_id == f"deal-{p.product.member}" for p in picks)
    assert picks == choose_products(shelves, count, rotation, dict(weights))  # deterministic


@LONG_RUNS
@given(weighted_shelves(min_depth=1), counts, rotations)
def test_no_stocked_partner_is_absent_from_more_than_twice_its_fair_gap_of_rotations(
    drawn: tuple[list[Shelf], dict[str, Decimal]], count: int, first: int
) -> None:
    shelves, weights = drawn
    whole = whole_weights([weights[s.partner] for s in shelves])
    period = sum(whole)
    present = [
        {p.product.member for p in choose_products(shelves, count, r, weights)}
        for r in range(first, first + 3 * period)
    ]
    for s, w in zip(shelves, whole, strict=True):
        longest = max_run(not_shown=[s.partner not in shown for shown in present])
        assert longest <= 2 * period / w


def max_run(not_shown: list[bool]) -> int:
    longest = run = 0
    for absent in not_shown:
        run = run + 1 if absent else 0
        longest = max(longest, run)
    return longest


def test_a_partner_weighing_three_times_as_much_shows_three_cards_to_the_others_one() -> None:
    shelves = [shelf("wang", 8), shelf("zhao", 8)]
    weights = {"wang": Decimal(3), "zhao": Decimal(1)}
    blocks = [[p.product.member for p in choose_products(shelves, 4, r, weights)] for r in range(8)]
    assert all(Counter(block) == {"wang": 3, "zhao": 1} for block in blocks)
    assert Counter(block[0] for block in blocks) == {"wang": 6, "zhao": 2}  # who leads, too


def test_only_the_ratio_of_the_weights_matters() -> None:
    shelves = [shelf("wang", 5), shelf("zhang", 3), shelf("zhao", 4)]
    small = {"wang": Decimal("1.5"), "zhang": Decimal(1), "zhao": Decimal("2.25")}
    large = {k: float(v * 40) for k, v in small.items()}
    assert all(
        choose_products(shelves, 5, r, small) == choose_products(shelves, 5, r, large)
        for r in range(50)
    )


def test_under_weights_every_product_of_a_partner_still_gets_its_turn() -> None:
    shelves = [shelf("wang", 5), shelf("zhao", 3)]
    weights = {"wang": Decimal("2.5"), "zhao": Decimal(1)}
    period = sum(whole_weights(list(weights.values())))
    shown = Counter(
        p.product.ref
        for r in range(15 * period)  # 15 periods: a multiple of both shelf lengths
        for p in choose_products(shelves, 3, r, weights)
    )
    for s in shelves:
        counts = [shown[p.ref] for p in s.products]
        assert min(counts) > 0 and max(counts) - min(counts) <= math.ceil(max(counts) * 0.1)


def test_a_short_weighted_shelf_leaves_its_turns_to_the_other_partners() -> None:
    picks = choose_products([shelf("wang", 1), shelf("zhao", 5)], 4, 0, {"wang": 3, "zhao": 1})
    assert [p.product.member for p in picks] == ["wang", "zhao", "zhao", "zhao"]


# --- whole weights and the schedule ------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), Decimal("-0.5")])
def test_weights_must_be_positive_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match="positive"):
        choose_products([shelf("wang", 2), shelf("zhao", 2)], 3, 0, {"wang": bad})  # type: ignore[dict-item]


def test_whole_weights_keep_the_ratios_and_stay_small() -> None:
    assert whole_weights([Decimal(1), Decimal(3)]) == (1, 3)
    assert whole_weights([Decimal("2.37"), Decimal(3), Decimal(1)]) == (237, 300, 100)
    assert whole_weights([7, 7, 7]) == (1, 1, 1)
    assert whole_weights([1, 10_000]) == (1, WEIGHT_RESOLUTION)  # a tiny share, never none


@PROPERTIES
@given(st.lists(st.integers(1, 60), min_size=1, max_size=6))
def test_the_schedule_gives_each_partner_its_weight_once_per_period(weights: list[int]) -> None:
    order = schedule(tuple(weights))
    assert len(order) == sum(weights)
    assert Counter(order) == {i: w for i, w in enumerate(weights)}
