"""``alliance settle``, ``transfers``, ``dispute``, ``audit`` and statements as HTML and PDF, as
users run them: outputs, exit statuses, and every bad input refused with nothing changed.

Dates follow the day the tests run: the month settled is the one that ended at least 45 days
ago, so it is past its 14-day holdback whatever the date; a copy of the agreement with a
365-day holdback keeps the same month pending.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from alliance.agreement.parse import load_agreement
from alliance.cli import main
from alliance.periods import next_period, period_of
from alliance.services.booking import book_orders
from alliance.settlement import period_start
from alliance.storage.database import open_database
from alliance.storage.schema import APPEND_ONLY, metadata, periods
from tests.conftest import EXAMPLE, SECRET
from tests.factories import make_order

TZ = "Asia/Shanghai"
NOW = datetime.now(UTC)
PERIOD = period_of(NOW - timedelta(days=75), TZ)  # over, and past its holdback, on any day
DAY = period_start(PERIOD, TZ).astimezone(UTC) + timedelta(days=4, hours=3)


def orders() -> list:
    return [
        make_order("wang", "1", coupons=("LI-FRIENDS",), items="1018.40", created=DAY),
        make_order("li", "2", coupons=("WANG-LOVES-LI",), items="343.13", created=DAY),
        make_order("zhang", "3", coupons=("WANG-TOYS",), created=DAY),
        make_order("zhao", "4", coupons=("ZHANG-PHOTO",), created=DAY),
        make_order("wang", "5", coupons=("LI-FRIENDS",), items="200.00", created=DAY),
    ]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = open_database(url)
    book_orders(engine, load_agreement(EXAMPLE), orders(), now=DAY + timedelta(hours=1))
    engine.dispose()
    return url


@pytest.fixture
def cli(database: str):
    env = {
        "ALLIANCE_DATABASE_URL": database,
        "ALLIANCE_SECRET": SECRET,
        "ALLIANCE_CONFIG": str(EXAMPLE),
        "ALLIANCE_ACTOR": "bookkeeper@rpa",
    }

    def run(*args: str, **extra_env: str):
        return CliRunner().invoke(main, list(args), env={**env, **extra_env})

    return run


def table_rows(database: str) -> dict[str, int]:
    engine = open_database(database)
    try:
        with engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar()
                for name in (*APPEND_ONLY, "periods")
            }
    finally:
        engine.dispose()


def statement_json(cli, member: str = "li") -> dict:
    result = cli("statement", "-m", member, "-p", PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_settle_prints_the_transfers_and_settling_again_prints_the_same(cli, database):
    first = cli("settle", "--period", PERIOD, "--format", "json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["period"] == PERIOD and data["currency"] == "CNY"
    assert [(t["from"], t["to"], t["amount"]) for t in data["transfers"]] == [
        ("wang", "li", "94.39"),
        ("zhang", "wang", "15.00"),
    ]
    assert all(t["id"].startswith(PERIOD + "-") for t in data["transfers"])
    assert data["swap_balances"] == [
        {"owed_by": "zhao", "owed_to": "zhang", "brought_forward": "0", "this_period": "1",
         "carried_forward": "1"}
    ]  # fmt: skip
    assert data["held"] == []
    written = table_rows(database)

    again = cli("settle", "--period", PERIOD, "--format", "json")
    assert again.exit_code == 0
    assert again.stdout == first.stdout  # the same transfers, the same ids, the same text
    assert f"{PERIOD} was settled on" in again.stderr and "nothing changed" in again.stderr
    assert table_rows(database) == written
    table = cli("settle", "--period", PERIOD)
    assert "Transfers (2):" in table.stdout and "zhao owes zhang 1 credit" in table.stdout


@pytest.mark.parametrize("bad", ["2026-13", "11-2026", "2026-1", "last month"])
def test_an_unknown_period_format_is_a_usage_error(cli, database, bad):
    result = cli("settle", "--period", bad)
    assert result.exit_code == 2
    assert "is not YYYY-MM, e.g. 2026-12" in result.output
    assert set(table_rows(database).values()) == {0}


def test_a_future_or_unfinished_month_is_refused_and_nothing_changes(cli, database):
    current = period_of(NOW, TZ)
    future = next_period(next_period(current))
    result = cli("settle", "--period", future)
    assert result.exit_code == 1 and f"error: {future} is in the future" in result.output
    result = cli("settle", "--period", current)
    assert result.exit_code == 1 and f"error: {current} is not over yet" in result.output
    assert set(table_rows(database).values()) == {0}


def test_a_month_without_entries_settles_to_no_transfers(cli):
    result = cli("settle", "--period", "2020-01", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["transfers"] == []
    assert "2020-01 had no ledger entries: settled with no transfers." in result.stderr
    assert "No transfers: nobody owes anybody" in cli("settle", "-p", "2020-01").stdout


def test_pending_lines_refuse_to_settle_unless_forced(cli, database, tmp_path):
    patient = tmp_path / "alliance.toml"
    patient.write_text(
        EXAMPLE.read_text().replace("holdback_days = 14", "holdback_days = 365"), encoding="utf-8"
    )
    result = cli("settle", "--period", PERIOD, ALLIANCE_CONFIG=str(patient))
    assert result.exit_code == 1
    until = (DAY + timedelta(days=365)).astimezone(period_start(PERIOD, TZ).tzinfo)
    assert f"error: {PERIOD} has 5 line(s) still pending" in result.output
    assert f"until {until:%Y-%m-%d %H:%M} {TZ}" in result.output and "--force" in result.output
    assert set(table_rows(database).values()) == {0}  # not even closed
    forced = cli("settle", "--period", PERIOD, "--force", ALLIANCE_CONFIG=str(patient))
    assert forced.exit_code == 0, forced.output
    assert "settled with --force" in forced.stdout
    audit = json.loads(cli("audit", "--format", "json").stdout)
    assert audit[0]["details"]["forced"] == "yes"
    assert audit[0]["command"] == f"alliance settle --period {PERIOD} --force"


def test_transfers_show_what_is_due_overdue_and_paid_and_a_payment_is_recorded_once(cli, database):
    data = json.loads(cli("settle", "--period", PERIOD, "--format", "json").stdout)
    first, second = (t["id"] for t in data["transfers"])
    listed = cli("transfers", "--format", "json")
    due = json.loads(listed.stdout)["transfers"][0]["due_on"]
    later = (datetime.fromisoformat(due) + timedelta(days=5)).strftime("%Y-%m-%d")
    overdue = cli("transfers", "--as-of", later)
    assert overdue.exit_code == 0
    assert overdue.stdout.count("OVERDUE by 5 days") == 2
    assert "2 transfer(s) overdue (109.39 CNY)" in overdue.stdout

    paid = cli("transfers", "paid", first, "--reference", "ICBC 4471")
    assert paid.exit_code == 0, paid.output
    assert f"{first}: wang paid li 94.39 CNY" in paid.stdout
    recorded = table_rows(database)
    twice = cli("transfers", "paid", first, "--reference", "again")
    assert twice.exit_code == 1
    assert f"error: transfer {first} (wang to li) was paid already" in twice.output
    assert "bookkeeper@rpa" in twice.output and "'ICBC 4471'" in twice.output
    unknown = cli("transfers", "paid", "2026-11-00000000", "--reference", "x")
    assert unknown.exit_code == 1 and "there is no transfer '2026-11-00000000'" in unknown.output
    empty = cli("transfers", "paid", second, "--reference", "   ")
    assert empty.exit_code == 1 and "the reference is empty" in empty.output
    assert table_rows(database) == recorded  # none of the three changed anything

    state = {
        t["id"]: t for t in json.loads(cli("transfers", "--format", "json").stdout)["transfers"]
    }
    assert (state[first]["status"], state[first]["reference"]) == ("paid", "ICBC 4471")
    assert state[second]["status"] in ("open", "overdue")
    only_zhang = cli("transfers", "--member", "zhang", "--period", PERIOD).stdout
    assert second in only_zhang and first not in only_zhang
    assert cli("transfers", "--member", "chen").exit_code == 2
    audit = json.loads(cli("audit", "--format", "json").stdout)
    assert [e["action"] for e in audit] == ["settled", "transfer paid"]
    assert audit[1]["command"] == f"alliance transfers paid {first} --reference 'ICBC 4471'"
    assert audit[1]["actor"] == "bookkeeper@rpa"


def test_a_disputed_line_is_held_listed_in_the_settlement_and_resolved_once(cli, database):
    lines = {ln["order"]: ln for ln in statement_json(cli)["lines"]}
    entry = lines["wang#5"]["entry"]
    assert lines["wang#5"]["terms"] == "10%" and lines["wang#5"]["agreement_version"]
    unknown = cli("dispute", "open", "0" * 24, "--reason", "?")
    assert unknown.exit_code == 1 and "there is no ledger entry" in unknown.output
    opened = cli("dispute", "open", entry, "--reason", "our own newsletter sent them")
    assert opened.exit_code == 0, opened.output
    dispute = opened.stdout.split()[1]
    assert dispute.startswith("d-") and "held out of settlement" in opened.stdout
    again = cli("dispute", "open", entry, "--reason", "twice")
    assert again.exit_code == 1 and f"disputed already: dispute {dispute}" in again.output
    assert lines and statement_json(cli)["totals"]["net"] == "74.39"

    settled = json.loads(cli("settle", "--period", PERIOD, "--format", "json").stdout)
    wang_li = settled["transfers"][0]
    assert (wang_li["from"], wang_li["to"], wang_li["amount"]) == ("wang", "li", "74.39")
    (held,) = settled["held"]
    assert (held["entry"], held["dispute"], held["order"], held["amount"]) == (
        entry, dispute, "wang#5", "20.00",
    )  # fmt: skip
    assert "Held out of this settlement by disputes (1):" in cli("settle", "-p", PERIOD).stdout
    assert dispute in cli("dispute", "--member", "li").stdout

    no_choice = cli("dispute", "resolve", dispute, "--note", "hm")
    assert no_choice.exit_code == 2 and "--accept" in no_choice.output
    resolved = cli("dispute", "resolve", dispute, "--reject", "--note", "the coupon was li's")
    assert resolved.exit_code == 0 and "rejected: the line stands" in resolved.stdout
    recorded = table_rows(database)
    twice = cli("dispute", "resolve", dispute, "--accept", "--note", "changed my mind")
    assert twice.exit_code == 1 and f"dispute {dispute} was resolved already: rejected" in (
        twice.output
    )
    missing = cli("dispute", "resolve", "d-0000000000", "--accept", "--note", "x")
    assert missing.exit_code == 1 and "there is no dispute 'd-0000000000'" in missing.output
    assert table_rows(database) == recorded  # resolving twice, or nothing, changed nothing
    audit = json.loads(cli("audit", "--format", "json").stdout)
    assert [e["action"] for e in audit] == ["dispute opened", "settled", "dispute resolved"]
    said = ["alliance", "dispute", "resolve", dispute, "--reject", "--note", "the coupon was li's"]
    assert audit[2]["command"] == shlex.join(said)  # as a shell would take it back
    assert "dispute resolved" in cli("audit").stdout
    assert cli("audit", "--since", "2999-01-01").stdout.startswith("The audit log is empty")


def test_a_statement_as_html_cites_every_line_and_the_transfers_that_settle_it(cli):
    cli("settle", "--period", PERIOD)
    result = cli("statement", "-m", "li", "-p", PERIOD, "--format", "html")
    assert result.exit_code == 0, result.output
    html = result.stdout
    assert html.startswith("<!DOCTYPE html>") and "@page" in html and "size: A4" in html
    assert "Refined Parenting Alliance" in html and "Li&#39;s Organic Baby Clothes" in html
    for cited in ("wang#1", ">10%<", ">8%<", "li-wang", "wang-li", "1018.40", "101.84", "-27.45"):
        assert cited in html
    assert "net: you receive 94.39 CNY" in html
    assert "Transfers that settle the period" in html and PERIOD + "-" in html
    assert "@example" not in html and "k" * 64 not in html  # no customer data, no customer key
    zhang = cli("statement", "-m", "zhang", "-p", PERIOD, "--format", "html").stdout
    (credit,) = [row for row in zhang.split("\n") if "zhao#4" in row]
    assert ">1 credit per order<" in credit and '<td class="num">1</td>' in credit
    assert "Carried forward: zhao owes zhang 1 credit(s)" in zhang


def test_a_statement_as_pdf_has_its_lines_and_csv_opens_in_a_spreadsheet(cli, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run scripts/system-deps.sh (poppler-utils)")
    cli("settle", "--period", PERIOD)
    target = tmp_path / "li.pdf"
    result = cli("statement", "-m", "li", "-p", PERIOD, "--format", "pdf", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    for cited in ("Refined Parenting Alliance", "Li's Organic Baby Clothes", "wang#1", "li#2",
                  "1018.40", "101.84", "-27.45", "approved", "94.39", "page 1 of 1"):  # fmt: skip
        assert cited in text, cited
    piped = cli("statement", "-m", "li", "-p", PERIOD, "--format", "pdf")
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"%PDF-")

    spreadsheet = cli("statement", "-m", "li", "-p", PERIOD, "--format", "csv").stdout
    assert spreadsheet.startswith("\ufeffdate,order,deal,")  # UTF-8 with a BOM, one header
    assert spreadsheet.count("\ufeff") == 1 and ",-27.45," in spreadsheet


def test_closing_a_period_by_hand_still_lets_it_settle(cli, database):
    assert cli("close-period", PERIOD, "--yes").exit_code == 0
    result = cli("settle", "--period", PERIOD, "--format", "json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["transfers"]) == 2
    engine = open_database(database)
    with engine.connect() as conn:
        assert list(conn.execute(select(periods.c.period)).scalars()) == [PERIOD]
    engine.dispose()
