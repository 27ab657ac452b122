"""Reciprocity: partners that show a member's products and send it clicks get more of its
block, every stocked partner keeps a share, and every process agrees on the weights."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from alliance.clicks import Click
from alliance.reciprocity import (
    CARDS_PER_CLICK,
    MAX_WEIGHT_RATIO,
    WINDOW_DAYS,
    Given,
    reciprocity_weights,
    window,
)
from alliance.storage.click_counts import clicks_counted
from alliance.storage.impressions import add_impressions
from alliance.storage.reciprocity import given_to
from alliance.storage.repository import insert_clicks
from tests.widgets.test_app import Server
from tests.widgets.test_blocks import Cards, make_app, seed_partners
from tests.widgets.test_redirect import BROWSER, token
from widgets.block_weights import SETTLE_SECONDS
from widgets.rotation import ROTATION_SECONDS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
TODAY = date(2027, 1, 15)
YESTERDAY = TODAY - timedelta(days=1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def shows(engine: Engine, source: str, partner: str, cards: int, day: date = YESTERDAY) -> None:
    """``source``'s pages showed ``cards`` of ``partner``'s product cards on ``day``."""
    with engine.begin() as conn:
        add_impressions(conn, {(day.isoformat(), source, "article", partner): cards})


def sends(
    engine: Engine, source: str, target: str, n: int, when: datetime, *, valid: bool = True
) -> None:
    """``source``'s pages sent ``n`` clicks to ``target`` at ``when``."""
    tag = f"{source}-{target}-{when.isoformat()}-{valid}"
    clicks = [
        Click(f"{tag}-{i}", source, target, f"{source}-{target}", when, valid=valid)
        for i in range(n)
    ]
    with engine.begin() as conn:
        insert_clicks(conn, clicks)


def blocks_over_slots(app: Starlette, slots: int, count: int = 3, start: float = NOW) -> list:
    """The partner of every card of ``li``'s article block, one block per rotation slot."""
    now = [start]
    app.state.clock = lambda: now[0]
    blocks = []
    with TestClient(app) as client:
        for _ in range(slots):
            response = client.get("/w/li/article", params={"count": count})
            blocks.append([claim.target for claim in Cards(response.text).claims()])
            now[0] += ROTATION_SECONDS
    return blocks


# --- the weights (pure) -------------------------------------------------------------------------


def test_with_no_giving_at_all_every_partner_weighs_the_same() -> None:
    assert reciprocity_weights(["wang", "zhao"], {}) == {"wang": 1, "zhao": 1}
    assert reciprocity_weights([], {}) == {}


def test_the_most_generous_partner_weighs_three_times_one_that_gave_nothing() -> None:
    given = {"wang": Given(cards=800), "zhang": Given(cards=400)}
    weights = reciprocity_weights(["wang", "zhang", "zhao"], given)
    assert weights == {"wang": Decimal(3), "zhang": Decimal(2), "zhao": Decimal(1)}


def test_a_valid_click_counts_as_a_hundred_cards() -> None:
    assert CARDS_PER_CLICK == 100
    given = {"wang": Given(clicks=3), "zhao": Given(cards=300)}
    assert reciprocity_weights(["wang", "zhao"], given) == {"wang": 3, "zhao": 3}
    assert Given(cards=50, clicks=2).score == 250


def test_weights_are_rounded_to_hundredths_so_every_process_gets_the_same() -> None:
    given = {"wang": Given(cards=3), "zhao": Given(cards=1)}
    assert reciprocity_weights(["wang", "zhao"], given)["zhao"] == Decimal("1.67")


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.builds(Given, st.integers(0, 10**9), st.integers(0, 10**6)),
    )
)
def test_every_partner_keeps_a_share_and_none_gets_more_than_three_times_another(
    given: dict[str, Given],
) -> None:
    partners = ["a", "b", "c", "d"]
    weights = reciprocity_weights(partners, given)
    assert set(weights) == set(partners)
    assert all(1 <= w <= MAX_WEIGHT_RATIO for w in weights.values())
    assert max(weights.values()) <= MAX_WEIGHT_RATIO * min(weights.values())
    by_score = sorted(partners, key=lambda p: given.get(p, Given()).score)
    assert [weights[p] for p in by_score] == sorted(weights[p] for p in by_score)  # gave more


def test_the_window_is_the_thirty_full_days_before_today() -> None:
    first, last = window(TODAY)
    assert (first, last) == (date(2026, 12, 16), YESTERDAY)
    assert (last - first).days + 1 == WINDOW_DAYS


# --- what partners gave, from the database ------------------------------------------------------


def test_given_counts_only_cards_and_valid_clicks_for_the_member_within_the_window(
    engine: Engine,
) -> None:
    first, last = window(TODAY)
    shows(engine, "wang", "li", 40, day=first)
    shows(engine, "wang", "li", 2, day=last)
    shows(engine, "zhao", "li", 7)
    shows(engine, "wang", "li", 1000, day=first - timedelta(days=1))  # too old
    shows(engine, "wang", "li", 1000, day=TODAY)  # still being counted
    shows(engine, "wang", "zhao", 1000)  # for someone else
    shows(engine, "li", "li", 1000)  # its own page: not a partner's gift
    sends(engine, "wang", "li", 3, at(first, 0))  # the first moment of the window
    sends(engine, "wang", "li", 2, at(last, 23))
    sends(engine, "zhang", "li", 1, at(last))
    sends(engine, "wang", "li", 5, at(last), valid=False)  # bots, duplicates, bursts
    sends(engine, "wang", "li", 4, at(TODAY, 0))  # the first moment after the window
    sends(engine, "li", "wang", 9, at(last))  # the other direction
    with engine.connect() as conn:
        given = given_to(conn, "li", first, last)
    assert given == {
        "wang": Given(cards=42, clicks=5),
        "zhang": Given(cards=0, clicks=1),
        "zhao": Given(cards=7, clicks=0),
    }


# --- through the app ----------------------------------------------------------------------------


def test_a_partner_that_gave_a_lot_gets_more_of_the_block_but_one_that_gave_nothing_still_shows(
    engine: Engine, agreement: Agreement
) -> None:
    seed_partners(engine, per_member=6)  # li's partners: wang and zhao
    shows(engine, "wang", "li", 5000)
    sends(engine, "wang", "li", 40, at(YESTERDAY))
    blocks = blocks_over_slots(make_app(engine, agreement), slots=40)
    shown = Counter(partner for block in blocks for partner in block)
    assert shown == {"wang": 90, "zhao": 30}  # weights 3 : 1, exactly over whole periods
    assert sum("zhao" in block for block in blocks) == 30  # in three blocks out of four
    assert all(len(block) == 3 for block in blocks)


def test_giving_counts_from_the_day_after_once_every_process_has_written_it(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    seed_partners(sqlite_engine, per_member=6)
    shows(sqlite_engine, "wang", "li", 5000, day=TODAY)
    app = make_app(sqlite_engine, agreement)
    today = Counter(p for block in blocks_over_slots(app, 8) for p in block)
    assert today == {"wang": 12, "zhao": 12}  # today is still being counted: equal turns
    midnight = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC).timestamp()
    settling = blocks_over_slots(app, 8, start=midnight + 60)
    assert Counter(p for block in settling for p in block) == {"wang": 12, "zhao": 12}
    settled = blocks_over_slots(app, 8, start=midnight + SETTLE_SECONDS)
    assert Counter(p for block in settled for p in block) == {"wang": 18, "zhao": 6}


def test_two_processes_show_the_same_weighted_block_in_the_same_slot(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    seed_partners(sqlite_engine, per_member=6)
    shows(sqlite_engine, "zhao", "li", 300)
    sends(sqlite_engine, "wang", "li", 1, at(YESTERDAY))
    first, second = make_app(sqlite_engine, agreement), make_app(sqlite_engine, agreement)
    blocks = blocks_over_slots(first, 12, count=5)
    assert blocks == blocks_over_slots(second, 12, count=5)
    shown = Counter(partner for block in blocks for partner in block)
    assert shown["zhao"] > shown["wang"] > 0  # 300 cards outweigh one click (100 cards)


def test_a_scripted_burst_and_bots_cannot_move_the_weights(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    """Wang tries to buy a bigger share of li's block with a loop of clicks on its own link to
    li (a percent deal): one shopper's click counts, the loop and the robots do not."""
    seed_partners(sqlite_engine, per_member=6)  # li's partners: wang and zhao
    first_day = datetime.now(UTC).date()
    shows(sqlite_engine, "wang", "li", 100, day=first_day)
    shows(sqlite_engine, "zhao", "li", 300, day=first_day)
    link = f"/r/{token('wang', 'li', '101', 'wang-li')}"
    robots = ["curl/8.5.0"] * 10 + [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ] * 3

    def weights() -> dict[str, Decimal]:
        with sqlite_engine.connect() as conn:
            given = given_to(conn, "li", first_day, datetime.now(UTC).date())
        return reciprocity_weights(["wang", "zhao"], given)

    app = make_app(sqlite_engine, agreement)
    with Server(app) as base, httpx.Client(base_url=base, headers={"user-agent": BROWSER}) as http:
        assert http.get(link).status_code == 302  # a shopper's click on wang's page
        before = weights()
        for _ in range(30):  # the same "shopper", scripted
            assert http.get(link).status_code == 302
        for agent in robots:
            assert http.get(link, headers={"user-agent": agent}).status_code == 302
        after = weights()
    assert before == after == {"wang": Decimal("2.33"), "zhao": Decimal(3)}
    with sqlite_engine.connect() as conn:
        counted = clicks_counted(conn, at(first_day, 0), datetime.now(UTC) + timedelta(days=1))
    reasons = {key[4] or "valid": n for key, n in counted.items() if key[:2] == ("wang", "li")}
    assert reasons == {"valid": 1, "duplicate": 9, "rate-limited": 21, "bot": 13}
