"""Every CLI command, through click's runner: outputs and exit statuses."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from connector.fixtures.orders import woo_order
from tests.conftest import EXAMPLE, SECRET

PAID = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


@pytest.fixture
def cli(tmp_path: Path):
    """Run ``alliance`` against the example agreement and a fresh SQLite file."""
    env = {
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ALLIANCE_SECRET": SECRET,
        "ALLIANCE_CONFIG": str(EXAMPLE),
    }

    def run(*args: str, input_: str | None = None, **extra_env: str | None):
        return CliRunner().invoke(
            main, list(args), input=input_, env={**env, **extra_env}, catch_exceptions=False
        )

    return run


def write_orders(path: Path, orders: list) -> Path:
    path.write_text(json.dumps(orders), encoding="utf-8")
    return path


def referred_wang_orders() -> list[dict]:
    return [
        woo_order(
            11,
            created=PAID,
            lines=[(201, "Baby wash", 2, Decimal("50.00"))],
            coupons=[("LI-FRIENDS", Decimal("0"))],
            shipping=Decimal("8.00"),
        ),
        woo_order(12, created=PAID, lines=[(202, "Massage oil", 1, Decimal("88.00"))]),
    ]


def test_check_prints_a_summary_with_the_version_and_exits_zero(cli):
    result = cli("check", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "Refined Parenting Alliance" in result.output
    assert "li-wang" in result.output and "newborn-gift-pack" in result.output
    assert "version" in result.output


def test_check_uses_the_configured_agreement_when_no_file_is_given(cli):
    assert cli("check").exit_code == 0


def test_check_reports_every_problem_with_file_and_line_and_exits_one(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    text = (
        EXAMPLE.read_text()
        .replace('rate = "10%"', 'rate = "110%"')
        .replace('currency = "CNY"', 'currency = "XYZ"')
    )
    bad.write_text(text)
    result = cli("check", str(bad))
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.startswith(str(bad))]
    assert len(lines) == 2
    assert any(
        ":alliance.currency:" in ln.replace(" ", "") or "alliance.currency" in ln for ln in lines
    )
    assert any("deals[0].rate" in ln and "110%" in ln for ln in lines)


@pytest.mark.parametrize(
    ("old", "new", "line", "key"),
    [
        ('amount = "15.00"', f'amount = "{"9" * 27}.00"', 74, "deals[2].amount"),
        ('name = "Li\'s Organic Baby Clothes"', 'name = "Li\\u202e"', 17, "members.li.name"),
        (
            'credentials_env = "WANG_WC"',
            'credentials_env = "LI_WC"',
            29,
            "members.wang.credentials_env",
        ),
        ('url = "https://wang.example"', 'url = "https://LI.example/"', 28, "members.wang.url"),
        ('rate = "10%"', 'rate = "10.00001%"', 56, "deals[0].rate"),
    ],
    ids=["27 digits", "bidi override", "shared keys", "shared store", "fine rate"],
)
def test_check_reports_what_is_surely_a_mistake_as_file_line_key(
    cli, tmp_path, old, new, line, key
):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace(old, new))
    result = cli("check", str(bad))
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:{line}: {key}: ")
    assert "1 problem(s) in the agreement." in result.output


def test_check_reports_a_header_nested_a_thousand_deep_on_its_line(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    text = EXAMPLE.read_text() + "\n[" + ".".join(["deep"] * 1000) + "]\n"
    bad.write_text(text)
    result = cli("check", str(bad))
    assert result.exit_code == 1
    line = text.count("\n")  # the header is the last line
    assert f"{bad}:{line}: deep.deep.deep...: is nested 1000 levels deep" in result.output


def test_check_of_a_missing_file_exits_one_with_a_message(cli, tmp_path):
    result = cli("check", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert "nope.toml" in result.output


def test_init_writes_a_starter_agreement_that_passes_check(cli, tmp_path):
    result = cli("init", str(tmp_path / "new"))
    assert result.exit_code == 0
    assert cli("check", str(tmp_path / "new" / "alliance.toml")).exit_code == 0
    again = cli("init", str(tmp_path / "new"))
    assert again.exit_code == 1 and "already exists" in again.output


def test_import_orders_books_referred_orders_and_reimport_books_nothing(cli, tmp_path):
    path = write_orders(tmp_path / "wang.json", referred_wang_orders())
    first = cli("import-orders", "--member", "wang", str(path))
    assert first.exit_code == 0, first.output
    assert "2 order(s) read" in first.output and "1 attributed" in first.output
    second = cli("import-orders", "--member", "wang", str(path))
    assert second.exit_code == 0
    assert "0 booked as new revisions, 2 unchanged" in second.output
    statement = json.loads(cli("statement", "-m", "li", "-p", "2026-12", "--format", "json").output)
    assert [(ln["order"], ln["deal"], ln["base"], ln["amount"]) for ln in statement["lines"]] == [
        ("wang#11", "li-wang", "100.00", "10.00")
    ]


def test_import_rejects_bad_orders_by_name_and_still_imports_the_rest(cli, tmp_path):
    bad_total = woo_order(13, created=PAID)
    bad_total["total"] = "12,50"
    unknown_status = woo_order(14, created=PAID)
    unknown_status["status"] = "shipped-by-pigeon"
    path = write_orders(
        tmp_path / "wang.json", [*referred_wang_orders(), bad_total, unknown_status]
    )
    result = cli("import-orders", "--member", "wang", str(path))
    assert result.exit_code == 1
    assert "2 order(s) rejected" in result.output
    assert "#13" in result.output and "total" in result.output and '"99,99"' in result.output
    assert "#14" in result.output and "status" in result.output
    statement = json.loads(
        cli("statement", "-m", "wang", "-p", "2026-12", "--format", "json").output
    )
    assert statement["totals"] == {"earned": "0.00", "owed": "10.00", "net": "-10.00"}


def test_import_of_a_file_that_is_not_json_names_the_file(cli, tmp_path):
    path = tmp_path / "orders.json"
    path.write_text("<html>Site under maintenance</html>")
    result = cli("import-orders", "--member", "wang", str(path))
    assert result.exit_code == 1 and "orders.json" in result.output


def test_import_needs_the_alliance_secret_and_says_how_to_set_it(cli, tmp_path):
    path = write_orders(tmp_path / "wang.json", referred_wang_orders())
    missing = cli("import-orders", "--member", "wang", str(path), ALLIANCE_SECRET=None)
    assert missing.exit_code == 1 and "ALLIANCE_SECRET is not set" in missing.output
    short = cli("import-orders", "--member", "wang", str(path), ALLIANCE_SECRET="hunter2")
    assert short.exit_code == 1 and "too short" in short.output and "hunter2" not in short.output


def test_import_for_an_unknown_member_lists_the_members(cli, tmp_path):
    path = write_orders(tmp_path / "x.json", referred_wang_orders())
    result = cli("import-orders", "--member", "chen", str(path))
    assert result.exit_code == 1 and "li, wang, zhang, zhao" in result.output


def _forty_six_orders_and_one_odd(where: str, value: object) -> list[dict]:
    orders = [woo_order(100 + n, created=PAID) for n in range(46)]
    odd = woo_order(13, created=PAID)
    if where == "id":
        odd["id"] = value
    else:
        odd["line_items"][0][where] = value
    return [*orders[:20], odd, *orders[20:]]


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("id", 1180591620717411303424, "id"),
        ("quantity", 10**20, "line_items[0].quantity"),
        ("name", "Baby \ud800 wash", "line_items[0].name"),
    ],
    ids=["70-bit id", "67-bit quantity", "lone surrogate"],
)
def test_import_rejects_an_order_json_cannot_carry_and_books_the_others(
    cli, tmp_path, where, value, field
):
    path = write_orders(tmp_path / "wang.json", _forty_six_orders_and_one_odd(where, value))
    result = cli("import-orders", "--member", "wang", str(path))
    assert result.exit_code == 1
    assert "47 order(s) read for wang: 46 booked" in result.output
    assert "1 order(s) rejected (the others were imported)" in result.output
    assert f"#13 {'' if where == 'id' else '(id 13)'}".strip() in result.output
    assert f": {field}: " in result.output
    assert str(value) not in result.output and "\ud800" not in result.output


def test_import_rejects_an_order_dated_in_2099_and_says_to_check_the_store_clock(cli, tmp_path):
    future = woo_order(13, created=datetime(2099, 1, 1, tzinfo=UTC))
    path = write_orders(tmp_path / "wang.json", [*referred_wang_orders(), future])
    result = cli("import-orders", "--member", "wang", str(path))
    assert result.exit_code == 1
    assert "3 order(s) read for wang: 2 booked" in result.output
    assert "#13 (id 13): date_created_gmt: " in result.output
    assert "in the future" in result.output and "clock" in result.output


def test_statement_json_has_the_documented_shape_with_money_as_strings(cli, tmp_path):
    cli(
        "import-orders",
        "--member",
        "wang",
        str(write_orders(tmp_path / "w.json", referred_wang_orders())),
    )
    data = json.loads(
        cli(
            "statement",
            "--member",
            "wang",
            "--period",
            "2026-12",
            "--format",
            "json",
            "--as-of",
            "2027-01-31",
        ).output
    )
    assert set(data) >= {"member", "period", "lines", "totals"}
    (line,) = data["lines"]
    assert set(line) >= {"date", "order", "deal", "base", "amount", "status"}
    assert (line["amount"], line["status"], line["date"]) == ("-10.00", "approved", "2026-12-03")
    assert data["swap_credits"] == {"lines": [], "received": "0", "given": "0"}


def test_statement_csv_and_table_show_the_same_line(cli, tmp_path):
    cli(
        "import-orders",
        "--member",
        "wang",
        str(write_orders(tmp_path / "w.json", referred_wang_orders())),
    )
    rows = list(
        csv.DictReader(
            io.StringIO(cli("statement", "-m", "li", "-p", "2026-12", "--format", "csv").output)
        )
    )
    assert [(r["order"], r["amount"], r["status"]) for r in rows] == [
        ("wang#11", "10.00", "pending")
    ]
    table = cli("statement", "-m", "li", "-p", "2026-12", "--as-of", "2026-12-04").output
    assert "wang#11" in table and "pending until 2026-12-17" in table  # 14 days' holdback
    assert "you receive 10.00   you pay 0.00   net: you receive 10.00 CNY" in table
    assert (  # nothing is approved yet: nothing is payable
        "payable now (pending lines left out): you receive 0.00   you pay 0.00   "
        "net: nothing either way (0.00) CNY"
    ) in table
    later = cli("statement", "-m", "li", "-p", "2026-12", "--as-of", "2026-12-18").output
    assert "payable now (pending lines left out): you receive 10.00" in later
    assert "approved" in later and "pending until" not in later


def test_statement_shows_a_partial_refund_as_the_change_it_made(cli, tmp_path):
    orders = referred_wang_orders()  # wang#11: items 100.00 + shipping 8.00, li's coupon
    cli("import-orders", "--member", "wang", str(write_orders(tmp_path / "w.json", orders)))
    partly = woo_order(
        11,
        created=PAID,
        modified=PAID + timedelta(hours=1),
        lines=[(201, "Baby wash", 2, Decimal("50.00"))],
        coupons=[("LI-FRIENDS", Decimal("0"))],
        shipping=Decimal("8.00"),
        refunds=[Decimal("21.60")],  # 20% of the total of 108.00
    )
    cli("import-orders", "--member", "wang", str(write_orders(tmp_path / "w2.json", [partly])))
    data = json.loads(
        cli(
            "statement", "-m", "li", "-p", "2026-12", "--format", "json", "--as-of", "2026-12-04"
        ).output
    )
    assert [
        (ln["kind"], ln["reason"], ln["base"], ln["base_after"], ln["amount"], ln["status"])
        for ln in data["lines"]
    ] == [
        ("accrual", "sale", "100.00", "100.00", "10.00", "pending"),
        ("reversal", "partial refund", "-20.00", "80.00", "-2.00", "pending"),
    ]
    table = cli("statement", "-m", "li", "-p", "2026-12", "--as-of", "2026-12-04").output
    assert re.search(r"partial refund\s+-20\.00\s+-2\.00\s+pending until 2026-12-17", table)
    assert "reversal" not in table
    assert "net: you receive 8.00 CNY" in table


def test_statement_rejects_a_bad_period_as_a_usage_error(cli):
    result = cli("statement", "-m", "li", "-p", "December")
    assert result.exit_code == 2 and "YYYY-MM" in result.output


def test_balances_show_what_each_member_owes_before_netting(cli, tmp_path):
    cli(
        "import-orders",
        "--member",
        "wang",
        str(write_orders(tmp_path / "w.json", referred_wang_orders())),
    )
    li_order = woo_order(
        21,
        created=PAID,
        lines=[(101, "Bodysuit", 1, Decimal("200.00"))],
        coupons=[("WANG-LOVES-LI", Decimal("0"))],
    )
    cli("import-orders", "--member", "li", str(write_orders(tmp_path / "l.json", [li_order])))
    data = json.loads(cli("balances", "--period", "2026-12", "--format", "json").output)
    assert data["balances"] == [
        {"payer": "li", "payee": "wang", "amount": "16.00"},
        {"payer": "wang", "payee": "li", "amount": "10.00"},
    ]
    table = cli("balances", "-p", "2026-12").output
    assert "wang    owes  li" in table and "10.00" in table


def test_hostile_strings_are_stored_and_printed_safely(cli, tmp_path):
    hostile = woo_order(
        31,
        created=PAID,
        number="<script>alert(1)</script>\x1b[2J",
        coupons=[("LI-FRIENDS", Decimal("0"))],
    )
    cli("import-orders", "--member", "wang", str(write_orders(tmp_path / "h.json", [hostile])))
    table = cli("statement", "-m", "li", "-p", "2026-12").output
    assert "\x1b" not in table
    assert "<script>alert(1)</script>" in table  # shown as text, not interpreted


def test_the_demo_prints_statements_for_all_four_members(cli, tmp_path):
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    for member in ("li", "wang", "zhang", "zhao"):
        assert f"Statement for {member}" in result.output
    assert "Balances for" in result.output and "Swap credits" in result.output
    assert "first round (a backfill" in result.output and "FAILED" not in result.output
    assert "read/write" in result.output  # alliance members: every store reachable
    assert (tmp_path / "demo" / "alliance.db").exists()


def test_version_and_help_work(cli):
    assert cli("--version").exit_code == 0
    result = cli("--help")
    for command in (
        "init",
        "check",
        "import-orders",
        "statement",
        "balances",
        "close-period",
        "demo",
    ):
        assert command in result.output
