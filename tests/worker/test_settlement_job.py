"""The worker's settlement: the previous month, on its settlement day, once; until then, or
while lines are pending, it says what blocks it and changes nothing. ``alliance run`` does
the same job after its first round."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from alliance.agreement.parse import load_agreement
from alliance.services.booking import book_orders
from alliance.settings import Settings
from alliance.storage.audit_log import events
from alliance.storage.database import open_database
from alliance.storage.settlements import load_settlement
from tests.conftest import EXAMPLE
from tests.factories import make_order, utc
from worker import jobs
from worker.runner import Runner
from worker.schedule import SETTLEMENT_CRON

LATE_SALE = utc(2026, 11, 28, 4)  # noon in Shanghai: approved at noon on 12 December


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    config = tmp_path / "alliance.toml"
    text = EXAMPLE.read_text().replace("payment_due_days = 10", "payment_due_days = 10\n"
                                       "settlement_day = 5")  # fmt: skip
    config.write_text(text, encoding="utf-8")
    chosen = replace(
        Settings.from_env({}, config=config),
        database_url=f"sqlite:///{tmp_path / 'alliance.db'}",
        actor="worker@alliance-1",
    )
    engine = open_database(chosen.database_url)
    orders = [
        make_order("wang", "1", coupons=("LI-FRIENDS",), created=utc(2026, 11, 5)),
        make_order("wang", "2", coupons=("LI-FRIENDS",), created=LATE_SALE),
    ]
    book_orders(engine, load_agreement(config), orders, now=LATE_SALE + timedelta(hours=1))
    engine.dispose()
    yield chosen
    jobs.close_engines()


def at(moment):
    return lambda: moment


def settled(settings: Settings) -> bool:
    engine = open_database(settings.database_url)
    try:
        with engine.connect() as conn:
            return load_settlement(conn, "2026-11") is not None
    finally:
        engine.dispose()


def test_before_its_settlement_day_the_month_waits(settings):
    outcome = jobs.settle_period_job(settings=settings, clock=at(utc(2026, 12, 4, 15)))
    assert outcome["status"] == "ok: not due yet"  # 23:00 on the 4th in Shanghai
    assert (outcome["period"], outcome["settles_on"]) == ("2026-11", "2026-12-05")
    assert not settled(settings)


def test_on_its_settlement_day_pending_lines_block_it_and_the_log_says_so(settings, caplog):
    caplog.set_level(logging.INFO, logger="alliance.jobs")
    outcome = jobs.settle_period_job(settings=settings, clock=at(utc(2026, 12, 5, 1)))
    assert (outcome["status"], outcome["pending"]) == ("blocked", 1)
    assert not settled(settings)
    (record,) = [r for r in caplog.records if "job settle" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "2026-11 has 1 line(s) still pending" in record.getMessage()
    assert "until 2026-12-12 12:00 Asia/Shanghai" in record.getMessage()


def test_once_nothing_is_pending_it_settles_once_and_says_who_did(settings):
    first = jobs.settle_period_job(settings=settings, clock=at(utc(2026, 12, 12, 5)))
    assert (first["status"], first["transfers"], first["due_on"]) == (
        "ok: settled", 1, "2026-12-22",
    )  # fmt: skip
    again = jobs.settle_period_job(settings=settings, clock=at(utc(2026, 12, 13)))
    assert again["status"] == "ok: already settled"
    engine = open_database(settings.database_url)
    with engine.connect() as conn:
        (event,) = events(conn)
    engine.dispose()
    assert (event.actor, event.command) == ("worker@alliance-1", jobs.SETTLE_COMMAND)


def test_the_schedule_checks_every_day():
    assert SETTLEMENT_CRON == "0 3 * * *"


def test_alliance_run_checks_the_settlement_after_its_first_round(alliance):
    runner = Runner(jobs.context().settings)
    runner.run(cycles=1)
    assert len(runner.results) == 4 and all("fetched" in r or "error" in r for r in runner.results)
    (outcome,) = runner.settlement_results
    assert str(outcome["status"]).startswith("ok")  # which one depends on today's date
    jobs.close_engines()
