"""Cards and clicks added up in the database, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from alliance.clicks import Click
from alliance.exchange import Window, build_exchange
from alliance.storage.click_counts import clicks_counted
from alliance.storage.impressions import add_impressions, cards_shown, last_flush
from alliance.storage.repository import insert_clicks
from tests.factories import utc

DECEMBER = Window.of_period("2026-12")


def click(n: int, source: str, target: str, at, placement="cart", reason="") -> Click:
    return Click(
        id=f"c{n}",
        source_member=source,
        target_member=target,
        deal_id=f"{source}-{target}",
        clicked_at=at,
        placement=placement,
        visitor_key=f"v{n}",
        agent_class="bot" if reason == "bot" else "browser",
        valid=not reason,
        invalid_reason=reason,
    )


def seed(engine: Engine) -> None:
    with engine.begin() as conn:
        add_impressions(conn, {("2026-11-30", "li", "cart", "wang"): 1000})  # the day before
        add_impressions(conn, {("2026-12-01", "li", "cart", "wang"): 10})
        add_impressions(conn, {("2026-12-01", "li", "cart", "wang"): 5})  # a second flush
        add_impressions(conn, {("2026-12-31", "li", "product", "wang"): 7})
        add_impressions(conn, {("2026-12-15", "wang", "cart", "li"): 4})
        add_impressions(conn, {("2026-12-15", "zhang", "cart", "zhao"): 9})
        add_impressions(conn, {("2027-01-01", "wang", "cart", "li"): 1000})  # the day after
        end = DECEMBER.end
        insert_clicks(
            conn,
            [
                click(1, "li", "wang", DECEMBER.start),  # first moment: inside
                click(2, "li", "wang", end - timedelta(microseconds=1)),  # last moment: inside
                click(3, "li", "wang", end),  # next month
                click(4, "li", "wang", utc(2026, 12, 2), reason="bot"),
                click(5, "li", "wang", utc(2026, 12, 2), reason="duplicate"),
                click(6, "li", "wang", utc(2026, 12, 3), reason="bot"),
                click(7, "wang", "li", utc(2026, 12, 4), placement="article"),
                click(8, "zhang", "zhao", utc(2026, 12, 4)),
            ],
        )


def test_cards_are_summed_over_the_days_and_flushes_of_the_window(engine: Engine):
    seed(engine)
    with engine.connect() as conn:
        cards = cards_shown(conn, "2026-12-01", "2026-12-31")
    assert cards == {
        ("li", "wang", "cart"): 15,
        ("li", "wang", "product"): 7,
        ("wang", "li", "cart"): 4,
        ("zhang", "zhao", "cart"): 9,
    }


def test_clicks_are_counted_per_verdict_and_reason_inside_the_window(engine: Engine):
    seed(engine)
    with engine.connect() as conn:
        counted = clicks_counted(conn, DECEMBER.start, DECEMBER.end)
    assert counted == {
        ("li", "wang", "cart", True, ""): 2,
        ("li", "wang", "cart", False, "bot"): 2,
        ("li", "wang", "cart", False, "duplicate"): 1,
        ("wang", "li", "article", True, ""): 1,
        ("zhang", "zhao", "cart", True, ""): 1,
    }


def test_one_members_counts_are_what_it_showed_sent_or_got(engine: Engine):
    seed(engine)
    with engine.connect() as conn:
        cards = cards_shown(conn, "2026-12-01", "2026-12-31", member="li")
        counted = clicks_counted(conn, DECEMBER.start, DECEMBER.end, member="li")
    assert {(s, p) for s, p, _ in cards} == {("li", "wang"), ("wang", "li")}
    assert {(s, t) for s, t, *_ in counted} == {("li", "wang"), ("wang", "li")}


def test_the_stored_counts_make_the_view_an_owner_reads(engine: Engine):
    seed(engine)
    with engine.connect() as conn:
        cards = cards_shown(conn, "2026-12-01", "2026-12-31", member="li")
        counted = clicks_counted(conn, DECEMBER.start, DECEMBER.end, member="li")
    (wang,) = build_exchange(DECEMBER, ["li"], cards, counted).of("li").partners
    assert (wang.given.cards, wang.given.valid_clicks, wang.given.invalid_clicks) == (22, 2, 3)
    assert wang.given.invalid_by_reason == {"bot": 2, "duplicate": 1}
    assert (wang.received.cards, wang.received.valid_clicks) == (4, 1)
    assert wang.received.click_through_rate == 0  # the click came from an article link


def test_an_empty_database_has_nothing_to_count(engine: Engine):
    with engine.connect() as conn:
        assert cards_shown(conn, "2026-12-01", "2026-12-31") == {}
        assert clicks_counted(conn, DECEMBER.start, DECEMBER.end) == {}


def test_the_last_flush_is_when_cards_were_last_added(engine: Engine) -> None:
    with engine.begin() as conn:
        assert last_flush(conn) is None
        add_impressions(conn, {("2026-12-01", "li", "cart", "wang"): 3}, now=utc(2026, 12, 1, 8))
        add_impressions(conn, {("2026-12-01", "li", "cart", "wang"): 2}, now=utc(2026, 12, 1, 9))
        add_impressions(conn, {("2026-12-02", "wang", "cart", "li"): 0}, now=utc(2026, 12, 2))
        assert last_flush(conn) == utc(2026, 12, 1, 9)  # an empty flush writes nothing
        assert cards_shown(conn, "2026-12-01", "2026-12-01", None) == {("li", "wang", "cart"): 5}
