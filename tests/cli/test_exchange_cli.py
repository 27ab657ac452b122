"""``alliance exchange``: given versus received, through click's runner on an SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from alliance.clicks import Click
from alliance.storage.database import open_database
from alliance.storage.impressions import add_impressions
from alliance.storage.repository import insert_clicks
from tests.conftest import EXAMPLE


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli(database: str):
    env = {"ALLIANCE_DATABASE_URL": database, "ALLIANCE_CONFIG": str(EXAMPLE)}

    def run(*args: str):
        return CliRunner().invoke(main, ["exchange", *args], env=env, catch_exceptions=False)

    return run


def seed(database: str, moment: datetime) -> None:
    """Li's cart block showed Wang's products 1,200 times and sent 30 clicks (2 by a bot);
    Wang's showed Li's 800 times and sent 12."""
    day = moment.date().isoformat()
    engine = open_database(database)
    with engine.begin() as conn:
        add_impressions(conn, {(day, "li", "cart", "wang"): 1200, (day, "wang", "cart", "li"): 800})
        clicks = [("li", "wang", "")] * 30 + [("li", "wang", "bot")] * 2 + [("wang", "li", "")] * 12
        insert_clicks(
            conn,
            [
                Click(
                    id=f"c{n}",
                    source_member=source,
                    target_member=target,
                    deal_id=f"{source}-{target}",
                    clicked_at=moment,
                    placement="cart",
                    valid=not reason,
                    invalid_reason=reason,
                )
                for n, (source, target, reason) in enumerate(clicks)
            ],
        )
    engine.dispose()


def test_a_shop_owner_sees_given_received_and_who_sends_more(cli, database):
    seed(database, datetime(2026, 12, 3, 4, 0, tzinfo=UTC))
    result = cli("--member", "li", "--period", "2026-12")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines() if line}
    assert rows["wang"] == ["1,200", "30", "2", "2.50%", "800", "12", "0", "1.50%"]
    assert "li sends more to wang: 400 more cards, 18 more valid clicks" in result.output
    assert "to wang  bot 2" in result.output
    assert "zhang" not in result.output


def test_the_organiser_sees_every_member_in_json(cli, database):
    seed(database, datetime(2026, 12, 3, 4, 0, tzinfo=UTC))
    result = cli("--period", "2026-12", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [m["member"] for m in data["members"]] == ["li", "wang", "zhang", "zhao"]
    (li_from_wang,) = data["members"][1]["partners"]
    assert li_from_wang["partner"] == "li"
    assert li_from_wang["received"]["invalid_by_reason"] == {"bot": 2}
    assert li_from_wang["balance"]["cards"] == -400


def test_without_a_period_it_shows_this_month(cli, database):
    seed(database, datetime.now(UTC))
    result = cli("-m", "wang")
    assert result.exit_code == 0, result.output
    assert f"Given and received by wang, {datetime.now(UTC):%Y-%m}-01 to" in result.output
    assert "1,200" in result.output


def test_a_range_of_days_leaves_out_the_days_around_it(cli, database):
    seed(database, datetime(2026, 12, 3, 4, 0, tzinfo=UTC))
    inside = cli("--from", "2026-12-03", "--to", "2026-12-03", "--format", "json")
    assert json.loads(inside.output)["members"][0]["totals"]["given"]["cards"] == 1200
    after = cli("--from", "2026-12-04", "--to", "2026-12-31")
    assert after.exit_code == 0
    assert after.output.startswith(
        "Nothing shown or clicked between 2026-12-04 and 2026-12-31 yet (days in Asia/Shanghai)"
    )


def test_an_empty_period_says_there_is_nothing_yet_and_succeeds(cli, database):
    open_database(database).dispose()  # a ledger with nothing in it (none at all is refused)
    result = cli("--member", "zhao", "--period", "2026-11")
    assert result.exit_code == 0
    assert "Nothing shown or clicked for zhao between 2026-11-01 and 2026-11-30 yet" in (
        result.output
    )


def test_an_unknown_member_is_a_usage_error_naming_it_and_the_members(cli):
    result = cli("--member", "chen", "--period", "2026-12")
    assert result.exit_code == 2
    assert "'chen' is not a member" in result.output and "li, wang, zhang, zhao" in result.output


def test_a_period_and_a_range_of_days_together_are_refused(cli):
    both = cli("--period", "2026-12", "--from", "2026-12-01")
    assert both.exit_code == 2 and "not both" in both.output
    backwards = cli("--from", "2026-12-05", "--to", "2026-12-01")
    assert backwards.exit_code == 2 and "before it starts" in backwards.output
    bad = cli("--period", "December")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_a_click_after_midnight_in_shanghai_counts_on_the_alliances_day(cli, database):
    """01:00 on 1 December in Asia/Shanghai is still 30 November in UTC: the member's
    December (as its statement dates it) holds the click, November does not."""
    seed(database, datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # impressions on "2026-11-30"
    december = json.loads(cli("--member", "li", "--period", "2026-12", "--format", "json").output)
    november = json.loads(cli("--member", "li", "--period", "2026-11", "--format", "json").output)
    assert december["days"] == "Asia/Shanghai"
    assert december["members"][0]["totals"]["given"]["valid_clicks"] == 30
    assert november["members"][0]["totals"]["given"]["valid_clicks"] == 0
    first = cli("--member", "li", "--from", "2026-12-01", "--to", "2026-12-01", "--format", "json")
    assert json.loads(first.output)["members"][0]["totals"]["received"]["valid_clicks"] == 12
