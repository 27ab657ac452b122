"""The dashboard's arithmetic (pure): shares, suppression below k, the free-rider rule, the
charts' geometry; and the sign-in throttle and language choice it relies on."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from alliance.dashboard_figures import (
    CHART_HEIGHT,
    CHART_WIDTH,
    Measure,
    Month,
    alliance_month,
    is_free_rider,
    last_periods,
    percent_text,
    shared_share,
    trend_chart,
)
from alliance.languages import SIMPLIFIED_CHINESE, choose_locale
from dashboard.sessions import FailedSignIns


def month(**counts: int) -> Month:
    return Month("2026-12", {Measure(k).value: v for k, v in counts.items()}, "CNY")


def test_shares_and_rates_come_from_the_counts_and_none_without_a_whole():
    m = month(new_customers=8, new_via_partners=3, partner_clicks=40, partner_orders=9,
              partner_click_orders=6, customers=20, repeat_customers=5)  # fmt: skip
    assert m.partner_share_of_new_customers == Decimal("0.375")
    assert m.conversion == Decimal("0.15")
    assert m.repeat_rate == Decimal("0.25")
    assert percent_text(m.partner_share_of_new_customers) == "37.5%"
    assert month().conversion is None and percent_text(None) == "-"


def test_average_order_values_are_rounded_half_up_to_the_cent():
    m = month(orders=5, revenue=100001, partner_orders=2, partner_revenue=1001)
    assert m.partner_order_value == Decimal("5.01")  # 10.01 / 2 = 5.005 -> 5.01
    assert m.other_order_value == Decimal("330.00")  # 990.00 / 3
    assert month(orders=0).other_order_value is None


@given(
    revenue=st.integers(min_value=0, max_value=10**12),
    orders=st.integers(min_value=1, max_value=10**6),
)
def test_an_average_order_value_is_always_in_whole_cents(revenue: int, orders: int):
    value = month(partner_orders=orders, partner_revenue=revenue).partner_order_value
    assert value is not None and value == value.quantize(Decimal("0.01"))
    assert abs(value * orders - Decimal(revenue) / 100) <= Decimal("0.005") * orders


def test_a_shared_figure_over_fewer_than_k_customers_is_suppressed_never_shown():
    assert shared_share(3, 9, 9, 10).suppressed
    assert shared_share(3, 9, 9, 10).value is None
    shown = shared_share(3, 10, 10, 10)
    assert not shown.suppressed and shown.value == Decimal("0.3")


def test_the_alliance_month_adds_every_member_before_it_judges_k():
    members = [month(customers=6, repeat_customers=3), month(customers=5, repeat_customers=1)]
    figures = alliance_month(members, 10)
    assert figures["repeat_rate"].value == Decimal(4) / Decimal(11)
    assert alliance_month(members[:1], 10)["repeat_rate"].suppressed


def test_a_free_rider_receives_more_than_the_ratio_times_what_it_gives():
    assert is_free_rider(31, 10, Decimal(3))
    assert not is_free_rider(30, 10, Decimal(3))  # exactly three times is fair
    assert is_free_rider(1, 0, Decimal(3))
    assert not is_free_rider(0, 0, Decimal(3))


def test_the_last_twelve_periods_cross_a_year_end():
    assert last_periods("2027-02", 4) == ["2026-11", "2026-12", "2027-01", "2027-02"]


@given(st.lists(st.one_of(st.none(), st.decimals(0, 10**9, places=2)), min_size=1, max_size=12))
def test_every_bar_stays_inside_the_chart_and_the_tallest_reaches_the_top(values):
    chart = trend_chart([(f"p{i}", v, str(v)) for i, v in enumerate(values)])
    for bar in chart.bars:
        assert bar.x >= 0 and bar.x + bar.width <= CHART_WIDTH
        assert 0 <= bar.height <= CHART_HEIGHT and bar.y + bar.height == CHART_HEIGHT
    if any(v for v in values if v):
        assert max(bar.height for bar in chart.bars) == CHART_HEIGHT - 2
    else:
        assert chart.empty and all(bar.height == 0 for bar in chart.bars)


def test_failed_sign_ins_wait_out_the_window_and_a_success_forgets_them():
    now = [0.0]
    throttle = FailedSignIns(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_seconds("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
    assert 0 < throttle.wait_seconds("10.0.0.1") <= 61
    assert throttle.wait_seconds("10.0.0.2") == 0  # per address
    now[0] = 61.0
    assert throttle.wait_seconds("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    throttle.succeeded("10.0.0.1")
    assert throttle.wait_seconds("10.0.0.1") == 0


def test_the_language_is_the_switch_then_the_browser_then_english():
    assert choose_locale("zh-Hans", "en") == SIMPLIFIED_CHINESE
    assert choose_locale(None, "fr, zh-CN;q=0.5") == SIMPLIFIED_CHINESE
    assert choose_locale("klingon", "de") == "en"
