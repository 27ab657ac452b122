"""The backfill's concurrency controller and page order, on their own (pure; hypothesis)."""

from __future__ import annotations

import heapq
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.backfill import Aimd, InOrder, slice_offsets, window_pages
from connector.sandbox.latency import LARGER_HOST, LITERAL_TWO_CORE, TWO_CORE, LatencyProfile

# an event: ("page", seconds it took, orders) or ("trouble",)
events = st.lists(
    st.one_of(
        st.tuples(
            st.just("page"),
            st.floats(min_value=0.0, max_value=10.0),
            st.integers(min_value=0, max_value=100),
        ),
        st.tuples(st.just("trouble")),
    ),
    max_size=200,
)


@given(cap=st.integers(min_value=1, max_value=12), steps=events)
def test_the_limit_stays_between_one_and_the_cap_and_trouble_halves_it_at_once(
    cap: int, steps: list[tuple]
) -> None:
    controller = Aimd(cap=cap)
    now = 0.0
    for step in steps:
        before = controller.limit
        if step[0] == "trouble":
            controller.trouble()
            assert controller.limit == max(1, before // 2)
        else:
            _, seconds, orders = step
            level = controller.started(now)
            now += seconds
            controller.finished(level, now - seconds, now, orders)
            assert controller.limit <= before + 1  # one more at a time, never a jump
        assert 1 <= controller.limit <= cap
        assert controller.peak <= cap


def settle(controller: Aimd, level_rates: dict[int, float], start: float = 0.0) -> None:
    """A window of pages at the current level, all in flight, at the orders/s given per level."""
    level = controller.limit
    each = level * 100 / level_rates[level]  # seconds a page takes at that level
    for n in range(window_pages(level)):
        begun = start + n * each / level
        controller.finished(controller.started(begun), begun, begun + each, 100)


def test_one_more_page_is_kept_only_while_orders_per_second_rise() -> None:
    controller = Aimd(cap=4)
    rates = {1: 100.0, 2: 200.0, 3: 205.0, 4: 300.0}
    settle(controller, rates)
    assert controller.limit == 2  # 1 -> 2: rate rose
    settle(controller, rates)
    assert controller.limit == 3
    settle(controller, rates)  # 3 gave less than a 10% rise over 2
    assert controller.limit == 2 and controller.ceiling == 3


@given(
    base=st.floats(min_value=0.01, max_value=5.0),
    factor=st.floats(min_value=2.01, max_value=50.0),
)
def test_a_page_twice_as_slow_as_the_level_before_backs_off_at_once(
    base: float, factor: float
) -> None:
    controller = Aimd(cap=8)
    level = controller.started(0.0)
    for n in range(window_pages(1)):  # level 1: every page takes ``base`` seconds
        controller.finished(level, n * base, (n + 1) * base, 100)
    assert controller.limit == 2
    level = controller.started(100.0)
    controller.finished(level, 100.0, 100.0 + base * factor, 100)
    assert controller.limit == 1 and controller.decreases == 1


def simulate(profile: LatencyProfile, cap: int, pages: int) -> tuple[float, int, int]:
    """A processor-sharing store under the controller: (seconds, peak in flight, limit at the
    end). Every request needs one unit of work, done at 1/seconds(n) a second with n served."""
    controller = Aimd(cap=cap)
    now, remaining, finished = 0.0, [], 0
    started: dict[int, tuple[float, int]] = {}
    serial = 0
    peak = 0
    while finished < pages:
        while len(remaining) < controller.limit and serial < pages:
            level = controller.started(now)
            started[serial] = (now, level)
            heapq.heappush(remaining, (1.0, serial))
            serial += 1
        peak = max(peak, len(remaining))
        rate = 1 / profile.seconds(len(remaining))
        work, first = remaining[0]
        elapsed = work / rate
        now += elapsed
        remaining = [(w - elapsed * rate, s) for w, s in remaining]
        heapq.heapify(remaining)
        heapq.heappop(remaining)
        begun, level = started.pop(first)
        controller.finished(level, begun, now, 100)
        finished += 1
    return now, peak, controller.limit


@pytest.mark.parametrize(
    ("profile", "cap", "least_speedup", "settles_at"),
    [(TWO_CORE, 4, 1.8, {2}), (LARGER_HOST, 4, 3.3, {4}), (LITERAL_TWO_CORE, 4, 0.95, {1, 2})],
)
def test_against_a_modelled_store_the_controller_finds_what_it_can_serve(
    profile: LatencyProfile, cap: int, least_speedup: float, settles_at: set[int]
) -> None:
    pages = 500
    sequential = pages * profile.seconds(1)
    seconds, peak, limit = simulate(profile, cap, pages)
    assert sequential / seconds >= least_speedup
    assert peak <= cap and limit in settles_at


@given(st.permutations(list(range(30))))
def test_pages_leave_in_the_order_they_were_asked_for_each_once(order: list[int]) -> None:
    gate: InOrder[int] = InOrder()
    out: list[int] = []
    for number in order:
        released = gate.add(number, number)
        out.extend(released)
        assert out == list(range(len(out)))  # always a contiguous prefix: the bookmark's
    assert out == list(range(30)) and gate.waiting == 0
    with pytest.raises(ValueError, match="twice"):
        gate.add(3, 3)


@given(
    total=st.integers(min_value=0, max_value=5000),
    per_page=st.integers(min_value=2, max_value=100),
    data=st.data(),
)
def test_offset_pages_cover_the_listing_and_overlap_the_page_before(
    total: int, per_page: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(min_value=0, max_value=per_page - 1))
    offsets = [0, *slice_offsets(total, per_page, overlap)]
    covered = set()
    for before, after in itertools.pairwise(offsets):
        assert after - before == per_page - overlap  # the overlap is exactly ``overlap``
    for offset in offsets:
        covered.update(range(offset, offset + per_page))
    assert set(range(total)) <= covered
    assert offsets[-1] < max(per_page, total)  # no page wholly past the end


def test_the_latency_profiles_are_the_measured_ones() -> None:
    assert TWO_CORE.seconds(1) == 0.45 and TWO_CORE.seconds(4) == 1.2
    assert TWO_CORE.seconds(8) == 2.5 and TWO_CORE.seconds(16) == 5.0  # beyond: in proportion
    rate = TWO_CORE.pages_per_second
    assert rate(2) / rate(1) == pytest.approx(2.1, abs=0.05)  # two at once: 2.1x
    assert rate(4) < rate(2) and rate(8) < rate(2)  # four or eight: no faster
    assert all(LARGER_HOST.seconds(n) == 0.45 for n in range(1, 7))  # flat up to six


def test_the_sandbox_shares_its_time_between_the_pages_it_serves() -> None:
    import threading
    import time

    from connector.sandbox.latency import LatencyModel

    model = LatencyModel(TWO_CORE, scale=0.1)
    started = time.monotonic()
    model.serve(100)
    alone = time.monotonic() - started
    workers = [threading.Thread(target=model.serve, args=(100,)) for _ in range(4)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    assert model.wait_until_busy(4, timeout=5)
    for worker in workers:
        worker.join()
    four = time.monotonic() - started
    assert model.peak == 4 and model.served == 5 and model.busy == 0
    assert alone >= 0.045 and four >= 0.11  # 1.2 s x 0.1 each, all four at once
