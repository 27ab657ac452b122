"""What-if: the booked months replayed under proposed terms, through the real booking code,
on SQLite and PostgreSQL; the ledger (and every other table) is left exactly as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from alliance.agreement.parse import load_agreement
from alliance.clicks import Click
from alliance.errors import BadInputError
from alliance.insights_report import simulation_json, simulation_table
from alliance.orders import AttributionFields
from alliance.services.booking import book_clicks, book_orders
from alliance.services.whatif import simulate
from alliance.storage.schema import metadata
from alliance.whatif import Side
from tests.alliance.insights_support import DEC, NOV, sale
from tests.conftest import EXAMPLE


def clicked(order, click_id: str):
    utm = AttributionFields("utm", "alliance", "article", "li-wang", click_id)
    return replace(order, attribution=utm)


def a_season(engine, agreement):
    """Referral coupons (li-wang 10%, wang-zhang per order, zhang-zhao swap), tracked clicks
    to Wang (one 3 days before the order, one 20 days before) and per-click clicks to Zhao."""
    orders = [sale("wang", 10 + n, n, NOV, coupons=("LI-FRIENDS",)) for n in range(6)]
    orders += [sale("zhang", 30 + n, n, DEC, coupons=("WANG-TOYS",)) for n in range(3)]
    orders += [sale("zhao", 50 + n, n, DEC, coupons=("ZHANG-PHOTO",)) for n in range(2)]
    orders += [sale("li", 70 + n, n, DEC) for n in range(4)]  # nobody sent these
    clicks = [
        Click("k-near", "li", "wang", "li-wang", DEC - timedelta(days=3)),
        Click("k-far", "li", "wang", "li-wang", DEC - timedelta(days=20)),
    ]
    clicks += [Click(f"z{n}", "li", "zhao", "li-zhao", DEC + timedelta(hours=n)) for n in range(4)]
    orders += [
        clicked(sale("wang", 90, 90, DEC), "k-near"),
        clicked(sale("wang", 91, 91, DEC), "k-far"),
    ]
    book_clicks(engine, agreement, clicks)
    book_orders(engine, agreement, orders)


def proposed(tmp_path: Path, *changes: tuple[str, str]) -> object:
    content = EXAMPLE.read_text()
    for old, new in changes:
        assert old in content
        content = content.replace(old, new, 1)
    path = tmp_path / "proposed.toml"
    path.write_text(content)
    return load_agreement(path)


def dump(engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in metadata.sorted_tables
        }


def test_the_current_terms_replay_to_exactly_what_the_ledger_holds(engine, agreement):
    a_season(engine, agreement)
    result = simulate(engine, agreement, agreement, "2026-11", "2026-12")
    assert result.deals and all(d.difference == 0 for d in result.deals)
    assert {d.deal_id for d in result.deals} == {"li-wang", "wang-zhang", "zhang-zhao", "li-zhao"}
    li_actual, li_simulated = result.members["li"]
    # 6 coupons and 2 clicks at 100.00 x 10%, plus 4 clicks x 0.50 from Zhao
    assert li_actual == li_simulated == Side(Decimal("82.00"), Decimal(0))


def test_a_higher_rate_shows_what_each_side_would_have_earned_and_owed(engine, agreement, tmp_path):
    a_season(engine, agreement)
    terms = proposed(tmp_path, ('rate = "10%"', 'rate = "12%"'))
    result = simulate(engine, agreement, terms, "2026-11", "2026-12")
    li_wang = next(d for d in result.deals if d.deal_id == "li-wang")
    assert (li_wang.actual, li_wang.simulated, li_wang.difference) == (
        Decimal("80.00"),
        Decimal("96.00"),
        Decimal("16.00"),
    )
    assert result.members["wang"][1].owed - result.members["wang"][0].owed == Decimal("16.00")
    assert all(d.difference == 0 for d in result.deals if d.deal_id != "li-wang")


def test_a_shorter_attribution_window_drops_the_orders_of_older_clicks(engine, agreement, tmp_path):
    a_season(engine, agreement)
    terms = proposed(tmp_path, ("attribution_window_days = 30", "attribution_window_days = 7"))
    result = simulate(engine, agreement, terms, "2026-12", "2026-12")
    li_wang = next(d for d in result.deals if d.deal_id == "li-wang")
    assert (li_wang.actual, li_wang.simulated) == (Decimal("20.00"), Decimal("10.00"))


def test_only_the_months_asked_for_are_replayed(engine, agreement):
    a_season(engine, agreement)
    november = simulate(engine, agreement, agreement, "2026-11", "2026-11")
    assert {d.deal_id for d in november.deals} == {"li-wang"}
    assert november.members["li"][0].earned == Decimal("60.00")


def test_simulating_writes_nothing_anywhere(engine, agreement, tmp_path):
    a_season(engine, agreement)
    before = dump(engine)
    assert before["ledger_entries"]  # there is something to protect
    terms = proposed(tmp_path, ('rate = "10%"', 'rate = "12%"'))
    for _ in range(2):
        simulate(engine, agreement, terms, "2026-11", "2026-12")
    assert dump(engine) == before


def test_json_has_the_agreed_shape_with_money_as_strings(engine, agreement, tmp_path):
    import json

    a_season(engine, agreement)
    terms = proposed(tmp_path, ('rate = "10%"', 'rate = "12%"'))
    document = json.loads(simulation_json(simulate(engine, agreement, terms, "2026-11", "2026-12")))
    assert set(document) == {"from", "to", "members", "deals"}
    assert (document["from"], document["to"]) == ("2026-11", "2026-12")
    assert document["members"]["li"] == {
        "actual": {"earned": "82.00", "owed": "0.00"},
        "simulated": {"earned": "98.00", "owed": "0.00"},
    }
    assert all(isinstance(d["simulated"], str) for d in document["deals"])
    assert "Nothing was written" in simulation_table(
        simulate(engine, agreement, terms, "2026-11", "2026-12")
    )


def test_a_backwards_range_or_another_currency_is_refused_with_a_fix(engine, agreement, tmp_path):
    with pytest.raises(BadInputError, match="swap them"):
        simulate(engine, agreement, agreement, "2026-12", "2026-11")
    terms = proposed(tmp_path, ('currency = "CNY"', 'currency = "EUR"'))
    with pytest.raises(BadInputError, match="one currency"):
        simulate(engine, agreement, terms, "2026-11", "2026-12")


NEW_DEAL = """
[[deals]]
id = "zhang-li"
referrer = "zhang"
seller = "li"
pay = "percent"
rate = "5%"
referral_coupons = ["ZHANG-LI"]
"""

ZHAO = """[members.zhao]
name = "Zhao Newborn Photography"
description = "Home newborn photography (a service)"
store = "woocommerce"
url = "https://zhao.example"
credentials_env = "ZHAO_WC"
categories = ["photography", "services"]
"""
LI_ZHAO = """[[deals]]
id = "li-zhao"
referrer = "li"
seller = "zhao"
pay = "per_click"
amount = "0.50"                       # per valid click
click_window_hours = 24               # a repeat click by the same visitor inside 24 h is not paid
"""
ZHANG_ZHAO_TAIL = """[[deals]]
id = "zhang-zhao"
description = "You promote me this time, I promote you next time"
pay = "swap"
members = ["zhang", "zhao"]           # both directions, no money
credits = 1                           # one credit per referred order
[deals.referral_coupons]              # store -> codes in that store
zhao = ["ZHANG-PHOTO"]                # used at Zhao: Zhang referred the customer
zhang = ["ZHAO-TOYS"]                 # used at Zhang: Zhao referred the customer
"""
ZHAO_REWARD = (
    '  { member = "zhao",  discount_type = "percent",    amount = "15",    '
    'label = "Newborn photo shoot" },\n'
)


def test_a_new_deal_pays_for_the_coupons_it_would_have_recognised(engine, agreement, tmp_path):
    a_season(engine, agreement)
    book_orders(
        engine, agreement, [sale("li", 300 + n, n, DEC, coupons=("ZHANG-LI",)) for n in range(3)]
    )
    terms = proposed(
        tmp_path, ("# Deals: the seller pays", NEW_DEAL + "\n# Deals: the seller pays")
    )
    result = simulate(engine, agreement, terms, "2026-12", "2026-12")
    zhang_li = next(d for d in result.deals if d.deal_id == "zhang-li")
    assert (zhang_li.actual, zhang_li.simulated) == (Decimal(0), Decimal("15.00"))
    assert result.members["zhang"][1].earned - result.members["zhang"][0].earned == Decimal("15.00")


def test_a_member_removed_takes_its_deals_with_it(engine, agreement, tmp_path):
    a_season(engine, agreement)
    terms = proposed(tmp_path, (ZHAO, ""), (LI_ZHAO, ""), (ZHANG_ZHAO_TAIL, ""), (ZHAO_REWARD, ""))
    assert "zhao" not in terms.members
    result = simulate(engine, agreement, terms, "2026-12", "2026-12")
    by_deal = {d.deal_id: d for d in result.deals}
    assert by_deal["li-zhao"].simulated == 0 and by_deal["li-zhao"].actual == Decimal("2.00")
    assert by_deal["zhang-zhao"].simulated == 0 and by_deal["zhang-zhao"].actual == 2
    assert result.members["zhao"] == (
        Side(Decimal(0), Decimal("2.00")),
        Side(Decimal(0), Decimal(0)),
    )
