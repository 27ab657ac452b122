"""``alliance sync``, ``alliance members`` and ``alliance quarantine`` against sandbox stores."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from connector.sandbox.auth import generate_key
from connector.sandbox.server import start_sandbox
from tests.conftest import EXAMPLE, SECRET
from tests.factories import shop_orders

BASE = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
ALLIANCE = Path(sys.executable).with_name("alliance")


@pytest.fixture
def alliance(tmp_path: Path):
    """The example alliance with li, wang and zhao on sandbox stores; zhang has no keys set."""
    broken = shop_orders(3001, 5, "LI-FRIENDS", BASE)
    broken[2]["date_created_gmt"] = "yesterday-ish"
    with (
        start_sandbox(orders=shop_orders(1001, 40, "WANG-LOVES-LI", BASE)) as li,
        start_sandbox(orders=shop_orders(2001, 120, "LI-FRIENDS", BASE) + broken) as wang,
        start_sandbox(orders=shop_orders(4001, 3, "ZHANG-PHOTO", BASE)) as zhao,
    ):
        text = EXAMPLE.read_text(encoding="utf-8")
        for member, handle in (("li", li), ("wang", wang), ("zhao", zhao)):
            text = text.replace(f'url = "https://{member}.example"', f'url = "{handle.url}"')
        config = tmp_path / "alliance.toml"
        config.write_text(text, encoding="utf-8")
        env = {
            "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "ALLIANCE_SECRET": SECRET,
            "ALLIANCE_CONFIG": str(config),
            "LI_WC_KEY": li.key.consumer_key,
            "LI_WC_SECRET": li.key.consumer_secret,
            "WANG_WC_KEY": wang.key.consumer_key,
            "WANG_WC_SECRET": wang.key.consumer_secret,
            "ZHAO_WC_KEY": zhao.key.consumer_key,
            "ZHAO_WC_SECRET": generate_key().consumer_secret,  # the wrong secret
            "ZHANG_WC_KEY": "",
            "ZHANG_WC_SECRET": "",
        }

        def run(*args: str, **extra: str):
            return CliRunner().invoke(main, list(args), env={**env, **extra})

        run.env = env  # type: ignore[attr-defined]
        yield run


def test_sync_books_every_reachable_store_and_names_the_failures(alliance) -> None:
    result = alliance("sync")
    assert result.exit_code == 1
    out = result.output
    assert "li: 40 order(s) fetched" in out
    assert "wang: 125 order(s) fetched" in out and "1 quarantined" in out
    assert "zhang: FAILED" in out and "set ZHANG_WC_KEY and ZHANG_WC_SECRET" in out
    assert "zhao: FAILED" in out and "HTTP 401" in out
    assert alliance.env["ZHAO_WC_SECRET"] not in out and alliance.env["LI_WC_SECRET"] not in out

    again = alliance("sync", "--member", "li", "--member", "wang")
    assert again.exit_code == 0, again.output
    assert "li: " in again.output and "0 new or changed" in again.output

    statement = json.loads(
        alliance("statement", "-m", "li", "-p", "2026-11", "--format", "json").output
    )
    assert Decimal(statement["totals"]["earned"]) > 0  # li earned on wang's referred sales


def test_members_shows_each_store_and_exits_nonzero_when_one_needs_attention(alliance) -> None:
    alliance("sync")
    result = alliance("members")
    assert result.exit_code == 1
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert lines["li"].split()[1:4] == ["ok", "reachable", "read/write"]
    assert "never" not in lines["li"]
    assert "invalid" in lines["zhao"] and "Invalid signature" in lines["zhao"]
    assert "ZHANG_WC_KEY" in lines["zhang"]
    report = json.loads(alliance("members", "--format", "json").output)
    wang = next(m for m in report if m["member"] == "wang")
    assert wang["quarantined"] == 1 and wang["orders_behind"] == 0 and wang["healthy"]
    assert wang["bookmark"] == "2026-11-10T03:59:00+00:00"  # its newest order
    stored_only = alliance("members", "--no-check")
    assert stored_only.exit_code == 0 and "not checked" in stored_only.output


def test_quarantine_lists_the_refused_order_with_its_reason(alliance) -> None:
    before = alliance("quarantine")  # no ledger yet: said, and none is created
    assert before.exit_code == 1 and "there is no ledger at" in before.output
    assert "`alliance sync` creates a new one" in before.output
    alliance("sync", "--member", "li")
    assert alliance("quarantine").output.strip() == "No orders in quarantine."
    alliance("sync", "--member", "wang")
    result = alliance("quarantine", "--member", "wang")
    assert "wang order 3003" in result.output and "date_created_gmt" in result.output
    assert "yesterday-ish" not in result.output  # bad values are described, never quoted


def test_sync_refuses_an_unknown_member(alliance) -> None:
    result = alliance("sync", "--member", "nobody")
    assert result.exit_code == 1
    assert "member 'nobody' is not in" in result.output and "li, wang, zhang, zhao" in result.output


def rows(output: str) -> dict[str, list[str]]:
    """The table of ``alliance members`` by member: its cells, split on two spaces or more."""
    import re

    return {line.split()[0]: re.split(r"\s{2,}", line.strip()) for line in output.splitlines()[2:]}


def test_members_says_no_key_is_configured_and_names_the_variables(alliance) -> None:
    result = alliance("members")
    zhang = rows(result.output)["zhang"]
    assert zhang[1:4] == ["failing", "not checked", "not configured"]
    assert "no key configured: set ZHANG_WC_KEY and ZHANG_WC_SECRET" in zhang[-1]
    assert "unreachable" not in " ".join(zhang)
    report = {m["member"]: m for m in json.loads(alliance("members", "--format", "json").output)}
    assert (report["zhang"]["status"], report["zhang"]["store"], report["zhang"]["key"]) == (
        "failing",
        "not checked",
        "not configured",
    )
    assert "ZHANG_WC_KEY and ZHANG_WC_SECRET" in report["zhang"]["problem"]
    assert not report["zhang"]["healthy"] and result.exit_code == 1


@pytest.fixture
def four(tmp_path: Path):
    """Every member on a sandbox store: li over HTTPS (its CA in LI_WC_CA_BUNDLE), zhang with a
    read-only key, the others read/write."""
    reader = generate_key("read")
    with (
        start_sandbox(orders=shop_orders(1001, 4, "WANG-LOVES-LI", BASE), tls=True) as li,
        start_sandbox(orders=shop_orders(2001, 4, "LI-FRIENDS", BASE)) as wang,
        start_sandbox(orders=shop_orders(3001, 4, "WANG-TOYS", BASE), keys=[reader]) as zhang,
        start_sandbox(orders=shop_orders(4001, 4, "ZHANG-PHOTO", BASE)) as zhao,
    ):
        text = EXAMPLE.read_text(encoding="utf-8")
        handles = {"li": li, "wang": wang, "zhang": zhang, "zhao": zhao}
        env = {
            "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "ALLIANCE_SECRET": SECRET,
            "ALLIANCE_CONFIG": str(tmp_path / "alliance.toml"),
            "LI_WC_CA_BUNDLE": li.ca_path,
        }
        for member, handle in handles.items():
            text = text.replace(f'url = "https://{member}.example"', f'url = "{handle.url}"')
            env[f"{member.upper()}_WC_KEY"] = handle.key.consumer_key
            env[f"{member.upper()}_WC_SECRET"] = handle.key.consumer_secret
        (tmp_path / "alliance.toml").write_text(text, encoding="utf-8")

        def run(*args: str, **extra: str):
            return CliRunner().invoke(main, list(args), env={**env, **extra})

        run.env = env  # type: ignore[attr-defined]
        yield run


def test_a_fixed_key_decides_the_row_and_the_earlier_sync_error_shows_with_its_time(four) -> None:
    wrong = generate_key().consumer_secret
    assert four("sync", "--member", "zhao", ZHAO_WC_SECRET=wrong).exit_code == 1
    fixed = four("members")
    zhao = rows(fixed.output)["zhao"]
    assert zhao[1:4] == ["ok", "reachable", "read/write"]
    report = {m["member"]: m for m in json.loads(four("members", "--format", "json").output)}
    attempt = datetime.fromisoformat(report["zhao"]["last_attempt"])
    assert f"earlier sync at {attempt:%Y-%m-%d %H:%M:%S} UTC failed: " in zhao[-1]
    assert "HTTP 401" in zhao[-1]
    assert report["zhao"]["healthy"] and report["zhao"]["status"] == "ok"
    assert report["zhao"]["problem"] is None and "HTTP 401" in report["zhao"]["last_error"]
    assert report["zhao"]["last_error_at"] == report["zhao"]["last_attempt"]
    assert fixed.exit_code == 0, fixed.output


def test_a_read_only_key_is_limited_the_same_way_in_table_json_and_exit_code(four) -> None:
    assert four("sync").exit_code == 0  # a read-only key syncs
    result = four("members")
    assert result.exit_code == 0, result.output
    zhang = rows(result.output)["zhang"]
    assert zhang[1:4] == ["limited", "reachable", "read only"]
    assert zhang[-1] == (
        "read-only key: syncing works; gift packs and webhook registration need a read/write "
        "key (WooCommerce > Settings > Advanced > REST API)"
    )
    report = {m["member"]: m for m in json.loads(four("members", "--format", "json").output)}
    assert report["zhang"]["status"] == "limited" and report["zhang"]["healthy"] is True
    assert report["zhang"]["problem"] == zhang[-1] and report["zhang"]["last_error"] is None
    assert report["li"]["status"] == "ok" and report["li"]["problem"] is None


def test_members_names_a_refused_certificate_and_how_to_trust_it(four) -> None:
    result = four("members", LI_WC_CA_BUNDLE="")
    assert result.exit_code == 1
    li = rows(result.output)["li"]
    assert li[1:4] == ["failing", "certificate refused", "-"]
    assert "not trusted" in li[-1] and "LI_WC_CA_BUNDLE" in li[-1]
    trusted = four("members", LI_WC_CA_BUNDLE="", REQUESTS_CA_BUNDLE=four.env["LI_WC_CA_BUNDLE"])
    assert rows(trusted.output)["li"][1] == "ok"


def test_a_failed_sync_says_its_error_once(four) -> None:
    """Run as a real process: the library's log lines reach the terminal only there."""
    env = {**os.environ, **four.env, "ZHAO_WC_SECRET": generate_key().consumer_secret}
    done = subprocess.run(
        [str(ALLIANCE), "sync", "--member", "zhao"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert said.count("Invalid signature") == 1, said
    assert "zhao: FAILED: GET orders: HTTP 401" in said and "sync stopped" not in said


def test_a_row_holds_the_latest_error_only_and_needs_attention_is_not_healthy(four) -> None:
    wrong = generate_key().consumer_secret
    assert four("sync", "--member", "zhao", ZHAO_WC_SECRET=wrong).exit_code == 1
    unset = four("members", ZHAO_WC_KEY="")  # the key is gone now: that is the latest error
    zhao = rows(unset.output)["zhao"]
    assert zhao[-1].startswith("ZHAO_WC_KEY is not set")
    assert "earlier sync" not in zhao[-1] and "HTTP 401" not in zhao[-1]
    header = re.split(r"\s{2,}", unset.output.splitlines()[0].strip())
    assert "since sync" in header and "lag" not in header
    keyless = four("members", "--format", "json", ZHAO_WC_KEY="")
    failing = {m["member"]: m for m in json.loads(keyless.output)}
    fixed = {m["member"]: m for m in json.loads(four("members", "--format", "json").output)}
    for report in (failing, fixed):
        assert all(m["needs_attention"] is (not m["healthy"]) for m in report.values())
    assert failing["zhao"]["needs_attention"] and not fixed["zhao"]["needs_attention"]
    assert fixed["zhao"]["last_sync_needs_attention"]  # what the failed sync recorded
    assert fixed["zhao"]["since_last_success_seconds"] is None  # zhao never synced
