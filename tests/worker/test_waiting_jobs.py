"""A sync waiting for its retry is visible and can be brought forward; ``alliance status`` says
when no worker runs the schedule."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import func, select

from alliance.storage.database import open_database
from alliance.storage.schema import orders
from tests.worker.test_jobs import work
from tests.worker.test_worker_cli import cli
from worker.health import overdue_syncs, schedule_verdict
from worker.keys import QUEUES
from worker.queues import clock_time, enqueue_syncs
from worker.workers import PromptSimpleWorker


def booked(database_url: str, member: str) -> int:
    engine = open_database(database_url)
    with engine.connect() as conn:
        count = select(func.count()).select_from(orders).where(orders.c.member == member)
        found = conn.execute(count).scalar_one()
    engine.dispose()
    return found


def test_a_sync_waiting_for_its_retry_is_listed_and_brought_forward(
    alliance, redis_url, monkeypatch
):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    alliance.stores["li"].faults.set("503@path=orders")
    assert enqueue_syncs(redis, ["li"]) == ["li"]
    work(redis)  # the store is down: RQ schedules the retry in 30 s

    listing = cli("jobs")
    assert listing.exit_code == 0 and "No jobs" not in listing.output
    (row,) = [line for line in listing.output.splitlines() if "alliance-sync-li" in line]
    assert "scheduled" in row and "3 retries left" in row and "HTTP 503" in row
    assert re.search(r"\d\d:\d\d:\d\d UTC \(in [12]?\d s\)", row), row
    assert "`alliance jobs retry ID` runs a waiting retry now." in listing.output

    waits = cli("enqueue", "sync", "--member", "li")
    said = (
        r"li: waits for its retry at \d\d:\d\d:\d\d UTC \(in \d+ s\); `alliance enqueue sync --now`"
    )
    assert re.search(said + " runs it now", waits.output), waits.output

    alliance.stores["li"].faults.clear()  # the store is back
    now = cli("enqueue", "sync", "--member", "li", "--now")
    assert now.exit_code == 0 and "li: queued now (its retry was due at " in now.output
    assert "queued" in cli("jobs").output and "scheduled" not in cli("jobs").output
    work(redis)
    assert booked(alliance.database_url, "li") == 60
    assert cli("jobs").output.strip() == "No jobs queued, running, waiting for a retry or failed."


def test_jobs_retry_runs_a_waiting_retry_now_and_refuses_a_queued_job(
    alliance, redis_url, monkeypatch
):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    alliance.stores["li"].faults.set("503@path=orders")
    enqueue_syncs(redis, ["li"])
    work(redis)
    alliance.stores["li"].faults.clear()
    retried = cli("jobs", "retry", "alliance-sync-li")
    assert retried.exit_code == 0, retried.output
    assert "alliance-sync-li: queued now (its retry was due at " in retried.output
    again = cli("jobs", "retry", "alliance-sync-li")
    assert again.exit_code == 1
    assert "is queued, not failed or waiting for a retry; nothing to do" in again.output
    work(redis)
    assert booked(alliance.database_url, "li") == 60


def test_status_says_no_worker_runs_and_exits_1_when_syncs_are_overdue(
    alliance, redis_url, monkeypatch
):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    open_database(alliance.database_url).dispose()  # a ledger, never synced
    nobody = cli("status")
    assert nobody.exit_code == 1
    assert "workers: 0" in nobody.output
    assert ("no worker is running (syncs are overdue for li, wang, zhang, zhao): start "
            "`alliance worker`") in nobody.output  # fmt: skip
    report = json.loads(cli("status", "--format", "json").output)
    assert report["overdue_syncs"] == ["li", "wang", "zhang", "zhao"]
    assert report["schedule"].startswith("no worker is running")

    redis = Redis.from_url(redis_url)
    enqueue_syncs(redis, ["li", "wang", "zhang"])
    work(redis)
    running = PromptSimpleWorker(list(QUEUES), connection=redis)
    running.register_birth()  # a live worker, as `alliance worker` registers itself
    try:
        seen = cli("status")
    finally:
        running.register_death()
    assert "workers: 1" in seen.output and "no worker is running" not in seen.output
    assert seen.exit_code == 1  # zhao still has no keys: it needs attention, and never synced
    assert "syncs are overdue for zhao" in seen.output


def test_a_sync_is_overdue_after_two_intervals_without_success():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    last = [("li", now - timedelta(minutes=29)), ("wang", now - timedelta(minutes=31)),
            ("zhao", None)]  # fmt: skip
    assert overdue_syncs(last, 15, now) == ["wang", "zhao"]
    assert schedule_verdict(redis=True, workers=0, overdue=[]) == (
        "no worker is running (no sync is overdue yet): start `alliance worker` (systemd, "
        "supervisor), or unset ALLIANCE_REDIS_URL and run `alliance run`"
    )
    assert schedule_verdict(redis=True, workers=2, overdue=[]) is None
    assert "is `alliance run` running" in schedule_verdict(False, 0, ["li"])  # type: ignore[operator]


def test_clock_time_says_when_in_words():
    now = datetime(2026, 12, 7, 23, 15, 0, tzinfo=UTC)
    assert clock_time(now + timedelta(seconds=30), now) == "23:15:30 UTC (in 30 s)"
    assert clock_time(now + timedelta(minutes=10), now) == "23:25:00 UTC (in 10 min)"
    assert clock_time(now + timedelta(hours=3), now) == "2026-12-08 02:15:00 UTC (in 3 h 0 min)"
    assert clock_time(now - timedelta(seconds=5), now) == "23:14:55 UTC (due now)"
