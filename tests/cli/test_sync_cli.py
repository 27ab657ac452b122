"""``alliance sync``, ``alliance members`` and ``alliance quarantine`` against sandbox stores."""

from __future__ import annotations

import json
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
    assert lines["li"].split()[1:3] == ["reachable", "read/write"] and "never" not in lines["li"]
    assert "invalid" in lines["zhao"] and "Invalid signature" in lines["zhao"]
    assert "unreachable" in lines["zhang"] and "ZHANG_WC_KEY" in lines["zhang"]
    report = json.loads(alliance("members", "--format", "json").output)
    wang = next(m for m in report if m["member"] == "wang")
    assert wang["quarantined"] == 1 and wang["orders_behind"] == 0 and wang["healthy"]
    assert wang["bookmark"] == "2026-11-10T03:59:00+00:00"  # its newest order
    stored_only = alliance("members", "--no-check")
    assert stored_only.exit_code == 0 and "not checked" in stored_only.output


def test_quarantine_lists_the_refused_order_with_its_reason(alliance) -> None:
    assert alliance("quarantine").output.strip() == "No orders in quarantine."
    alliance("sync", "--member", "wang")
    result = alliance("quarantine", "--member", "wang")
    assert "wang order 3003" in result.output and "date_created_gmt" in result.output
    assert "yesterday-ish" not in result.output  # bad values are described, never quoted


def test_sync_refuses_an_unknown_member(alliance) -> None:
    result = alliance("sync", "--member", "nobody")
    assert result.exit_code == 1
    assert "member 'nobody' is not in" in result.output and "li, wang, zhang, zhao" in result.output
