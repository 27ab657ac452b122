"""The exchange view as a table for shop owners and as JSON for machines."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from alliance.exchange import Flow, PartnerExchange, Window, build_exchange
from alliance.exchange_report import balance_line, exchange_json, exchange_table

DECEMBER = Window.of_period("2026-12")
CARDS = {("li", "wang", "cart"): 1200, ("wang", "li", "cart"): 800}
CLICKS = {
    ("li", "wang", "cart", True, ""): 30,
    ("li", "wang", "cart", False, "bot"): 2,
    ("wang", "li", "cart", True, ""): 12,
}


def pair(cards: tuple[int, int], clicks: tuple[int, int]) -> PartnerExchange:
    return PartnerExchange(
        "li",
        "wang",
        given=Flow(cards=cards[0], valid_clicks=clicks[0]),
        received=Flow(cards=cards[1], valid_clicks=clicks[1]),
    )


def test_the_balance_says_who_sends_more_to_whom():
    assert balance_line(pair((1400, 800), (30, 12))) == (
        "li sends more to wang: 600 more cards, 18 more valid clicks"
    )
    assert balance_line(pair((0, 1), (5, 5))) == (
        "wang sends more to li: 1 more card, valid clicks even"
    )
    assert balance_line(pair((7, 7), (0, 0))).startswith("even:")


def test_the_balance_tells_apart_more_cards_one_way_and_more_clicks_the_other():
    assert balance_line(pair((900, 100), (2, 3))) == (
        "li shows wang 800 more cards; wang sends li 1 more valid click"
    )


def test_the_table_shows_each_partner_totals_invalid_reasons_and_the_balance():
    table = exchange_table(build_exchange(DECEMBER, ["li"], CARDS, CLICKS))
    lines = table.splitlines()
    assert lines[0] == "Given and received by li, 2026-12-01 to 2026-12-31 (days in UTC)"
    wang = next(line for line in lines if line.startswith("wang"))
    assert wang.split() == ["wang", "1,200", "30", "2", "2.50%", "800", "12", "0", "1.50%"]
    assert any(line.split()[:2] == ["total", "1,200"] for line in lines)
    assert "  to wang  bot 2" in lines
    assert "  li sends more to wang: 400 more cards, 18 more valid clicks" in lines


def test_an_empty_window_says_there_is_nothing_yet():
    table = exchange_table(build_exchange(DECEMBER, ["zhang"], CARDS, CLICKS))
    assert table == (
        "Nothing shown or clicked for zhang between 2026-12-01 and 2026-12-31 yet (days in UTC); "
        "cards shown are added to the database every 30 s by `alliance serve`; none have been "
        "added yet."
    )


def test_the_table_says_when_cards_were_last_added_in_the_alliances_time():
    flushed = datetime(2026, 12, 31, 16, 0, 5, tzinfo=UTC)  # 2027-01-01 00:00:05 in Shanghai
    window = dataclasses.replace(DECEMBER, timezone="Asia/Shanghai")
    view = build_exchange(window, ["li"], CARDS, CLICKS, cards_flushed_at=flushed)
    assert exchange_table(view).endswith(
        "every 30 s by `alliance serve`; last at 2027-01-01 00:00:05, and those shown since are "
        "not counted yet."
    )
    assert json.loads(exchange_json(view))["cards_flushed_at"] == "2026-12-31T16:00:05+00:00"


def test_a_member_without_traffic_gets_a_sentence_among_the_others():
    table = exchange_table(build_exchange(DECEMBER, ["li", "zhang"], CARDS, CLICKS))
    assert "Nothing shown or clicked between zhang and its partners yet." in table


def test_hostile_names_cannot_drive_the_terminal():
    table = exchange_table(build_exchange(DECEMBER, ["li"], {("\x1b[2Jx", "li", "cart"): 3}, {}))
    assert "\x1b" not in table and "\\x1b[2Jx" in table


def test_json_carries_counts_reasons_rates_and_the_balance():
    data = json.loads(exchange_json(build_exchange(DECEMBER, ["li", "zhang"], CARDS, CLICKS)))
    assert (data["from"], data["to"], data["days"]) == ("2026-12-01", "2026-12-31", "UTC")
    li, zhang = data["members"]
    (wang,) = li["partners"]
    assert wang["given"] == {
        "cards": 1200,
        "valid_clicks": 30,
        "clicks_without_cards": 0,
        "invalid_clicks": 2,
        "invalid_by_reason": {"bot": 2},
        "click_through_rate": "0.0250",
    }
    assert wang["balance"]["cards"] == 400 and wang["balance"]["valid_clicks"] == 18
    assert li["totals"]["received"]["cards"] == 800
    assert zhang == {
        "member": "zhang",
        "partners": [],
        "totals": {
            "given": {
                "cards": 0,
                "valid_clicks": 0,
                "clicks_without_cards": 0,
                "invalid_clicks": 0,
                "invalid_by_reason": {},
                "click_through_rate": None,
            },
            "received": {
                "cards": 0,
                "valid_clicks": 0,
                "clicks_without_cards": 0,
                "invalid_clicks": 0,
                "invalid_by_reason": {},
                "click_through_rate": None,
            },
        },
    }


def test_article_clicks_are_said_apart_and_ctr_is_left_out_where_no_cards_were_shown():
    clicks = {
        ("li", "wang", "article", True, ""): 3,  # links placed by hand: no cards there
        ("zhao", "li", "article", True, ""): 5,
    }
    cards = {("li", "wang", "cart"): 200}
    table = exchange_table(build_exchange(DECEMBER, ["li"], cards, clicks))
    rows = {}
    for line in table.splitlines():  # the table's rows come before the balance lines
        rows.setdefault(line.split(" ", 1)[0], line.split()[1:])
    assert rows["wang"][:4] == ["200", "3", "0", "0.00%"]  # 200 cards shown, none clicked
    assert rows["zhao"] == ["0", "0", "0", "-", "0", "5", "0", "-"]  # no cards: no rate
    assert "Valid clicks from links without a block (not in CTR): to wang 3, from zhao 5" in table
    assert "'-' where no cards were shown" in table
    data = json.loads(exchange_json(build_exchange(DECEMBER, ["li"], cards, clicks)))
    zhao = data["members"][0]["partners"][1]
    assert zhao["received"]["click_through_rate"] is None
    assert zhao["received"]["clicks_without_cards"] == 5


def test_the_days_are_named_by_the_alliances_timezone():
    shanghai = Window.of_period("2026-12", "Asia/Shanghai")
    table = exchange_table(build_exchange(shanghai, ["li"], CARDS, CLICKS))
    assert table.splitlines()[0].endswith("2026-12-01 to 2026-12-31 (days in Asia/Shanghai)")
    data = json.loads(exchange_json(build_exchange(shanghai, ["li"], CARDS, CLICKS)))
    assert data["days"] == "Asia/Shanghai"
