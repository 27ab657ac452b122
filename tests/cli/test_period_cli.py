"""``alliance close-period`` and ``reopen-period``: only an ended month is closed, and only
after saying yes; a closed month opens again until it is settled. Each case checks where a
later refund is booked, which is what closing decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from alliance.periods import next_period, period_of
from alliance.storage.database import open_database
from alliance.storage.schema import audit_log
from connector.fixtures.orders import woo_order
from tests.cli.test_cli import cli, write_orders  # noqa: F401  (the fixture)

PAID = datetime(2026, 11, 3, 4, 0, tzinfo=UTC)  # a month that has ended
LINES = [(201, "Baby wash", 2, Decimal("50.00"))]
REFERRED = [("LI-FRIENDS", Decimal("0"))]


def sale(status: str = "processing", later: timedelta = timedelta(0)) -> dict:
    return woo_order(
        11, status=status, created=PAID, modified=PAID + later, lines=LINES, coupons=REFERRED
    )


@pytest.fixture
def booked(cli, tmp_path: Path):  # noqa: F811
    """Wang's sale of 2026-11 that Li referred, imported."""
    result = cli(
        "import-orders", "--member", "wang", str(write_orders(tmp_path / "w.json", [sale()]))
    )
    assert result.exit_code == 0, result.output
    return cli


def refund_later(cli, tmp_path: Path) -> None:  # noqa: F811
    refunded = sale("refunded", later=timedelta(days=1))
    path = write_orders(tmp_path / "refund.json", [refunded])
    assert cli("import-orders", "--member", "wang", str(path)).exit_code == 0


def li_lines(cli, period: str) -> list[tuple[str, str, str]]:  # noqa: F811
    statement = json.loads(cli("statement", "-m", "li", "-p", period, "--format", "json").output)
    return [(ln["kind"], ln["amount"], ln["status"]) for ln in statement["lines"]]


def test_a_closed_month_sends_a_later_refund_into_the_next_open_period(booked, tmp_path):
    closed = booked("close-period", "2026-11", "--yes")
    assert closed.exit_code == 0 and "Closed 2026-11" in closed.output
    again = booked("close-period", "2026-11", "--yes")
    assert again.exit_code == 0 and "already closed; nothing changed" in again.output
    refund_later(booked, tmp_path)
    assert [k for k, *_ in li_lines(booked, "2026-11")] == ["accrual"]
    assert li_lines(booked, "2026-12") == [("clawback", "-10.00", "clawed back")]


def test_closing_asks_first_and_no_closes_nothing(booked, tmp_path):
    refused = booked("close-period", "2026-11", input_="n\n")
    assert refused.exit_code == 1 and "Close 2026-11?" in refused.output
    assert "alliance reopen-period 2026-11" in refused.output
    refund_later(booked, tmp_path)  # still open: the refund reverses the sale in its month
    assert [k for k, *_ in li_lines(booked, "2026-11")] == ["accrual", "reversal"]
    assert li_lines(booked, "2026-12") == []


def test_yes_at_the_prompt_closes_it(booked):
    said = booked("close-period", "2026-11", input_="y\n")
    assert said.exit_code == 0 and "Closed 2026-11" in said.output


@pytest.mark.parametrize("which", ["current", "future"])
def test_a_month_that_has_not_ended_is_refused(booked, which):
    now = period_of(datetime.now(UTC), "Asia/Shanghai")
    period = now if which == "current" else next_period(next_period(now))
    result = booked("close-period", period, "--yes")
    assert result.exit_code == 1
    assert ("is not over yet" if which == "current" else "is in the future") in result.output
    reopen = booked("reopen-period", period)
    assert reopen.exit_code == 1 and f"{period} is not closed; nothing changed" in reopen.output


def test_a_reopened_month_takes_its_refund_again_and_the_audit_log_says_who(booked, tmp_path):
    booked("close-period", "2026-11", "--yes", ALLIANCE_ACTOR="ana")
    reopened = booked("reopen-period", "2026-11", ALLIANCE_ACTOR="ana")
    assert reopened.exit_code == 0 and "Reopened 2026-11" in reopened.output
    refund_later(booked, tmp_path)
    assert [k for k, *_ in li_lines(booked, "2026-11")] == ["accrual", "reversal"]
    assert li_lines(booked, "2026-12") == []
    engine = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        events = conn.execute(
            select(audit_log.c.action, audit_log.c.subject, audit_log.c.actor)
        ).all()
    engine.dispose()
    assert [tuple(e) for e in events] == [
        ("period closed", "2026-11", "ana"),
        ("period reopened", "2026-11", "ana"),
    ]


def test_a_settled_month_cannot_be_reopened(booked):
    assert booked("settle", "--period", "2026-11", "--force").exit_code == 0
    result = booked("reopen-period", "2026-11")
    assert result.exit_code == 1 and "2026-11 is settled" in result.output
    assert "already closed" in booked("close-period", "2026-11", "--yes").output
