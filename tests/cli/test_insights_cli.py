"""``alliance profile | overlap | prospect | simulate`` and the k floor of ``alliance check``,
through click's runner on a real SQLite file, with WooCommerce orders imported as a shop would."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from alliance.privacy import customer_key
from connector.fixtures.orders import PERSONAL_STRINGS, distinctive_customer, woo_order
from tests.conftest import EXAMPLE, SECRET

OCT = datetime(2026, 10, 12, 3, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 12, 3, 0, tzinfo=UTC)  # both before "now": no future dates


@pytest.fixture
def cli(tmp_path: Path):
    env = {
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'cli.db'}",
        "ALLIANCE_SECRET": SECRET,
        "ALLIANCE_CONFIG": str(EXAMPLE),
    }
    (tmp_path / "data").mkdir()

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def orders_of(first_id: int, tags: list[str], when: datetime, product: int, coupon: str = ""):
    return [
        woo_order(
            first_id + n,
            status="completed",
            created=when + timedelta(minutes=n),
            lines=[(product, "Thing", 1, Decimal("120.00"))],
            coupons=[(coupon, Decimal("0"))] if coupon else [],
            customer=distinctive_customer(tag),
        )
        for n, tag in enumerate(tags)
    ]


def people(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}Zq" for n in range(count)]


@pytest.fixture
def alliance_with_shared_customers(cli, tmp_path):
    """Li sells to 30 people in October; 20 of them buy at Wang in November (half with Li's
    coupon) and 12 at Zhang."""
    li, wang, zhang = people("P", 30), people("P", 20), people("P", 30)[18:30]
    for member, batch in (
        ("li", orders_of(1000, li, OCT, 101)),
        (
            "wang",
            orders_of(2000, wang[:10], NOV, 201, "LI-FRIENDS")
            + orders_of(2100, wang[10:], NOV, 201),
        ),
        ("zhang", orders_of(3000, zhang, NOV, 301)),
    ):
        path = tmp_path / f"{member}.json"
        path.write_text(json.dumps(batch))
        result = cli("import-orders", "--member", member, str(path))
        assert result.exit_code == 0, result.output
    return li


def personal(tags: list[str]) -> list[str]:
    found = []
    for tag in tags:
        customer = distinctive_customer(tag)
        found += [customer[field] for field in PERSONAL_STRINGS]
        found.append(customer_key(SECRET.encode(), customer["email"]))
    return found


def assert_private(output: str, tags: list[str]) -> None:
    leaks = [s for s in personal(tags) if s in output]
    assert not leaks, f"personal data or customer keys printed: {leaks[:3]}"


def test_profile_prints_suppressed_tables_and_json(cli, alliance_with_shared_customers):
    table = cli("profile", "li", "--months", "2", "--to", "2026-11")
    assert table.exit_code == 0, table.output
    assert "Region (country-state)" in table.output and "CN-CN10" in table.output
    document = json.loads(cli("profile", "li", "--months", "2", "--format", "json").output)
    assert document["months"] == ["2026-10", "2026-11"]
    assert document["dimensions"]["new_or_returning"]["2026-10"]["cells"] == {"new": 30}
    assert document["dimensions"]["region"]["2026-11"]["total"] == 0
    one = json.loads(cli("profile", "li", "--period", "2026-10", "--format", "json").output)
    assert one["months"] == ["2026-10"]
    assert_private(table.output, alliance_with_shared_customers)


def test_profile_of_an_unknown_member_names_the_members(cli):
    result = cli("profile", "nobody")
    assert result.exit_code == 1 and "members are: li, wang, zhang, zhao" in result.output


def test_overlap_ranks_partners_without_a_deal(cli, alliance_with_shared_customers):
    result = cli("overlap", "--member", "li", "--months", "2")
    assert result.exit_code == 0, result.output
    assert "Best fit for li among partners without a deal: zhang" in result.output
    document = json.loads(cli("overlap", "--months", "2", "--format", "json").output)
    pairs = {(p["a"], p["b"]): p for p in document["pairs"]}
    assert pairs["li", "wang"]["shared"] == 20 and pairs["li", "zhang"]["shared"] == 12
    assert pairs["wang", "zhang"]["shared"] == "under_k"  # people 18 and 19 only
    assert_private(result.output + json.dumps(document), alliance_with_shared_customers)


def test_prospect_is_compared_in_memory_and_nothing_of_it_is_stored(
    cli, alliance_with_shared_customers, tmp_path
):
    theirs = people("P", 15) + people("Q", 6)  # 15 of Li's customers and 6 of its own
    export = tmp_path / "export" / "sun-orders.json"
    export.parent.mkdir()
    export.write_text(json.dumps(orders_of(1, theirs, NOV, 7)))
    cli("overlap")  # the database as it is before any prospect, WAL checkpointed or not

    def disk() -> bytes:
        return b"".join(
            path.read_bytes()
            for path in sorted(tmp_path.rglob("*"))
            if path.is_file() and path.suffix != ".json"  # the shops' own exports
        )

    secrets = [s.encode() for s in personal(people("Q", 6))]  # only the prospect knows these
    secrets += [s.encode() for s in personal(people("P", 15)) if "@" in s or "-first" in s]
    before = disk()
    assert not [s for s in secrets if s in before]
    result = cli(
        "prospect", "--name", "sun", "--orders", str(export), "--category", "baby-food",
        "--months", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sun" in result.output and "Best fit for sun" in result.output
    document = json.loads(
        cli("prospect", "--name", "sun", "--orders", str(export), "--format", "json").output
    )
    pairs = {(p["a"], p["b"]): p for p in document["pairs"]}
    assert pairs["li", "sun"]["shared"] == 15
    assert document["customers"]["sun"] == 21
    after = disk()
    assert not [s for s in secrets if s in after], "the prospect's customers reached the disk"
    assert_private(result.output, theirs)


def test_a_prospect_with_too_few_customers_is_refused(
    cli, alliance_with_shared_customers, tmp_path
):
    export = tmp_path / "tiny.json"
    export.write_text(json.dumps(orders_of(1, people("Q", 3), NOV, 7)))
    result = cli("prospect", "--name", "sun", "--orders", str(export))
    assert result.exit_code == 1
    assert "needs at least 10" in result.output and "export more months" in result.output


def test_a_member_cannot_be_its_own_prospect(cli, alliance_with_shared_customers, tmp_path):
    export = tmp_path / "li.json"
    export.write_text(json.dumps(orders_of(1, people("Q", 12), NOV, 7)))
    result = cli("prospect", "--name", "li", "--orders", str(export))
    assert result.exit_code == 1 and "already a member" in result.output


def test_simulate_prints_the_agreed_json_and_changes_nothing(
    cli, alliance_with_shared_customers, tmp_path
):
    proposed = tmp_path / "proposed.toml"
    proposed.write_text(EXAMPLE.read_text().replace('rate = "10%"', 'rate = "12%"', 1))
    statement_before = cli("statement", "--member", "li", "--period", "2026-11").output
    result = cli(
        "simulate", "--agreement", str(proposed), "--from", "2026-10", "--to", "2026-11",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["members"]["li"] == {
        "actual": {"earned": "120.00", "owed": "0.00"},
        "simulated": {"earned": "144.00", "owed": "0.00"},
    }
    assert document["members"]["wang"]["simulated"] == {"earned": "0.00", "owed": "144.00"}
    table = cli("simulate", "--agreement", str(proposed), "--from", "2026-11", "--to", "2026-11")
    assert "li-wang" in table.output and "24.00" in table.output
    assert_private(result.output + table.output, people("P", 30))
    assert cli("statement", "--member", "li", "--period", "2026-11").output == statement_before


def test_simulate_refuses_a_month_that_is_not_one(cli, tmp_path):
    result = cli("simulate", "--agreement", str(EXAMPLE), "--from", "2026-13", "--to", "2026-11")
    assert result.exit_code == 2 and "YYYY-MM" in result.output


@pytest.mark.parametrize("k", [1, 4])
def test_check_refuses_a_min_group_size_below_5(cli, tmp_path, k):
    bad = tmp_path / "small-k.toml"
    bad.write_text(EXAMPLE.read_text().replace("min_group_size = 10", f"min_group_size = {k}"))
    result = cli("check", str(bad))
    assert result.exit_code == 1
    assert f"min_group_size is {k}; write a whole number between 5 and 1000" in result.output


def test_check_accepts_a_min_group_size_of_5(cli, tmp_path):
    ok = tmp_path / "k5.toml"
    ok.write_text(EXAMPLE.read_text().replace("min_group_size = 10", "min_group_size = 5"))
    assert cli("check", str(ok)).exit_code == 0


def test_the_demo_ends_with_lis_best_fit_partner_and_a_what_if(tmp_path, monkeypatch):
    """``alliance demo``'s shops share customers, so overlap is not zero: Li's best fit without
    a deal is Zhang, and li-wang at 12% earns Li more than at 10%. Nothing personal printed."""
    from alliance.cli.demo import run_demo

    monkeypatch.delenv("ALLIANCE_SECRET", raising=False)
    printed: list[str] = []
    run_demo(tmp_path / "demo", echo=printed.append, now=datetime(2026, 12, 7, 4, 0, tzinfo=UTC))
    output = "\n".join(printed)
    best = re.search(r"li's best-fit partner without a deal is (\w+): (.+?) customers in", output)
    assert best and best.group(1) == "zhang" and best.group(2) not in ("0", "< 10")
    what_if = re.search(
        r"li-wang at 12% instead of 10%.*\n  li would have earned ([\d.]+) CNY instead of "
        r"([\d.]+) \(([\d.]+) more\)",
        output,
    )
    assert what_if, output[-1500:]
    simulated, actual, more = (Decimal(g) for g in what_if.groups())
    assert actual > 0 and simulated == actual + more and more > 0
    assert "@example.com" not in output  # no customer's email, in the demo either


def test_prospect_reads_a_store_with_its_keys_and_stores_nothing(
    cli, alliance_with_shared_customers, tmp_path, monkeypatch
):
    from connector.sandbox.server import start_sandbox

    theirs = people("P", 12) + people("R", 3)
    with start_sandbox(orders=orders_of(1, theirs, NOV, 7)) as handle:
        monkeypatch.setenv("SUN_WC_KEY", handle.key.consumer_key)
        monkeypatch.setenv("SUN_WC_SECRET", handle.key.consumer_secret)
        result = cli(
            "prospect", "--name", "sun", "--store", handle.url, "--credentials-env", "SUN_WC",
            "--format", "json",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["customers"]["sun"] == 15
    assert {(p["a"], p["b"]): p["shared"] for p in document["pairs"]}["li", "sun"] == 12
    database = b"".join(p.read_bytes() for p in sorted((tmp_path / "data").iterdir()))
    assert not [s for s in personal(people("R", 3)) if s.encode() in database]


def test_prospect_needs_exactly_one_source_and_says_which_keys_to_set(cli, tmp_path):
    neither = cli("prospect", "--name", "sun")
    assert neither.exit_code == 1 and "--orders export.json or --store URL" in neither.output
    keyless = cli("prospect", "--name", "sun", "--store", "https://sun.example")
    assert keyless.exit_code == 1 and "set PROSPECT_WC_KEY and PROSPECT_WC_SECRET" in keyless.output
