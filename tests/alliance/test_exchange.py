"""The given-versus-received view, built from counts: who showed and sent what to whom."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance.exchange import (
    UNSPECIFIED_REASON,
    Flow,
    Window,
    build_exchange,
    day_in,
)
from tests.factories import utc

DECEMBER = Window.of_period("2026-12")
MEMBERS = ["li", "wang", "zhang", "zhao"]


def test_a_member_gives_what_its_pages_showed_and_receives_what_partners_pages_showed():
    cards = {("li", "wang", "cart"): 1200, ("wang", "li", "cart"): 800, ("li", "zhao", "cart"): 5}
    clicks = {("li", "wang", "cart", True, ""): 30, ("wang", "li", "cart", True, ""): 12}
    view = build_exchange(DECEMBER, MEMBERS, cards, clicks)
    li = view.of("li")
    assert [p.partner for p in li.partners] == ["wang", "zhao"]
    wang = li.partners[0]
    assert (wang.given.cards, wang.given.valid_clicks) == (1200, 30)
    assert (wang.received.cards, wang.received.valid_clicks) == (800, 12)
    assert (wang.card_balance, wang.click_balance) == (400, 18)
    assert (li.given.cards, li.received.cards) == (1205, 800)
    assert view.of("zhang").is_empty and not view.is_empty


def test_invalid_clicks_are_counted_apart_by_reason_and_a_missing_reason_is_not_lost():
    clicks = {
        ("li", "wang", "cart", True, ""): 3,
        ("li", "wang", "cart", False, "bot"): 2,
        ("li", "wang", "article", False, "bot"): 1,
        ("li", "wang", "cart", False, "duplicate"): 4,
        ("li", "wang", "cart", False, ""): 1,
    }
    given_to_wang = build_exchange(DECEMBER, ["li"], {}, clicks).of("li").partners[0].given
    assert given_to_wang.valid_clicks == 3
    assert given_to_wang.invalid_by_reason == {"bot": 3, "duplicate": 4, UNSPECIFIED_REASON: 1}
    assert given_to_wang.invalid_clicks == 8


def test_the_click_through_rate_counts_only_clicks_from_placements_that_showed_cards():
    cards = {("li", "wang", "cart"): 200}
    clicks = {
        ("li", "wang", "cart", True, ""): 5,
        ("li", "wang", "article", True, ""): 40,  # a link placed by hand in an article
        ("li", "wang", "cart", False, "bot"): 9,
    }
    flow = build_exchange(DECEMBER, ["li"], cards, clicks).of("li").partners[0].given
    assert flow.valid_clicks == 45
    assert flow.click_through_rate == Decimal("0.025")


def test_there_is_no_rate_without_cards_shown():
    clicks = {("zhao", "li", "article", True, ""): 4}
    flow = build_exchange(DECEMBER, ["zhao"], {}, clicks).of("zhao").partners[0].given
    assert flow.valid_clicks == 4 and flow.click_through_rate is None


def test_a_members_own_products_on_its_own_pages_are_not_an_exchange():
    view = build_exchange(
        DECEMBER, ["li"], {("li", "li", "cart"): 50}, {("li", "li", "cart", True, ""): 2}
    )
    assert view.is_empty


def test_a_partner_that_left_the_agreement_still_shows_what_happened():
    view = build_exchange(DECEMBER, ["li"], {("chen", "li", "cart"): 7}, {})
    assert [(p.partner, p.received.cards) for p in view.of("li").partners] == [("chen", 7)]


def test_a_period_is_its_whole_utc_days_and_clicks_are_cut_at_the_next_midnight():
    february = Window.of_period("2028-02")
    assert (february.first, february.last) == (date(2028, 2, 1), date(2028, 2, 29))
    assert (february.start, february.end) == (utc(2028, 2, 1), utc(2028, 3, 1))
    assert Window.of_period("2026-12").end == utc(2027, 1, 1)


def test_the_window_is_a_period_or_a_range_of_days_and_defaults_to_this_month():
    today = date(2026, 12, 17)
    assert Window.chosen(None, None, None, today=today) == DECEMBER
    assert Window.chosen("2026-11", None, None, today=today).last == date(2026, 11, 30)
    since = Window.chosen(None, date(2026, 12, 10), None, today=today)
    assert (since.first, since.last) == (date(2026, 12, 10), today)
    with pytest.raises(ValueError, match="not both"):
        Window.chosen("2026-11", date(2026, 11, 2), None, today=today)
    with pytest.raises(ValueError, match="--to needs --from"):
        Window.chosen(None, None, date(2026, 11, 2), today=today)
    with pytest.raises(ValueError, match="before it starts"):
        Window.chosen(None, date(2026, 12, 5), date(2026, 12, 1), today=today)
    with pytest.raises(ValueError, match="YYYY-MM"):
        Window.of_period("2026-13")


def test_flows_add_up_cards_clicks_and_reasons():
    a = Flow(cards=10, valid_clicks=2, invalid=(("bot", 1),), rated_clicks=1)
    b = Flow(cards=5, valid_clicks=1, invalid=(("bot", 2), ("duplicate", 1)), rated_clicks=1)
    assert a + b == Flow(15, 3, (("bot", 3), ("duplicate", 1)), 2)
    assert (a + Flow()) == a and Flow().is_empty


# --- properties -------------------------------------------------------------------------------

names = st.sampled_from([*MEMBERS, "chen"])  # "chen": a member who left the agreement
placements = st.sampled_from(["cart", "product", "thankyou", "article"])
reasons = st.sampled_from(["", "bot", "duplicate", "rate-limited"])
counts = st.integers(min_value=0, max_value=10_000)
card_maps = st.dictionaries(st.tuples(names, names, placements), counts, max_size=25)
click_maps = st.dictionaries(
    st.tuples(names, names, placements, st.booleans(), reasons), counts, max_size=25
)


@given(cards=card_maps, clicks=click_maps)
def test_what_a_member_gives_a_partner_is_what_the_partner_receives_from_it(cards, clicks):
    view = build_exchange(DECEMBER, MEMBERS, cards, clicks)
    for mine in view.members:
        for pair in mine.partners:
            if pair.partner not in MEMBERS:
                continue
            (mirror,) = [p for p in view.of(pair.partner).partners if p.partner == mine.member]
            assert mirror.received == pair.given and mirror.given == pair.received
            assert (mirror.card_balance, mirror.click_balance) == (
                -pair.card_balance,
                -pair.click_balance,
            )


@given(cards=card_maps, clicks=click_maps)
def test_totals_add_up_and_no_card_or_click_is_lost_or_counted_twice(cards, clicks):
    everyone = [*MEMBERS, "chen"]
    view = build_exchange(DECEMBER, everyone, cards, clicks)
    for mine in view.members:
        assert mine.given.cards == sum(p.given.cards for p in mine.partners)
        assert mine.received.valid_clicks == sum(p.received.valid_clicks for p in mine.partners)
        assert mine.given.invalid_clicks == sum(p.given.invalid_clicks for p in mine.partners)
        assert mine.given.rated_clicks <= mine.given.valid_clicks
    shown = sum(n for (s, p, _), n in cards.items() if s != p)
    valid = sum(n for (s, t, _, ok, _), n in clicks.items() if s != t and ok)
    invalid = sum(n for (s, t, _, ok, _), n in clicks.items() if s != t and not ok)
    assert sum(m.given.cards for m in view.members) == shown
    assert sum(m.received.cards for m in view.members) == shown
    assert sum(m.given.valid_clicks for m in view.members) == valid
    assert sum(m.received.invalid_clicks for m in view.members) == invalid


def test_in_the_alliances_timezone_a_window_starts_and_ends_at_its_midnights():
    december = Window.of_period("2026-12", "Asia/Shanghai")
    assert december.start == utc(2026, 11, 30, 16)  # 00:00 on 1 December in Shanghai
    assert december.end == utc(2026, 12, 31, 16)
    day = Window.chosen(
        None,
        date(2026, 12, 3),
        date(2026, 12, 3),
        today=date(2026, 12, 9),
        timezone="Asia/Shanghai",
    )
    assert (day.start, day.end) == (utc(2026, 12, 2, 16), utc(2026, 12, 3, 16))
    late = utc(2026, 12, 31, 17)  # 01:00 on 1 January there: January's, not December's
    assert day_in(late, "Asia/Shanghai") == date(2027, 1, 1)
    assert day_in(late, "UTC") == date(2026, 12, 31)
