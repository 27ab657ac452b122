"""The exchange view as a table for shop owners and as JSON for machines."""

from __future__ import annotations

import json

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
    assert lines[0] == "Given and received by li, 2026-12-01 to 2026-12-31 (UTC days)"
    wang = next(line for line in lines if line.startswith("wang"))
    assert wang.split() == ["wang", "1,200", "30", "2", "2.50%", "800", "12", "0", "1.50%"]
    assert any(line.split()[:2] == ["total", "1,200"] for line in lines)
    assert "  to wang  bot 2" in lines
    assert "  li sends more to wang: 400 more cards, 18 more valid clicks" in lines


def test_an_empty_window_says_there_is_nothing_yet():
    table = exchange_table(build_exchange(DECEMBER, ["zhang"], CARDS, CLICKS))
    assert table == (
        "Nothing shown or clicked for zhang between 2026-12-01 and 2026-12-31 yet (UTC days)."
    )


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
                "invalid_clicks": 0,
                "invalid_by_reason": {},
                "click_through_rate": None,
            },
            "received": {
                "cards": 0,
                "valid_clicks": 0,
                "invalid_clicks": 0,
                "invalid_by_reason": {},
                "click_through_rate": None,
            },
        },
    }
